"""The confirm dialog: asks before something visible is lost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyscript import document

from .dom import Listeners


class ConfirmDialog:
    """The ``<dialog>`` of ``index.html``; runs the action only when the user confirms."""

    def __init__(self) -> None:
        byid = document.getElementById
        self.dialog = byid("confirm-dialog")
        self.title = byid("confirm-title")
        self.text = byid("confirm-text")
        self.button = byid("confirm-button")
        self.option = byid("confirm-option")  # a checkbox row, shown only when an action offers a choice
        self.option_input = byid("confirm-option-input")
        self.option_label = byid("confirm-option-label")
        self._on_confirm: Callable[[], None] | None = None
        self.after_close: Callable[[], object] = lambda: None  # where focus goes next, however it closed

    def confirm(self, title: str, text: str, action_label: str, on_confirm: Callable[[], None]) -> None:
        """Ask; ``on_confirm`` runs once the dialog closes with its confirm button."""
        self.title.textContent = title
        self.text.textContent = text
        self.button.textContent = action_label
        self._on_confirm = on_confirm
        self.option.hidden = True
        self.dialog.returnValue = ""  # Escape keeps the previous value otherwise
        self.dialog.showModal()

    def confirm_with_option(
        self, title: str, text: str, action_label: str, option: str, on_confirm: Callable[[bool], None]
    ) -> None:
        """Ask, with a checkbox labelled ``option`` (unticked); ``on_confirm(ticked)`` runs on confirm."""
        self.confirm(title, text, action_label, lambda: on_confirm(bool(self.option_input.checked)))
        self.option_label.textContent = option
        self.option_input.checked = False
        self.option.hidden = False

    def confirm_if(
        self, needed: bool, title: str, text: str, action_label: str, action: Callable[[], None]
    ) -> None:
        """Ask first when ``needed`` (something visible would be lost), else act at once."""
        if needed:
            self.confirm(title, text, action_label, action)
        else:
            action()

    def bind(self, events: Listeners) -> None:
        events.on(self.dialog, "close", self._closed)

    def _closed(self, _event: Any) -> None:
        if self.dialog.open:
            # "close" is dispatched as a separate task: when the dialog was reopened in between
            # (Escape, then at once the button again), this event is stale and must not
            # discard the new opening's action.
            return
        action, self._on_confirm = self._on_confirm, None
        if self.dialog.returnValue == "confirm" and action is not None:
            action()
        self.after_close()
