"""The previous release's stored conversations, as the migration reads them."""

from __future__ import annotations

import json

import pytest

from app.storage import MemoryStorage
from app.transcript import Message, TranscriptStore, transcript_key


def old_format(messages: list[dict[str, object]]) -> str:
    return json.dumps(messages, ensure_ascii=False)


def test_a_stored_conversation_is_read_with_every_field() -> None:
    storage = MemoryStorage({transcript_key("A"): old_format([
        {"role": "user", "text": "hi <b>"}, {"role": "assistant", "text": "hello \u05e9\u05dc\u05d5\u05dd"},
        {"role": "assistant", "text": "cut", "incomplete": True},
        {"role": "error", "text": "Network error", "retry": "hi"}])})
    assert TranscriptStore(storage).load("A") == [
        Message("user", "hi <b>"), Message("assistant", "hello \u05e9\u05dc\u05d5\u05dd"),
        Message("assistant", "cut", incomplete=True), Message("error", "Network error", retry="hi")]


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


def test_the_stored_characters_are_listed_and_removed_with_the_index_and_nothing_else() -> None:
    storage = MemoryStorage({transcript_key("A"): "[]", transcript_key("B/c"): "[]",
                             "pychat:transcripts": "{}", "session_A": "s", "theme": "dark"})
    store = TranscriptStore(storage)
    assert sorted(store.stored()) == ["A", "B/c"]
    store.clear("A")
    assert store.stored() == ["B/c"]
    store.clear_all()
    assert storage.items == {"session_A": "s", "theme": "dark"}
