from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.storage import MemoryStorage
from app.transcript import MAX_STORED_MESSAGE_CHARS, Message, TranscriptStore, transcript_key


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


def test_total_budget_evicts_the_least_recently_saved_conversation_first() -> None:
    storage = MemoryStorage({"session_A": "s-a", "session_B": "s-b", "session_C": "s-c"})
    store = TranscriptStore(storage, max_total_chars=300)
    store.save("A", [Message("user", "a" * 100)])
    store.save("B", [Message("user", "b" * 100)])
    store.save("A", [Message("user", "a" * 100), Message("user", "again")])  # A is now the most recent
    store.save("C", [Message("user", "c" * 100)])
    assert store.load("B") == []
    assert store.load("A") and store.load("C")
    assert {k for k in storage.items if k.startswith("session_")} == {"session_A", "session_B", "session_C"}


def test_a_single_conversation_over_budget_keeps_its_newest_messages() -> None:
    storage = MemoryStorage()
    store = TranscriptStore(storage, max_total_chars=1000)
    store.save("A", [Message("user", f"{i:03d}" + "x" * 50) for i in range(100)])
    kept = store.load("A")
    assert 0 < len(kept) < 100
    assert kept[-1].text.startswith("099")
    assert sum(len(v) for k, v in storage.items.items() if k.startswith("pychat:transcript:")) <= 1000


def test_a_huge_message_is_shortened_in_storage_with_a_mark() -> None:
    storage = MemoryStorage()
    store = TranscriptStore(storage)
    store.save("A", [Message("assistant", "z" * 1_000_000)])
    text = store.load("A")[0].text
    assert len(text) == 20_000 and text.endswith("[shortened for storage]")


def test_corrupt_index_is_rebuilt_from_the_stored_conversations() -> None:
    storage = MemoryStorage({"pychat:transcripts": "junk"})
    store = TranscriptStore(storage, max_total_chars=250)
    store.save("A", [Message("user", "a" * 100)])
    storage.items["pychat:transcripts"] = "{not json"
    store.save("B", [Message("user", "b" * 100)])
    store.save("C", [Message("user", "c" * 100)])
    assert store.load("A") == [] and store.load("C")


def test_clear_all_also_removes_the_index() -> None:
    storage = MemoryStorage()
    store = TranscriptStore(storage)
    store.save("A", [Message("user", "hi")])
    store.clear_all()
    assert storage.items == {}


_texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=()), max_size=40) | st.sampled_from(
    ["", '"quoted" \\ back\\slash', "line\nbreak\ttab\x00\x1f", "\u2028\u2029", "\ud800 lone surrogate", "é🙂"]
)
_messages = st.builds(Message, st.sampled_from(["user", "assistant", "error"]), _texts, st.none() | _texts)


@given(st.lists(_messages, max_size=12), st.integers(min_value=0, max_value=3))
def test_a_save_stores_exactly_what_json_dumps_makes_of_the_messages(messages: list[Message], long: int) -> None:
    """Each message is encoded once and the list joined: the stored string must not change by it."""
    if messages and long:  # the shortened-for-storage path, for one message
        messages[0] = Message(messages[0].role, "x" * (MAX_STORED_MESSAGE_CHARS + long), messages[0].retry)
    storage = MemoryStorage()
    TranscriptStore(storage).save("CHAR_a", messages)
    kept = [m.to_json() for m in messages]
    assert storage.get(transcript_key("CHAR_a")) == (json.dumps(kept, ensure_ascii=False) if kept else None)


def test_a_message_is_encoded_once_and_saves_see_later_messages() -> None:
    storage = MemoryStorage()
    store = TranscriptStore(storage)
    first = Message("user", "hello")
    store.save("CHAR_a", [first])
    assert "stored" in vars(first)  # kept on the message, for the next save
    store.save("CHAR_a", [first, Message("assistant", "hi")])
    assert [m.text for m in store.load("CHAR_a")] == ["hello", "hi"]


def test_an_index_another_tab_rewrote_is_read_again_not_taken_from_memory() -> None:
    # Each store remembers the index it last wrote, to skip parsing it again on the next save;
    # a tab sharing the storage changes it meanwhile, and its conversation must stay indexed.
    storage = MemoryStorage()
    here, there = TranscriptStore(storage, max_total_chars=10_000), TranscriptStore(storage, max_total_chars=10_000)
    here.save("A", [Message("user", "first")])
    there.save("B", [Message("user", "from the other tab")])
    here.save("A", [Message("user", "first"), Message("assistant", "reply")])
    assert list(json.loads(storage.get("pychat:transcripts") or "{}")) == ["B", "A"]
