"""Reading a streamed reply: the SSE parser, then the AI SDK UI message stream parts on top."""

from __future__ import annotations

import doctest
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import app.bounded_json
import app.stream
from app.api import ChatReply
from app.errors import BadResponse, BadStream, StreamCutOff, StreamFailed, StreamTooLarge
from app.stream import (
    MAX_JSON_DEPTH,
    ErrorReported,
    ReplyFinished,
    ReplyOutcome,
    ReplyStream,
    SessionNamed,
    SseEvent,
    SseParser,
    TextAppended,
    parse_part,
)
from app.wording import describe_error


def events(*chunks: str | bytes, parser: SseParser | None = None) -> list[SseEvent]:
    parser = parser or SseParser()
    found = [event for chunk in chunks for event in parser.feed(chunk)]
    parser.close()
    return found


def datas(*chunks: str | bytes) -> list[str]:
    return [event.data for event in events(*chunks)]


def sse(*parts: dict[str, Any] | str) -> str:
    """The body an AI SDK server writes: one ``data:`` event per part."""
    return "".join(f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n" for p in parts)


def delta(part_id: str, text: str) -> dict[str, str]:
    return {"type": "text-delta", "id": part_id, "delta": text}


def read(*chunks: str | bytes) -> ReplyStream:
    reply = ReplyStream()
    for chunk in chunks:
        reply.feed(chunk)
    reply.close()
    return reply


# --- SSE: lines and events -------------------------------------------------------------------------------------


def test_a_blank_line_dispatches_the_event() -> None:
    assert events("data: hello\n\n") == [SseEvent("hello")]


def test_an_event_without_its_blank_line_is_not_dispatched_yet() -> None:
    assert SseParser().feed("data: hello\n") == []


def test_several_events_in_one_chunk_all_come_out_in_order() -> None:
    assert datas("data: 1\n\ndata: 2\n\ndata: 3\n\n") == ["1", "2", "3"]


@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"], ids=["LF", "CR", "CRLF"])
def test_each_line_ending_ends_lines(newline: str) -> None:
    body = f"data: a{newline}data: b{newline}{newline}data: c{newline}{newline}"
    assert datas(body) == ["a\nb", "c"]


@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"], ids=["LF", "CR", "CRLF"])
def test_an_event_split_at_any_position_reads_the_same(newline: str) -> None:
    body = f": ping{newline}event: note{newline}data: {{\"a\": \"b\"}}{newline}data: z{newline}{newline}"
    whole = events(body)
    for cut in range(len(body) + 1):
        assert events(body[:cut], body[cut:]) == whole, cut


def test_a_crlf_split_between_chunks_ends_one_line_not_two() -> None:
    # Were the LF read as a second line end, the blank line would dispatch "a" early and "b" apart.
    assert datas("data: a\r", "\ndata: b\r", "\n\r", "\n") == ["a\nb"]


def test_a_cr_at_the_end_of_a_chunk_ends_the_line_at_once() -> None:
    parser = SseParser()
    assert parser.feed("data: a\r\r") == [SseEvent("a")]
    assert parser.feed("\ndata: b\n\n") == [SseEvent("b")]  # the LF after CR CR is a blank line of its own


def test_an_empty_chunk_between_cr_and_lf_keeps_them_one_line_end() -> None:
    assert datas("data: a\r", "", "\n\n") == ["a"]


def test_one_character_at_a_time_reads_the_same() -> None:
    body = "data: x\r\n\r\ndata: y\n\n"
    assert events(*body) == events(body)


def test_comment_lines_are_ignored() -> None:
    assert datas(": ping\n:\ndata: a\n: keep-alive\n\n: stream-open\n\n") == ["a"]


def test_multi_line_data_is_joined_by_newlines() -> None:
    assert datas("data: one\ndata: two\ndata: three\n\n") == ["one\ntwo\nthree"]


def test_a_field_with_no_colon_has_an_empty_value() -> None:
    assert datas("data\ndata\n\n") == ["\n"]


def test_only_one_leading_space_after_the_colon_is_stripped() -> None:
    assert datas("data:  two spaces\n\n") == [" two spaces"]


def test_a_value_right_after_the_colon_is_kept_whole() -> None:
    assert datas("data:tight\n\n") == ["tight"]


def test_only_the_first_colon_separates_field_and_value() -> None:
    assert datas('data: {"type":"x"}\n\n') == ['{"type":"x"}']


def test_a_leading_bom_is_ignored() -> None:
    assert datas("\ufeffdata: a\n\n") == ["a"]


def test_a_leading_bom_in_bytes_split_over_chunks_is_ignored() -> None:
    assert datas(b"\xef\xbb", b"\xbfdata: a\n\n") == ["a"]


def test_a_bom_after_the_start_is_data() -> None:
    assert datas("data: a\n\ndata: \ufeffb\n\n") == ["a", "\ufeffb"]


def test_the_event_field_names_the_type_of_that_event_only() -> None:
    assert [e.event for e in events("event: ping\ndata: 1\n\ndata: 2\n\n")] == ["ping", "message"]


def test_the_last_event_id_carries_over_to_later_events() -> None:
    assert [e.id for e in events("id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n")] == ["7", "7", ""]


def test_an_id_containing_null_is_ignored() -> None:
    assert [e.id for e in events("id: 1\ndata: a\n\nid: 2\0\ndata: b\n\n")] == ["1", "1"]


def test_retry_takes_only_ascii_digits() -> None:
    parser = SseParser()
    parser.feed("retry: 1500\n\nretry: 2s\n\nretry: \u0663\n\n")
    assert parser.retry == 1500


def test_an_event_with_no_data_is_not_dispatched() -> None:
    assert events("event: ping\n\nid: 3\n\n") == []


def test_unknown_fields_are_ignored() -> None:
    assert datas("foo: bar\nData: no\ndata: yes\n\n") == ["yes"]


def test_an_unfinished_event_is_discarded_at_the_end_of_the_body() -> None:
    parser = SseParser()
    assert parser.feed("data: a\n\ndata: cut") == [SseEvent("a")]
    parser.close()
    assert parser.incomplete is True


def test_a_body_ending_on_a_blank_line_is_complete() -> None:
    parser = SseParser()
    parser.feed("data: a\n\n")
    parser.close()
    assert parser.incomplete is False


def test_bytes_split_inside_a_multibyte_character_decode_whole() -> None:
    body = "data: café 🌙\n\n".encode()
    for cut in range(len(body) + 1):
        assert datas(body[:cut], body[cut:]) == ["café 🌙"], cut


def test_invalid_utf8_becomes_the_replacement_character() -> None:
    assert datas(b"data: a\xffb\n\n") == ["a\ufffdb"]


def test_a_body_cut_inside_a_character_ends_incomplete() -> None:
    parser = SseParser()
    parser.feed(b"data: \xf0\x9f")
    parser.close()
    assert parser.incomplete is True


def test_mixing_str_and_bytes_in_one_stream_is_refused() -> None:
    parser = SseParser()
    parser.feed(b"data: a")
    with pytest.raises(TypeError):
        parser.feed("\n\n")


def test_feeding_after_close_is_refused() -> None:
    parser = SseParser()
    parser.close()
    with pytest.raises(ValueError, match="after close"):
        parser.feed("data: a\n\n")


# --- SSE: limits -----------------------------------------------------------------------------------------------


def test_a_line_over_the_limit_raises_stream_too_large() -> None:
    with pytest.raises(StreamTooLarge, match="line"):
        SseParser(max_line_chars=100).feed("data: " + "x" * 100 + "\n")


def test_a_line_growing_over_the_limit_across_chunks_raises_before_its_end() -> None:
    parser = SseParser(max_line_chars=100)
    parser.feed("data: " + "x" * 90)
    with pytest.raises(StreamTooLarge):
        parser.feed("x" * 20)


def test_a_line_at_the_limit_is_accepted() -> None:
    assert SseParser(max_line_chars=10).feed("data: 1234\n\n") == [SseEvent("1234")]


def test_an_event_over_the_limit_raises_stream_too_large() -> None:
    parser = SseParser(max_line_chars=100, max_event_chars=250)
    with pytest.raises(StreamTooLarge, match="event"):
        parser.feed(("data: " + "x" * 90 + "\n") * 3)


def test_the_default_limit_is_one_mebibyte() -> None:
    parser = SseParser()
    with pytest.raises(StreamTooLarge):
        parser.feed("data: " + "x" * (1 << 20))


def test_events_before_an_over_limit_line_come_out_first() -> None:
    parser = SseParser(max_line_chars=50)
    got: list[str] = []
    with pytest.raises(StreamTooLarge):
        for event in parser.iter_feed("data: kept\n\ndata: " + "x" * 60 + "\n"):
            got.append(event.data)
    assert got == ["kept"]


def test_stream_too_large_is_a_bad_response_the_view_can_word() -> None:
    error = StreamTooLarge("a line of the stream is longer than 1,048,576 characters")
    assert isinstance(error, BadResponse)
    assert describe_error(error).startswith("Unexpected reply from the server: a line of the stream")


# --- SSE: random chunk boundaries ------------------------------------------------------------------------------

FIXED_BODY = (
    "\ufeff: stream-open\r\n\r\n"
    'data: {"type":"start"}\r\n\r\n'
    "event: note\rdata: first line\rdata: second line\r\r"
    ": ping\n"
    'data: {"type":"text-delta","id":"t","delta":"Grüße, 世界 🌙"}\n\n'
    "id: 42\nevent: note\ndata\ndata:  spaced\n\n"
    "retry: 900\r\n"
    'data: {"type":"text-delta","id":"t","delta":" ✓ done"}\r\n\r\n'
    "data: [DONE]\n\n"
)
FIXED_EVENTS = [
    SseEvent('{"type":"start"}'),
    SseEvent("first line\nsecond line", "note"),
    SseEvent('{"type":"text-delta","id":"t","delta":"Grüße, 世界 🌙"}'),
    SseEvent("\n spaced", "note", "42"),
    SseEvent('{"type":"text-delta","id":"t","delta":" ✓ done"}', id="42"),
    SseEvent("[DONE]", id="42"),
]


def split_at(body: Any, cuts: list[int]) -> list[Any]:
    bounds = [0, *sorted(set(cuts)), len(body)]
    return [body[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def test_the_fixed_body_reads_as_its_events() -> None:
    assert events(FIXED_BODY) == FIXED_EVENTS


@given(st.lists(st.integers(0, len(FIXED_BODY)), max_size=40))
def test_text_split_anywhere_yields_the_same_events(cuts: list[int]) -> None:
    assert events(*split_at(FIXED_BODY, cuts)) == FIXED_EVENTS


@given(st.lists(st.integers(0, len(FIXED_BODY.encode())), max_size=40))
def test_bytes_split_anywhere_yield_the_same_events(cuts: list[int]) -> None:
    assert events(*split_at(FIXED_BODY.encode(), cuts)) == FIXED_EVENTS


@given(st.lists(st.integers(0, len(FIXED_BODY.encode())), max_size=40))
def test_bytes_split_anywhere_give_the_same_reply_text(cuts: list[int]) -> None:
    reply = read(*split_at(FIXED_BODY.encode(), cuts))
    assert (reply.text, reply.outcome) == ("Grüße, 世界 🌙 ✓ done", ReplyOutcome.COMPLETE)


# --- Parts: text -----------------------------------------------------------------------------------------------


def test_text_deltas_append_to_their_part() -> None:
    reply = read(sse({"type": "text-start", "id": "t"}, delta("t", "Hel"), delta("t", "lo")))
    assert reply.text == "Hello"


def test_feed_reports_each_appended_delta() -> None:
    updates = ReplyStream().feed(sse({"type": "start"}, {"type": "text-start", "id": "t"}, delta("t", "Hi")))
    assert updates == [TextAppended("t", "Hi")]


def test_text_parts_are_joined_by_a_blank_line_in_order_of_first_appearance() -> None:
    reply = read(sse(delta("a", "First."), delta("b", "Second."), delta("a", " More.")))
    assert reply.text == "First. More.\n\nSecond."


@given(st.lists(st.tuples(st.sampled_from("abc"), st.text(max_size=4)), max_size=30))
def test_text_length_is_the_length_of_the_text_after_every_delta(deltas: list[tuple[str, str]]) -> None:
    reply = ReplyStream()
    for part_id, text in deltas:
        reply.feed(sse(delta(part_id, text)))
        assert reply.text_length == len(reply.text)


def test_an_empty_text_part_adds_no_separator() -> None:
    reply = read(sse({"type": "text-start", "id": "a"}, {"type": "text-end", "id": "a"}, delta("b", "Only")))
    assert reply.text == "Only"


def test_a_delta_for_an_unknown_id_opens_that_part() -> None:
    assert read(sse(delta("never-started", "Shown anyway"))).text == "Shown anyway"


def test_a_delta_after_text_end_still_appends_to_its_part() -> None:
    reply = read(sse(delta("t", "a"), {"type": "text-end", "id": "t"}, delta("t", "b")))
    assert reply.text == "ab"


def test_a_second_text_start_for_an_id_keeps_its_text() -> None:
    reply = read(sse(delta("t", "kept"), {"type": "text-start", "id": "t"}))
    assert reply.text == "kept"


def test_an_empty_delta_reports_nothing() -> None:
    assert ReplyStream().feed(sse(delta("t", ""))) == []


# --- Parts: session, finish, error -----------------------------------------------------------------------------


def test_a_session_part_names_the_session() -> None:
    reply = ReplyStream()
    updates = reply.feed(sse({"type": "data-session", "data": {"session_id": "sess-42"}}))
    assert (updates, reply.session_id) == ([SessionNamed("sess-42")], "sess-42")


def test_the_last_session_part_wins() -> None:
    session = "data-session"
    reply = read(sse({"type": session, "data": {"session_id": "a"}}, {"type": session, "data": {"session_id": "b"}}))
    assert reply.session_id == "b"


@pytest.mark.parametrize(
    "data",
    [{"session_id": "null"}, {"session_id": ""}, {"session_id": " padded "}, {"session_id": 42}, {}, "sess-1", None],
    ids=["placeholder", "empty", "padded", "number", "no-id", "not-an-object", "null"],
)
def test_an_unusable_session_part_is_ignored(data: object) -> None:
    reply = ReplyStream()
    assert reply.feed(sse({"type": "data-session", "data": data})) == []
    assert reply.session_id is None


def test_finish_then_done_ends_cleanly_with_the_finish_reason() -> None:
    reply = ReplyStream()
    updates = reply.feed(sse(delta("t", "x"), {"type": "finish", "finishReason": "stop"}, "[DONE]"))
    reply.close()
    assert updates == [TextAppended("t", "x"), ReplyFinished("stop")]
    assert (reply.outcome, reply.finished, reply.done) == (ReplyOutcome.COMPLETE, True, True)
    assert reply.finish_reason == "stop"


def test_done_without_finish_ends_cleanly() -> None:
    assert read(sse(delta("t", "x"), "[DONE]")).outcome is ReplyOutcome.COMPLETE


def test_finish_without_done_ends_cleanly() -> None:
    assert read(sse(delta("t", "x"), {"type": "finish"})).outcome is ReplyOutcome.COMPLETE


def test_a_finish_reason_that_is_not_text_is_dropped() -> None:
    assert read(sse({"type": "finish", "finishReason": {"unified": "stop"}})).finish_reason is None


def test_parts_after_done_are_ignored() -> None:
    reply = read(sse(delta("t", "kept"), "[DONE]", delta("t", " late"), "not even json"))
    assert reply.text == "kept"


def test_a_finished_stream_reads_as_a_chat_reply() -> None:
    reply = read(sse({"type": "data-session", "data": {"session_id": "s1"}}, delta("t", "Hi"), "[DONE]"))
    assert reply.result() == ChatReply("Hi", "s1")


def test_an_error_part_fails_the_reply_and_keeps_the_text() -> None:
    reply = ReplyStream()
    updates = reply.feed(sse(delta("t", "partial"), {"type": "error", "errorText": "model overloaded"}))
    reply.close()
    assert updates == [TextAppended("t", "partial"), ErrorReported("model overloaded")]
    assert (reply.outcome, reply.error, reply.text) == (ReplyOutcome.FAILED, "model overloaded", "partial")
    with pytest.raises(StreamFailed, match="model overloaded"):
        reply.result()


def test_an_error_part_wins_over_a_later_finish() -> None:
    reply = read(sse({"type": "error", "errorText": "boom"}, {"type": "finish"}, "[DONE]"))
    assert reply.outcome is ReplyOutcome.FAILED


def test_parts_after_an_error_are_ignored() -> None:
    assert read(sse(delta("t", "a"), {"type": "error", "errorText": "x"}, delta("t", "b"))).text == "a"


def test_error_text_comes_as_short_plain_text() -> None:
    reply = read(sse({"type": "error", "errorText": "  line one\n\tline two " + "x" * 500}))
    assert reply.error is not None and reply.error.startswith("line one line two x")
    assert len(reply.error) == 300 and reply.error.endswith("\u2026")


def test_the_view_words_a_failed_stream_with_the_servers_text() -> None:
    assert describe_error(StreamFailed("model overloaded")) == (
        "The server reported an error while replying: model overloaded"
    )


def test_a_body_ending_before_finish_is_cut_off_and_keeps_its_text() -> None:
    reply = read(sse({"type": "start"}, delta("t", "half a rep")))
    assert (reply.outcome, reply.text) == (ReplyOutcome.CUT_OFF, "half a rep")
    with pytest.raises(StreamCutOff):
        reply.result()


def test_a_body_ending_inside_the_finish_event_is_cut_off() -> None:
    assert read(sse(delta("t", "x")) + 'data: {"type":"finish"}\n').outcome is ReplyOutcome.CUT_OFF


def test_a_reply_is_streaming_until_its_end() -> None:
    reply = ReplyStream()
    reply.feed(sse(delta("t", "x")))
    assert reply.outcome is ReplyOutcome.STREAMING
    with pytest.raises(ValueError, match="still streaming"):
        reply.result()


def test_feeding_a_closed_reply_is_refused() -> None:
    reply = read("")
    with pytest.raises(ValueError, match="after close"):
        reply.feed(sse(delta("t", "x")))


def test_the_view_words_a_cut_off_stream() -> None:
    assert describe_error(StreamCutOff("x")) == "The reply was cut off before it finished. Please try again."


# --- Parts: what is ignored ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "part",
    [
        {"type": "start", "messageId": "m1"},
        {"type": "start-step"},
        {"type": "finish-step"},
        {"type": "reasoning-start", "id": "r"},
        {"type": "reasoning-delta", "id": "r", "delta": "thinking"},
        {"type": "reasoning-end", "id": "r"},
        {"type": "tool-input-start", "toolCallId": "c", "toolName": "lookup"},
        {"type": "tool-input-available", "toolCallId": "c", "toolName": "lookup", "input": {"q": [1, {"a": None}]}},
        {"type": "tool-output-available", "toolCallId": "c", "output": "x"},
        {"type": "source-url", "sourceId": "s", "url": "https://example.org"},
        {"type": "source-document", "sourceId": "s", "mediaType": "text/plain", "title": "t"},
        {"type": "file", "url": "data:,x", "mediaType": "text/plain"},
        {"type": "data-weather", "data": {"city": "Oslo"}},
        {"type": "message-metadata", "messageMetadata": {}},
        {"type": "abort"},
        {"type": "something-new", "delta": 5},
    ],
    ids=lambda part: part["type"],
)
def test_other_part_types_are_ignored(part: dict[str, Any]) -> None:
    reply = ReplyStream()
    assert reply.feed(sse(delta("t", "a"), part, delta("t", "b"))) == [TextAppended("t", "a"), TextAppended("t", "b")]
    assert reply.text == "ab"


def test_events_of_another_sse_type_are_ignored() -> None:
    reply = read("event: ping\ndata: not json\n\n" + sse(delta("t", "x"), "[DONE]"))
    assert (reply.text, reply.outcome) == ("x", ReplyOutcome.COMPLETE)


def test_comments_between_parts_change_nothing() -> None:
    assert read(": stream-open\n\n" + sse(delta("t", "x")) + ": keep-alive\n\n" + sse("[DONE]")).text == "x"


# --- Parts: junk from outside ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("hello", "not valid JSON"),
        ('{"type": "text-delta"', "not valid JSON"),
        ("NaN-ish {", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('"text-delta"', "not a JSON object"),
        ("42", "not a JSON object"),
        ("null", "not a JSON object"),
        ("{}", "no type"),
        ('{"type": 5}', "no type"),
        ('{"type": ["text-delta"]}', "no type"),
    ],
)
def test_data_that_is_not_a_typed_json_object_raises_bad_stream(data: str, why: str) -> None:
    with pytest.raises(BadStream, match=why):
        ReplyStream().feed(f"data: {data}\n\n")


@pytest.mark.parametrize(
    "part",
    [
        {"type": "text-delta", "id": "t", "delta": 5},
        {"type": "text-delta", "id": "t"},
        {"type": "text-delta", "id": 1, "delta": "x"},
        {"type": "text-start", "id": None},
        {"type": "text-end"},
        {"type": "error", "errorText": ["boom"]},
        {"type": "error"},
    ],
    ids=["delta-number", "delta-missing", "id-number", "start-id-null", "end-id-missing", "error-list", "error-none"],
)
def test_a_known_part_with_a_field_of_the_wrong_type_raises_bad_stream(part: dict[str, Any]) -> None:
    with pytest.raises(BadStream, match="is not text"):
        ReplyStream().feed(sse(part))


def test_parts_before_a_bad_part_are_kept() -> None:
    reply = ReplyStream()
    with pytest.raises(BadStream):
        reply.feed(sse(delta("t", "kept"), "junk", delta("t", "lost")))
    assert reply.text == "kept"


def test_a_broken_stream_stays_broken_and_ignores_later_chunks() -> None:
    reply = ReplyStream()
    with pytest.raises(BadStream) as raised:
        reply.feed(sse("junk"))
    assert reply.feed(sse(delta("t", "late"), "[DONE]")) == []
    reply.close()
    assert (reply.outcome, reply.text, reply.broken) == (ReplyOutcome.BROKEN, "", raised.value)


def test_the_result_of_a_broken_stream_raises_what_broke_it() -> None:
    reply = ReplyStream()
    with pytest.raises(StreamTooLarge):
        reply.feed("data: " + "x" * (1 << 20) + "\n")
    reply.close()
    with pytest.raises(StreamTooLarge, match="line"):
        reply.result()


def test_bad_stream_is_worded_as_an_unexpected_reply() -> None:
    assert describe_error(BadStream("a stream event is not valid JSON")) == (
        "Unexpected reply from the server: a stream event is not valid JSON"
    )


@pytest.mark.parametrize(
    "data",
    ["[" * 1_000_000, '{"a":' * 200_000, '{"type":"text-delta","id":"t","delta":"x","deep":' + "[" * 900_000],
    ids=["arrays", "objects", "inside-a-text-part"],
)
def test_deep_nesting_is_refused_before_parsing(data: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("json.loads was called on text nested too deep")

    monkeypatch.setattr(app.bounded_json.json, "loads", never)
    with pytest.raises(StreamTooLarge, match="nested deeper"):
        parse_part(data)


def session_part_nested(depth: int) -> str:
    """A data-session part nested ``depth`` levels deep in all (its object, ``data``, then arrays)."""
    arrays = depth - 2
    return '{"type":"data-session","data":{"session_id":"s1","extra":' + "[" * arrays + "]" * arrays + "}}"


def test_nesting_up_to_the_limit_is_read() -> None:
    assert read(sse(session_part_nested(MAX_JSON_DEPTH))).session_id == "s1"


def test_nesting_one_past_the_limit_is_refused() -> None:
    with pytest.raises(StreamTooLarge, match="nested deeper"):
        ReplyStream().feed(sse(session_part_nested(MAX_JSON_DEPTH + 1)))


def test_a_deep_part_of_an_ignored_type_is_skipped_unread() -> None:
    reply = ReplyStream()
    deep = '{"type":"tool-output-available","output":' + "[" * 10_000 + "]" * 10_000 + "}"
    assert reply.feed(sse(delta("t", "a"), deep, delta("t", "b"))) == [TextAppended("t", "a"), TextAppended("t", "b")]


def test_a_broken_part_of_an_ignored_type_is_skipped_unread() -> None:
    assert read(sse(delta("t", "a"), '{"type":"reasoning-delta","delta": oops', delta("t", "b"))).text == "ab"


def test_a_part_whose_type_is_not_first_is_read_in_full() -> None:
    assert read(sse('{"delta":"late type","id":"t","type":"text-delta"}')).text == "late type"


def test_brackets_inside_strings_are_not_nesting() -> None:
    text = "[{" * 5000
    assert read(sse(delta("t", text), "[DONE]")).text == text


def test_a_reply_over_the_text_limit_raises_stream_too_large() -> None:
    reply = ReplyStream(max_reply_chars=10)
    reply.feed(sse(delta("t", "x" * 10)))
    with pytest.raises(StreamTooLarge, match="reply is longer"):
        reply.feed(sse(delta("t", "y")))
    assert reply.text == "x" * 10


def test_too_many_text_parts_raise_stream_too_large() -> None:
    with pytest.raises(StreamTooLarge, match="text parts"):
        ReplyStream().feed(sse(*({"type": "text-start", "id": str(n)} for n in range(1001))))


def test_an_over_limit_line_in_a_reply_raises_stream_too_large() -> None:
    with pytest.raises(StreamTooLarge):
        ReplyStream().feed("data: " + "x" * (1 << 20) + "\n")


# --- The module's own examples ---------------------------------------------------------------------------------


def test_the_docstring_examples_run() -> None:
    result = doctest.testmod(app.stream)
    assert result.attempted >= 10 and result.failed == 0
