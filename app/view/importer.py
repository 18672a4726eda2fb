"""Import: the menu's button opens a file chooser; the chosen file is read as text and handed to the controller.

The file is checked by :mod:`app.importing` (the controller says what is wrong
with a bad one); here only its size is looked at first, so a huge file is not
read into memory at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyscript import document

from ..i18n import _, number
from ..importing import MAX_IMPORT_CHARS
from ..inflight import start_task
from .dom import Listeners


class ImportControl:
    """``#import-json`` and its hidden ``#import-file`` input."""

    def __init__(self) -> None:
        self.button = document.getElementById("import-json")
        self.input = document.getElementById("import-file")
        self._reading: set[object] = set()  # the loop keeps only weak references to tasks

    def bind(self, events: Listeners, import_text: Callable[[str, str], object],
             refuse: Callable[[str], None]) -> None:
        """A chosen file goes to ``import_text(text, file name)``; one too large to read to ``refuse(message)``."""

        def on_change(_event: Any) -> None:
            files = self.input.files
            chosen = files.item(0) if files is not None and files.length else None
            self.input.value = ""  # the same file can be chosen again
            if chosen is None:
                return
            name = str(chosen.name)
            # UTF-8 takes up to 4 bytes a character: a file of more bytes than that may still be too long.
            if int(chosen.size) > MAX_IMPORT_CHARS * 4:
                refuse(_("{file} was not imported. The file is larger than {size} MB.",
                         file=name, size=number(MAX_IMPORT_CHARS // (1024 * 1024))))
                return
            task = start_task(read(chosen, name))
            self._reading.add(task)
            task.add_done_callback(self._reading.discard)

        async def read(chosen: Any, name: str) -> None:
            try:
                text = str(await chosen.text())
            except Exception as exc:  # noqa: BLE001 - the browser could not read it (removed, no permission)
                refuse(_("{file} was not imported. It could not be read ({reason}).", file=name, reason=str(exc)))
                return
            import_text(text, name)

        events.on(self.button, "click", lambda _event: self.input.click())
        events.on(self.input, "change", on_change)
