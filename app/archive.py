"""Every conversation, kept: one record per message, written in transactions, never squeezed.

The page keeps each character's conversations in an :class:`Archive`:
IndexedDB in the browser (``static/archive.mjs``, bound in
:mod:`app.browser`), :class:`MemoryArchive` in tests and when the browser
stores nothing. Two kinds of record, both plain JSON objects:

- a conversation (:class:`Record`): its id, the character, the session ID
  it used, when it started and ended (``None``: it is the character's
  current one), its title (the first message sent, shortened) and its size;
- a message (:func:`message_record`): its own id, which starts with its
  conversation's id and a ``/``, so a conversation's messages are one key
  range; when it was written (``at``, milliseconds), and the message.

A tab only ever adds, changes or deletes records by id, so two tabs writing
the same conversation at once both keep every message: there is no merge
that can race. A conversation's messages are shown ordered by ``at``, then id.

Example::

    archive = MemoryArchive()
    await archive.write(Change(conversations=[record.to_dict()], messages=[message_record(record.id, message)]))
    [Record.from_dict(r) for r in await archive.catalog()]
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import bounded_json
from .settings import Character
from .storage import Storage
from .transcript import MAX_MESSAGE_CHARS, ROLES, Message

TITLE_CHARS = 60
MAX_RECORD_TEXT = 2 * 1024 * 1024  # a reply is at most 1 MiB (app.api.MAX_REPLY_SIZE); more is not ours


@dataclass(frozen=True)
class Record:
    """One conversation of one character (its messages are records of their own)."""

    id: str
    config_id: str
    started: float
    ended: float | None = None  # None: the character's current conversation
    session_id: str | None = None
    title: str = ""
    count: int = 0  # messages stored, as this tab last counted them
    updated: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "config_id": self.config_id, "started": self.started, "ended": self.ended,
                "session_id": self.session_id, "title": self.title, "count": self.count, "updated": self.updated}

    @classmethod
    def from_dict(cls, data: Any) -> Record | None:
        """A conversation from a stored record, or None when it is not one of ours (junk is skipped, not fatal)."""
        if not isinstance(data, dict):
            return None
        rid, config_id, started = data.get("id"), data.get("config_id"), data.get("started")
        if not (isinstance(rid, str) and rid and "/" not in rid and isinstance(config_id, str) and config_id):
            return None
        start = _time(started)
        if start is None:
            return None
        session_id, title, count, updated = (data.get(k) for k in ("session_id", "title", "count", "updated"))
        return cls(
            rid, config_id, start, _time(data.get("ended")),
            session_id if isinstance(session_id, str) and session_id else None,
            title[:TITLE_CHARS * 2] if isinstance(title, str) else "",
            count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else 0,
            _time(updated) or start,
        )


def _time(value: Any) -> float | None:
    """A stored time in milliseconds, or None when ``value`` is not one."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1e15:
        return float(value)
    return None


def message_record(conversation_id: str, message: Message) -> dict[str, Any]:
    """The stored form of ``message`` (which has its id and time) in ``conversation_id``: the whole text, never cut."""
    data: dict[str, Any] = {"id": message.id, "conversation": conversation_id, "at": message.at,
                            "role": message.role, "text": message.text}
    if message.retry is not None:
        data["retry"] = message.retry
    if message.incomplete:
        data["incomplete"] = True
    return data


def message_from_record(data: Any) -> Message | None:
    """A message from a stored record, or None when the record is malformed."""
    if not isinstance(data, dict):
        return None
    mid, role, text, at, retry = (data.get(k) for k in ("id", "role", "text", "at", "retry"))
    written = _time(at)
    if not (isinstance(mid, str) and "/" in mid and role in ROLES and isinstance(text, str)) or written is None:
        return None
    if len(text) > MAX_RECORD_TEXT:
        return None
    return Message(role, text, retry if isinstance(retry, str) and len(retry) <= MAX_MESSAGE_CHARS else None,
                   incomplete=data.get("incomplete") is True, id=mid, at=written)


def in_order(messages: list[Message]) -> list[Message]:
    """``messages`` as shown: by time written, then id (a tab's ids grow with each message)."""
    return sorted(messages, key=lambda m: (m.at, m.id))


def title_of(text: str) -> str:
    """A conversation's title from its first message: one line, at most :data:`TITLE_CHARS`, cut at a word."""
    line = " ".join(text.split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[: TITLE_CHARS - 1]
    if " " in cut[TITLE_CHARS // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "\u2026"


def touched(stored: dict[str, Any] | None, record: dict[str, Any]) -> dict[str, Any]:
    """What a conversation record written over ``stored`` becomes (``static/archive.mjs`` does the same).

    A record marked ``touch`` (its size or title changed) keeps the stored
    ``ended``: writing a message into a conversation must not bring it back
    as current after another tab ended it. An unmarked record (an end, a
    continue) replaces the stored one.
    """
    if not record.pop("touch", False) or stored is None:
        return record
    return {**record, "ended": stored.get("ended")}


@dataclass
class Change:
    """What one write stores, in one transaction: records put (by id) and records deleted."""

    conversations: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    delete_messages: list[str] = field(default_factory=list)
    delete_conversations: list[str] = field(default_factory=list)  # with all their messages

    def to_dict(self) -> dict[str, Any]:
        return {"conversations": self.conversations, "messages": self.messages,
                "deleteMessages": self.delete_messages, "deleteConversations": self.delete_conversations}

    def __bool__(self) -> bool:
        return bool(self.conversations or self.messages or self.delete_messages or self.delete_conversations)

    @classmethod
    def from_dict(cls, data: Any) -> Change:
        """A change read back from a note (:class:`JournaledArchive`); what is not a record of ours is left out."""
        if not isinstance(data, dict):
            return cls()

        def items(name: str) -> list[Any]:
            value = data.get(name)
            return value if isinstance(value, list) else []

        return cls(
            [r for r in items("conversations") if Record.from_dict(r) is not None],
            [r for r in items("messages") if message_from_record(r) is not None and "conversation" in r],
            [i for i in items("deleteMessages") if isinstance(i, str) and "/" in i],
            [i for i in items("deleteConversations") if isinstance(i, str) and i and "/" not in i],
        )


class Archive(Protocol):
    """Where conversations are kept. Reads give the stored records as plain data, unchecked."""

    async def catalog(self) -> list[Any]:
        """Every conversation record."""

    async def messages(self, conversation_id: str) -> list[Any]:
        """The message records of one conversation, in no particular order."""

    async def newest(self, conversation_id: str, count: int) -> tuple[list[Any], int]:
        """The newest ``count`` message records of one conversation (by time, then id), and how many it has.

        The total counts every record of the conversation, junk included.
        """

    def write(self, change: Change) -> Awaitable[None]:
        """Start storing ``change`` in one transaction (all of it or, on failure, none: awaiting raises).

        Writes land in the order they were started.
        """

    async def search(self, text: str, limit: int) -> list[Any]:
        """Up to ``limit`` message records whose text contains ``text`` (case-insensitive), the newest first."""

    def prepare_search(self) -> None:
        """Get ready to search (the search dialog opened): read what a first search needs, in the background."""

    def clear(self) -> Awaitable[None]:
        """Start deleting every record."""


class MemoryArchive:
    """An :class:`Archive` in memory: the page's fallback when the browser keeps nothing, and the tests' twin.

    It copies what goes in and out, like IndexedDB's structured clone, so a
    caller never shares a record with the store.
    """

    def __init__(self) -> None:
        self.conversations: dict[str, dict[str, Any]] = {}
        self.records: dict[str, dict[str, Any]] = {}  # messages by id
        self.writes = 0

    async def catalog(self) -> list[Any]:
        return copy.deepcopy(list(self.conversations.values()))

    async def messages(self, conversation_id: str) -> list[Any]:
        prefix = f"{conversation_id}/"
        return copy.deepcopy([r for k, r in self.records.items() if k.startswith(prefix)])

    async def newest(self, conversation_id: str, count: int) -> tuple[list[Any], int]:
        mine = await self.messages(conversation_id)
        timed = [r for r in mine if isinstance(r, dict) and isinstance(r.get("at"), (int, float))
                 and not isinstance(r.get("at"), bool)]
        timed.sort(key=lambda r: (r["at"], str(r.get("id"))))  # as static/archive.mjs's index orders them
        return timed[max(0, len(timed) - count):], len(mine)

    def write(self, change: Change) -> Awaitable[None]:
        self.writes += 1
        self.apply(change)
        return _done()

    def apply(self, change: Change) -> None:
        for record in change.conversations:
            self.conversations[record["id"]] = touched(self.conversations.get(record["id"]), copy.deepcopy(record))
        for record in change.messages:
            self.records[record["id"]] = copy.deepcopy(record)
        for mid in change.delete_messages:
            self.records.pop(mid, None)
        for cid in change.delete_conversations:
            self.conversations.pop(cid, None)
            for mid in [k for k in self.records if k.startswith(f"{cid}/")]:
                del self.records[mid]

    async def search(self, text: str, limit: int) -> list[Any]:
        needle = text.casefold()
        found = [r for r in self.records.values() if needle in str(r.get("text", "")).casefold()]
        found.sort(key=lambda r: r.get("at", 0), reverse=True)
        return copy.deepcopy(found[:limit])

    def prepare_search(self) -> None:
        """Nothing to read ahead: everything is in memory."""

    def clear(self) -> Awaitable[None]:
        self.conversations.clear()
        self.records.clear()
        return _done()


async def _done() -> None:
    """A write that is already stored (the memory archive's)."""


JOURNAL_PREFIX = "pychat:journal:"


class JournaledArchive:
    """An :class:`Archive` whose writes are also noted, at once, in localStorage until they are committed.

    IndexedDB commits a write later, in its own time, and a browser aborts
    the transactions of a page that is closed or reloaded meanwhile: a reply
    shown just before a reload would be lost. So each write is first noted,
    synchronously, under ``pychat:journal:<tab>:<n>``, and the note removed
    once the write is committed. At start, :meth:`replay` writes again
    whatever notes a page left behind: records are put by id, so writing one
    twice changes nothing. A note that cannot be made (storage full or
    blocked) is skipped: the write still goes to IndexedDB.
    """

    def __init__(self, inner: Archive, storage: Storage | None, tab: str) -> None:
        self._inner = inner
        self._storage = storage
        self._tab = tab
        self._count = 0

    async def catalog(self) -> list[Any]:
        return await self._inner.catalog()

    async def messages(self, conversation_id: str) -> list[Any]:
        return await self._inner.messages(conversation_id)

    async def newest(self, conversation_id: str, count: int) -> tuple[list[Any], int]:
        return await self._inner.newest(conversation_id, count)

    async def search(self, text: str, limit: int) -> list[Any]:
        return await self._inner.search(text, limit)

    def prepare_search(self) -> None:
        self._inner.prepare_search()

    def clear(self) -> Awaitable[None]:
        return self._inner.clear()

    def write(self, change: Change) -> Awaitable[None]:
        self._count += 1
        key = f"{JOURNAL_PREFIX}{self._tab}:{self._count}"
        noted = self._note(key, json.dumps(change.to_dict(), ensure_ascii=False))
        return self._committed(self._inner.write(change), key if noted else None)

    def _note(self, key: str, text: str) -> bool:
        if self._storage is None:
            return False
        try:
            self._storage.set(key, text)
        except Exception:  # noqa: BLE001 - full or blocked: the write goes on without its note
            return False
        return True

    async def _committed(self, written: Awaitable[None], key: str | None) -> None:
        try:
            await written
        finally:
            if key is not None:
                self._forget(key)

    def _forget(self, key: str) -> None:
        try:
            if self._storage is not None:
                self._storage.remove(key)
        except Exception:  # noqa: BLE001 - the note is replayed (harmlessly) at the next start
            pass

    async def replay(self) -> int:
        """Write again what pages that went away had noted but perhaps not committed; how many notes."""
        if self._storage is None:
            return 0
        try:
            keys = sorted((k for k in self._storage.keys() if k.startswith(JOURNAL_PREFIX)), key=_note_order)
        except Exception:  # noqa: BLE001 - storage blocked: there are no notes to read
            return 0
        for key in keys:
            try:
                data = bounded_json.loads(self._storage.get(key) or "null")
            except ValueError:
                data = None  # junk, or another script's: nothing to write again
            change = Change.from_dict(data)
            if change:
                await self._inner.write(change)
            self._forget(key)
        return len(keys)


def _note_order(key: str) -> tuple[str, int]:
    """Notes of one tab in the order they were written (``...:<tab>:<n>``)."""
    tab, _, number = key[len(JOURNAL_PREFIX) :].rpartition(":")
    return (tab, int(number) if number.isdigit() else 0)


@dataclass(frozen=True)
class SearchHit:
    """A message a search found: whose, in which conversation, and whether that is the character's current one."""

    character: Character
    record: Record
    message: Message
    current: bool


SNIPPET_CHARS = 90  # about how much of a matching message a search result shows around the match


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> tuple[str, str, str]:
    """``(before, match, after)``: the first match of ``query`` in ``text`` (ignoring case), with some context.

    One line; "…" marks where the text goes on. The match is the text's own
    characters (as written), for the view to highlight as text.

    >>> snippet("The stars of Orion tonight", "orion")
    ('The stars of ', 'Orion', ' tonight')
    """
    line = " ".join(text.split())
    at = line.casefold().find(" ".join(query.split()).casefold())
    if at < 0 or not query.strip():
        return (line[:width] + ("\u2026" if len(line) > width else ""), "", "")
    end = at + len(" ".join(query.split()))
    room = max(0, (width - (end - at)) // 2)
    start, stop = max(0, at - room), min(len(line), end + room)
    before = ("\u2026" if start > 0 else "") + line[start:at]
    after = line[end:stop] + ("\u2026" if stop < len(line) else "")
    return before, line[at:end], after
