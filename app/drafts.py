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
"""

from __future__ import annotations

from collections.abc import Callable

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
