"""Every character's conversations: the current one in memory, all of them in the :mod:`archive <app.archive>`.

Each character has one current conversation and a history of earlier ones.
"New conversation" ends the current one (it is kept, with its session ID,
and listed in the history), and a conversation from the history can be
continued. A write stores only what changed: the messages added (one record
each) and the conversation's own record, so it costs the same at the
thousandth message as at the first.

Without a ``defer`` every change is stored at once (tests, other hosts).
With one, a write waits until the page has shown the change, so it never
holds up that frame: a sent message is stored with its reply (or after
``max_delay`` if the reply is slow), anything else in the next browser
task, and whatever is still pending by :meth:`flush` when the page is hidden
or closed. A character's greeting (``greeting``) opens each of its
conversations, as loaded or started anew; it is never stored.

Example::

    conversations = Conversations(MemoryArchive(), defer=defer)
    await conversations.load("CHAR_luna")
    message = conversations.add("CHAR_luna", Message("user", "Hello"))   # shown by the caller, then:
    conversations.save("CHAR_luna", message)     # stored once the page has shown it
    conversations.flush()    # the page is going away: store what is pending now
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from .archive import Archive, Change, Record, in_order, message_from_record, message_record, title_of
from .i18n import N_
from .storage import CorruptValues
from .transcript import Message, TranscriptStore, beyond_greeting, greeting_message

SEARCH_LIMIT = 50  # results a search shows at most
# A conversation longer than this opens with its newest messages (what the view shows at first);
# the older ones are read just after (:meth:`Conversations.complete`). static/archive.mjs reads
# them ahead at start with the same count.
NEWEST_FIRST = 100

# Runs a callback in a browser task of its own, that many seconds from now (0: as soon as it can).
Defer = Callable[[float, Callable[[], None]], None]


def tab_ids(prefix: str | None = None) -> Callable[[], str]:
    """New ids for this tab's records: unique per tab (``prefix``: random unless given), growing with each call."""
    tab = prefix or os.urandom(6).hex()
    counter = itertools.count(1)
    return lambda: f"{tab}-{next(counter):09d}"


def wall_clock() -> float:
    return time.time() * 1000


ARCHIVE_NAME = "pychat"  # static/archive.mjs's database (the reset removes ``pychat*``)


class Conversations:
    """The conversations of this page: each character's current one loaded on demand, every change stored."""

    def __init__(
        self,
        archive: Archive,
        *,
        legacy: TranscriptStore | None = None,
        defer: Defer | None = None,
        after_store: Callable[[], None] = lambda: None,
        on_error: Callable[[Exception], None] | None = None,
        greeting: Callable[[str], str] = lambda _config_id: "",
        session_of: Callable[[str], str | None] = lambda _config_id: None,
        new_id: Callable[[], str] | None = None,
        clock: Callable[[], float] = wall_clock,
        corrupt: CorruptValues | None = None,
    ) -> None:
        """``legacy``: conversations stored by the previous release, moved into the archive on first load.

        ``corrupt`` hears of junk records found in the archive (they are skipped; the rest is shown).

        ``after_store`` runs after each write (to check storage's health);
        ``on_error`` gets a failed write; ``greeting(config_id)`` is the
        character's opening line ("" for none); ``session_of(config_id)`` its
        session ID, kept with its conversation.
        """
        self._archive = archive
        self._legacy = legacy
        self._defer = defer
        self._after_store = after_store
        self._on_error = on_error
        self._greeting = greeting
        self._session_of = session_of
        self._new_id = new_id or tab_ids()
        self._clock = clock
        self._corrupt = corrupt
        self._last_at = 0.0
        self._catalog: dict[str, Record] | None = None
        self._catalog_loading: asyncio.Future[None] | None = None
        self._current: dict[str, Record] = {}  # each loaded character's current conversation
        self._cache: dict[str, list[Message]] = {}  # its messages, greeting first
        self._unsaved: dict[str, list[Message]] = {}  # added since last stored, per character
        self._deleted: dict[str, list[str]] = {}  # message ids to delete, per character
        self._failures: dict[str, int] = {}  # failed messages per loaded character (see drop_superseded)
        self._older: dict[str, int] = {}  # opened with its newest messages: how many older are still unread
        # How many of a cached list's messages are stored ones, for the list it was counted in (see _stored_count).
        self._counted: dict[str, tuple[list[Message], int]] = {}
        self._completing: dict[str, asyncio.Future[tuple[int, list[Message]]]] = {}
        self._flush_soon = False
        self._writes: set[asyncio.Future[None]] = set()

    # ----- reading ---------------------------------------------------------------------------

    async def load(self, config_id: str, *, newest_first: bool = False) -> list[Message]:
        """``config_id``'s current conversation, read from the archive the first time.

        ``newest_first``: a conversation of more than :data:`NEWEST_FIRST`
        messages is read with its newest ones only, and is :meth:`partial`
        until :meth:`complete` has read the rest. Its record still counts them
        all, so what is written meanwhile keeps the right size.
        """
        if config_id not in self._cache:
            await self._load_catalog()
            if config_id not in self._cache:  # another caller may have loaded it meanwhile
                record = self._current_record(config_id)
                older = 0
                if not (record.count or record.updated):
                    stored: list[Message] = []
                elif newest_first and record.count > NEWEST_FIRST:
                    stored, older = await self._newest_messages(record.id)
                else:
                    stored = await self._stored_messages(record.id)
                if config_id not in self._cache:
                    self._current[config_id] = record
                    self._cache[config_id] = self._greeting_of(config_id) + stored
                    self._failures[config_id] = _failures(stored)
                    if older:
                        self._older[config_id] = older
        return self._cache[config_id]

    def partial(self, config_id: str) -> bool:
        """Whether ``config_id``'s conversation is in memory without its older messages (see :meth:`complete`)."""
        return config_id in self._older

    async def complete(self, config_id: str) -> tuple[int, list[Message]]:
        """Read the older messages of a conversation opened with its newest; where they went, and them.

        They go in before every message in memory, after the greeting:
        ``(position, messages)``. ``(0, [])`` when nothing was missing, or
        when the conversation was replaced meanwhile (ended, continued, read
        again after another tab wrote).
        """
        if config_id not in self._older:
            return 0, []
        task = self._completing.get(config_id)
        if task is None:
            task = self._completing[config_id] = asyncio.ensure_future(self._read_older(config_id))
            task.add_done_callback(lambda _t: self._completing.pop(config_id, None))
        return await asyncio.shield(task)

    async def _read_older(self, config_id: str) -> tuple[int, list[Message]]:
        record = self._current[config_id]
        stored = await self._stored_messages(record.id)
        cache = self._cache.get(config_id)
        now = self._current.get(config_id)
        if config_id not in self._older or cache is None or now is None or now.id != record.id:
            return 0, []
        have = {m.id for m in cache if m.id}
        first = next((m for m in cache if m.id and not m.greeting), None)
        older = [m for m in stored if m.id not in have and (first is None or (m.at, m.id) < (first.at, first.id))]
        position = 0
        while position < len(cache) and cache[position].greeting:
            position += 1
        cache[position:position] = older
        self._counted.pop(config_id, None)
        del self._older[config_id]
        self._failures[config_id] = _failures(cache)
        return position, older

    async def _newest_messages(self, conversation_id: str) -> tuple[list[Message], int]:
        """A conversation's newest :data:`NEWEST_FIRST` messages, and how many older ones are not read."""
        records, total = await self._archive.newest(conversation_id, NEWEST_FIRST)
        prefix = f"{conversation_id}/"
        messages = [m for m in map(message_from_record, records) if m is not None and m.id.startswith(prefix)]
        return in_order(messages), max(0, total - len(records))

    def get(self, config_id: str) -> list[Message]:
        """``config_id``'s messages (the live list: callers read it, changes go through this class).

        A character not loaded yet (:meth:`load`) shows its greeting alone.
        """
        return self._cache.get(config_id) or self._greeting_of(config_id)

    def is_loaded(self, config_id: str) -> bool:
        return config_id in self._cache

    def loaded(self) -> set[str]:
        """The characters whose conversation is in memory."""
        return set(self._cache)

    def has_messages(self, config_id: str) -> bool:
        """Whether ``config_id``'s current conversation holds anything but its greeting."""
        if config_id in self._cache:
            return beyond_greeting(self._cache[config_id])
        record = self._stored_current(config_id)
        return record is not None and record.count > 0

    def has_stored(self) -> bool:
        """Whether any conversation of any character is stored (current or earlier)."""
        return bool(self._catalog)

    def current_record(self, config_id: str) -> Record | None:
        return self._current.get(config_id)

    def history(self, config_id: str) -> list[Record]:
        """``config_id``'s earlier conversations, the most recently ended first.

        A conversation two tabs both started as current (New conversation in
        each at once) is listed here too, as ended when it was last written:
        whatever is stored is always somewhere to be found.
        """
        if self._catalog is None:
            return []
        current = self._current.get(config_id) or self._stored_current(config_id)
        skip = current.id if current is not None else None
        earlier = [r for r in self._catalog.values() if r.config_id == config_id and r.id != skip]
        return sorted(earlier, key=lambda r: (r.ended or r.updated, r.id), reverse=True)

    def find(self, conversation_id: str) -> Record | None:
        return None if self._catalog is None else self._catalog.get(conversation_id)

    async def search(self, text: str, limit: int = SEARCH_LIMIT) -> list[tuple[Record, Message]]:
        """Messages of every character's conversations that contain ``text`` (ignoring case), newest first.

        Up to ``limit``, each with its conversation; a greeting is not stored, so it is never found.
        """
        needle = text.strip()
        if not needle:
            return []
        await self._load_catalog()
        self.flush()  # what is on screen is searched too
        folded = " ".join(needle.split()).casefold()
        found: list[tuple[Record, Message]] = []
        for data in await self._archive.search(needle, limit * 2):
            message = message_from_record(data)
            if message is None or folded not in " ".join(message.text.split()).casefold():
                continue
            record = self.find(message.id.partition("/")[0])
            if record is not None:
                found.append((record, message))
        found.sort(key=lambda hit: (hit[1].at, hit[1].id), reverse=True)
        return found[:limit]

    def prepare_search(self) -> None:
        """The search dialog opened: let the archive read ahead what the first search needs."""
        self._archive.prepare_search()

    async def past(self, conversation_id: str) -> list[Message]:
        """The messages of an earlier conversation, as stored."""
        return await self._stored_messages(conversation_id)

    async def _stored_messages(self, conversation_id: str) -> list[Message]:
        records = await self._archive.messages(conversation_id)
        prefix = f"{conversation_id}/"
        messages = [m for m in map(message_from_record, records) if m is not None and m.id.startswith(prefix)]
        if len(messages) < len(records):
            self._found_junk(N_("IndexedDB {database}: messages of {conversation}", database=ARCHIVE_NAME,
                                conversation=conversation_id))
        return in_order(messages)

    async def _stored_catalog(self) -> list[Record]:
        data = await self._archive.catalog()
        records = [r for r in map(Record.from_dict, data) if r is not None]
        if len(records) < len(data):
            self._found_junk(N_("IndexedDB {database}: conversations", database=ARCHIVE_NAME))
        return records

    def _found_junk(self, where: str) -> None:
        if self._corrupt is not None:
            self._corrupt.found(where)

    async def _load_catalog(self) -> None:
        if self._catalog is not None:
            return
        if self._catalog_loading is None:
            self._catalog_loading = asyncio.ensure_future(self._read_catalog())
        await asyncio.shield(self._catalog_loading)

    async def _read_catalog(self) -> None:
        if self._legacy is not None:
            await self._migrate(self._legacy)
        records = await self._stored_catalog()
        self._catalog = {r.id: r for r in records}

    def _stored_current(self, config_id: str) -> Record | None:
        """The character's current conversation in the catalog: the latest started that has not ended."""
        if self._catalog is None:
            return None
        open_ = [r for r in self._catalog.values() if r.config_id == config_id and r.ended is None]
        return max(open_, key=lambda r: (r.started, r.id), default=None)

    def _current_record(self, config_id: str) -> Record:
        """The stored current conversation, or a new one (not stored until it holds a message).

        A character's very first conversation has an id of its own, so that
        two tabs starting it at once write the same conversation.
        """
        stored = self._stored_current(config_id)
        if stored is not None:
            return stored
        first = self._catalog is not None and not any(r.config_id == config_id for r in self._catalog.values())
        rid = f"first-{_escaped(config_id)}" if first else f"c{self._new_id()}"
        return Record(rid, config_id, self._now())

    def _greeting_of(self, config_id: str) -> list[Message]:
        return greeting_message(self._greeting(config_id))

    def _now(self) -> float:
        """Milliseconds, never less than the last time given (a clock set back keeps the order)."""
        self._last_at = max(self._clock(), self._last_at + 0.001)
        return self._last_at

    # ----- changing --------------------------------------------------------------------------

    def add(self, config_id: str, message: Message) -> Message:
        """Add ``message`` to the current conversation (not stored yet: see :meth:`save`); returns it with its id."""
        record = self._current.get(config_id)
        if record is None:
            record = self._current[config_id] = self._current_record(config_id)
        if not message.transient and not message.id:
            message = replace(message, id=f"{record.id}/{self._new_id()}", at=self._now())
        messages = self._cache.setdefault(config_id, self._greeting_of(config_id))
        counted = self._counted.get(config_id)
        messages.append(message)
        if counted is not None and counted[0] is messages:
            self._counted[config_id] = (messages, counted[1] + _is_stored(message))
        if _is_failure(message):
            self._failures[config_id] = self._failures.get(config_id, 0) + 1
        return message

    def drop_superseded(self, config_id: str, text: str) -> bool:
        """Before ``text`` is sent: remove the failures it supersedes; True if any went.

        A failed message whose text is sent again (from the restored input or
        Retry) is replaced by the new attempt, with the user message it
        failed and any part of a reply that arrived before it failed; a failed
        session setup is moot once the user sends.
        """
        messages = self.get(config_id)
        if not self._failures.get(config_id):
            return False  # the usual case, known without a look at the conversation
        kept: list[Message] = []
        for message in messages:
            if message.transient or (message.role == "error" and message.retry == text):
                if message.retry == text:
                    while kept and kept[-1].incomplete:  # what arrived of the reply it failed
                        self._forget(config_id, kept.pop())
                    if kept and kept[-1].role == "user" and kept[-1].text == text:
                        self._forget(config_id, kept.pop())
                self._forget(config_id, message)
                continue
            kept.append(message)
        if len(kept) == len(messages):
            return False
        messages[:] = kept
        self._counted.pop(config_id, None)
        self._failures[config_id] = _failures(kept)
        self.save(config_id)
        return True

    def _forget(self, config_id: str, message: Message) -> None:
        """``message`` is gone from the conversation: deleted from the archive, or never written."""
        if message.transient or not message.id:
            return
        pending = self._unsaved.get(config_id, [])
        if any(m.id == message.id for m in pending):
            pending[:] = [m for m in pending if m.id != message.id]
        else:
            self._deleted.setdefault(config_id, []).append(message.id)

    def save(self, config_id: str, added: Message | None = None, *, max_delay: float = 0.0) -> None:
        """Store what changed in ``config_id``'s conversation (``added``: the message just added to it).

        At once without a ``defer``, else in a callback of its own, where one
        write stores everything changed meanwhile. ``max_delay``: a later
        flush is soon enough (a sent message waits for its reply), but no
        later than that many seconds.
        """
        pending = self._unsaved.setdefault(config_id, [])
        if added is not None and not added.transient:
            pending.append(added)
        if self._defer is None:
            self.flush()
        elif max_delay > 0:
            self._defer(max_delay, self.flush)
        elif not self._flush_soon:
            self._flush_soon = True
            self._defer(0, self.flush)

    def flush(self) -> None:
        """Store every change not stored yet, in one write (the page is hidden or closing, or it is time)."""
        self._flush_soon = False
        change = Change()
        for config_id in sorted({*self._unsaved, *self._deleted}):
            added = self._unsaved.pop(config_id, [])
            deleted = self._deleted.pop(config_id, [])
            change.delete_messages += deleted
            record = self._current.get(config_id)
            if record is None:
                continue
            change.messages += [message_record(record.id, m) for m in added]
            if added or deleted:
                change.conversations.append({**self._touched(config_id, record).to_dict(), "touch": True})
        self._write(change)

    def _touched(self, config_id: str, record: Record) -> Record:
        """The conversation's record as it now is (its size, title and session), kept as current."""
        messages = self._cache.get(config_id, [])
        title = record.title or title_of(next((m.text for m in messages if _is_stored(m) and m.role == "user"), ""))
        record = replace(
            record, count=self._stored_count(config_id) + self._older.get(config_id, 0), updated=self._now(),
            title=title, session_id=self._session_of(config_id) or record.session_id,
        )
        self._current[config_id] = record
        if self._catalog is not None:
            self._catalog[record.id] = record
        return record

    def _stored_count(self, config_id: str) -> int:
        """How many of the cached messages of ``config_id`` are stored ones (not transient, not the greeting).

        Counted once per list and then kept up to date as messages are added,
        so a save costs the same in a conversation of thousands of messages
        (issue 19's long session): a list replaced (read again, ended,
        resumed) is counted afresh, and a change in place other than
        :meth:`add`'s append forgets the count.
        """
        messages = self._cache.get(config_id, [])
        counted = self._counted.get(config_id)
        if counted is not None and counted[0] is messages:
            return counted[1]
        count = sum(map(_is_stored, messages))
        if config_id in self._cache:
            self._counted[config_id] = (messages, count)
        return count

    def _write(self, change: Change) -> None:
        if not change:
            return
        try:
            written = self._archive.write(change)
        except Exception as exc:  # refused at once (a value the store cannot take): as a failed write
            if self._on_error is None:
                raise
            self._on_error(exc)
            return
        task = asyncio.ensure_future(self._watch(written))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _watch(self, written: Awaitable[None]) -> None:
        try:
            await written
        except Exception as exc:
            if self._on_error is None:
                raise
            self._on_error(exc)
        self._after_store()

    async def settled(self) -> None:
        """Wait until every write started so far has finished (tests, and before reading back)."""
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    # ----- history ---------------------------------------------------------------------------

    def end(self, config_id: str) -> Record | None:
        """End the current conversation (kept in the history if it holds anything); a new one starts.

        Returns the ended conversation's record, or None when there was nothing to keep.
        """
        self.flush()
        record = self._current.get(config_id) or self._stored_current(config_id)
        ended = None
        if record is not None and (beyond_greeting(self._cache.get(config_id, [])) or record.count):
            ended = replace(self._touched(config_id, record), ended=self._now())
            self._store_records(ended)
        self._current[config_id] = Record(f"c{self._new_id()}", config_id, self._now())
        self._cache[config_id] = self._greeting_of(config_id)
        self._older.pop(config_id, None)
        self._failures[config_id] = 0
        return ended

    async def resume(self, config_id: str, conversation_id: str) -> Record | None:
        """Make an earlier conversation current again (the current one goes to the history); its record."""
        record = self.find(conversation_id)
        if record is None or record.config_id != config_id:
            return None
        messages = await self._stored_messages(conversation_id)
        self.end(config_id)
        record = replace(record, ended=None, started=record.started, updated=self._now())
        self._store_records(record)
        self._current[config_id] = record
        self._cache[config_id] = self._greeting_of(config_id) + messages
        self._older.pop(config_id, None)
        self._failures[config_id] = _failures(messages)
        return record

    def delete(self, conversation_id: str) -> bool:
        """Delete an earlier conversation and its messages."""
        record = self.find(conversation_id)
        current = self._current.get(record.config_id) if record is not None else None
        if record is None or (current is not None and current.id == record.id):
            return False
        assert self._catalog is not None
        del self._catalog[conversation_id]
        self._write(Change(delete_conversations=[conversation_id]))
        return True

    async def import_past(self, config_id: str, messages: list[Message]) -> Record:
        """Store ``messages`` (checked, in order) as an earlier conversation of ``config_id``; its record.

        Times the file gave are kept (never going backwards, so the order is
        the file's); messages without one get the import's time. The write is
        awaited: a failure raises, and then nothing was imported.
        """
        await self._load_catalog()
        cid = f"i{self._new_id()}"
        now = self._now()
        at, rows = 0.0, []
        for n, message in enumerate(messages):
            at = max(message.at or now, at)
            rows.append(message_record(cid, replace(message, id=f"{cid}/{n:09d}", at=at)))
        first = next((m.text for m in messages if m.role == "user"), messages[0].text if messages else "")
        started = float(rows[0]["at"]) if rows else now
        record = Record(cid, config_id, started, max(at, started), None, title_of(first), len(rows), now)
        await self._archive.write(Change(conversations=[record.to_dict()], messages=rows))
        assert self._catalog is not None
        self._catalog[cid] = record
        return record

    def _store_records(self, *records: Record) -> None:
        if self._catalog is not None:
            self._catalog.update({r.id: r for r in records})
        self._write(Change(conversations=[r.to_dict() for r in records]))

    # ----- thrown away, here or in another tab ---------------------------------------------

    def drop_pending(self, config_id: str) -> None:
        """Forget the write pending for ``config_id``: a conversation thrown away must not come back."""
        self._unsaved.pop(config_id, None)
        self._deleted.pop(config_id, None)

    def remove_character(self, config_id: str) -> None:
        """Delete all of ``config_id``'s conversations, current and earlier."""
        self.drop_pending(config_id)
        ids = [r.id for r in (self._catalog or {}).values() if r.config_id == config_id]
        current = self._current.pop(config_id, None)
        if current is not None and current.id not in ids:
            ids.append(current.id)
        for cid in ids:
            (self._catalog or {}).pop(cid, None)
        self._cache.pop(config_id, None)
        self._counted.pop(config_id, None)
        self._older.pop(config_id, None)
        self._write(Change(delete_conversations=ids))

    def clear_all(self, *, keep_history: bool = False) -> None:
        """Delete every conversation of every character (other storage is untouched).

        With ``keep_history``, delete none: each current conversation ends and
        goes to its character's history, and no conversation keeps a session
        ID (continuing one starts a new session).
        """
        if keep_history:
            self._end_all()
            return
        self._unsaved.clear()
        self._deleted.clear()
        self._cache.clear()
        self._counted.clear()
        self._older.clear()
        self._current.clear()
        if self._catalog is not None:
            self._catalog.clear()
        task = asyncio.ensure_future(self._watch(self._archive.clear()))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    def _end_all(self) -> None:
        for config_id in list(self._current):
            self.end(config_id)  # kept in the history if it holds anything; a new, empty one is current
        now = self._now()
        fresh = {r.id for r in self._current.values()}
        kept = [replace(r, ended=now if r.ended is None else r.ended, session_id=None)
                for r in (self._catalog or {}).values()
                if r.id not in fresh and (r.session_id is not None or r.ended is None)]
        if kept:
            self._store_records(*kept)

    async def changed_elsewhere(self) -> set[str]:
        """Another tab wrote the archive: read it again; the loaded characters whose conversation changed.

        This tab's own changes are written first, so the read includes them:
        each message has its own record, so nothing of either tab is lost.
        A conversation ended over there (New conversation) ends here too.
        """
        if self._catalog is None:
            return set()
        self.flush()
        records = await self._stored_catalog()
        self._catalog = {r.id: r for r in records}
        changed: set[str] = set()
        for config_id in list(self._cache):
            mine = self._current.get(config_id)
            record = self._stored_current(config_id)
            stored: list[Message] = []
            if record is not None:
                stored = await self._stored_messages(record.id)
            elif not (mine is not None and mine.id in self._catalog) and not beyond_greeting(
                [m for m in self._cache[config_id] if not m.transient]
            ):
                continue  # nothing stored yet, here or there
            else:
                record = Record(f"c{self._new_id()}", config_id, self._now())
            if mine is not None and mine.id == record.id:
                # Shown here but not in what was read: added (and perhaps written) while it was read.
                ids = {m.id for m in stored}
                stored += [m for m in self._cache.get(config_id, []) if m.id and m.id not in ids]
            shown = self._cache.get(config_id, [])
            merged = self._greeting_of(config_id) + in_order(stored) + [m for m in shown if m.transient]
            if mine is None or mine.id != record.id or [m.id for m in merged] != [m.id for m in shown]:
                changed.add(config_id)
            self._current[config_id] = record
            self._cache[config_id] = merged
            self._older.pop(config_id, None)  # read whole
            self._failures[config_id] = _failures(merged)
        return changed

    # ----- from the previous release ---------------------------------------------------------

    async def _migrate(self, legacy: TranscriptStore) -> None:
        """Move conversations of the previous release (one localStorage key each) into the archive.

        Each is written in one transaction with ids derived from its key, and
        its key removed only after that write succeeded: a tab closed halfway
        leaves the key, and the next start writes the same records again
        (replacing, never duplicating) before removing it.
        """
        stored = legacy.stored()
        if not stored:
            return
        existing = await self._stored_catalog()
        for config_id in stored:
            messages = legacy.load(config_id)
            if config_id and messages:
                await self._archive.write(self._migrated(config_id, messages, existing))
            legacy.clear(config_id)
        legacy.clear_all()

    def _migrated(self, config_id: str, messages: list[Message], existing: list[Record]) -> Change:
        cid = f"old-{_escaped(config_id)}"
        now = self._now()
        start = now - len(messages)  # one millisecond apart, before anything written from now on
        has_current = any(r.config_id == config_id and r.ended is None and r.id != cid for r in existing)
        sent = next((m.text for m in messages if m.role == "user"), "")
        record = Record(cid, config_id, start, now if has_current else None, None, title_of(sent), len(messages), now)
        rows: list[dict[str, Any]] = [
            message_record(cid, replace(m, id=f"{cid}/{i:09d}", at=start + i)) for i, m in enumerate(messages)
        ]
        return Change(conversations=[record.to_dict()], messages=rows)


def _is_stored(message: Message) -> bool:
    """A message the archive keeps (every one but the greeting and transient ones)."""
    return not (message.transient or message.greeting)


def _is_failure(message: Message) -> bool:
    """A message that a later send can supersede (see :meth:`Conversations.drop_superseded`)."""
    return message.transient or (message.role == "error" and message.retry is not None)


def _failures(messages: list[Message]) -> int:
    return sum(map(_is_failure, messages))


def _escaped(config_id: str) -> str:
    """``config_id`` as part of a record id (which never holds a ``/``: a message id is ``<conversation>/<n>``)."""
    return config_id.replace("%", "%25").replace("/", "%2F")
