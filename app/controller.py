"""What the page does, without the DOM: the chat flow behind every button.

:class:`ChatController` owns the per-character conversations and the
"sending" / "setting up" states, and talks to a :class:`ChatView` (the DOM in
the browser, a fake in tests). Every user action is handled here; failures
become error messages in the conversation, never exceptions out of a handler.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from .api import ProxyClient
from .chat import send_chat_message
from .errors import ChatError, InvalidConfigId
from .export import conversation_json, conversation_markdown
from .roster import Roster
from .sessions import SESSION_KEY_PREFIX, SessionManager
from .settings import Character
from .transcript import MAX_MESSAGES, TRANSCRIPT_PREFIX, Message, TranscriptStore, message_too_long
from .wording import describe_error

STOPPED = "Stopped: you cancelled this reply. Retry sends it again."
OFFLINE_NOTICE = "You are offline: your message is kept; send it when the connection is back."
RENEWED_NOTICE = "The previous session had expired, so this conversation continues in a new session."
STORAGE_NOTICE = "Browser storage is unavailable: sessions and conversations last only until this page is closed."
# With a ``defer``, a sent message is stored together with its reply, in one write after the reply is
# shown; a reply slower than this (seconds) leaves the sent message stored on its own meanwhile.
SENT_SAVE_DELAY = 0.25

# Runs a callback in a browser task of its own, that many seconds from now (0: as soon as it can).
Defer = Callable[[float, Callable[[], None]], None]


def start_task(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """Run ``coro`` as a task, starting it at once (Python 3.12+) rather than on the next loop turn.

    In the browser each loop turn is a separate browser task: starting
    eagerly sends a message's request within the key press that sent it,
    before the browser renders a frame. The task may be done on return.
    """
    loop = asyncio.get_event_loop()
    if sys.version_info >= (3, 12):
        return asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]
    return loop.create_task(coro)


class ChatView(Protocol):
    """What the controller needs from the page."""

    def show_characters(self, characters: list[Character], current: str | None) -> None: ...

    def show_conversation(self, character: Character, messages: list[Message]) -> None: ...

    def append_message(self, message: Message, index: int) -> None: ...

    def show_session(self, session_id: str | None) -> None: ...

    def show_activity(self, *, sending: bool, setting_up: bool) -> None: ...

    def read_input(self) -> str: ...

    def write_input(self, text: str) -> None: ...

    def show_notice(self, text: str | None, *, level: str = "info") -> None: ...

    def show_add_character_error(self, text: str | None) -> None: ...

    def show_offline(self, offline: bool) -> None: ...


class ChatController:
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

        With it, storing waits until the page has shown the change: see
        :meth:`_save`. Call :meth:`flush_saves` when the page is hidden or closed.
        """
        self.view = view
        self.sessions = sessions
        self.client = client
        self.transcripts = transcripts
        self.roster = roster
        self.current: str | None = None
        self._storage_problem = storage_problem
        self._defer = defer
        # Conversations changed since they were last stored, with the messages added meanwhile.
        self._unsaved: dict[str, list[Message]] = {}
        self._flush_soon = False  # a flush is due in the next callback
        self._storage_notice_shown = False
        self._max_messages = max_messages
        self._conversations: dict[str, list[Message]] = {}
        self._sending: set[str] = set()
        self._setting_up: set[str] = set()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self.online = True
        # Bumped by "new conversation" / "clear all": replies to requests sent before are dropped.
        self._resets: dict[str, int] = {}

    # ----- helpers -------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Future[None]:
        task = start_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A bug, not a chat failure (those become messages): never let it pass silently.
            self.view.show_notice(describe_error(task.exception() or Exception()), level="error")

    def conversation(self, config_id: str) -> list[Message]:
        if config_id not in self._conversations:
            self._conversations[config_id] = self.transcripts.load(config_id)
        return self._conversations[config_id]

    def _character(self, config_id: str) -> Character:
        return self.roster.find(config_id) or Character(config_id, config_id)

    def _refresh_activity(self) -> None:
        cid = self.current
        self.view.show_activity(sending=cid in self._sending, setting_up=cid in self._setting_up)

    def _check_storage(self) -> None:
        problem = None if self._storage_notice_shown else self._storage_problem()
        if problem:
            self._storage_notice_shown = True
            self.view.show_notice(f"{STORAGE_NOTICE} ({problem})", level="warning")

    def _save(self, config_id: str, added: Message | None = None, *, max_delay: float = 0.0) -> None:
        """Store ``config_id``'s conversation (``added``: the message just appended to it).

        At once without a ``defer``, else in a callback of its own: the write
        is not part of the browser task that shows the change (it would hold
        up that frame), and one write stores everything changed meanwhile.
        ``max_delay``: a later flush is soon enough (a sent message waits for
        its reply), but no later than that many seconds. (Each send leaves
        such a timer; it usually finds nothing left to store.)
        """
        if self._defer is None:
            self._store(config_id)
            return
        self._unsaved.setdefault(config_id, []).extend([added] if added else [])
        if max_delay > 0:
            self._defer(max_delay, self.flush_saves)
        elif not self._flush_soon:
            self._flush_soon = True
            self._defer(0, self.flush_saves)

    def flush_saves(self) -> None:
        """Store every conversation changed since it was last stored (the page is hidden or closing, or it is time)."""
        self._flush_soon = False
        while self._unsaved:
            config_id, _added = self._unsaved.popitem()
            try:
                self._store(config_id)
            except Exception as exc:  # noqa: BLE001 - a bug (storage failures are handled below): show it
                self.view.show_notice(describe_error(exc), level="error")

    def _store(self, config_id: str) -> None:
        self.transcripts.save(config_id, self.conversation(config_id))
        self._check_storage()

    def _append(self, config_id: str, message: Message, *, save_max_delay: float = 0.0) -> None:
        """Add ``message`` to the conversation, show it if open, and store it (see :meth:`_save`)."""
        messages = self.conversation(config_id)
        messages.append(message)
        overflow = len(messages) - self._max_messages
        if overflow > 0:
            del messages[:overflow]
        if config_id == self.current:  # shown first, then stored
            if overflow > 0:
                self.view.show_conversation(self._character(config_id), messages)
            else:
                self.view.append_message(message, len(messages) - 1)
        if not message.transient:
            self._save(config_id, message, max_delay=save_max_delay)

    def is_busy(self, config_id: str | None = None) -> bool:
        cid = self.current if config_id is None else config_id
        return cid in self._sending or cid in self._setting_up

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
            self.view.show_characters(self.roster.characters, None)
            self.view.show_notice("No characters configured yet: add one by its config ID.")
            return
        await self.open_character(target)
        self._check_storage()

    async def open_character(self, config_id: str) -> None:
        """Show ``config_id``'s conversation and make sure it has a session."""
        character = self._character(config_id)
        if config_id != self.current:
            self.view.show_notice(None)  # info about the previous character; warnings stay
        self.current = config_id
        self.roster.remember_open(config_id)
        self.view.show_characters(self.roster.characters, config_id)
        self.view.show_conversation(character, self.conversation(config_id))
        self.view.show_session(self.sessions.peek(config_id))
        self._refresh_activity()
        if self.sessions.peek(config_id) is None and config_id not in self._setting_up:
            await self._set_up_session(config_id)

    async def _set_up_session(self, config_id: str) -> None:
        self._setting_up.add(config_id)
        self._refresh_activity()
        reset_mark = self._resets.get(config_id, 0)
        try:
            await self.sessions.get_session(config_id)
        except ChatError as exc:
            # Transient: a setup failure is about now, not part of the conversation's history.
            if self._resets.get(config_id, 0) == reset_mark:
                self._append(config_id, Message("error", describe_error(exc), transient=True))
        finally:
            self._setting_up.discard(config_id)
            if config_id == self.current:
                self.view.show_session(self.sessions.peek(config_id))
                self._refresh_activity()
            self._check_storage()

    def select_character(self, config_id: str) -> asyncio.Future[None] | None:
        if config_id == self.current or self.roster.find(config_id) is None:
            return None
        return self._spawn(self.open_character(config_id))

    def add_character(self, raw_config_id: str) -> asyncio.Future[None] | None:
        """Add (or find) a character by config ID and open it; a bad ID gets a message."""
        try:
            character = self.roster.add(raw_config_id)
        except InvalidConfigId as exc:
            self.view.show_add_character_error(str(exc))
            return None
        self.view.show_add_character_error(None)
        self._check_storage()
        if character.config_id == self.current:
            self.view.show_characters(self.roster.characters, self.current)
            return None
        return self._spawn(self.open_character(character.config_id))

    def remove_character(self, config_id: str) -> asyncio.Future[None] | None:
        """Remove a character the user added, with its session and conversation."""
        if not self.roster.remove(config_id):
            return None
        self._discard_pending(config_id)
        self.sessions.clear_session(config_id)
        self.transcripts.clear(config_id)
        self._conversations.pop(config_id, None)
        if config_id != self.current:
            self.view.show_characters(self.roster.characters, self.current)
            return None
        self.current = None
        if not self.roster.characters:
            self.view.show_characters([], None)
            return None
        return self._spawn(self.open_character(self.roster.characters[0].config_id))

    # ----- sending -------------------------------------------------------------------------

    def submit(self) -> asyncio.Future[None] | None:
        """Send what is in the input. Synchronous up to the request, so repeated Enter sends once."""
        config_id = self.current
        text = self.view.read_input()
        if config_id is None or not text.strip():
            return None
        if not self.online:
            self.view.show_notice(OFFLINE_NOTICE)
            return None
        if self.is_busy(config_id):
            # Refused, visibly; the text stays in the input to send once the reply is in.
            waiting = "the session is set up" if config_id in self._setting_up else "the reply arrives"
            self.view.show_notice(f"Your message is kept: send it once {waiting}.")
            return None
        too_long = message_too_long(text)
        if too_long:
            self.view.show_notice(too_long)
            return None
        self.view.write_input("")
        return self._start_send(config_id, text)

    def retry(self, index: int) -> asyncio.Future[None] | None:
        """Resend the message behind the failed one at ``index`` of the open conversation."""
        config_id = self.current
        if config_id is None or self.is_busy(config_id):
            return None
        if not self.online:
            self.view.show_notice(OFFLINE_NOTICE)
            return None
        messages = self.conversation(config_id)
        if not 0 <= index < len(messages) or messages[index].retry is None:
            return None
        text = messages[index].retry
        assert text is not None
        if self.view.read_input() == text:
            self.view.write_input("")
        return self._start_send(config_id, text)

    def _drop_superseded(self, config_id: str, text: str) -> None:
        """Before sending ``text``: remove failures it supersedes, so nothing is shown (or sent) twice.

        A failed message whose text is sent again (from the restored input or
        Retry) is replaced by the new attempt, and a failed session setup is
        moot once the user sends.
        """
        messages = self.conversation(config_id)
        if not any(m.transient or (m.role == "error" and m.retry == text) for m in messages):
            return  # the usual case, checked without building a new list
        kept: list[Message] = []
        for message in messages:
            if message.transient or (message.role == "error" and message.retry == text):
                if message.retry == text and kept and kept[-1].role == "user" and kept[-1].text == text:
                    kept.pop()
                continue
            kept.append(message)
        if len(kept) != len(messages):
            messages[:] = kept
            self._save(config_id)
            if config_id == self.current:
                self.view.show_conversation(self._character(config_id), messages)

    def _start_send(self, config_id: str, text: str) -> asyncio.Future[None]:
        self._sending.add(config_id)
        self._refresh_activity()
        self._drop_superseded(config_id, text)
        self._append(config_id, Message("user", text), save_max_delay=SENT_SAVE_DELAY)
        task = self._spawn(self._deliver(config_id, text, self._resets.get(config_id, 0)))
        if not task.done():  # started eagerly, it may already have finished (and cleaned up)
            self._inflight[config_id] = task
        return task

    def stop(self) -> bool:
        """Cancel the open character's pending reply (the browser aborts the request)."""
        task = self._inflight.get(self.current or "")
        if task is None or task.done():
            return False
        task.cancel()
        return True

    async def _deliver(self, config_id: str, text: str, reset_mark: int) -> None:
        try:
            result = await send_chat_message(self.sessions, self.client, config_id, text)
        except asyncio.CancelledError:
            # Stopped by the user: the request is aborted, the text kept (the service may still have seen it).
            if self._resets.get(config_id, 0) == reset_mark:
                self._append(config_id, Message("error", STOPPED, retry=text))
                if config_id == self.current and not self.view.read_input():
                    self.view.write_input(text)
        except Exception as exc:  # noqa: BLE001 - every failure must reach the conversation
            if self._resets.get(config_id, 0) != reset_mark:
                return  # the user started over meanwhile; this belongs to the discarded conversation
            self._append(config_id, Message("error", describe_error(exc), retry=text))
            if config_id == self.current and not self.view.read_input():
                self.view.write_input(text)  # nothing the user typed is lost
        else:
            if self._resets.get(config_id, 0) != reset_mark:
                return
            self._append(config_id, Message("assistant", result.text))
            if config_id == self.current:
                self.view.show_notice(RENEWED_NOTICE if result.renewed else None)
        finally:
            self._sending.discard(config_id)
            self._inflight.pop(config_id, None)
            if config_id == self.current:
                self.view.show_session(self.sessions.peek(config_id))
                self._refresh_activity()

    # ----- keeping a conversation ---------------------------------------------------------------

    def export_conversation(self, fmt: str, exported_at: str) -> tuple[str, str] | None:
        """``(file name, content)`` of the open conversation as ``"markdown"`` or ``"json"``."""
        if self.current is None:
            return None
        render = conversation_markdown if fmt == "markdown" else conversation_json
        messages = [m for m in self.conversation(self.current) if not m.transient]
        return render(self._character(self.current), messages, exported_at)

    # ----- the connection -------------------------------------------------------------------

    def set_online(self, online: bool) -> None:
        """The browser went offline or back online: sending pauses meanwhile, with the reason shown."""
        self.online = online
        self.view.show_offline(not online)
        if online:
            self.view.show_notice(None)

    # ----- other tabs -----------------------------------------------------------------------

    def storage_changed(self, key: str | None) -> None:
        """Another tab changed storage (``key`` None: it cleared everything); adopt it now."""
        for prefix in (SESSION_KEY_PREFIX, TRANSCRIPT_PREFIX):
            if key is not None and not key.startswith(prefix):
                continue
            config_id = None if key is None else key[len(prefix) :]
            affected = [c for c in {*self._conversations, *self._inflight} if config_id in (None, c)]
            for character in affected:
                if self.storage_lost(prefix, character):
                    self._discard_pending(character)  # cleared over there: this reply is moot here too
                    self.sessions.forget_cached(character, cleared=True)
                if prefix == TRANSCRIPT_PREFIX and character in self._unsaved:
                    # Stored over there while this tab's newest messages were not stored yet: both
                    # are kept, theirs first, and stored (that tab then adopts the result).
                    mine = [m for m in self._unsaved.pop(character) if not m.transient]
                    self._conversations[character] = self.transcripts.load(character) + mine
                    self._store(character)
                elif prefix == TRANSCRIPT_PREFIX:
                    self._conversations.pop(character, None)  # reloaded from storage when next shown
            self.sessions.forget_cached(config_id)
            if self.current is not None and config_id in (None, self.current):
                self.view.show_session(self.sessions.peek(self.current))
                self.view.show_conversation(self._character(self.current), self.conversation(self.current))

    def storage_lost(self, prefix: str, config_id: str) -> bool:
        """Whether another tab removed ``config_id``'s session or conversation."""
        if prefix == SESSION_KEY_PREFIX:
            return self.sessions.peek_stored(config_id) is None and config_id in self._inflight
        return not self.transcripts.load(config_id) and bool(self._conversations.get(config_id))

    # ----- starting over -------------------------------------------------------------------

    def _discard_pending(self, config_id: str) -> None:
        """The user (here or in another tab) threw this conversation away: its pending reply is moot."""
        self._resets[config_id] = self._resets.get(config_id, 0) + 1
        self._unsaved.pop(config_id, None)  # thrown away: a pending write must not bring it back
        task = self._inflight.get(config_id)
        if task is not None and not task.done():
            task.cancel()  # aborts the request; the reset mark keeps the cancellation silent

    def needs_confirmation(self, action: str, config_id: str | None = None) -> bool:
        """Whether ``"new"``, ``"remove"`` (of ``config_id``) or ``"clear-all"`` would discard visible messages."""
        if action == "new":
            return bool(self.current and self.conversation(self.current))
        if action == "remove":
            return bool(config_id and self.conversation(config_id))
        return any(self.sessions.peek(c.config_id) or self.conversation(c.config_id) for c in self.roster.characters)

    def new_conversation(self) -> None:
        """Forget the open character's session and conversation; the next message starts a new one."""
        config_id = self.current
        if config_id is None:
            return
        self._discard_pending(config_id)
        self.sessions.clear_session(config_id)
        self.transcripts.clear(config_id)
        self._conversations[config_id] = []
        self.view.show_conversation(self._character(config_id), [])
        self.view.show_session(None)
        self.view.show_notice("New conversation: your next message starts a new session.")

    def clear_all_sessions(self) -> None:
        """Forget every character's session and conversation (other storage is untouched)."""
        for config_id in {*self._conversations, *self._sending, *(c.config_id for c in self.roster.characters)}:
            self._discard_pending(config_id)
        self.sessions.clear_all_sessions()
        self.transcripts.clear_all()
        self._conversations.clear()
        if self.current is not None:
            self.view.show_conversation(self._character(self.current), [])
        self.view.show_session(None)
        self.view.show_notice("All sessions cleared: new sessions start when you next chat.")
