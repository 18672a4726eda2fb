"""The chat header: whose conversation (face, name, description, config ID), its session, New conversation and
Export (and the download)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import js
from pyodide.ffi import create_once_callable, to_js
from pyscript import document

from ..i18n import _
from ..settings import Character
from .avatars import avatar_node
from .dialogs import ConfirmDialog
from .dom import Listeners, el, isolated

if TYPE_CHECKING:
    from . import ChatActions

EXPORTS = {  # export button id: (format, file type)
    "export-markdown": ("markdown", "text/markdown;charset=utf-8"),
    "export-json": ("json", "application/json;charset=utf-8"),
}


def download(name: str, content: str, mime: str) -> None:
    """Offer ``content`` as a file download named ``name``."""
    blob = js.Blob.new(to_js([content]), to_js({"type": mime}, dict_converter=js.Object.fromEntries))
    url = js.URL.createObjectURL(blob)
    link = el("a", href=url, download=name, hidden="")
    document.body.appendChild(link)
    link.click()
    link.remove()
    js.setTimeout(create_once_callable(lambda: js.URL.revokeObjectURL(url)), 10_000)


class ChatHeader:
    """The title (also the tab's), the session line, and the buttons acting on this conversation."""

    def __init__(self, dialog: ConfirmDialog) -> None:
        byid = document.getElementById
        self.title = byid("chat-title")
        self.avatar = byid("chat-avatar")
        self.description = byid("chat-description")
        self.config_id_line = byid("config-id-line")
        self.config_id = byid("config-id")
        self.session_id = byid("session-id")
        self.session_none = byid("session-none")
        self.api_base_line = byid("api-base-line")
        self.api_base = byid("api-base")
        self.new_conversation = byid("new-conversation")
        self._dialog = dialog
        self._session_shown: str | None = None  # as index.html starts: "none yet"
        self._character_shown: Character | None = None

    def show_character(self, character: Character) -> None:
        """Its face, name (also the tab's title), description, and config ID in the small print."""
        if character == self._character_shown:
            return  # shown again with every redraw of the conversation: nothing to lay out anew
        self._character_shown = character
        name = character.name
        self.title.textContent = name
        document.title = _("{name} \u00b7 Character Chat", name=isolated(name))
        self.avatar.replaceChildren(avatar_node(character))
        self.description.textContent = character.description
        self.description.hidden = not character.description
        self.config_id.textContent = character.config_id
        self.config_id_line.hidden = False

    def show_api_base(self, api_base: str) -> None:
        """The API base in use, in the small print: shown when the page's ``?api=`` changed it."""
        self.api_base.textContent = api_base
        self.api_base_line.hidden = False

    def show_session(self, session_id: str | None) -> None:
        if session_id == self._session_shown:
            return  # shown after every reply: an unchanged header must not be laid out again
        self._session_shown = session_id
        self.session_id.textContent = session_id or ""
        self.session_none.hidden = bool(session_id)

    def bind(self, events: Listeners, actions: ChatActions, character_name: Callable[[], str]) -> None:
        """New conversation asks first (naming ``character_name()``) when something would be lost; Export downloads."""

        def on_new(_event: Any) -> None:
            self._dialog.confirm_if(
                actions.needs_confirmation("new"),
                _("Start a new conversation with {name}?", name=isolated(character_name())),
                _("This conversation is kept in the history; your next message starts a new session."),
                _("Start new conversation"),
                actions.new_conversation,
            )

        def on_export(fmt: str, mime: str) -> Callable[[Any], None]:
            def handler(_event: Any) -> None:
                actions.export(fmt, str(js.Date.new().toISOString()), lambda name, text: download(name, text, mime))

            return handler

        events.on(self.new_conversation, "click", on_new)
        for button_id, (fmt, mime) in EXPORTS.items():
            events.on(document.getElementById(button_id), "click", on_export(fmt, mime))
