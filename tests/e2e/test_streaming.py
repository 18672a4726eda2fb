"""Streamed replies in Chromium: the AI SDK UI message stream from the demo proxy, growing on screen."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .conftest import Server, open_app
from .helpers import LUNA, messages, send, stored

CUT_OFF = "The reply was cut off before it finished. Please try again."
STOPPED = "Stopped: you cancelled this reply. Retry sends it again."
LEFT = "The page was closed before the reply finished. Retry sends your message again."
FULL_REPLY = 'Luna (message 1 in this session): you said "tell me a story". The stars agree.'
LIVE = 'li[aria-busy="true"]'


def test_every_chat_request_accepts_a_stream_or_json_and_sends_the_contract_body(page: Page, server: Server) -> None:
    accepted: list[str | None] = []
    page.on("request", lambda r: accepted.append(r.headers.get("accept")) if r.url.endswith("/api/chat") else None)
    open_app(page, server)
    send(page, "hi")
    expect(messages(page, "assistant")).to_have_count(1)
    expect(page.get_by_test_id("send-button")).to_be_enabled()
    assert accepted == ["text/event-stream, application/json"]
    body = server.requests("/api/chat")[0]["body"]
    assert set(body) == {"session_id", "config_id", "input"}


def test_a_streamed_reply_grows_in_one_busy_element_then_is_the_finished_message(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "stream", delay_ms=120, hold_after=14)  # the last word only once released
    send(page, "tell me a story")
    live = page.locator(LIVE)
    expect(live).to_have_count(1)
    expect(live.get_by_test_id("message")).to_have_attribute("aria-busy", "true")
    first = live.get_by_test_id("message").inner_text()
    expect(live.get_by_test_id("message")).not_to_have_text(first)
    later = live.get_by_test_id("message").inner_text()
    assert FULL_REPLY.startswith(first) and FULL_REPLY.startswith(later) and len(first) < len(later) < len(FULL_REPLY)
    server.release()
    expect(messages(page, "assistant")).to_have_text([FULL_REPLY])
    expect(page.locator("[aria-busy]")).to_have_count(0)
    expect(page.get_by_test_id("send-button")).to_be_enabled()


def test_a_screen_reader_hears_a_streamed_reply_once_when_it_is_complete(page: Page, server: Server) -> None:
    open_app(page, server)
    page.evaluate("""() => {
        window.__heard = [];
        new MutationObserver(() => window.__heard.push(document.getElementById('announcer').textContent))
            .observe(document.getElementById('announcer'), {childList: true, characterData: true, subtree: true});
    }""")
    server.fault("chat", "stream", delay_ms=60)
    send(page, "tell me a story")
    expect(messages(page, "assistant")).to_have_text([FULL_REPLY])
    heard = page.evaluate("window.__heard")
    assert [text for text in heard if "Luna" in text] == [f"\u2068Luna\u2069: {FULL_REPLY}"]


def test_stop_mid_stream_keeps_what_came_marked_stopped_and_the_input_is_usable(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "stream", delay_ms=30, hold_after=3)  # the rest only once released: stopped mid-stream
    send(page, "tell me a story")
    expect(page.locator(LIVE)).to_have_count(1)
    expect(page.locator(LIVE).get_by_test_id("message")).not_to_have_text("")
    page.get_by_test_id("stop-button").click()
    expect(messages(page, "error")).to_have_text([STOPPED])
    partial = messages(page, "assistant").inner_text()
    assert partial and FULL_REPLY.startswith(partial) and partial != FULL_REPLY
    expect(page.locator('li[data-incomplete="true"]')).to_have_count(1)
    expect(page.get_by_test_id("message-input")).to_have_value("tell me a story")
    expect(page.get_by_test_id("send-button")).to_be_enabled()
    expect(page.locator("[aria-busy]")).to_have_count(0)


def test_a_reload_mid_stream_keeps_what_came_marked_incomplete_with_retry(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "stream", delay_ms=30, hold_after=3)  # the rest never comes before the reload
    send(page, "tell me a story")
    expect(page.locator(LIVE).get_by_test_id("message")).to_have_text("Luna (message 1 ")
    page.reload()
    page.wait_for_selector("html[data-app-state=ready]")
    expect(messages(page)).to_have_text(["tell me a story", "Luna (message 1 ", LEFT])
    expect(page.locator('li[data-incomplete="true"]')).to_have_count(1)
    server.release()
    page.get_by_test_id("retry-button").click()
    expect(messages(page)).to_have_text(
        ["tell me a story", 'Luna (message 2 in this session): you said "tell me a story". The moon is listening.'])


def test_escape_stops_a_streaming_reply(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "stream", delay_ms=150)
    send(page, "tell me a story")
    expect(page.locator(LIVE)).to_have_count(1)
    page.keyboard.press("Escape")
    expect(messages(page, "error")).to_have_text([STOPPED])
    expect(page.get_by_test_id("message-input")).to_be_focused()


def test_a_cut_stream_keeps_its_text_with_an_error_and_retry_and_survives_a_reload(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "stream", cut_after=3)
    send(page, "tell me a story")
    expect(messages(page, "error")).to_have_text([CUT_OFF])
    expect(messages(page, "assistant")).to_have_text(["Luna (message 1 "])
    expect(page.get_by_test_id("retry-button")).to_be_visible()
    page.reload()
    page.wait_for_selector("html[data-app-state=ready]")
    expect(messages(page)).to_have_text(["tell me a story", "Luna (message 1 ", CUT_OFF])
    expect(page.locator('li[data-incomplete="true"]')).to_have_count(1)
    page.get_by_test_id("retry-button").click()
    expect(messages(page)).to_have_text(
        ["tell me a story", 'Luna (message 2 in this session): you said "tell me a story". The moon is listening.'])


def test_an_error_event_keeps_the_text_and_shows_the_servers_words(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "stream", error_after=2, error_text="The model is overloaded")
    send(page, "tell me a story")
    expect(messages(page, "error")).to_have_text(
        ["The server reported an error while replying: The model is overloaded"])
    expect(messages(page, "assistant")).to_have_text(["Luna (message "])


def test_a_session_named_in_the_stream_is_stored_raw_and_used_next(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "stream", session_id="sess_from_the_stream")
    send(page, "first")
    expect(messages(page, "assistant")).to_have_count(1)
    expect(page.get_by_test_id("send-button")).to_be_enabled()
    assert stored(page, f"session_{LUNA}") == "sess_from_the_stream"
    expect(page.get_by_test_id("session-id")).to_have_text("sess_from_the_stream")
    send(page, "second")
    expect(messages(page, "assistant")).to_have_count(2)
    assert server.requests("/api/chat")[-1]["body"]["session_id"] == "sess_from_the_stream"


def test_unknown_parts_comments_and_crlf_in_a_stream_do_not_break_the_reply(page: Page, server: Server) -> None:
    open_app(page, server)
    raw = ("retry: 1000\r\n: ping\r\n\r\n"
           'data: {"type":"start"}\r\n\r\n'
           'data: {"type":"reasoning-delta","id":"r","delta":"thinking"}\r\n\r\n'
           'data: {"type":"tool-input-start","toolCallId":"c","toolName":"x"}\r\n\r\n'
           'data: {"type":"data-weather","data":{"sky":"clear"}}\r\n\r\n'
           'data: {"type":"text-delta","id":"t",\r\ndata: "delta":"Clear <b>skies</b> "}\r\n\r\n'
           'data: {"type":"text-delta","id":"t","delta":"tonight \\ud83c\\udf19"}\r\n\r\n'
           'data: {"type":"finish"}\r\n\r\ndata: [DONE]\r\n\r\n')
    server.fault("chat", "stream", raw=raw)
    send(page, "weather?")
    expect(messages(page, "assistant")).to_have_text(["Clear <b>skies</b> tonight \U0001f319"])
    expect(page.locator(".bubble b")).to_have_count(0)
    expect(messages(page, "error")).to_have_count(0)


def test_a_json_answer_still_works_beside_streaming(page: Page, server: Server) -> None:
    open_app(page, server)
    session_id = stored(page, f"session_{LUNA}")
    server.fault("chat", "reply", body={"ai": "A plain JSON reply", "session_id": session_id})
    send(page, "hi")
    expect(messages(page, "assistant")).to_have_text(["A plain JSON reply"])
    expect(page.get_by_test_id("send-button")).to_be_enabled()


def test_a_fast_stream_is_redrawn_at_most_once_a_frame(page: Page, server: Server) -> None:
    open_app(page, server, "?character=CHAR_echo")  # Echo streams back what it was sent, word by word
    page.evaluate("""() => {
        window.__frames = 0; window.__draws = 0;
        const tick = () => { window.__frames++; requestAnimationFrame(tick); };
        requestAnimationFrame(tick);
        new MutationObserver((records) => {  // one call per task that changed the list: one redraw
            if (records.some((r) => {
                const node = r.target.nodeType === 1 ? r.target : r.target.parentElement;
                return node && node.closest('li[aria-busy="true"]');
            })) window.__draws++;
        }).observe(document.getElementById('message-list'), {childList: true, characterData: true, subtree: true});
    }""")
    words = " ".join(f"word{i}" for i in range(150))
    server.fault("chat", "stream", delay_ms=1)
    frames_before = page.evaluate("window.__frames")
    send(page, words)
    expect(messages(page, "assistant")).to_have_text([words])
    draws, frames = page.evaluate("[window.__draws, window.__frames]")
    assert draws <= frames - frames_before + 1, (draws, frames - frames_before)
