"""The sidebar: the character list (select, remove, Clear all sessions) and the add-character form."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

import js
from pyscript import document

from ..i18n import N_, _
from ..settings import Character
from .avatars import MAKE_AVATAR, avatar_row
from .dialogs import ConfirmDialog
from .dom import Listeners, found, isolated

if TYPE_CHECKING:
    from . import ChatActions

UNREAD_LABEL = N_("new reply")

# Marks a character's button as having a reply not seen yet (or not): a dot, and words for screen readers.
_SET_UNREAD = js.Function.new(
    "button",
    "unread",
    "label",
    """button.querySelector(".unread")?.remove();
    if (!unread) {
      delete button.dataset.unread;
      return;
    }
    button.dataset.unread = "true";
    const mark = document.createElement("span");
    mark.className = "unread";
    const dot = document.createElement("span");
    dot.className = "unread-dot";
    dot.dataset.testid = "unread-dot";
    dot.setAttribute("aria-hidden", "true");
    const words = document.createElement("span");
    words.className = "visually-hidden";
    words.textContent = ` (${label})`;
    mark.append(dot, words);
    button.append(mark);""",
)

# The character list, built in one call into JavaScript from ``[config_id, name, added, current,
# unread, avatar, title, remove_label]`` rows as JSON (texts only through textContent and attributes): built from
# Python,
# it took a dozen calls per character. The config ID is the button's tooltip, not its text.
_FILL_CHARACTERS = js.Function.new(
    "list",
    "rows",
    "makeAvatar",
    "setUnread",
    "unreadLabel",
    """const fragment = document.createDocumentFragment();
    const make = (tag, className, text) => {
      const node = document.createElement(tag);
      node.className = className;
      if (text !== undefined) node.textContent = text;
      return node;
    };
    for (const [configId, name, added, current, unread, avatar, title, removeLabel] of JSON.parse(rows)) {
      const button = make("button", "character");
      button.type = "button";
      button.dataset.testid = "character";
      button.dataset.configId = configId;
      button.title = title;
      button.append(makeAvatar(...avatar), make("span", "character-name", name));
      if (current) button.setAttribute("aria-current", "true");
      if (unread) setUnread(button, true, unreadLabel);
      const item = make("li", "character-item");
      item.append(button);
      if (added) {
        const remove = make("button", "remove-character", "\u00d7");
        remove.type = "button";
        remove.dataset.testid = "remove-character";
        remove.setAttribute("aria-label", removeLabel);
        remove.dataset.configId = configId;
        remove.title = removeLabel;
        item.append(remove);
      }
      fragment.append(item);
    }
    list.replaceChildren(fragment);""",
)

# The open character's button, scrolled into the strip's (or the sidebar's) view: the least movement.
_SCROLL_INTO_VIEW = js.Function.new("node", "node.scrollIntoView({block: 'nearest', inline: 'nearest'});")


class CharacterList:
    """``#character-list``, and the sidebar's "Clear all sessions" below it."""

    def __init__(self, dialog: ConfirmDialog) -> None:
        self.list = document.getElementById("character-list")
        self.clear_all = document.getElementById("clear-all-sessions")
        self._dialog = dialog
        self._shown: tuple[str | None, int] = (None, 0)  # the open character, how many are listed
        self.after_select: Callable[[], object] = lambda: None  # another character was opened from the list

    def show(self, characters: list[Character], current: str | None, unread: Collection[str] = ()) -> None:
        """List ``characters``, marking ``current`` and the ``unread``; focus in the list stays on the current one."""
        active = document.activeElement
        had_focus = found(active) and found(active.closest("#character-list"))
        rows = [(c.config_id, c.name, c.added, c.config_id == current, c.config_id in unread, avatar_row(c),
                 _("Config ID: {config_id}", config_id=c.config_id), _("Remove {name}", name=c.name))
                for c in characters]
        _FILL_CHARACTERS(self.list, json.dumps(rows), MAKE_AVATAR, _SET_UNREAD, _(UNREAD_LABEL))
        chosen = self.list.querySelector('[aria-current="true"]')
        if not found(chosen):
            return
        if had_focus:  # re-rendering must not throw keyboard users back to the top of the page
            chosen.focus()
        if (current, len(rows)) != self._shown:  # opened or added: in view, however long the strip
            _SCROLL_INTO_VIEW(chosen)
        self._shown = (current, len(rows))

    def show_unread(self, config_id: str, unread: bool) -> None:
        """Mark ``config_id``'s button as having a reply not seen yet (a dot and words), or not."""
        for button in self.list.querySelectorAll("[data-testid=character]"):
            if button.dataset.configId == config_id:
                _SET_UNREAD(button, unread, _(UNREAD_LABEL))

    def bind(self, events: Listeners, actions: ChatActions) -> None:
        """A character's button selects it, its × removes it (asking first), and Clear all clears all."""

        def on_click(event: Any) -> None:
            remove = event.target.closest("[data-testid=remove-character]")
            if found(remove):
                self._ask_to_remove(actions, str(remove.dataset.configId))
                return
            button = event.target.closest("[data-testid=character]")
            if found(button) and actions.select_character(str(button.dataset.configId)) is not None:
                self.after_select()

        def on_clear_all(_event: Any) -> None:
            if not actions.needs_confirmation("clear-all"):
                actions.clear_all_sessions()
                return
            self._dialog.confirm_with_option(
                _("Clear all sessions?"),
                _("Every character's session, and the page's conversations, earlier conversations (the history) and "
                  "drafts in this browser are deleted. Export the conversations you want to keep first."),
                _("Clear all sessions"),
                _("Keep the conversations in the history (only the sessions are cleared)"),
                actions.clear_all_sessions,
            )

        events.on(self.list, "click", on_click)
        events.on(self.clear_all, "click", on_clear_all)

    def _ask_to_remove(self, actions: ChatActions, config_id: str) -> None:
        def remove_it() -> None:
            actions.remove_character(config_id)

        self._dialog.confirm_if(
            actions.needs_confirmation("remove", config_id),
            _("Remove {name}?", name=isolated(config_id)),
            _("This character, its session and all its conversations (the history too) in this browser are deleted."),
            _("Remove"),
            remove_it,
        )


class AddCharacterForm:
    """The "Add a character by config ID" form (with an optional display name), and why an ID was refused."""

    def __init__(self) -> None:
        byid = document.getElementById
        self.form = byid("add-character-form")
        self.input = byid("add-character-input")
        self.name = byid("add-character-name")
        self.error = byid("add-character-error")

    def show_error(self, text: str | None) -> None:
        """Show why a config ID was refused; ``None`` means it was accepted (the field is cleared)."""
        self.error.textContent = text or ""
        self.error.hidden = text is None
        if text is None:
            self.input.value = self.name.value = ""
            self.input.removeAttribute("aria-invalid")
        else:
            self.input.setAttribute("aria-invalid", "true")

    def bind(self, events: Listeners, add: Callable[[str, str], object]) -> None:
        """Submitting calls ``add`` with the typed config ID and display name ("" if none)."""

        def on_submit(event: Any) -> None:
            event.preventDefault()
            add(str(self.input.value), str(self.name.value))

        events.on(self.form, "submit", on_submit)
