"""The visible conversation per character, kept in storage so it survives a reload.

Stored as JSON under ``pychat:transcript:<config_id>`` (never under
``session_``, which belongs to session IDs). Corrupt stored data reads as an
empty conversation. Storage is bounded so conversations can never fill it and
push out session keys: the newest :data:`MAX_MESSAGES` messages per character,
:data:`MAX_STORED_MESSAGE_CHARS` per stored message, and
:data:`MAX_TOTAL_CHARS` for all conversations together, evicting the least
recently saved conversations first (an index under ``pychat:transcripts``
keeps their sizes in that order).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from . import bounded_json
from .storage import Storage

TRANSCRIPT_PREFIX = "pychat:transcript:"
INDEX_KEY = "pychat:transcripts"
MAX_MESSAGES = 2000
MAX_STORED_MESSAGE_CHARS = 20_000
MAX_TOTAL_CHARS = 1_000_000
TRUNCATED_MARK = "\u2026 [shortened for storage]"
ROLES = ("user", "assistant", "error")
MAX_MESSAGE_CHARS = 4000  # what one message may hold when sent


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

    def to_json(self) -> dict[str, Any]:
        text = self.text
        if len(text) > MAX_STORED_MESSAGE_CHARS:
            text = text[: MAX_STORED_MESSAGE_CHARS - len(TRUNCATED_MARK)] + TRUNCATED_MARK
        data: dict[str, Any] = {"role": self.role, "text": text}
        if self.retry is not None:
            data["retry"] = self.retry
        if self.incomplete:
            data["incomplete"] = True
        return data

    @cached_property
    def stored(self) -> str:
        """:meth:`to_json` encoded, once per message: a save then re-encodes only the new ones."""
        return json.dumps(self.to_json(), ensure_ascii=False)

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


def _encoded_list(parts: list[str]) -> str:
    """What ``json.dumps(..., ensure_ascii=False)`` makes of the list of these encoded messages."""
    return f"[{', '.join(parts)}]"


def transcript_key(config_id: str) -> str:
    return f"{TRANSCRIPT_PREFIX}{config_id}"


class TranscriptStore:
    """Load, save and clear conversations in a :class:`~app.storage.Storage`."""

    def __init__(
        self, storage: Storage, *, max_messages: int = MAX_MESSAGES, max_total_chars: int = MAX_TOTAL_CHARS
    ) -> None:
        self._storage = storage
        self._max_messages = max_messages
        self._max_total = max_total_chars
        self._index_read: tuple[str, dict[str, int]] | None = None  # the index's stored text, parsed

    def load(self, config_id: str) -> list[Message]:
        raw = self._storage.get(transcript_key(config_id))
        if not raw:
            return []
        try:
            data = bounded_json.loads(raw)
        except ValueError:  # junk, or nested too deep to parse safely
            return []
        if not isinstance(data, list):
            return []
        messages = [m for m in map(Message.from_json, data) if m is not None]
        return messages[-self._max_messages :]

    def save(self, config_id: str, messages: list[Message]) -> None:
        """Store the newest messages, evicting other conversations (oldest first) to stay in budget."""
        kept = [m.stored for m in messages if not (m.transient or m.greeting)][-self._max_messages :]
        encoded = _encoded_list(kept)
        while len(encoded) > self._max_total and kept:
            kept = kept[len(kept) // 2 + 1 :]  # alone over budget: drop its oldest half
            encoded = _encoded_list(kept)
        if not kept:
            self.clear(config_id)
            return
        index = self._index()
        index.pop(config_id, None)
        for other in list(index):
            if sum(index.values()) + len(encoded) <= self._max_total:
                break
            self._storage.remove(transcript_key(other))
            del index[other]
        index[config_id] = len(encoded)  # last = most recently saved
        self._storage.set(transcript_key(config_id), encoded)
        self._write_index(index)

    def stored(self) -> list[str]:
        """The characters with a conversation stored in this format."""
        return [k[len(TRANSCRIPT_PREFIX) :] for k in self._storage.keys() if k.startswith(TRANSCRIPT_PREFIX)]

    def clear(self, config_id: str) -> None:
        self._storage.remove(transcript_key(config_id))
        index = self._index()
        if index.pop(config_id, None) is not None:
            self._write_index(index)

    def clear_all(self) -> None:
        for key in self._storage.keys():
            if key.startswith(TRANSCRIPT_PREFIX):
                self._storage.remove(key)
        self._storage.remove(INDEX_KEY)

    def _write_index(self, index: dict[str, int]) -> None:
        raw = json.dumps(index)
        self._storage.set(INDEX_KEY, raw)
        self._index_read = (raw, dict(index))

    def _index(self) -> dict[str, int]:
        """Stored conversations and their sizes, least recently saved first.

        Rebuilt from the stored keys when missing or corrupt (another tab, an
        older version, or junk).
        """
        raw = self._storage.get(INDEX_KEY)
        if raw is not None and self._index_read is not None and self._index_read[0] == raw:
            return dict(self._index_read[1])  # as this store wrote it last (another tab's would differ)
        try:
            data = bounded_json.loads(raw or "null")
        except ValueError:
            data = None
        if isinstance(data, dict) and all(isinstance(v, int) for v in data.values()):
            index = {str(k): int(v) for k, v in data.items()}
            self._index_read = (raw or "", dict(index))
            return index
        rebuilt: dict[str, int] = {}
        for key in self._storage.keys():
            if key.startswith(TRANSCRIPT_PREFIX):
                rebuilt[key[len(TRANSCRIPT_PREFIX) :]] = len(self._storage.get(key) or "")
        return rebuilt


def message_too_long(text: str) -> str | None:
    """Why ``text`` cannot be sent as it is, or None. Nothing is ever cut off silently."""
    excess = len(text) - MAX_MESSAGE_CHARS
    if excess <= 0:
        return None
    return f"Your message is {excess:,} characters over the {MAX_MESSAGE_CHARS:,}-character limit. Shorten it to send."
