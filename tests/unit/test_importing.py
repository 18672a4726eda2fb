"""Importing a conversation file: the page's own JSON export comes back whole; anything else is refused whole."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.export import conversation_json
from app.importing import MAX_IMPORT_CHARS, ImportRefused, iso_time, parse_export
from app.settings import Character
from app.transcript import Message

LUNA = Character("CHAR_luna", "Luna")


def export(messages: list[Message]) -> str:
    return conversation_json(LUNA, messages, "2026-12-02T19:00:00Z")[1]


def test_an_export_comes_back_with_every_message_mark_and_time() -> None:
    messages = [
        Message("assistant", "Hello, I am Luna.", greeting=True),
        Message("user", "Hi\r\n  there", at=1_764_700_000_000.0),
        Message("assistant", "Half a rep", incomplete=True, at=1_764_700_001_500.0),
        Message("error", "The server did not answer in time.", at=1_764_700_002_000.0),
    ]
    imported = parse_export(export(messages))
    assert (imported.config_id, imported.name) == ("CHAR_luna", "Luna")
    assert imported.messages == messages[1:]  # the greeting comes from the page's settings, not the file
    assert [m.at for m in imported.messages] == [m.at for m in messages[1:]]


def test_times_are_written_as_iso_and_read_back_to_the_millisecond() -> None:
    assert iso_time(1_764_700_000_123.0) == "2025-12-02T18:26:40.123Z"
    document = json.loads(export([Message("user", "x", at=1_764_700_000_123.0)]))
    assert document["messages"][0]["at"] == "2025-12-02T18:26:40.123Z"
    assert parse_export(json.dumps(document)).messages[0].at == 1_764_700_000_123.0


def test_a_message_without_a_time_is_taken_with_none() -> None:
    text = json.dumps({"character": {"config_id": "CHAR_x"}, "messages": [{"role": "user", "text": "hi"}]})
    imported = parse_export(text)
    assert imported.name == "" and imported.messages[0].at == 0.0


def document(**changes: Any) -> str:
    base: dict[str, Any] = {"character": {"config_id": "CHAR_x", "name": "X"},
                            "messages": [{"role": "user", "text": "hi"}, {"role": "assistant", "text": "hello"}]}
    base.update(changes)
    return json.dumps(base)


@pytest.mark.parametrize(("text", "reason"), [
    ("", "not a conversation exported as JSON"),
    ("not json", "not a conversation exported as JSON"),
    ("[" * 50_000 + "]" * 50_000, "not a conversation exported as JSON"),
    ("[]", "not a conversation exported as JSON"),
    ('{"messages": []}', "not a conversation exported as JSON"),
    (document(character={"config_id": ""}), "character is not valid"),
    (document(character={"config_id": "CHAR\nx"}), "character is not valid"),
    (document(character={"config_id": "C" * 200}), "character is not valid"),
    (document(character={"config_id": "CHAR_x", "name": ["x"]}), "name is not text"),
    (document(messages={"role": "user"}), "messages are not a list"),
    (document(messages=[]), "holds no messages"),
    (document(messages=[{"role": "assistant", "text": "hi", "greeting": True}]), "holds no messages"),
    (document(messages=[{"role": "user", "text": "ok"}, "junk"]), "Message 2 is not a message"),
    (document(messages=[{"role": "system", "text": "x"}]), "Message 1 has an unknown role ('system')"),
    (document(messages=[{"role": "user", "text": None}]), "Message 1 has no text"),
    (document(messages=[{"role": "user", "text": "x" * (2 * 1024 * 1024 + 1)}]), "longer than the page can keep"),
    (document(messages=[{"role": "user", "text": "x", "incomplete": "yes"}]), "mark (incomplete)"),
    (document(messages=[{"role": "user", "text": "x", "at": "yesterday"}]), "time that is not a date"),
    (document(messages=[{"role": "user", "text": "x", "at": 12}]), "time that is not a date"),
    (document(messages=[{"role": "user", "text": "x", "at": "0001-01-01T00:00:00Z"}]), "time out of range"),
])
def test_a_bad_file_is_refused_with_what_is_wrong_and_where(text: str, reason: str) -> None:
    with pytest.raises(ImportRefused, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_export(text)


def test_a_file_over_the_limit_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(ImportRefused, match="larger than 64 MB"):
        parse_export(" " * (MAX_IMPORT_CHARS + 1))


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=30))
def test_any_json_is_imported_or_refused_never_anything_else(data: Any) -> None:
    for value in (data, {"character": {"config_id": "CHAR_x"}, "messages": data}):
        try:
            imported = parse_export(json.dumps(value))
        except ImportRefused as exc:
            assert str(exc)
        else:
            assert imported.messages and all(m.role in ("user", "assistant", "error") for m in imported.messages)
