"""Text from outside is parsed with its nesting bounded first: deep junk is refused, never recursed into."""

from __future__ import annotations

import doctest

import pytest

import app.bounded_json
from app.api import HttpResponse, ProxyClient
from app.bounded_json import MAX_DEPTH, TooDeep, loads, nesting_exceeds
from app.errors import BadResponse, ServerError
from app.roster import Roster
from app.settings import Character
from app.storage import MemoryStorage
from app.transcript import TranscriptStore

DEEP = "[" * 100_000 + "]" * 100_000


def test_the_module_examples_hold() -> None:
    assert doctest.testmod(app.bounded_json).failed == 0


def test_json_within_the_limit_parses_as_usual() -> None:
    nested = "[" * MAX_DEPTH + "1" + "]" * MAX_DEPTH
    assert loads(nested) is not None
    assert loads('{"a": [1, {"b": "[[[[[[[[{{{{{{{{"}]}') == {"a": [1, {"b": "[[[[[[[[{{{{{{{{"}]}


@pytest.mark.parametrize("text", [DEEP, '{"a":' * 100_000, '[{"a": ' * 50_000])
def test_deep_nesting_is_refused_without_parsing(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("json.loads was called on text nested too deep")

    monkeypatch.setattr(app.bounded_json.json, "loads", never)
    with pytest.raises(TooDeep):
        loads(text)


def test_brackets_inside_strings_do_not_count() -> None:
    assert not nesting_exceeds('["' + "[" * 1000 + '"]')
    assert not nesting_exceeds('["\\"' + "[" * 1000 + '"]')  # an escaped quote does not end the string


def test_refused_text_is_a_value_error_like_any_bad_json() -> None:
    assert issubclass(TooDeep, ValueError)


async def test_a_deeply_nested_reply_is_an_unexpected_reply_not_a_crash() -> None:
    async def post_json(url: str, body: dict[str, str]) -> HttpResponse:
        return HttpResponse(200, DEEP)

    with pytest.raises(BadResponse, match="not valid JSON"):
        await ProxyClient("http://x.test", post_json).chat("s", "A", "hi")


async def test_a_deeply_nested_error_body_still_gives_the_statuss_error() -> None:
    async def post_json(url: str, body: dict[str, str]) -> HttpResponse:
        return HttpResponse(503, '{"error":' * 50_000)

    with pytest.raises(ServerError):
        await ProxyClient("http://x.test", post_json).chat("s", "A", "hi")


def test_a_deeply_nested_stored_conversation_or_index_reads_as_empty() -> None:
    storage = MemoryStorage({"pychat:transcript:A": DEEP, "pychat:transcripts": DEEP})
    store = TranscriptStore(storage)
    assert store.load("A") == [] and store.stored() == ["A"]
    store.clear_all()  # the migration's last step: the index goes unparsed
    assert storage.keys() == []


def test_a_deeply_nested_list_of_added_characters_reads_as_none_added() -> None:
    roster = Roster(MemoryStorage({"pychat:characters": DEEP}), [Character("A", "Alice")])
    assert [c.config_id for c in roster.characters] == ["A"]
