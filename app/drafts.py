"""What is typed in the composer, kept per character: its draft.

Each character's draft is stored raw under ``pychat:draft:<config_id>`` (never
under ``session_``, which belongs to session IDs); an empty draft has no key.
A draft is the user's own text and is never cut: a stored value over
:data:`MAX_DRAFT_CHARS`, or one that is not a string, reads as no draft. Without
a ``defer`` every change is stored at once (tests, other hosts). With one,
typing is stored at most :data:`SAVE_DELAY` seconds after a keystroke (one
write for the keystrokes meanwhile), and whatever is pending by :meth:`flush`
when the page is hidden or closed.

Example::

    drafts = Drafts(storage, defer=defer)
    drafts.typed("CHAR_luna", "Hel")       # stored within SAVE_DELAY seconds
    drafts.put("CHAR_luna", "Hello")       # switching away: stored now
    drafts.get("CHAR_luna")                # 'Hello'
    drafts.flush()                         # the page is going away: store what is pending now

In the page the storage is :class:`KeptDrafts`: the drafts are kept in
IndexedDB (one record per character), read into memory once at start, and
only what is not committed when the page hides is noted in localStorage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from .storage import Storage

DRAFT_PREFIX = "pychat:draft:"
MAX_DRAFT_CHARS = 100_000  # 25 messages' worth: what the input may hold and still be kept across reloads
SAVE_DELAY = 0.5  # seconds from a keystroke to its draft being stored

# Runs a callback in a browser task of its own, that many seconds from now (app.browser.defer).
Defer = Callable[[float, Callable[[], None]], None]


def draft_key(config_id: str) -> str:
    """The storage key of ``config_id``'s draft.

    >>> draft_key("CHAR_luna")
    'pychat:draft:CHAR_luna'
    """
    return DRAFT_PREFIX + config_id


class Drafts:
    """Every character's draft, stored shortly after each keystroke."""

    def __init__(self, storage: Storage, *, defer: Defer | None = None, delay: float = SAVE_DELAY) -> None:
        self._storage = storage
        self._defer = defer
        self._delay = delay
        self._known: dict[str, str] = {}  # what storage holds, as last read or written here
        self._unsaved: dict[str, str] = {}  # typed here, not stored yet
        self._save_soon = False  # a flush is due

    def get(self, config_id: str) -> str:
        """``config_id``'s draft ("" for none), as typed here or else as stored."""
        if config_id in self._unsaved:
            return self._unsaved[config_id]
        text = self._known[config_id] = self._read(config_id)
        return text

    def _read(self, config_id: str) -> str:
        raw = self._storage.get(draft_key(config_id))
        if not isinstance(raw, str) or len(raw) > MAX_DRAFT_CHARS:
            return ""  # junk, or more than a draft can be: never shown cut
        return raw

    def typed(self, config_id: str, text: str) -> None:
        """The input now holds ``text`` for ``config_id``: store it soon (at once without a ``defer``)."""
        if config_id not in self._unsaved and self._known.get(config_id) == text:
            return  # the page wrote back what is stored (a switch, a reload)
        if self._defer is None:
            self._store(config_id, text)
            return
        self._unsaved[config_id] = text
        if not self._save_soon:
            self._save_soon = True
            self._defer(self._delay, self.flush)

    def put(self, config_id: str, text: str) -> None:
        """Store ``text`` as ``config_id``'s draft now (the input goes to another character)."""
        self._unsaved.pop(config_id, None)
        self._store(config_id, text)

    def offer(self, config_id: str, text: str) -> None:
        """Make ``text`` the draft of ``config_id`` unless it has one (a failed message, to send again)."""
        if not self.get(config_id):
            self.put(config_id, text)

    def flush(self) -> None:
        """Store every draft typed since it was last stored (the page is hidden or closing, or it is time)."""
        self._save_soon = False
        while self._unsaved:
            self._store(*self._unsaved.popitem())

    def _store(self, config_id: str, text: str) -> None:
        if len(text) > MAX_DRAFT_CHARS:
            text = ""  # not kept across reloads rather than kept cut (the input still holds it)
        if text:
            self._storage.set(draft_key(config_id), text)
        else:
            self._storage.remove(draft_key(config_id))
        self._known[config_id] = text

    def clear(self, config_id: str) -> None:
        """Throw ``config_id``'s draft away, stored and pending."""
        self._unsaved.pop(config_id, None)
        self._known.pop(config_id, None)
        self._storage.remove(draft_key(config_id))

    def clear_all(self) -> None:
        """Throw every draft away (every ``pychat:draft:`` key; other storage is untouched)."""
        self._unsaved.clear()
        self._known.clear()
        for key in self._storage.keys():
            if key.startswith(DRAFT_PREFIX):
                self._storage.remove(key)

    def changed_elsewhere(self, key: str | None, typing_for: str | None, in_input: str) -> str | None:
        """Another tab changed ``key`` (None: cleared all storage); the text the input should show now, or None.

        ``typing_for`` is the character whose draft the input holds, ``in_input``
        what it holds. Other characters' drafts are read anew when next shown.
        The input takes the other tab's draft only while it shows what was
        stored, with no keystroke of this tab waiting to be stored: what this
        tab's user is typing is never overwritten (and a tab's user types in
        one tab at a time, so the newest draft is the one that counts).
        """
        if key is not None and not key.startswith(DRAFT_PREFIX):
            return None
        changed = None if key is None else key[len(DRAFT_PREFIX) :]
        for config_id in [c for c in self._known if changed in (None, c) and c != typing_for]:
            del self._known[config_id]
        if typing_for is None or changed not in (None, typing_for) or typing_for in self._unsaved:
            return None
        if in_input != self._known.get(typing_for, ""):
            return None  # typed here and not stored yet, or this tab's own text
        text = self._known[typing_for] = self._read(typing_for)
        return None if text == in_input else text


class DraftBackend(Protocol):
    """Where drafts are kept (``static/archive.mjs``'s ``putDraft``, through app.browser)."""

    def put(self, config_id: str, text: str | None) -> Awaitable[None]:
        """Make ``text`` ``config_id``'s draft (None: it has none); settles once committed."""
        ...


class KeptDrafts:
    """The storage :class:`Drafts` writes to, over drafts kept in IndexedDB: a :class:`~app.storage.Storage`.

    Reads are from memory: every stored draft, read once at start. Each
    change goes to the backend at once, a transaction that commits a few
    milliseconds later. A browser aborts the transactions of a page that is
    closing, so when the page hides (:meth:`hidden`), each change not yet
    committed is noted, synchronously, in localStorage under the draft's own
    key (``pychat:draft:<id>``, "" for no draft), and the note is removed once
    the change commits. A change the backend refuses is noted too. At start,
    whatever notes a page left behind (and the drafts the release before
    kept there) are taken over: they are newer than what the backend holds,
    so they are written to it, and removed once committed.

    Example::

        kept = KeptDrafts(backend, stored_records, local_storage)
        kept.set("pychat:draft:CHAR_luna", "Hel")   # written to the backend now
        kept.hidden()                               # the page hides: note what is not committed
    """

    def __init__(self, backend: DraftBackend, stored: Iterable[Any], journal: Storage | None) -> None:
        self._backend = backend
        self._journal = journal
        self._texts: dict[str, str] = {}
        for record in stored:
            if isinstance(record, dict) and isinstance(record.get("id"), str) and isinstance(record.get("text"), str):
                if record["text"]:
                    self._texts[draft_key(record["id"])] = record["text"]
        self._pending: dict[str, tuple[int, str | None]] = {}  # key: (write number, text) not committed
        self._noted: dict[str, int] = {}  # keys with a note in localStorage: the newest change noted
        self._writes = 0
        self._tasks: set[asyncio.Future[None]] = set()
        for key, text in self._left_behind():
            if text:
                self._texts[key] = text
            else:
                self._texts.pop(key, None)
            self._noted[key] = 0
            self._write(key, text or None)

    def _left_behind(self) -> list[tuple[str, str]]:
        if self._journal is None:
            return []
        try:
            found = [(key, self._journal.get(key)) for key in self._journal.keys() if key.startswith(DRAFT_PREFIX)]
        except Exception:  # noqa: BLE001 - storage blocked: nothing was noted
            return []
        return [(key, text) for key, text in found if isinstance(text, str)]

    def get(self, key: str) -> str | None:
        return self._texts.get(key)

    def set(self, key: str, value: str) -> None:
        self._texts[key] = value
        self._write(key, value)

    def remove(self, key: str) -> None:
        if self._texts.pop(key, None) is not None or key in self._pending or key in self._noted:
            self._write(key, None)

    def keys(self) -> list[str]:
        return list(self._texts)

    def hidden(self) -> None:
        """The page is hidden or going: note every change not committed yet, where a reload finds it."""
        for key, (number, text) in list(self._pending.items()):
            self._note(key, number, text)

    def changed_elsewhere(self, config_id: str, text: str | None) -> str:
        """Another tab committed ``text`` as ``config_id``'s draft; its key (for :meth:`Drafts.changed_elsewhere`).

        A change of this tab's own still on its way stays what this tab holds:
        it commits after the other tab's, so it is what is stored.
        """
        key = draft_key(config_id)
        if key not in self._pending:
            if text:
                self._texts[key] = text
            else:
                self._texts.pop(key, None)
        return key

    @property
    def settled(self) -> bool:
        """Whether every change has been committed (or noted after a failure): for tests."""
        return not self._tasks

    def _write(self, key: str, text: str | None) -> None:
        self._writes += 1
        number = self._writes
        self._pending[key] = (number, text)
        try:
            written = self._backend.put(key[len(DRAFT_PREFIX) :], text)
        except Exception:  # noqa: BLE001 - the backend is gone: kept as a note instead
            self._note(key, number, text)
            return
        task = asyncio.ensure_future(self._committed(written, key, number, text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _committed(self, written: Awaitable[None], key: str, number: int, text: str | None) -> None:
        try:
            await written
        except Exception:  # noqa: BLE001 - refused (storage full, the database closed): noted, written at next start
            if self._noted.get(key, -1) < number:  # (aborted as the page went: noted as it hid already)
                self._note(key, number, text)
            return
        if self._pending.get(key, (0, None))[0] != number:
            return  # a newer change of it is on its way: its note (if any) is its own
        del self._pending[key]
        if key in self._noted:
            del self._noted[key]
            try:
                if self._journal is not None:
                    self._journal.remove(key)
            except Exception:  # noqa: BLE001 - taken over again (harmlessly) at the next start
                pass

    def _note(self, key: str, number: int, text: str | None) -> None:
        if self._journal is None:
            return
        try:
            self._journal.set(key, text or "")
        except Exception:  # noqa: BLE001 - full or blocked: the change is still on its way to the backend
            return
        self._noted[key] = number
