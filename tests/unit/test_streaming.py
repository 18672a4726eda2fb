"""Streamed replies end to end under CPython: the client reading a stream, and the page showing it."""

from __future__ import annotations

import asyncio

import pytest

from app.errors import BadResponse, BadStream, NetworkError, RequestTimeout, StreamCutOff, StreamFailed
from app.sending import LEFT, STOPPED
from app.stream import ReplyStream
from app.wording import CUT_OFF, TIMEOUT

from .fakes import DROPPED, FakeProxy, Streamed, reply_parts, sse, stored_messages
from .test_controller import Page

# ----- the client ------------------------------------------------------------------------------------------------


async def test_a_streamed_reply_is_read_to_its_text_and_the_session_it_names() -> None:
    proxy = FakeProxy()
    proxy.script("/api/chat", Streamed(*map(sse, reply_parts("Hel", "lo", session_id="sess-new"))))
    seen: list[str] = []
    reply = await proxy.client().chat("s", "A", "hi", on_text=seen.append)
    assert (reply.text, reply.session_id) == ("Hello", "sess-new")
    assert seen == ["Hel", "Hello"]


def count_text_reads(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """Each read of a ReplyStream's text (each may join the whole reply) appends to the list returned."""
    reads: list[None] = []
    text = ReplyStream.text
    monkeypatch.setattr(ReplyStream, "text", property(lambda self: reads.append(None) or text.fget(self)))
    return reads


async def test_a_long_stream_read_without_on_text_builds_its_text_once(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = count_text_reads(monkeypatch)
    proxy = FakeProxy()
    proxy.script("/api/chat", Streamed(*map(sse, reply_parts(*["word "] * 500))))
    assert (await proxy.client().chat("s", "A", "hi")).text == "word " * 500
    assert len(reads) == 1  # for the result: never per piece, which is quadratic over a long reply


async def test_a_long_stream_builds_its_text_once_per_piece_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = count_text_reads(monkeypatch)
    proxy = FakeProxy()
    proxy.script("/api/chat", Streamed(*map(sse, reply_parts(*["word "] * 500))))
    seen: list[str] = []
    await proxy.client().chat("s", "A", "hi", on_text=seen.append)
    assert len(seen) == 500 and len(reads) == len(seen) + 1  # + 1: the result


async def test_pieces_split_anywhere_read_the_same() -> None:
    body = sse(*reply_parts("Ünï", "code 🙂"))
    proxy = FakeProxy()
    proxy.script("/api/chat", Streamed(*(body[i : i + 3] for i in range(0, len(body), 3))))
    assert (await proxy.client().chat("s", "A", "hi")).text == "Ünïcode 🙂"


async def test_a_stream_dropped_midway_is_cut_off_and_hands_over_what_came() -> None:
    proxy = FakeProxy()
    proxy.script("/api/chat", Streamed(sse(*reply_parts("Half a ", finish=False)), end=DROPPED))
    seen: list[str] = []
    with pytest.raises(StreamCutOff) as info:
        await proxy.client().chat("s", "A", "hi", on_text=seen.append)
    assert seen == ["Half a "] and isinstance(info.value.__cause__, NetworkError)


async def test_a_stream_that_ends_before_finish_is_cut_off() -> None:
    proxy = FakeProxy()
    proxy.script("/api/chat", Streamed(sse(*reply_parts("Half", finish=False))))
    with pytest.raises(StreamCutOff):
        await proxy.client().chat("s", "A", "hi")


async def test_an_error_part_fails_the_reply_with_the_servers_words() -> None:
    proxy = FakeProxy()
    error = {"type": "error", "errorText": "model overloaded"}
    proxy.script("/api/chat", Streamed(sse(*reply_parts("Par", finish=False), error)))
    with pytest.raises(StreamFailed, match="model overloaded"):
        await proxy.client().chat("s", "A", "hi")


async def test_junk_in_the_stream_is_a_bad_reply_and_the_request_is_given_up() -> None:
    proxy = FakeProxy()
    answer = Streamed("data: {not json\n\n", end=None)
    proxy.script("/api/chat", answer)
    with pytest.raises(BadStream):
        await proxy.client().chat("s", "A", "hi")
    assert answer.cancelled


async def test_the_timeout_counts_from_the_last_piece_not_from_the_request() -> None:
    proxy = FakeProxy()
    answer = Streamed(sse(*reply_parts(finish=False)), end=None)
    proxy.script("/api/chat", answer)
    reading = asyncio.ensure_future(proxy.client(timeout=0.6).chat("s", "A", "hi"))
    for word in ("one ", "two ", "three ", "four "):  # 0.8 s in all, never 0.6 s without a piece
        await asyncio.sleep(0.2)
        assert answer.stream is not None
        answer.stream.push(sse({"type": "text-delta", "id": "t", "delta": word}))
    answer.stream.push(sse({"type": "finish"}))
    answer.stream.end()
    assert (await reading).text == "one two three four "


async def test_a_stream_silent_for_the_timeout_times_out_and_is_given_up() -> None:
    proxy = FakeProxy()
    answer = Streamed(sse(*reply_parts("Wait", finish=False)), end=None)
    proxy.script("/api/chat", answer)
    with pytest.raises(RequestTimeout):
        await proxy.client(timeout=0.05).chat("s", "A", "hi")
    assert answer.cancelled


async def test_a_streamed_answer_to_a_session_request_is_a_bad_reply() -> None:
    proxy = FakeProxy()
    answer = Streamed(sse({"type": "start"}), end=None)
    proxy.script("/api/sessions", answer)
    with pytest.raises(BadResponse, match="streamed"):
        await proxy.client().create_session("A")
    assert answer.cancelled


# ----- the page ---------------------------------------------------------------------------------------------------


async def streaming(text: str, *pieces: str) -> tuple[Page, Streamed, asyncio.Future[None]]:
    """A page that sent ``text`` and is reading a reply whose ``pieces`` came, the rest still to come."""
    page = Page()
    await page.controller.start()
    answer = Streamed(*pieces, end=None)
    page.proxy.script("/api/chat", answer)
    page.view.input = text
    task = page.controller.submit()
    assert task is not None
    await asyncio.sleep(0.01)
    return page, answer, task


async def test_a_streamed_reply_grows_on_screen_then_is_one_message_stored_whole() -> None:
    page = Page()
    await page.controller.start()
    page.proxy.script("/api/chat", Streamed(*map(sse, reply_parts("Once ", "upon ", "a time"))))
    await page.send("tell me")
    assert page.view.streamed == ["Once ", "Once upon ", "Once upon a time"]
    assert page.view.streaming is None
    assert page.view.texts() == [("user", "tell me"), ("assistant", "Once upon a time")]
    stored = stored_messages(page.storage, "A")
    assert [(m.role, m.text, m.incomplete) for m in stored][-1] == ("assistant", "Once upon a time", False)


async def test_a_session_named_in_the_stream_is_stored_raw() -> None:
    page = Page()
    await page.controller.start()
    page.proxy.script("/api/chat", Streamed(sse(*reply_parts("Hi", session_id="sess-rotated"))))
    await page.send("hello")
    assert page.storage.get("session_A") == "sess-rotated"
    assert page.view.session == "sess-rotated"


async def test_stop_mid_stream_keeps_what_came_marked_incomplete_and_the_text_to_retry() -> None:
    page, answer, task = await streaming("a long story", sse(*reply_parts("The first ", "half", finish=False)))
    assert page.view.streaming == "The first half"
    assert page.controller.stop() is True
    await asyncio.gather(task, return_exceptions=True)
    assert answer.cancelled
    assert page.view.texts() == [("user", "a long story"), ("assistant", "The first half"), ("error", STOPPED)]
    assert page.view.messages[1].incomplete and page.view.messages[2].retry == "a long story"
    assert page.view.input == "a long story" and not page.view.sending


async def test_a_cut_stream_keeps_what_came_with_an_error_and_retry_replaces_both() -> None:
    page = Page()
    await page.controller.start()
    page.proxy.script("/api/chat", Streamed(sse(*reply_parts("Half a ", finish=False)), end=DROPPED))
    await page.send("question")
    assert page.view.texts() == [("user", "question"), ("assistant", "Half a "), ("error", CUT_OFF)]
    stored = stored_messages(page.storage, "A")
    assert [(m.role, m.incomplete) for m in stored] == [("user", False), ("assistant", True), ("error", False)]
    page.view.input = ""
    retried = page.controller.retry(2)
    assert retried is not None
    await retried
    assert page.view.texts() == [("user", "question"), ("assistant", "reply to question")]


async def test_a_stream_that_goes_silent_ends_as_a_timeout_with_what_came() -> None:
    page = Page(timeout=0.05)
    await page.controller.start()
    page.proxy.script("/api/chat", Streamed(sse(*reply_parts("Stalled ", finish=False)), end=None))
    await page.send("anyone?")
    assert page.view.texts() == [("user", "anyone?"), ("assistant", "Stalled "), ("error", TIMEOUT)]


async def test_a_reply_still_streaming_shows_again_when_its_character_is_reopened() -> None:
    page, answer, task = await streaming("go on", sse(*reply_parts("Still ", "going", finish=False)))
    opened = page.controller.select_character("B")
    assert opened is not None
    await opened
    assert page.view.streaming is None  # B's conversation has no stream
    assert answer.stream is not None
    answer.stream.push(sse({"type": "text-delta", "id": "t", "delta": "!"}))
    back = page.controller.select_character("A")
    assert back is not None
    await back
    assert page.view.streaming == "Still going!"
    answer.stream.push(sse({"type": "finish"}))
    answer.stream.end()
    await asyncio.wait_for(task, 1)
    assert page.view.texts()[-1] == ("assistant", "Still going!")


async def test_a_stream_for_a_conversation_thrown_away_meanwhile_leaves_nothing() -> None:
    page, answer, task = await streaming("forget this", sse(*reply_parts("Unwanted", finish=False)))
    page.controller.new_conversation()
    await asyncio.gather(task, return_exceptions=True)
    assert page.view.texts() == [] and page.view.streaming is None
    assert stored_messages(page.storage, "A") == []


# ----- what the review found -----------------------------------------------------------------------------------


def later_piece(answer: Streamed, *parts: dict[str, object] | str) -> None:
    """A piece arriving after the reader started listening."""
    assert answer.stream is not None
    answer.stream.push(sse(*parts))


async def test_junk_in_the_middle_of_a_stream_is_a_bad_reply_not_a_stop() -> None:
    page, answer, task = await streaming("go", sse(*reply_parts("Good so far ", finish=False)))
    assert answer.stream is not None
    answer.stream.push("data: {not json\n\n")
    await asyncio.wait_for(task, 1)
    assert answer.cancelled
    assert page.view.texts()[1:] == [("assistant", "Good so far "),
                                     ("error", "Unexpected reply from the server: a stream event is not valid JSON")]


async def test_a_complete_reply_on_a_connection_kept_open_ends_at_its_finish() -> None:
    proxy = FakeProxy()
    answer = Streamed(*map(sse, reply_parts("Done.")), end=None)  # [DONE], and the body never ends
    proxy.script("/api/chat", answer)
    reply = await asyncio.wait_for(proxy.client(timeout=5).chat("s", "A", "hi"), 1)
    assert reply.text == "Done." and answer.cancelled  # the rest of the request is aborted


async def test_an_error_part_on_a_connection_kept_open_fails_at_once() -> None:
    proxy = FakeProxy()
    answer = Streamed(sse(*reply_parts("Par", finish=False), {"type": "error", "errorText": "boom"}), end=None)
    proxy.script("/api/chat", answer)
    with pytest.raises(StreamFailed, match="boom"):
        await asyncio.wait_for(proxy.client(timeout=5).chat("s", "A", "hi"), 1)


async def test_a_session_named_in_a_stream_is_kept_even_when_the_reply_is_stopped() -> None:
    page, answer, task = await streaming("hello", sse(*reply_parts("Hi ", session_id="sess-rotated", finish=False)))
    assert page.controller.stop()
    await asyncio.gather(task, return_exceptions=True)
    assert page.storage.get("session_A") == "sess-rotated"


async def test_a_stream_thrown_away_in_another_tab_leaves_no_streaming_reply_on_screen() -> None:
    page, answer, task = await streaming("go", sse(*reply_parts("Partial ", finish=False)))
    assert page.view.streaming == "Partial "
    other = Page(page.storage, page.proxy)  # the other tab starts over
    await other.controller.start()
    other.controller.new_conversation()
    page.controller.storage_changed("session_A")
    await page.controller.archive_changed()
    await asyncio.gather(task, return_exceptions=True)
    later_piece(answer, {"type": "text-delta", "id": "t", "delta": "late"})
    assert page.view.streaming is None and page.view.texts() == []


async def test_pieces_after_a_new_conversation_show_nothing() -> None:
    page, answer, task = await streaming("go", sse(*reply_parts("Old ", finish=False)))
    page.controller.new_conversation()
    later_piece(answer, {"type": "text-delta", "id": "t", "delta": "news"})  # before the cancel lands
    await asyncio.gather(task, return_exceptions=True)
    assert page.view.streamed == ["Old "] and page.view.streaming is None


async def test_a_bug_while_showing_a_piece_is_reported_and_the_request_given_up() -> None:
    page = Page()
    await page.controller.start()
    answer = Streamed(sse(*reply_parts("Boom", finish=False)), end=None)
    page.proxy.script("/api/chat", answer)

    def broken(text: str | None) -> None:
        if text is not None:
            raise RuntimeError("view bug")

    page.view.show_streaming = broken  # type: ignore[method-assign]
    page.view.input = "go"
    task = page.controller.submit()
    assert task is not None
    await asyncio.wait_for(task, 1)
    assert answer.cancelled
    assert page.view.texts()[-1] == ("error", "Something went wrong in the page: RuntimeError: view bug")


async def test_a_page_closed_mid_stream_keeps_what_came_stored_at_once_and_says_so_once() -> None:
    page, answer, task = await streaming("a long story", sse(*reply_parts("The first ", "half", finish=False)))
    page.controller.page_left()  # pagehide: the task never runs again, so all of it happens now
    stored = stored_messages(page.storage, "A")
    assert [(m.role, m.text, m.incomplete) for m in stored] == [
        ("user", "a long story", False), ("assistant", "The first half", True), ("error", LEFT, False)]
    assert stored[2].retry == "a long story"
    await asyncio.gather(task, return_exceptions=True)  # had the page stayed (the back/forward cache)
    assert answer.cancelled
    assert page.view.texts() == [("user", "a long story"), ("assistant", "The first half"), ("error", LEFT)]


async def test_a_page_closed_before_any_reply_keeps_the_message_to_retry() -> None:
    page = Page()
    await page.controller.start()
    task = page.submit_held("no answer yet")
    await asyncio.sleep(0)
    page.controller.page_left()
    assert [(m.role, m.text) for m in stored_messages(page.storage, "A")] == [
        ("user", "no answer yet"), ("error", LEFT)]
    await asyncio.gather(task, return_exceptions=True)  # the request aborted: no reply comes after
    assert page.view.texts() == [("user", "no answer yet"), ("error", LEFT)]
