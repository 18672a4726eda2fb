"""What the page does, without the DOM: the chat flow behind every button.

:class:`ChatController` handles every user action and tells a
:class:`ChatView` (the DOM in the browser, a fake in tests) what to show.
The conversations and their storing are :mod:`app.conversations`'; what is
under way per character is :mod:`app.inflight`'s. Failures become error
messages in the conversation, never exceptions out of a handler.

Work that finishes after the user threw its conversation away (new
conversation, remove, clear all, or the same in another tab) is dropped:
each such action clears the session, which changes the session manager's
:meth:`~app.sessions.SessionManager.token`, and the work compares the token
it started with.

A reply that lands for a character other than the open one marks that
character unread until it is opened (kept in memory, per page).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from typing import Protocol

from .api import ProxyClient
from .conversations import Conversations, Defer
from .errors import ChatError, InvalidConfigId
from .export import conversation_json, conversation_markdown
from .inflight import Background, InFlight
from .roster import Roster
from .sending import Sender
from .sessions import SessionManager
from .settings import Character
from .shortcuts import adjacent
from .tabs import OtherTabs
from .transcript import MAX_MESSAGES, Message, TranscriptStore
from .wording import describe_error

STORAGE_NOTICE = "Browser storage is unavailable: sessions and conversations last only until this page is closed."


class ChatView(Protocol):
    """What the controller needs from the page."""

    def show_characters(self, characters: list[Character], current: str | None, unread: Collection[str]) -> None:
        """List ``characters``, ``current`` open, the ``unread`` ones marked so."""

    def show_unread(self, config_id: str, unread: bool) -> None:
        """Mark (or unmark) one listed character as having a reply not seen yet."""

    def show_conversation(self, character: Character, messages: list[Message]) -> None: ...

    def append_message(self, message: Message, index: int) -> None: ...

    def show_streaming(self, text: str | None) -> None:
        """The reply streaming in, as far as it came, after the messages (None: it ended)."""

    def show_session(self, session_id: str | None) -> None: ...

    def show_activity(self, *, sending: bool, setting_up: bool) -> None: ...

    def read_input(self) -> str: ...

    def write_input(self, text: str) -> None: ...

    def show_notice(self, text: str | None, *, level: str = "info") -> None: ...

    def show_add_character_error(self, text: str | None) -> None: ...

    def show_offline(self, offline: bool) -> None: ...


class ChatController:
    """The user's actions on the page (open, add, remove, send, start over, export) and what they show."""

    def __init__(
        self,
        view: ChatView,
        sessions: SessionManager,
        client: ProxyClient,
        transcripts: TranscriptStore,
        roster: Roster,
        *,
        storage_problem: Callable[[], str | None] = lambda: None,
        max_messages: int = MAX_MESSAGES,
        defer: Defer | None = None,
    ) -> None:
        """Without ``defer``, every change is stored at once (tests, other hosts).

        With it, storing waits until the page has shown the change (see
        :mod:`app.conversations`). Call :meth:`flush_saves` when the page is hidden or closed.
        """
        self.view = view
        self.sessions = sessions
        self.client = client
        self.roster = roster
        self.current: str | None = None
        self.online = True
        self.conversations = Conversations(
            transcripts, max_messages=max_messages, defer=defer, after_store=self._check_storage,
            on_error=self._show_bug, greeting=lambda config_id: self.character(config_id).greeting,
        )
        self.unread: set[str] = set()  # characters with a reply that landed while another was open
        self.inflight = InFlight()
        self.background = Background(self._show_bug)
        self.sender = Sender(self)
        self.tabs = OtherTabs(self)
        self._storage_problem = storage_problem
        self._storage_notice_shown = False

    # ----- helpers -------------------------------------------------------------------------

    def _show_bug(self, exc: BaseException) -> None:
        # A bug, not a chat failure (those become messages): never let it pass silently.
        self.view.show_notice(describe_error(exc), level="error")

    def conversation(self, config_id: str) -> list[Message]:
        return self.conversations.get(config_id)

    def character(self, config_id: str) -> Character:
        return self.roster.find(config_id) or Character(config_id, config_id)

    def show_roster(self) -> None:
        """List the characters again (the open one marked, the unread ones too)."""
        self.view.show_characters(self.roster.characters, self.current, self.unread)

    def show_open_conversation(self) -> None:
        """Show the open character's conversation anew, with the reply streaming in, if one is."""
        if self.current is None:
            return
        self.view.show_conversation(self.character(self.current), self.conversation(self.current))
        streamed = self.inflight.streamed(self.current)
        if streamed:
            self.view.show_streaming(streamed)

    def refresh_activity(self) -> None:
        cid = self.current
        self.view.show_activity(sending=self.inflight.sending(cid), setting_up=self.inflight.setting_up(cid))

    def _check_storage(self) -> None:
        problem = None if self._storage_notice_shown else self._storage_problem()
        if problem:
            self._storage_notice_shown = True
            self.view.show_notice(f"{STORAGE_NOTICE} ({problem})", level="warning")

    def flush_saves(self) -> None:
        """Store every conversation changed since it was last stored (the page is hidden or closing)."""
        self.conversations.flush()

    def append(self, config_id: str, message: Message, *, save_max_delay: float = 0.0) -> None:
        """Add ``message`` to the conversation, show it if open, then store it."""
        overflow = self.conversations.add(config_id, message)
        if config_id != self.current and message.role != "user" and not message.transient:
            if config_id not in self.unread:  # a reply (or a failure) for a character not on screen
                self.unread.add(config_id)
                self.view.show_unread(config_id, True)
        if config_id == self.current:  # shown first, then stored
            messages = self.conversation(config_id)
            if overflow:
                self.show_open_conversation()
            else:
                self.view.append_message(message, len(messages) - 1)
        if not message.transient:
            self.conversations.save(config_id, message, max_delay=save_max_delay)

    def still_current(self, config_id: str, token: tuple[int, int]) -> bool:
        """Whether ``config_id``'s conversation is the one that work started with ``token`` belongs to."""
        return self.sessions.token(config_id) == token

    # ----- opening characters ------------------------------------------------------------------

    async def start(self, requested: str | None = None) -> None:
        """Open the requested character (added if new), else the last open one, else the first."""
        target: str | None = None
        if requested is not None and requested.strip():
            try:
                target = self.roster.add(requested).config_id
            except InvalidConfigId as exc:
                self.view.show_notice(f"Ignored ?character=: {exc}", level="warning")
        target = target or self.roster.last_open()
        if target is None and self.roster.characters:
            target = self.roster.characters[0].config_id
        if target is None:
            self.show_roster()
            self.view.show_notice("No characters configured yet: add one by its config ID.")
            return
        await self.open_character(target)
        self._check_storage()

    async def open_character(self, config_id: str) -> None:
        """Show ``config_id``'s conversation and make sure it has a session."""
        if config_id != self.current:
            self.view.show_notice(None)  # info about the previous character; warnings stay
        self.current = config_id
        self.unread.discard(config_id)
        self.roster.remember_open(config_id)
        self.show_roster()
        self.show_open_conversation()
        self.view.show_session(self.sessions.peek(config_id))
        self.refresh_activity()
        if self.sessions.peek(config_id) is None and not self.inflight.setting_up(config_id):
            await self._set_up_session(config_id)

    async def _set_up_session(self, config_id: str) -> None:
        self.inflight.begin_setup(config_id)
        self.refresh_activity()
        token = self.sessions.token(config_id)
        try:
            await self.sessions.get_session(config_id)
        except ChatError as exc:
            # Transient: a setup failure is about now, not part of the conversation's history.
            if self.still_current(config_id, token):
                self.append(config_id, Message("error", describe_error(exc), transient=True))
        finally:
            self.inflight.end_setup(config_id)
            if config_id == self.current:
                self.view.show_session(self.sessions.peek(config_id))
                self.refresh_activity()
            self._check_storage()

    def select_character(self, config_id: str) -> asyncio.Future[None] | None:
        if config_id == self.current or self.roster.find(config_id) is None:
            return None
        return self.background.spawn(self.open_character(config_id))

    def select_adjacent_character(self, step: int) -> asyncio.Future[None] | None:
        """Open the character ``step`` places after the open one in the list (wrapping around; -1: the one before)."""
        target = adjacent([c.config_id for c in self.roster.characters], self.current, step)
        return None if target is None else self.select_character(target)

    def add_character(self, raw_config_id: str, raw_name: str = "") -> asyncio.Future[None] | None:
        """Add (or find) a character by config ID, named ``raw_name`` if given, and open it; a bad ID gets a message."""
        try:
            character = self.roster.add(raw_config_id, raw_name)
        except InvalidConfigId as exc:
            self.view.show_add_character_error(str(exc))
            return None
        self.view.show_add_character_error(None)
        self._check_storage()
        if character.config_id == self.current:
            self.show_roster()
            self.show_open_conversation()  # its name may have changed
            return None
        return self.background.spawn(self.open_character(character.config_id))

    def remove_character(self, config_id: str) -> asyncio.Future[None] | None:
        """Remove a character the user added, with its session and conversation."""
        if not self.roster.remove(config_id):
            return None
        self.sessions.clear_session(config_id)
        self.conversations.clear(config_id, keep=False)
        self.inflight.cancel(config_id)  # its reply is moot (the cleared session's token keeps it silent)
        self.unread.discard(config_id)
        if config_id != self.current:
            self.show_roster()
            return None
        self.current = None
        if not self.roster.characters:
            self.show_roster()
            return None
        return self.background.spawn(self.open_character(self.roster.characters[0].config_id))

    # ----- sending (app.sending) -------------------------------------------------------------

    def submit(self) -> asyncio.Future[None] | None:
        """Send what is in the input (see :meth:`Sender.submit`)."""
        return self.sender.submit()

    def retry(self, index: int) -> asyncio.Future[None] | None:
        """Resend the message behind the failed one at ``index`` of the open conversation."""
        return self.sender.retry(index)

    def stop(self) -> bool:
        """Cancel the open character's pending reply (the browser aborts the request)."""
        return self.inflight.cancel(self.current)

    # ----- keeping a conversation ---------------------------------------------------------------

    def export_conversation(self, fmt: str, exported_at: str) -> tuple[str, str] | None:
        """``(file name, content)`` of the open conversation as ``"markdown"`` or ``"json"`` (a greeting marked so)."""
        if self.current is None:
            return None
        render = conversation_markdown if fmt == "markdown" else conversation_json
        messages = [m for m in self.conversation(self.current) if not m.transient]
        return render(self.character(self.current), messages, exported_at)

    # ----- the connection -------------------------------------------------------------------

    def set_online(self, online: bool) -> None:
        """The browser went offline or back online: sending pauses meanwhile, with the reason shown."""
        self.online = online
        self.view.show_offline(not online)
        if online:
            self.view.show_notice(None)

    # ----- other tabs (app.tabs) ------------------------------------------------------------

    def storage_changed(self, key: str | None) -> None:
        """Another tab changed storage (``key`` None: it cleared everything); adopt it now."""
        self.tabs.storage_changed(key)

    # ----- starting over -------------------------------------------------------------------

    def needs_confirmation(self, action: str, config_id: str | None = None) -> bool:
        """Whether ``"new"``, ``"remove"`` (of ``config_id``) or ``"clear-all"`` would discard visible messages."""
        # A greeting alone is nothing to lose: it comes back with the next conversation.
        if action == "new":
            return bool(self.current and self.conversations.has_messages(self.current))
        if action == "remove":
            return bool(config_id and self.conversations.has_messages(config_id))
        return any(self.sessions.peek(c.config_id) or self.conversations.has_messages(c.config_id)
                   for c in self.roster.characters)

    def new_conversation(self) -> None:
        """Forget the open character's session and conversation; the next message starts a new one."""
        config_id = self.current
        if config_id is None:
            return
        self.sessions.clear_session(config_id)
        self.conversations.clear(config_id)
        self.inflight.cancel(config_id)  # aborts the request; the cleared session's token keeps it silent
        self.view.show_conversation(self.character(config_id), self.conversation(config_id))  # its greeting
        self.view.show_session(None)
        self.view.show_notice("New conversation: your next message starts a new session.")

    def clear_all_sessions(self) -> None:
        """Forget every character's session and conversation (other storage is untouched)."""
        pending = {*self.conversations.loaded(), *self.inflight.sending_characters(),
                   *(c.config_id for c in self.roster.characters)}
        self.sessions.clear_all_sessions()
        self.conversations.clear_all()
        for config_id in pending:
            self.inflight.cancel(config_id)
        if self.unread:
            self.unread.clear()  # their replies are gone
            self.show_roster()
        if self.current is not None:
            self.view.show_conversation(self.character(self.current), self.conversation(self.current))
        self.view.show_session(None)
        self.view.show_notice("All sessions cleared: new sessions start when you next chat.")
