from __future__ import annotations

import pytest

from app.storage import MemoryStorage
from app.transcript import Message, TranscriptStore, transcript_key


def test_conversation_round_trips_through_storage() -> None:
    storage = MemoryStorage()
    messages = [Message("user", "hi <b>"), Message("assistant", "hello \u05e9\u05dc\u05d5\u05dd"),
                Message("error", "Network error", retry="hi")]
    TranscriptStore(storage).save("A", messages)
    assert TranscriptStore(storage).load("A") == messages


def test_transcripts_never_use_the_session_prefix() -> None:
    assert not transcript_key("A").startswith("session_")


@pytest.mark.parametrize("raw", ["", "not json", "{}", "null", '[{"role": "hacker", "text": "x"}]', "[1, 2]"])
def test_corrupt_transcripts_read_as_empty(raw: str) -> None:
    storage = MemoryStorage({transcript_key("A"): raw})
    assert TranscriptStore(storage).load("A") == []


def test_malformed_entries_are_skipped_and_good_ones_kept() -> None:
    raw = '[{"role": "user", "text": "ok"}, {"role": "user"}, {"role": "assistant", "text": 5}]'
    storage = MemoryStorage({transcript_key("A"): raw})
    assert TranscriptStore(storage).load("A") == [Message("user", "ok")]


def test_only_the_newest_messages_are_kept() -> None:
    storage = MemoryStorage()
    store = TranscriptStore(storage, max_messages=3)
    store.save("A", [Message("user", str(i)) for i in range(5)])
    assert [m.text for m in store.load("A")] == ["2", "3", "4"]


def test_clear_all_removes_only_transcripts() -> None:
    storage = MemoryStorage({"session_A": "s", "other": "x"})
    store = TranscriptStore(storage)
    store.save("A", [Message("user", "hi")])
    store.save("B", [Message("user", "hi")])
    store.clear_all()
    assert storage.items == {"session_A": "s", "other": "x"}
