"""The menu: the secondary actions (add a character, export, theme, shortcuts, clear all).

On wide screens it is part of the sidebar and always open; on phones
``#menu-button`` opens it as a sheet over the conversation, and it closes
again after an action, on Escape, or on a tap outside it. An entry is a
button in ``#menu`` with ``data-menu-action="<name>"``, handled by
``menu.on("<name>", handler)``; buttons with their own listener (export,
clear all) need no name, and ``data-keeps-menu`` keeps it open (Add, which
closes it only once the character was added)::

    menu = Menu(document.documentElement)
    menu.on("shortcuts", help_dialog.open)
    menu.bind(events)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import js
from pyscript import document

from .dom import Listeners, found

# A press outside the open menu and its button: the menu closes (the press goes on as usual).
_OUTSIDE_OPEN_MENU = js.Function.new(
    "menu",
    "button",
    "handler",
    "return (event) => {"
    " if (menu.hasAttribute('data-open') && !menu.contains(event.target) && !button.contains(event.target))"
    " handler(event);"
    " };",
)

# Escape in the open menu closes it, and only it: the page's Escape (stop the reply) is not told.
_ESCAPE_IN_OPEN_MENU = js.Function.new(
    "menu",
    "handler",
    "return (event) => {"
    " if (event.key === 'Escape' && !event.isComposing && menu.hasAttribute('data-open')) {"
    " event.stopPropagation(); handler(event); }"
    " };",
)


class Menu:
    """``#menu`` and ``#menu-button``; marks ``<html data-menu-open>`` while it is open as a sheet."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.button = document.getElementById("menu-button")
        self.panel = document.getElementById("menu")
        self._actions: dict[str, Callable[[], object]] = {}

    @property
    def is_open(self) -> bool:
        return bool(self.panel.hasAttribute("data-open"))

    def on(self, action: str, handler: Callable[[], object]) -> None:
        """Run ``handler`` when the menu's button with ``data-menu-action="<action>"`` is clicked."""
        self._actions[action] = handler

    def open(self) -> None:
        """Open the menu where it is a sheet (phones); where it is always shown, nothing changes."""
        if self.is_open or not self.button.checkVisibility():
            return
        self.panel.setAttribute("data-open", "")
        self.button.setAttribute("aria-expanded", "true")
        self.root.toggleAttribute("data-menu-open", True)
        self.panel.focus()  # Tab goes on to its first entry; no on-screen keyboard pops up

    def close(self, *, refocus: bool = False) -> None:
        """Close the menu; ``refocus``: put focus back on its button (after Escape)."""
        if not self.is_open:
            return
        self.panel.removeAttribute("data-open")
        self.button.setAttribute("aria-expanded", "false")
        self.root.toggleAttribute("data-menu-open", False)
        if refocus:
            self.button.focus()

    def bind(self, events: Listeners) -> None:
        def on_toggle(_event: Any) -> None:
            if self.is_open:
                self.close()
            else:
                self.open()

        def on_click(event: Any) -> None:
            button = event.target.closest("button")
            if not found(button) or not found(button.closest("#menu")):
                return
            name = button.getAttribute("data-menu-action")
            handler = self._actions.get(str(name)) if found(name) else None
            if handler is not None:
                handler()
            if not button.hasAttribute("data-keeps-menu"):
                self.close()  # the entry's own listener ran first (it is on the button)

        events.on(self.button, "click", on_toggle)
        events.on(self.panel, "click", on_click)
        events.on(document, "pointerdown", lambda _event: self.close(),
                  only=lambda listener: _OUTSIDE_OPEN_MENU(self.panel, self.button, listener))
        for node in (self.panel, self.button):
            events.on(node, "keydown", lambda _event: self.close(refocus=True),
                      only=lambda listener: _ESCAPE_IN_OPEN_MENU(self.panel, listener))
