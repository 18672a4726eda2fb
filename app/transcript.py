"""The visible conversation per character, kept in storage so it survives a reload.

Stored as JSON under ``pychat:transcript:<config_id>`` (never under
``session_``, which belongs to session IDs). Corrupt stored data reads as an
empty conversation; the newest :data:`MAX_MESSAGES` messages are kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .storage import Storage

TRANSCRIPT_PREFIX = "pychat:transcript:"
MAX_MESSAGES = 2000
ROLES = ("user", "assistant", "error")


@dataclass(frozen=True)
class Message:
    """One entry of a conversation.

    ``retry`` is set on an error that a resend can fix: the text the user
    sent, so it is never lost.
    """

    role: str
    text: str
    retry: str | None = None

    def to_json(self) -> dict[str, str]:
        data = {"role": self.role, "text": self.text}
        if self.retry is not None:
            data["retry"] = self.retry
        return data

    @classmethod
    def from_json(cls, data: Any) -> Message | None:
        """A message from stored JSON, or None when the entry is malformed."""
        if not isinstance(data, dict):
            return None
        role, text, retry = data.get("role"), data.get("text"), data.get("retry")
        if role not in ROLES or not isinstance(text, str):
            return None
        return cls(role, text, retry if isinstance(retry, str) else None)


def transcript_key(config_id: str) -> str:
    return f"{TRANSCRIPT_PREFIX}{config_id}"


class TranscriptStore:
    """Load, save and clear conversations in a :class:`~app.storage.Storage`."""

    def __init__(self, storage: Storage, *, max_messages: int = MAX_MESSAGES) -> None:
        self._storage = storage
        self._max_messages = max_messages

    def load(self, config_id: str) -> list[Message]:
        raw = self._storage.get(transcript_key(config_id))
        if not raw:
            return []
        try:
            data = json.loads(raw)
        except ValueError:
            return []
        if not isinstance(data, list):
            return []
        messages = [m for m in map(Message.from_json, data) if m is not None]
        return messages[-self._max_messages :]

    def save(self, config_id: str, messages: list[Message]) -> None:
        kept = messages[-self._max_messages :]
        if not kept:
            self._storage.remove(transcript_key(config_id))
            return
        self._storage.set(transcript_key(config_id), json.dumps([m.to_json() for m in kept], ensure_ascii=False))

    def clear(self, config_id: str) -> None:
        self._storage.remove(transcript_key(config_id))

    def clear_all(self) -> None:
        for key in self._storage.keys():
            if key.startswith(TRANSCRIPT_PREFIX):
                self._storage.remove(key)
