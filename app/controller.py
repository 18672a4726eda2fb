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
from .archive import Archive, Record, SearchHit
from .conversations import Conversations, Defer
from .drafts import Drafts
from .errors import ChatError, InvalidConfigId
from .export import conversation_json, conversation_markdown
from .i18n import N_, _, ngettext
from .importing import Imported, ImportRefused, parse_export
from .inflight import Background, InFlight
from .quota import Estimate, QuotaWatch
from .roster import ADDED_KEY, OPEN_KEY, Roster
from .sending import Sender
from .sessions import SESSION_KEY_PREFIX, SessionManager
from .settings import Character
from .shortcuts import adjacent
from .storage import CorruptValues, MemoryStorage
from .tabs import OtherTabs
from .transcript import Message, TranscriptStore
from .wording import describe_error, reason

RESUMED_NOTICE = N_("Continuing this conversation. If its session has expired, the character may not remember it.")
STORAGE_NOTICE = N_("Browser storage is unavailable: sessions and conversations last only until this page is closed.")
WRITE_FAILED_NOTICE = N_(
    "The browser refused to save this conversation ({reason}); its storage may be full. What you see stays on this"
    " page, but may be gone after a reload: export the conversations you want to keep (menu, Export)."
)
CORRUPT_NOTICE = N_(
    "Some of this page's saved data was damaged (by other code or another tab). Everything this tab holds and"
    " everything that could still be read was kept, and saved again."
)


class ChatView(Protocol):
    """What the controller needs from the page."""

    def show_characters(self, characters: list[Character], current: str | None, unread: Collection[str]) -> None:
        """List ``characters``, ``current`` open, the ``unread`` ones marked so."""

    def show_unread(self, config_id: str, unread: bool) -> None:
        """Mark (or unmark) one listed character as having a reply not seen yet."""

    def show_conversation(self, character: Character, messages: list[Message]) -> None: ...

    def append_message(self, message: Message, index: int) -> None: ...

    def insert_older(self, position: int, messages: list[Message]) -> bool:
        """``messages`` read after the conversation was shown go in at ``position``, older than all it shows.

        False when the view cannot put them in place (then the controller shows the conversation anew).
        """

    def show_streaming(self, text: str | None) -> None:
        """The reply streaming in, as far as it came, after the messages (None: it ended)."""

    def show_session(self, session_id: str | None) -> None: ...

    def show_activity(self, *, sending: bool, setting_up: bool) -> None: ...

    def read_input(self) -> str: ...

    def write_input(self, text: str) -> None: ...

    def show_notice(self, text: str | None, *, level: str = "info") -> None: ...

    def show_add_character_error(self, text: str | None) -> None: ...

    def show_offline(self, offline: bool) -> None: ...

    def show_history(self, conversations: list[Record]) -> None:
        """List the open character's earlier conversations (newest first)."""

    def show_past(self, character: Character, record: Record, messages: list[Message]) -> None:
        """Show an earlier conversation read-only, with a way to continue it."""

    def show_search_results(self, query: str, hits: list[SearchHit]) -> None:
        """The messages a search found (newest first), or none."""

    def reveal_message(self, index: int) -> None:
        """Bring the ``index``-th message of the conversation shown into view, marked as found."""


class ChatController:
    """The user's actions on the page (open, add, remove, send, start over, export) and what they show."""

    def __init__(
        self,
        view: ChatView,
        sessions: SessionManager,
        client: ProxyClient,
        archive: Archive,
        roster: Roster,
        *,
        legacy: TranscriptStore | None = None,
        storage_problem: Callable[[], str | None] = lambda: None,
        estimate_storage: Estimate | None = None,
        corrupt: CorruptValues | None = None,
        defer: Defer | None = None,
        new_id: Callable[[], str] | None = None,
        drafts: Drafts | None = None,
    ) -> None:
        """Without ``defer``, every change is stored at once (tests, other hosts); without ``drafts``, drafts last
        as long as the page.

        With it, storing waits until the page has shown the change (see
        :mod:`app.conversations`). Call :meth:`flush_saves` when the page is hidden or closed.
        """
        self.view = view
        self.sessions = sessions
        self.client = client
        self.roster = roster
        self.current: str | None = None
        self.viewing: Record | None = None  # an earlier conversation shown read-only, over the current one
        self._searches = 0  # searches started: only the latest one's results are shown
        self.online = True
        self.conversations = Conversations(
            archive, legacy=legacy, defer=defer, after_store=self._check_storage, on_error=self._storage_failed,
            greeting=lambda config_id: self.character(config_id).greeting, session_of=sessions.peek, new_id=new_id,
            corrupt=corrupt,
        )
        self.unread: set[str] = set()  # characters with a reply that landed while another was open
        self.inflight = InFlight()
        self.background = Background(self._show_bug)
        self.sender = Sender(self)
        self.tabs = OtherTabs(self)
        self._storage_problem = storage_problem
        self._quota = None if estimate_storage is None else QuotaWatch(
            estimate_storage, lambda text: self.view.show_notice(text, level="warning"))
        self._storage_notice_shown = False
        self._write_failed_shown = False
        self.drafts = drafts or Drafts(MemoryStorage())
        self._typing_for: str | None = None  # the character whose draft the input holds
        self._corrupt_notice_shown = False
        if corrupt is not None:
            corrupt.listen(self._show_corrupt)

    # ----- helpers -------------------------------------------------------------------------

    def _storage_failed(self, exc: BaseException) -> None:
        # A write the archive refused (quota, blocked, closed): what is on screen stays; say so once.
        if not self._write_failed_shown:
            self._write_failed_shown = True
            self.view.show_notice(_(WRITE_FAILED_NOTICE, reason=describe_error(exc)), level="warning")

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

    def showing(self, config_id: str) -> bool:
        """Whether ``config_id``'s current conversation is the one on screen."""
        return config_id == self.current and self.viewing is None

    def show_open_conversation(self) -> None:
        """Show the open character's conversation anew, with the reply streaming in, if one is."""
        self.viewing = None
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
            notice = _("{notice} ({detail})", notice=_(STORAGE_NOTICE), detail=_(problem))
            self.view.show_notice(notice, level="warning")
        if self._quota is not None and self._quota.due():
            self.background.spawn(self._quota.check())

    def _show_corrupt(self, key: str) -> None:
        """A stored value was junk and has been repaired: say so, once for the page (naming the first key)."""
        if not self._corrupt_notice_shown:
            self._corrupt_notice_shown = True
            self.view.show_notice(_("{notice} ({detail})", notice=_(CORRUPT_NOTICE), detail=key), level="warning")

    def flush_saves(self) -> None:
        """Store every conversation changed since it was last stored (the page is hidden or closing)."""
        self.conversations.flush()

    def page_left(self) -> None:
        """The page is going away: pending replies are kept as far as they came (incomplete), and stored now."""
        self.sender.page_left()
        self.conversations.flush()

    def append(self, config_id: str, message: Message, *, save_max_delay: float = 0.0) -> None:
        """Add ``message`` to the conversation, show it if open, then store it."""
        message = self.conversations.add(config_id, message)
        if config_id != self.current and message.role != "user" and not message.transient:
            if config_id not in self.unread:  # a reply (or a failure) for a character not on screen
                self.unread.add(config_id)
                self.view.show_unread(config_id, True)
        if self.showing(config_id):  # shown first, then stored
            self.view.append_message(message, len(self.conversation(config_id)) - 1)
        if not message.transient:
            self.conversations.save(config_id, message, max_delay=save_max_delay)

    def still_current(self, config_id: str, token: tuple[int, int]) -> bool:
        """Whether ``config_id``'s conversation is the one that work started with ``token`` belongs to."""
        return self.sessions.token(config_id) == token

    # ----- opening characters ------------------------------------------------------------------

    async def start(self, requested: str | None = None, *, shown: Callable[[], None] = lambda: None) -> None:
        """Open the requested character (added if new), else the last open one, else the first.

        ``shown`` is called once the conversation is on screen, before its session is set up.
        """
        target: str | None = None
        if requested is not None and requested.strip():
            try:
                target = self.roster.add(requested).config_id
            except InvalidConfigId as exc:
                self.view.show_notice(_("Ignored ?character=: {reason}", reason=reason(exc)), level="warning")
        target = target or self.roster.last_open()
        if target is None and self.roster.characters:
            target = self.roster.characters[0].config_id
        if target is None:
            self.show_roster()
            self.view.show_notice(_("No characters configured yet: add one by its config ID."))
            shown()
            return
        await self.open_character(target, shown=shown)
        self._check_storage()

    async def open_character(self, config_id: str, *, shown: Callable[[], None] = lambda: None) -> None:
        """Show ``config_id``'s conversation (``shown()`` then) and make sure it has a session."""
        previous, self.current = self.current, config_id
        if not self.conversations.is_loaded(config_id):
            await self.conversations.load(config_id, newest_first=True)  # read from the archive, once
            if self.current != config_id:
                return  # another character was chosen meanwhile
        if config_id != previous:
            self.view.show_notice(None)  # info about the previous character; warnings stay
        self._switch_draft(config_id)
        self.unread.discard(config_id)
        self.roster.remember_open(config_id)
        self.show_roster()
        self.show_open_conversation()
        self.show_history()
        self.view.show_session(self.sessions.peek(config_id))
        self.refresh_activity()
        shown()
        if self.conversations.partial(config_id):  # a long one: its newest are shown, the rest is read now
            self.background.spawn(self._complete(config_id))
        if self.sessions.peek(config_id) is None and not self.inflight.setting_up(config_id):
            await self._set_up_session(config_id)

    async def _complete(self, config_id: str) -> None:
        """Read the older messages of a conversation opened with its newest, and put them behind "Show earlier"."""
        position, older = await self.conversations.complete(config_id)
        if older and self.showing(config_id) and not self.view.insert_older(position, older):
            self.show_open_conversation()

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
            self.view.show_add_character_error(reason(exc))
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
        self.conversations.remove_character(config_id)
        self._drop_draft(config_id)
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

    def export(self, fmt: str, exported_at: str, deliver: Callable[[str, str], None]) -> asyncio.Future[None]:
        """Export the open conversation (:meth:`export_conversation`); ``deliver(file name, content)`` offers it."""

        async def exporting() -> None:
            exported = await self.export_conversation(fmt, exported_at)
            if exported is not None:
                deliver(*exported)

        return self.background.spawn(exporting())

    async def export_conversation(self, fmt: str, exported_at: str) -> tuple[str, str] | None:
        """``(file name, content)`` of the open conversation as ``"markdown"`` or ``"json"`` (a greeting marked so).

        Whole: a conversation opened with its newest messages is read to its start first.
        """
        config_id = self.current
        if config_id is None:
            return None
        await self._complete(config_id)
        render = conversation_markdown if fmt == "markdown" else conversation_json
        messages = [m for m in self.conversation(config_id) if not m.transient]
        return render(self.character(config_id), messages, exported_at)

    def import_conversation(self, text: str, file_name: str) -> asyncio.Future[None] | None:
        """Import a JSON export into its character's history (the character added if the list lacks it).

        A file that is not a good export is refused whole, with the reason, and nothing changes.
        """
        try:
            imported = parse_export(text)
        except ImportRefused as exc:
            self.view.show_notice(_("{file} was not imported. {reason}", file=file_name, reason=str(exc)),
                                  level="error")
            return None
        return self.background.spawn(self._import(imported, file_name))

    async def _import(self, imported: Imported, file_name: str) -> None:
        known = self.roster.find(imported.config_id) is not None
        try:
            record = await self.conversations.import_past(imported.config_id, imported.messages)
        except Exception as exc:  # noqa: BLE001 - the archive refused the write: nothing was imported
            self.view.show_notice(_("{file} was not imported: it could not be stored ({reason}).",
                                    file=file_name, reason=describe_error(exc)), level="error")
            return
        character = self.roster.add(imported.config_id, "" if known else imported.name)
        self._check_storage()
        if self.current != character.config_id:
            await self.open_character(character.config_id)
        else:
            self.show_roster()
        if self.current != character.config_id:
            return
        self.show_history()
        count = len(imported.messages)
        if known:
            notice = ngettext("Imported {count} message into {name}'s history.",
                              "Imported {count} messages into {name}'s history.", count, name=character.name)
        else:
            notice = ngettext("Imported {count} message into {name}'s history, as a new character.",
                              "Imported {count} messages into {name}'s history, as a new character.",
                              count, name=character.name)
        self.view.show_notice(notice)
        await self._show_past(record)

    # ----- the connection -------------------------------------------------------------------

    def set_online(self, online: bool) -> None:
        """The browser went offline or back online: sending pauses meanwhile, with the reason shown."""
        self.online = online
        self.view.show_offline(not online)
        if online:
            self.view.show_notice(None)

    # ----- other tabs (app.tabs) ------------------------------------------------------------

    def storage_changed(self, key: str | None) -> None:
        """Another tab changed storage (``key`` None: it cleared everything); adopt it now.

        Junk written into a session key is repaired first, so it is not taken for a session cleared over there.
        """
        if key is not None and key.startswith(SESSION_KEY_PREFIX):
            self.sessions.repair_stored(key[len(SESSION_KEY_PREFIX) :])
        elif key == ADDED_KEY:
            self.roster.added()  # read to check it: junk is written over with the characters this tab holds
        elif key == OPEN_KEY:
            self.roster.last_open()
        self.tabs.storage_changed(key)

    def archive_changed(self) -> asyncio.Future[None]:
        """Another tab wrote conversations: read them again, and show the open one anew if it changed."""
        return self.background.spawn(self.tabs.archive_changed())

    # ----- starting over -------------------------------------------------------------------

    def needs_confirmation(self, action: str, config_id: str | None = None) -> bool:
        """Whether ``"new"``, ``"remove"`` (of ``config_id``) or ``"clear-all"`` would discard visible messages."""
        # A greeting alone is nothing to lose: it comes back with the next conversation.
        if action == "new":
            return bool(self.current and self.conversations.has_messages(self.current))
        if action == "remove":
            return bool(config_id and (self.conversations.has_messages(config_id)
                                       or self.conversations.history(config_id)))
        return self.conversations.has_stored() or any(
            self.sessions.peek(c.config_id) or self.conversations.has_messages(c.config_id)
            for c in self.roster.characters)

    def new_conversation(self) -> None:
        """Start a new conversation with the open character: the current one goes to its history, with its session.

        The next message starts a new session.
        """
        config_id = self.current
        if config_id is None:
            return
        self.inflight.cancel(config_id)  # aborts the request; the cleared session's token keeps it silent
        ended = self.conversations.end(config_id)
        self.sessions.clear_session(config_id)
        self.view.show_conversation(self.character(config_id), self.conversation(config_id))  # its greeting
        self.view.show_session(None)
        self.view.show_notice(
            _("New conversation: your next message starts a new session. The previous one is kept in the history.")
            if ended else _("New conversation: your next message starts a new session.")
        )
        self.show_history()

    # ----- the history -------------------------------------------------------------------------

    def show_history(self) -> None:
        """List the open character's earlier conversations, newest first."""
        if self.current is not None:
            self.view.show_history(self.conversations.history(self.current))

    def open_past(self, conversation_id: str) -> asyncio.Future[None] | None:
        """Show an earlier conversation of the open character, read-only, with the way to continue it."""
        record = self.conversations.find(conversation_id)
        if record is None or record.config_id != self.current or record.ended is None:
            return None
        return self.background.spawn(self._show_past(record))

    async def _show_past(self, record: Record) -> None:
        messages = await self.conversations.past(record.id)
        if self.current == record.config_id:
            self.viewing = record
            self.view.show_past(self.character(record.config_id), record, messages)

    def continue_conversation(self, conversation_id: str) -> asyncio.Future[None] | None:
        """Make an earlier conversation current again; its session ID goes back into storage, raw."""
        config_id = self.current
        record = self.conversations.find(conversation_id)
        if config_id is None or record is None or record.config_id != config_id or self.inflight.busy(config_id):
            return None
        return self.background.spawn(self._continue(config_id, conversation_id))

    async def _continue(self, config_id: str, conversation_id: str) -> None:
        self.inflight.cancel(config_id)
        # The current session belongs to the current conversation, which is kept with it in the history.
        record = await self.conversations.resume(config_id, conversation_id)
        if record is None:
            return
        self.sessions.clear_session(config_id)
        if record.session_id:
            self.sessions.replace_session(config_id, record.session_id)
        if self.current != config_id:
            return
        self.show_open_conversation()
        self.view.show_session(self.sessions.peek(config_id))
        self.view.show_notice(_(RESUMED_NOTICE))
        self.show_history()
        self.refresh_activity()

    # ----- search ----------------------------------------------------------------------------

    def prepare_search(self) -> None:
        """The search dialog opened: get the stored messages ready while the user types."""
        self.conversations.prepare_search()

    def search(self, text: str) -> asyncio.Future[None] | None:
        """Find ``text`` in every character's conversations; shown when found (the latest search wins)."""
        self._searches += 1
        if not text.strip():
            self.view.show_search_results(text, [])
            return None
        return self.background.spawn(self._search(self._searches, text))

    async def _search(self, number: int, text: str) -> None:
        found = await self.conversations.search(text)
        if number == self._searches:
            hits = [SearchHit(self.character(r.config_id), r, m, r.id == self._current_id(r.config_id))
                    for r, m in found]
            self.view.show_search_results(text, hits)

    def _current_id(self, config_id: str) -> str | None:
        record = self.conversations.current_record(config_id)
        return None if record is None else record.id

    def open_search_result(self, conversation_id: str, message_id: str) -> asyncio.Future[None] | None:
        """Open the conversation a search found a message in, at that message."""
        record = self.conversations.find(conversation_id)
        if record is None or self.roster.find(record.config_id) is None:
            return None
        return self.background.spawn(self._open_at(record, message_id))

    async def _open_at(self, record: Record, message_id: str) -> None:
        config_id = record.config_id
        if self.current != config_id or self.viewing is not None:
            shown: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def on_shown() -> None:
                if not shown.done():
                    shown.set_result(None)

            opening = self.background.spawn(self.open_character(config_id, shown=on_shown))
            opening.add_done_callback(lambda _task: on_shown())
            await shown
            if self.current != config_id:
                return
        if record.id == self._current_id(config_id):
            await self._complete(config_id)  # the message found may be one of the older ones
            if not self.showing(config_id):
                return
        messages = self.conversation(config_id)
        if record.id != self._current_id(config_id):
            messages = await self.conversations.past(record.id)
            if self.current != config_id:
                return
            self.viewing = record
            self.view.show_past(self.character(config_id), record, messages)
        index = next((i for i, m in enumerate(messages) if m.id == message_id), None)
        if index is not None:
            self.view.reveal_message(index)

    def delete_past(self, conversation_id: str) -> bool:
        """Delete an earlier conversation of the open character for good (the view asked first)."""
        record = self.conversations.find(conversation_id)
        if record is None or record.config_id != self.current or not self.conversations.delete(conversation_id):
            return False
        self.show_history()
        return True

    def clear_all_sessions(self, keep_history: bool = False) -> None:
        """Forget every character's session and conversation (other storage is untouched).

        With ``keep_history``, the conversations stay, ended, in each character's history (without their sessions).
        """
        pending = {*self.conversations.loaded(), *self.inflight.sending_characters(),
                   *(c.config_id for c in self.roster.characters)}
        self.sessions.clear_all_sessions()
        self.conversations.clear_all(keep_history=keep_history)
        self._drop_all_drafts()
        for config_id in pending:
            self.inflight.cancel(config_id)
        if self.unread:
            self.unread.clear()  # their replies are gone
            self.show_roster()
        if self.current is not None:
            self.view.show_conversation(self.character(self.current), self.conversation(self.current))
        self.view.show_session(None)
        if keep_history:
            self.view.show_notice(_("All sessions cleared: new sessions start when you next chat. Your conversations"
                                    " are kept in each character's history."))
        else:
            self.view.show_notice(_("All sessions cleared: new sessions start when you next chat."))
        self.show_history()

    # ----- drafts (app.drafts) --------------------------------------------------------------

    def input_changed(self, text: str) -> None:
        """The input now holds ``text`` (typed, or written by the page): the open character's draft."""
        if self._typing_for is not None:
            self.drafts.typed(self._typing_for, text)

    def flush_drafts(self) -> None:
        """Store every draft typed since it was last stored (the page is hidden or closing)."""
        self.drafts.flush()

    def draft_changed_elsewhere(self, key: str | None) -> None:
        """Another tab changed ``key`` (None: cleared storage): adopt its draft unless the user types here."""
        text = self.drafts.changed_elsewhere(key, self._typing_for, self.view.read_input())
        if text is not None:
            self.view.write_input(text)

    def keep_unsent(self, config_id: str, text: str) -> None:
        """A message to ``config_id`` failed: its text goes back into an empty input, else into an empty draft."""
        if config_id != self._typing_for:
            self.drafts.offer(config_id, text)
        elif not self.view.read_input():
            self.view.write_input(text)  # nothing the user typed is lost

    def _switch_draft(self, config_id: str) -> None:
        """Before ``config_id`` opens: the input's text is stored as its character's draft, and shows ``config_id``'s.

        Text typed before the page was ready (no character's yet) stays, as ``config_id``'s draft.
        """
        previous, self._typing_for = self._typing_for, config_id
        if previous == config_id:
            return
        typed = self.view.read_input()
        if previous is not None:
            self.drafts.put(previous, typed)
        elif typed:
            self.drafts.typed(config_id, typed)
            return
        self.view.write_input(self.drafts.get(config_id))

    def _drop_draft(self, config_id: str) -> None:
        """``config_id`` is removed: so is its draft, also from the input if it holds it."""
        if config_id == self._typing_for:
            self._typing_for = None
            self.view.write_input("")
        self.drafts.clear(config_id)

    def _drop_all_drafts(self) -> None:
        """Every conversation is thrown away: every draft too, also the one in the input."""
        if self.view.read_input():
            self.view.write_input("")
        self.drafts.clear_all()
