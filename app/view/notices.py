"""The notice line under the header, and the offline line."""

from __future__ import annotations

from typing import Any

from pyscript import document

from .dom import el


class Notices:
    """Info replaces the previous info; warnings and errors accumulate until the page reloads."""

    def __init__(self, notice: Any, offline: Any) -> None:
        self.notice = notice
        self.offline = offline
        self._info: str | None = None
        self._warnings: list[tuple[str, str]] = []  # (level, text)
        self._shown: list[tuple[str, str]] = []  # the lines the DOM shows now

    def show(self, text: str | None, *, level: str = "info") -> None:
        """Show ``text`` at ``level`` ("info", "warning" or "error"); ``None`` clears the info."""
        if level == "info" or text is None:
            self._info = text
        elif (level, text) not in self._warnings:
            self._warnings.append((level, text))
        lines = [*self._warnings, *([("info", self._info)] if self._info else [])]
        if lines == self._shown:
            return  # most replies clear an info that is not there: no DOM work for nothing
        self._shown = lines
        fragment = document.createDocumentFragment()
        for line_level, line in lines:
            node = el("span", cls="notice-line", text=line)
            node.dataset.level = line_level
            fragment.appendChild(node)
        self.notice.replaceChildren(fragment)
        self.notice.dataset.level = lines[0][0] if lines else "info"
        self.notice.hidden = not lines

    def withdraw(self, text: str) -> None:
        """Clear the info if it still says ``text`` (it no longer applies)."""
        if self._info == text:
            self.show(None)

    def show_offline(self, offline: bool) -> None:
        self.offline.hidden = not offline
