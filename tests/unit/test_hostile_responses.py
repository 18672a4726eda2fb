"""A hostile proxy under CPython: oversized, redirected, lying and trickling answers, and any body at all."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api import MAX_REPLY_SIZE, BodyStream, ChatReply, HttpResponse, ProxyClient
from app.errors import (
    ChatError,
    NetworkError,
    RedirectRefused,
    ReplyTooLarge,
    RequestTimeout,
    ServerError,
)
from app.sessions import is_valid_session_id
from app.settings import load_settings
from app.stream import ReplyStream
from app.wording import TIMEOUT, TOO_LARGE, describe_error

from .fakes import FakeProxy, Streamed, ok, reply_parts, sse
from .test_controller import Page

# ----- huge replies ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/chat", "/api/sessions"])
async def test_a_2xx_body_over_the_limit_is_too_large_to_show(path: str) -> None:
    proxy = FakeProxy()
    proxy.script(path, HttpResponse(200, "", too_large=True))
    client = proxy.client()
    with pytest.raises(ReplyTooLarge) as info:
        await (client.chat("s", "A", "hi") if path == "/api/chat" else client.create_session("A"))
    assert describe_error(info.value) == TOO_LARGE == "The reply was too large to show"


async def test_a_body_longer_than_the_limit_is_refused_even_from_an_adapter_that_read_it_all() -> None:
    proxy = FakeProxy()
    proxy.script("/api/chat", ok({"ai": "x" * MAX_REPLY_SIZE}))
    with pytest.raises(ReplyTooLarge):
        await proxy.client().chat("s", "A", "hi")


async def test_a_reply_just_under_the_limit_is_shown_whole() -> None:
    text = "x" * (MAX_REPLY_SIZE - len('{"ai": ""}'))
    proxy = FakeProxy()
    proxy.script("/api/chat", ok({"ai": text}))
    assert (await proxy.client().chat("s", "A", "hi")).text == text


async def test_an_error_status_over_the_limit_is_still_that_statuss_error() -> None:
    proxy = FakeProxy()
    proxy.script("/api/chat", HttpResponse(503, "", too_large=True))
    with pytest.raises(ServerError):
        await proxy.client().chat("s", "A", "hi")


async def test_a_streams_deltas_are_limited_in_sum_and_say_too_large() -> None:
    half = "y" * (MAX_REPLY_SIZE // 2)
    proxy = FakeProxy()
    proxy.script("/api/chat", Streamed(*map(sse, reply_parts(half, half, "!"))))
    seen: list[str] = []
    with pytest.raises(ReplyTooLarge) as info:
        await proxy.client().chat("s", "A", "hi", on_text=seen.append)
    assert describe_error(info.value) == TOO_LARGE
    assert seen[-1] == half + half  # what fitted reached the page; the delta past the limit did not


# ----- redirects -----------------------------------------------------------------------------------------------


async def test_a_refused_redirect_is_shown_as_an_unexpected_reply_and_the_text_comes_back() -> None:
    page = Page()
    await page.controller.start()
    why = "the server answered with a redirect, which the page does not follow"
    page.proxy.script("/api/chat", RedirectRefused(why))
    await page.send("my secret")
    assert page.view.texts()[-1] == ("error", f"Unexpected reply from the server: {why}")
    assert page.view.input == "my secret"


# ----- bodies that lie, and trickles ------------------------------------------------------------------------------


async def _opened(answer: Streamed) -> BodyStream:
    """The streamed answer's body, once the client has its headers."""
    for _ in range(100):
        if answer.stream is not None:
            return answer.stream
        await asyncio.sleep(0)
    raise AssertionError("the stream never opened")


async def test_a_stream_trickling_bytes_that_never_finish_an_event_times_out() -> None:
    proxy = FakeProxy()
    answer = Streamed(sse(*reply_parts("Begun ", finish=False)), end=None)
    proxy.script("/api/chat", answer)
    client = proxy.client(timeout=0.2)
    task = asyncio.ensure_future(client.chat("s", "A", "hi"))
    stream = await _opened(answer)
    for byte in 'data: {"type":"text-delta","id":"t","delta":"never"}':  # a piece every 50 ms, an event never
        stream.push(byte)
        await asyncio.sleep(0.05)
        if task.done():
            break
    with pytest.raises(RequestTimeout, match="no part"):
        await asyncio.wait_for(task, 1)
    assert answer.cancelled


async def test_a_stream_that_keeps_sending_events_stops_at_the_reply_time_limit() -> None:
    proxy = FakeProxy()
    answer = Streamed(sse(*reply_parts("Go", finish=False)), end=None)
    proxy.script("/api/chat", answer)
    client = proxy.client(timeout=0.2, reply_time_limit=0.5)
    task = asyncio.ensure_future(client.chat("s", "A", "hi"))
    stream = await _opened(answer)
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not task.done() and loop.time() - started < 2:
        stream.push(sse({"type": "text-delta", "id": "t", "delta": "."}))
        await asyncio.sleep(0.05)
    with pytest.raises(RequestTimeout, match="more than 0.5 s"):
        await task
    assert 0.4 <= loop.time() - started < 1


async def test_a_json_answer_must_be_complete_within_the_timeout() -> None:
    proxy = FakeProxy()
    proxy.gate = asyncio.Event()  # headers in, body never complete: the adapter never returns
    with pytest.raises(RequestTimeout):
        await asyncio.wait_for(proxy.client(timeout=0.05, reply_time_limit=60).chat("s", "A", "hi"), 1)


def test_the_reply_time_limit_is_a_setting_and_never_below_the_timeout() -> None:
    settings_ = load_settings({"request_timeout_seconds": 5, "reply_time_limit_seconds": 30})
    assert (settings_.request_timeout, settings_.reply_time_limit, settings_.problems) == (5.0, 30.0, [])
    assert load_settings({}).reply_time_limit == 300.0
    bad = load_settings({"reply_time_limit_seconds": 0})
    assert bad.reply_time_limit == 300.0 and "reply_time_limit_seconds" in bad.problems[0]
    assert ProxyClient("http://x", FakeProxy().post_json, timeout=10, reply_time_limit=1)._reply_time_limit == 10


def test_a_streams_progress_is_its_complete_events_not_its_bytes() -> None:
    reply = ReplyStream()
    for piece in ('data: {"type":"st', 'art"}\n', ": a comment\n"):
        reply.feed(piece)
    assert reply.events == 0
    reply.feed("\n")  # the blank line completes the event
    assert reply.events == 1


async def test_the_page_stays_usable_after_a_timeout_with_the_text_in_the_input() -> None:
    page = Page(timeout=0.05)
    await page.controller.start()
    page.proxy.gate = asyncio.Event()
    await page.send("anyone?")
    assert page.view.texts()[-1] == ("error", TIMEOUT)
    assert page.view.input == "anyone?" and not page.controller.inflight.busy("A")


# ----- session IDs -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "undefined", "x" * 513, "a\nb", " padded", None, 7, ["sess"]])
async def test_a_rejected_session_id_fails_the_send_with_the_text_back_and_send_usable(value: object) -> None:
    page = Page()
    page.proxy.script("/api/sessions", ok({"session_id": value}), ok({"session_id": value}))
    await page.controller.start()  # the first session fails to set up: shown, not stored
    await page.send("hello")  # and the send tries again
    no_id = "Unexpected reply from the server: the server did not return a session ID"
    assert page.view.texts()[-1] == ("error", no_id)
    assert page.view.input == "hello"
    assert not page.controller.inflight.busy("A") and page.storage.get("session_A") is None


# ----- any body at all (Hypothesis) --------------------------------------------------------------------------------

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(st.characters(exclude_categories=()))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                           max_leaves=30)
CONTRACT_KEYS = st.sampled_from(["ai", "session_id", "error", "message", "detail", "code", "error_description",
                                 "reason", "type", "delta", "id", "errorText", "data"])
OBJECTS = st.dictionaries(CONTRACT_KEYS, JSON_VALUES, max_size=5)


def _nested(opening: str, depth: int, closed: bool) -> str:
    """``opening`` ``depth`` times around a null, closed or not: ``[[null]]``, ``{"ai":{"ai":null}}``, ``{"ai":``."""
    return opening * depth + ("null" + ("]" if opening == "[" else "}") * depth if closed else "")


DEEP = st.builds(_nested, st.sampled_from(["[", '{"ai":', '{"error":', '{"session_id":']), st.integers(0, 50_000),
                 st.booleans())
BODIES = st.one_of(
    JSON_VALUES.map(json.dumps),
    OBJECTS.map(json.dumps),
    DEEP,
    st.text(st.characters(exclude_categories=())),
    st.binary().map(lambda raw: raw.decode("utf-8", "replace")),  # what a TextDecoder makes of random bytes
    st.integers(0, 3).map(lambda n: json.dumps({"ai": "z" * (MAX_REPLY_SIZE * n // 2)})),
)
WELL_FORMED = st.builds(lambda deltas, session_id, finish: sse(*reply_parts(*deltas, session_id=session_id,
                                                                          finish=finish)),
                       st.lists(st.text(st.characters(exclude_categories=()))), st.none() | st.text(), st.booleans())
PARTS = st.one_of(
    WELL_FORMED,
    WELL_FORMED,
    OBJECTS.map(lambda part: sse(part)),
    st.builds(lambda kind, part: sse({**part, "type": kind}),
              st.sampled_from(["start", "text-start", "text-delta", "text-end", "finish", "error", "data-session",
                               "reasoning-delta", "data-x"]), OBJECTS),
    st.just(sse("[DONE]")),
    BODIES.map(lambda body: f"data: {body}\n\n"),
    st.text(st.characters(exclude_categories=())),
)
STATUSES = st.one_of(st.sampled_from([200, 201, 204, 301, 307, 400, 401, 403, 404, 410, 429, 500, 502, 503]),
                     st.integers(0, 999))
ADAPTER_FAILURES = st.sampled_from([NetworkError("Failed to fetch"), RedirectRefused("redirect")])


@st.composite
def answers(draw: st.DrawFn) -> HttpResponse | BaseException | Streamed:
    """Whatever ``post_json`` can hand back: a body, a stream (ending or not, split anywhere), or a failure."""
    kind = draw(st.sampled_from(["json", "json", "stream", "failure"]))
    if kind == "failure":
        return draw(ADAPTER_FAILURES)
    if kind == "json":
        return HttpResponse(draw(STATUSES), draw(BODIES), too_large=draw(st.booleans()))
    body = "".join(draw(st.lists(PARTS, max_size=12)))
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=6)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    end = draw(st.sampled_from([True, None, NetworkError("network error")]))  # complete, never ends, cut off
    return Streamed(*pieces, end=end)


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run on a loop of its own (Playwright's sync API holds this thread's), failing if it hangs."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, coroutine).result(timeout=10)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(answers(), st.sampled_from(["/api/chat", "/api/sessions"]))
def test_every_answer_is_a_reply_or_one_of_our_errors_and_never_hangs(
        answer: HttpResponse | BaseException | Streamed, path: str) -> None:
    async def call() -> ChatReply | str | ChatError:
        proxy = FakeProxy()
        proxy.script(path, answer)
        client = proxy.client(timeout=0.05, reply_time_limit=0.2)
        try:
            if path == "/api/sessions":
                return await asyncio.wait_for(client.create_session("A"), 2)
            return await asyncio.wait_for(client.chat("s", "A", "hi"), 2)
        except ChatError as error:
            return error

    outcome = _run(call())
    if isinstance(outcome, ChatReply):
        assert isinstance(outcome.text, str) and len(outcome.text) <= MAX_REPLY_SIZE
        assert outcome.session_id is None or is_valid_session_id(outcome.session_id)
    elif isinstance(outcome, str):
        assert is_valid_session_id(outcome)
    else:
        assert isinstance(outcome, ChatError) and describe_error(outcome)  # one of ours, with words
    if isinstance(answer, Streamed) and answer.stream is not None and not isinstance(outcome, ChatReply):
        assert answer.cancelled or answer.stream.ended.done()  # a reply given up on is not left streaming
