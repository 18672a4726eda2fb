"""A conversation's messages, and the previous release's stored conversations, read once to be migrated.

:class:`Message` is one entry of a conversation. Conversations now live in
the archive (:mod:`app.archive`, IndexedDB). The previous release kept each
one as a JSON list under ``pychat:transcript:<config_id>`` (with an index
under ``pychat:transcripts``) in a 1M-character budget; :class:`TranscriptStore`
reads those keys, with bounds, so that :mod:`app.conversations` can move them
into the archive and remove them. It writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import bounded_json
from .i18n import ngettext, number
from .storage import CorruptValues, Storage

TRANSCRIPT_PREFIX = "pychat:transcript:"
INDEX_KEY = "pychat:transcripts"
ROLES = ("user", "assistant", "error")
MAX_MESSAGE_CHARS = 4000  # what one message may hold when sent
# Longer replies are shown as written, not formatted as Markdown: parsing one would hold the page up
# for seconds (app.markdown; the view shows such a text in blocks the browser lays out as they scroll in).
MAX_FORMATTED_CHARS = 100_000


@dataclass(frozen=True)
class Message:
    """One entry of a conversation.

    ``retry`` is set on an error that a resend can fix: the text the user
    sent, so it is never lost. ``transient`` messages (a failed session setup)
    are about the moment, shown but never stored. ``incomplete`` marks a
    streamed reply that was stopped or cut off: the part that arrived, never
    passed off as the whole (an error message after it says why). A
    ``greeting`` is the character's opening line from ``pyscript.toml``,
    shown first in each of its conversations: never sent, never stored
    (it is added again when the conversation is loaded).
    """

    role: str
    text: str
    retry: str | None = None
    transient: bool = False
    incomplete: bool = False
    greeting: bool = False
    # Its record in the archive (app.archive): an id unique in the browser, and when it was written (ms).
    id: str = field(default="", compare=False)
    at: float = field(default=0.0, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Message | None:
        """A message from stored JSON, or None when the entry is malformed."""
        if not isinstance(data, dict):
            return None
        role, text, retry = data.get("role"), data.get("text"), data.get("retry")
        if role not in ROLES or not isinstance(text, str):
            return None
        return cls(role, text, retry if isinstance(retry, str) else None, incomplete=data.get("incomplete") is True)


def greeting_message(text: str) -> list[Message]:
    """The start of a conversation with a character whose greeting is ``text`` (none for "")."""
    return [Message("assistant", text, greeting=True)] if text else []


def beyond_greeting(messages: list[Message]) -> bool:
    """Whether a conversation holds anything but its greeting: something to lose, or to store."""
    return any(not m.greeting for m in messages)


def transcript_key(config_id: str) -> str:
    return f"{TRANSCRIPT_PREFIX}{config_id}"


class TranscriptStore:
    """The previous release's conversations in a :class:`~app.storage.Storage`: read, and removed once moved."""

    def __init__(self, storage: Storage, corrupt: CorruptValues | None = None) -> None:
        """``corrupt`` hears of each key found to hold junk (the migration goes on with the rest)."""
        self._storage = storage
        self._corrupt = corrupt

    def load(self, config_id: str) -> list[Message]:
        """``config_id``'s stored messages; junk (or nesting too deep to parse safely) reads as none.

        Junk is reported, not taken for an empty conversation: a list with some
        malformed entries keeps the good ones.
        """
        key = transcript_key(config_id)
        raw = self._storage.get(key)
        if not raw:
            return []
        try:
            data = bounded_json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, list):
            self._found(key)
            return []
        messages = [m for m in map(Message.from_json, data) if m is not None]
        if len(messages) < len(data):
            self._found(key)
        return messages

    def _found(self, key: str) -> None:
        if self._corrupt is not None:
            self._corrupt.found(key)

    def stored(self) -> list[str]:
        """The characters with a conversation stored in this format."""
        return [k[len(TRANSCRIPT_PREFIX) :] for k in self._storage.keys() if k.startswith(TRANSCRIPT_PREFIX)]

    def clear(self, config_id: str) -> None:
        self._storage.remove(transcript_key(config_id))

    def clear_all(self) -> None:
        """Remove every conversation of this format, and their index."""
        for key in self._storage.keys():
            if key.startswith(TRANSCRIPT_PREFIX):
                self._storage.remove(key)
        self._storage.remove(INDEX_KEY)


def message_too_long(text: str) -> str | None:
    """Why ``text`` cannot be sent as it is, or None. Nothing is ever cut off silently."""
    excess = len(text) - MAX_MESSAGE_CHARS
    if excess <= 0:
        return None
    return ngettext(  # the English of both forms is the same ("1 characters over"), as it always was
        "Your message is {count} characters over the {limit}-character limit. Shorten it to send.",
        "Your message is {count} characters over the {limit}-character limit. Shorten it to send.",
        excess,
        limit=number(MAX_MESSAGE_CHARS),
    )
