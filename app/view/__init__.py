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

from collections.abc import Collection
from typing import Protocol

from pyscript import document

from ..settings import Character
from ..transcript import Message
from ..wording import describe_error
from .characters import AddCharacterForm, CharacterList
from .composer import ActivityIndicator, Composer
from .dialogs import ConfirmDialog
from .dom import Announcer, Listeners
from .header import ChatHeader, download
from .messages import MessageList
from .notices import Notices

__all__ = ["ChatActions", "DomView"]


class ChatActions(Protocol):
    """What the page's controls ask of the controller (return values other than these are ignored)."""

    def submit(self) -> object: ...

    def retry(self, index: int) -> object: ...

    def stop(self) -> object: ...

    def select_character(self, config_id: str) -> object: ...

    def add_character(self, raw_config_id: str, raw_name: str = "") -> object: ...

    def remove_character(self, config_id: str) -> object: ...

    def needs_confirmation(self, action: str, config_id: str | None = None) -> bool: ...

    def new_conversation(self) -> None: ...

    def clear_all_sessions(self) -> None: ...

    def export_conversation(self, fmt: str, exported_at: str) -> tuple[str, str] | None: ...


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
        self.messages = MessageList(announcer, self.notices.show)
        self.composer = Composer(announcer)
        self.activity = ActivityIndicator(self.root)
        self._events = Listeners(lambda exc: self.notices.show(describe_error(exc), level="error"))

    # ----- ChatView ------------------------------------------------------------------------

    def show_characters(self, characters: list[Character], current: str | None, unread: Collection[str]) -> None:
        self.characters.show(characters, current, unread)
        for character in characters:
            if character.config_id == current:
                self.messages.character_name = character.name

    def show_unread(self, config_id: str, unread: bool) -> None:
        self.characters.show_unread(config_id, unread)

    def show_conversation(self, character: Character, messages: list[Message]) -> None:
        self.header.show_character(character)
        self.messages.show_conversation(character.name, messages)

    def append_message(self, message: Message, index: int) -> None:
        self.messages.append_message(message, index)

    def show_streaming(self, text: str | None) -> None:
        self.messages.live.show(text)

    def show_session(self, session_id: str | None) -> None:
        self.header.show_session(session_id)

    def show_activity(self, *, sending: bool, setting_up: bool) -> None:
        """Send is disabled at once; "is replying…" and Stop appear only if the wait lasts."""
        if self.activity.show(sending=sending, setting_up=setting_up, name=self.messages.character_name):
            self.composer.set_busy(sending or setting_up)

    def read_input(self) -> str:
        return self.composer.read()

    def write_input(self, text: str) -> None:
        self.composer.write(text)

    def show_notice(self, text: str | None, *, level: str = "info") -> None:
        """Info replaces the previous info (``None`` clears it); warnings and errors accumulate."""
        self.notices.show(text, level=level)

    def show_offline(self, offline: bool) -> None:
        self.notices.show_offline(offline)
        self.composer.set_offline(offline)

    def show_add_character_error(self, text: str | None) -> None:
        """Show why a config ID was refused; ``None`` means it was accepted (the field is cleared)."""
        self.add_form.show_error(text)

    # ----- the page ------------------------------------------------------------------------

    def set_ready(self) -> None:
        """Enable the controls that wait for Python, and mark ``<html data-app-state="ready">``."""
        self.composer.set_ready()
        for node in document.querySelectorAll("[data-needs-python]"):
            node.disabled = False
        document.getElementById("boot").hidden = True
        self.root.dataset.appState = "ready"

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
        self.composer.bind(events, actions.submit)
        self.activity.bind(events, lambda: self._stop(actions), lambda: self._stop(actions, only_if_stopped=True))
        self.messages.bind(events, actions.retry)
        self.characters.bind(events, actions)
        self.add_form.bind(events, actions.add_character)
        self.header.bind(events, actions, lambda: self.messages.character_name)
        self.dialog.bind(events)

    def _stop(self, actions: ChatActions, *, only_if_stopped: bool = False) -> None:
        if actions.stop() or not only_if_stopped:
            self.composer.focus()  # the stopped text comes back here
