"""The page's DOM: renders what the controller says and forwards what the user does.

:class:`DomView` composes one small widget per part of ``index.html`` (each
owning its elements and its state) and implements the controller's
``ChatView`` on them. Everything from outside (names, config IDs, messages,
server text) is set through ``textContent``, never parsed as HTML::

    view = DomView()
    view.bind(controller)  # any object with the ChatActions methods
    view.set_ready()
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from typing import Protocol

import js
from pyscript import document

from ..archive import Record, SearchHit
from ..inflight import start_task
from ..settings import Character
from ..storage import StorageSupport
from ..transcript import Message, message_too_long
from ..wording import describe_error
from .characters import AddCharacterForm, CharacterList
from .composer import ActivityIndicator, Composer
from .dialogs import ConfirmDialog
from .dom import Announcer, Listeners
from .formatting import load_formatter, loaded_formatter
from .header import ChatHeader, download
from .history import HistoryPanel, PastBanner
from .importer import ImportControl
from .menu import Menu
from .messages import MessageList
from .notices import Notices
from .search import SearchPanel
from .shortcuts import Keyboard, ShortcutsDialog

__all__ = ["ChatActions", "DomView"]


class ChatActions(Protocol):
    """What the page's controls ask of the controller (return values other than these are ignored)."""

    def submit(self) -> object: ...

    def input_changed(self, text: str) -> object: ...

    def retry(self, index: int) -> object: ...

    def stop(self) -> object: ...

    def select_character(self, config_id: str) -> object: ...

    def select_adjacent_character(self, step: int) -> object: ...

    def add_character(self, raw_config_id: str, raw_name: str = "") -> object: ...

    def remove_character(self, config_id: str) -> object: ...

    def needs_confirmation(self, action: str, config_id: str | None = None) -> bool: ...

    def new_conversation(self) -> None: ...

    def clear_all_sessions(self, keep_history: bool = False) -> None: ...

    def import_conversation(self, text: str, file_name: str) -> object: ...

    def export(self, fmt: str, exported_at: str, deliver: Callable[[str, str], None]) -> object: ...

    def open_past(self, conversation_id: str) -> object: ...

    def continue_conversation(self, conversation_id: str) -> object: ...

    def delete_past(self, conversation_id: str) -> object: ...

    def show_open_conversation(self) -> None: ...

    def search(self, text: str) -> object: ...

    def prepare_search(self) -> None: ...

    def open_search_result(self, conversation_id: str, message_id: str) -> object: ...


class DomView:
    """Implements :class:`app.controller.ChatView` on the elements of ``index.html``."""

    def __init__(self) -> None:
        self.root = document.documentElement
        announcer = Announcer(document.getElementById("announcer"))
        self.notices = Notices(document.getElementById("notice"), document.getElementById("offline"))
        self.dialog = ConfirmDialog()
        self.header = ChatHeader(self.dialog)
        self.characters = CharacterList(self.dialog)
        self.add_form = AddCharacterForm()
        self.history = HistoryPanel(self.dialog)
        self.past = PastBanner()
        self.search = SearchPanel()
        self.importer = ImportControl()
        self.messages = MessageList(announcer, self.notices.show)
        self.composer = Composer(announcer)
        self.activity = ActivityIndicator(self.root)
        self._events = Listeners(lambda exc: self.notices.show(describe_error(exc), level="error"))
        self._too_long_notice: str | None = None  # shown for the input's text; it goes once the text fits
        self.composer.on_fits = self._withdraw_too_long_notice
        self.dialog.after_close = self.focus_input
        self.menu = Menu(self.root)
        self.shortcuts = ShortcutsDialog()
        self.shortcuts.after_close = self.focus_input
        self.characters.after_select = self.focus_input

    def show_language(self, lang: str, direction: str) -> None:
        """``<html lang dir>``: the language shown (static/language.js set them first, by the same rule)."""
        self.root.lang = lang
        self.root.dir = direction

    # ----- ChatView ------------------------------------------------------------------------

    def show_characters(self, characters: list[Character], current: str | None, unread: Collection[str]) -> None:
        self.characters.show(characters, current, unread)
        for character in characters:
            if character.config_id == current:
                self.messages.character_name = character.name

    def show_unread(self, config_id: str, unread: bool) -> None:
        self.characters.show_unread(config_id, unread)

    def show_conversation(self, character: Character, messages: list[Message]) -> None:
        self.past.show(None)
        self.header.show_character(character)
        self.messages.show_conversation(character.name, messages)

    def show_search_results(self, query: str, hits: list[SearchHit]) -> None:
        self.search.show(query, hits)

    def reveal_message(self, index: int) -> None:
        self.messages.reveal(index)

    def insert_older(self, position: int, messages: list[Message]) -> bool:
        return self.messages.insert_older(position, messages)

    def show_history(self, conversations: list[Record]) -> None:
        self.history.show(conversations)

    def show_past(self, character: Character, record: Record, messages: list[Message]) -> None:
        """An earlier conversation, read-only: no Retry (it would resend into the current one), no input."""
        self.header.show_character(character)
        self.messages.show_conversation(character.name, [replace(m, retry=None) for m in messages])
        self.past.show(record)

    def append_message(self, message: Message, index: int) -> None:
        self.messages.append_message(message, index)

    def show_streaming(self, text: str | None) -> None:
        self.messages.live.show(text)

    # ----- Markdown ------------------------------------------------------------------------

    def format_replies(self) -> object:
        """Format replies as Markdown: at once if a snapshot holds markdown-it, else once it is loaded.

        Returns the task loading it, or None; call before the first
        conversation is shown, so that a restored page shows it formatted.
        ``<html data-formatter>`` says how it went: ``preloaded`` (from the
        snapshot), ``loading``, ``loaded`` or ``failed`` (replies stay as written).
        """
        formatter = loaded_formatter()
        if formatter is not None:
            self.root.dataset.formatter = "preloaded"
            self.messages.use_formatter(formatter)
            return None
        self.root.dataset.formatter = "loading"
        return start_task(self._load_formatter())

    async def _load_formatter(self) -> None:
        formatter = await load_formatter()
        self.root.dataset.formatter = "failed" if formatter is None else "loaded"
        if formatter is not None:
            self.messages.use_formatter(formatter)

    def show_session(self, session_id: str | None) -> None:
        self.header.show_session(session_id)

    def show_api_base(self, api_base: str) -> None:
        self.header.show_api_base(api_base)

    def show_activity(self, *, sending: bool, setting_up: bool) -> None:
        """Send is disabled at once; "is replying…" and Stop appear only if the wait lasts."""
        if self.activity.show(sending=sending, setting_up=setting_up, name=self.messages.character_name):
            self.composer.set_busy(sending or setting_up)

    def read_input(self) -> str:
        return self.composer.read()

    def write_input(self, text: str) -> None:
        self.composer.write(text)

    def show_notice(self, text: str | None, *, level: str = "info") -> None:
        """Info replaces the previous info (``None`` clears it); warnings and errors accumulate.

        The notice that the input's text is too long goes by itself once it is shortened.
        """
        if text is not None and text == message_too_long(self.composer.read()):
            self._too_long_notice = text
        self.notices.show(text, level=level)

    def _withdraw_too_long_notice(self) -> None:
        if self._too_long_notice is not None:
            self.notices.withdraw(self._too_long_notice)
            self._too_long_notice = None

    def show_offline(self, offline: bool) -> None:
        self.notices.show_offline(offline)
        self.composer.set_offline(offline)

    def show_add_character_error(self, text: str | None) -> None:
        """Show why a config ID was refused; ``None`` means it was accepted (the field is cleared)."""
        self.add_form.show_error(text)
        if text is None:  # added and opened: back to the conversation
            self.menu.close()
            self.focus_input()

    # ----- the page ------------------------------------------------------------------------

    def set_ready(self) -> None:
        """Enable the controls that wait for Python, and mark ``<html data-app-state="ready">``."""
        self.composer.set_ready()
        for node in document.querySelectorAll("[data-needs-python]"):
            node.disabled = False
        document.getElementById("boot").hidden = True
        self.root.dataset.appState = "ready"
        self.focus_input()

    def focus_input(self) -> None:
        """Put the cursor in the message input, where a keyboard user types next.

        Not on touch screens, where focus would open the on-screen keyboard
        over the conversation the user has not read yet.
        """
        if js.matchMedia("(pointer: fine)").matches:
            self.composer.focus()

    def focus_search(self) -> bool:
        """Open the search dialog with the cursor in its field (``[data-testid=search-input]``)."""
        self.menu.close()
        self.search.open()
        return True

    def show_storage_support(self, support: StorageSupport) -> None:
        """Mark ``<html data-storage>`` with the browser stores that work (``"none"`` when site data is blocked)."""
        self.root.dataset.storage = support.describe()

    def show_fatal(self, text: str) -> None:
        """The page could not start: say why, and mark ``<html data-app-state="error">``."""
        self.root.dataset.appState = "error"
        document.getElementById("boot").hidden = True
        self.show_notice(text, level="error")

    def download(self, name: str, content: str, mime: str) -> None:
        """Offer ``content`` as a file download named ``name``."""
        download(name, content, mime)

    def bind(self, actions: ChatActions) -> None:
        """Wire the page's controls to ``actions`` (the controller); each widget binds its own."""
        events = self._events
        self.composer.bind(events, actions.submit, self.messages.last_sent)
        self.composer.on_input = actions.input_changed  # the open character's draft
        self.activity.bind(events, lambda: self._stop(actions), lambda: self._stop(actions, only_if_stopped=True))
        self.messages.bind(events, actions.retry)
        self.characters.bind(events, actions)
        self.add_form.bind(events, actions.add_character)
        self.header.bind(events, actions, lambda: self.messages.character_name)
        self.history.bind(events, actions)
        self.search.bind(events, actions)
        self.importer.bind(events, actions.import_conversation,
                           lambda text: self.show_notice(text, level="error"))
        self.past.bind(events, actions, actions.show_open_conversation)
        self.dialog.bind(events)
        self.shortcuts.bind(events)
        self.menu.on("shortcuts", self.shortcuts.open)
        self.menu.on("search", self.search.open)
        self.menu.on("history", self.history.open)
        self.menu.bind(events)

        def select_adjacent(step: int) -> None:
            if actions.select_adjacent_character(step) is not None:
                self.focus_input()

        Keyboard({
            "new-conversation": self.header.new_conversation.click,
            "focus-search": self.focus_search,
            "next-character": lambda: select_adjacent(1),
            "previous-character": lambda: select_adjacent(-1),
            "help": self.shortcuts.open,
        }).bind(events)

    def _stop(self, actions: ChatActions, *, only_if_stopped: bool = False) -> None:
        if actions.stop() or not only_if_stopped:
            self.composer.focus()  # the stopped text comes back here
