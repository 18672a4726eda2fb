"""Keyboard shortcuts: the page-wide key presses (app/shortcuts.py decides which is which) and their help dialog."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import js
from pyscript import document

from ..i18n import _
from ..shortcuts import OTHER_KEYS, SHORTCUTS, match_shortcut
from .dom import Listeners, el

FIELDS = ("INPUT", "TEXTAREA", "SELECT")

# Only key presses that may be a shortcut reach Python: one with Alt, or "?" and "/" outside text
# fields. Typing stays in JavaScript, and no shortcut acts while a dialog is open.
_MAYBE_SHORTCUT = js.Function.new(
    "handler",
    "return (event) => {"
    " if (event.defaultPrevented || event.isComposing || document.querySelector('dialog[open]')) return;"
    " const t = event.target;"
    " const inField = t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName);"
    " if (event.altKey || (!inField && (event.key === '?' || event.key === '/'))) handler(event);"
    " };",
)


class ShortcutsDialog:
    """``#shortcuts-dialog``: every shortcut and the keys the input knows, filled from app/shortcuts.py."""

    def __init__(self) -> None:
        self.dialog = document.getElementById("shortcuts-dialog")
        self.list = document.getElementById("shortcuts-list")
        self.after_close: Callable[[], object] = lambda: None  # where focus goes next
        self._filled = False

    def open(self) -> None:
        if not self._filled:
            self._filled = True
            rows = [(s.keys, s.description) for s in SHORTCUTS] + list(OTHER_KEYS)
            for keys, description in rows:
                term = el("dt")
                for key in keys:
                    term.append(el("kbd", text=key))
                self.list.append(term, el("dd", text=_(description)))
        if not self.dialog.open:
            self.dialog.showModal()

    def bind(self, events: Listeners) -> None:
        events.on(self.dialog, "close", lambda _event: None if self.dialog.open else self.after_close())


class Keyboard:
    """The page-wide shortcuts: each action's handler runs when its keys are pressed (default prevented)."""

    def __init__(self, handlers: Mapping[str, Callable[[], object]]) -> None:
        self.handlers = dict(handlers)

    def bind(self, events: Listeners) -> None:
        def on_key(event: Any) -> None:
            target = event.target
            in_field = str(target.tagName) in FIELDS or bool(target.isContentEditable)
            action = match_shortcut(
                str(event.key), str(event.code), alt=bool(event.altKey), shift=bool(event.shiftKey),
                ctrl=bool(event.ctrlKey), meta=bool(event.metaKey), in_field=in_field,
            )
            handler = None if action is None else self.handlers.get(action)
            if handler is not None:
                event.preventDefault()
                handler()

        events.on(document, "keydown", on_key, only=_MAYBE_SHORTCUT)
