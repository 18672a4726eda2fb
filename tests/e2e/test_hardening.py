"""Bad input, faults and hostile content: nothing lost, nothing injected, nothing broken."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .conftest import READY, Server, open_app
from .helpers import (
    ATLAS,
    ECHO,
    LUNA,
    foreign_images,
    messages,
    open_character,
    send,
    send_and_wait,
    stored,
    with_timeouts,
)

# Each payload comes back from the server as a reply (through Echo or a scripted reply).
HOSTILE_REPLIES = {
    "html": '<img src=x onerror="window.__pwned=1"><svg onload="window.__pwned=2"></svg><b>b</b>',
    "script": "<script>window.__pwned=3</script>",
    "javascript-url": '<a href="javascript:window.__pwned=4">click</a> javascript:window.__pwned=5',
    "long-unbroken": "W" * 6000,
    "rtl-and-controls": "abc\u202edcba\u202c \u200f\u05e9\u05dc\u05d5\u05dd\u200e \x07\x1b[31m tab\there",
    "emoji": "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 \U0001f389 \u2764\ufe0f",
    "lone-surrogate": "before \ud800 after \udfff end",
    "entities": "&lt;b&gt; &amp;amp; &#60;script&#62;",
}
# Replies are CommonMark, which decodes entity references: the characters they name, as text.
SHOWN_AS = {"entities": "<b> &amp; <script>"}


@pytest.fixture
def no_csp_page(new_context: Callable[..., BrowserContext]) -> Page:
    """A page with the CSP bypassed, so only rendering-as-text stands between a payload and the page."""
    return new_context(bypass_csp=True).new_page()


@pytest.mark.parametrize("name", list(HOSTILE_REPLIES))
def test_hostile_replies_are_shown_literally_and_nothing_runs(no_csp_page: Page, server: Server, name: str) -> None:
    page = no_csp_page
    payload = HOSTILE_REPLIES[name]
    open_app(page, server)
    server.fault("chat", "reply", body={"ai": payload})
    send(page, "go")
    reply = messages(page, "assistant")
    expect(reply).to_have_count(1)
    assert reply.first.evaluate("el => el.textContent") == SHOWN_AS.get(name, payload)
    list_html = page.get_by_test_id("message-list")
    assert list_html.locator("img, svg, script, a, b").count() == 0
    page.wait_for_timeout(100)
    assert page.evaluate("window.__pwned") is None
    # No layout break: nothing wider than the window.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = reply.first.bounding_box()
    assert box is not None and box["x"] + box["width"] <= page.viewport_size["width"]  # type: ignore[index]


def test_hostile_user_text_round_trips_exactly(no_csp_page: Page, server: Server) -> None:
    page = no_csp_page
    open_app(page, server, f"?character={ECHO}")
    text = HOSTILE_REPLIES["html"] + " " + HOSTILE_REPLIES["emoji"] + " " + HOSTILE_REPLIES["rtl-and-controls"]
    reply = send_and_wait(page, text)
    assert server.requests("/api/chat")[0]["body"]["input"] == text
    assert messages(page, "user").first.evaluate("el => el.textContent") == text
    assert reply.replace("\n", "") == text.replace("\n", "")
    assert page.evaluate("window.__pwned") is None


def test_a_hostile_character_name_and_id_are_text(no_csp_page: Page, server: Server) -> None:
    page = no_csp_page
    evil = '"><img src=x onerror="window.__pwned=6">\u202e' + "Z" * 80  # within the 128-character limit
    page.goto(server.url + "?character=" + quote(evil))
    page.wait_for_selector(READY)
    current = page.locator('[data-testid="character"][aria-current="true"]')
    expect(current).to_have_attribute("data-config-id", evil)
    assert foreign_images(page) == []  # the only images are the configured characters' avatars
    expect(current.get_by_test_id("avatar")).to_have_text("IP")  # initials, as text: no image made of them
    expect(page.locator("#empty-conversation")).to_have_text(f"Say hello to \u2068{evil}\u2069.")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate("window.__pwned") is None


# ----- storage faults ----------------------------------------------------------------------

BLOCKED_STORAGE = """Object.defineProperty(window, 'localStorage', {
  get() { throw new DOMException('The operation is insecure.', 'SecurityError'); }
});"""
FULL_STORAGE = """Storage.prototype.setItem = function () {
  throw new DOMException("Setting the value exceeded the quota.", "QuotaExceededError");
};"""


@pytest.mark.parametrize("script", [BLOCKED_STORAGE, FULL_STORAGE], ids=["blocked", "quota-exceeded"])
def test_unusable_storage_still_chats_in_memory_and_says_so_once(page: Page, server: Server, script: str) -> None:
    page.add_init_script(script)
    open_app(page, server)
    expect(page.locator("#notice")).to_contain_text("Browser storage is unavailable")
    expect(page.get_by_test_id("session-id")).not_to_have_text("")
    assert "message 1 in this session" in send_and_wait(page, "hi")
    assert "message 2 in this session" in send_and_wait(page, "again")
    open_character(page, ATLAS)
    send_and_wait(page, "hi Atlas")
    expect(page.locator("#notice .notice-line", has_text="storage")).to_have_count(1)
    assert len(server.requests("/api/sessions")) == 2


@pytest.mark.parametrize("value", ["", "undefined", "null", "   ", "\n", "x" * 600])
def test_corrupt_stored_session_is_treated_as_absent(page: Page, server: Server, value: str) -> None:
    page.add_init_script(f"localStorage.setItem('session_{LUNA}', {value!r})")
    open_app(page, server)
    created = server.requests("/api/sessions")
    assert [r["body"] for r in created] == [{"config_id": LUNA}]
    new = stored(page, f"session_{LUNA}")
    assert new and new.startswith("sess_")
    send_and_wait(page, "hi")
    assert server.requests("/api/chat")[0]["body"]["session_id"] == new


def test_megabytes_of_junk_in_stored_conversations_do_not_break_the_page(page: Page, server: Server) -> None:
    page.add_init_script(
        f"if (!sessionStorage.getItem('seeded')) {{ sessionStorage.setItem('seeded', '1');"
        f" localStorage.setItem('pychat:transcript:{LUNA}', '[' + 'x'.repeat(2000000));"
        f" localStorage.setItem('pychat:characters', '{{\"not\": \"a list\"}}'); }}"
    )
    open_app(page, server)
    expect(messages(page)).to_have_count(0)
    send_and_wait(page, "fresh start")
    page.reload()
    page.wait_for_selector(READY)
    expect(messages(page)).to_have_count(2)


# ----- network faults ----------------------------------------------------------------------


def test_a_request_that_hangs_times_out_with_a_clear_message_and_keeps_the_text(page: Page, server: Server) -> None:
    with_timeouts(page, 1)
    open_app(page, server)
    server.fault("chat", "delay", delay_ms=2500)
    send(page, "are you there?")
    expect(messages(page, "error")).to_have_text(["Network error: The server did not answer in time"])
    expect(page.get_by_test_id("message-input")).to_have_value("are you there?")
    page.get_by_test_id("retry-button").click()
    expect(messages(page, "assistant")).to_have_count(1)


def test_an_html_page_with_status_200_is_a_clear_error(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "status", status=200, body="<html><body>Gateway says hi</body></html>")
    send(page, "hi")
    expect(messages(page, "error")).to_have_text(
        ["Unexpected reply from the server: the server sent an HTML page instead of JSON"])
    expect(page.get_by_test_id("message-input")).to_have_value("hi")


@pytest.mark.parametrize("fault", [{"kind": "drop"}, {"kind": "status", "status": 502}], ids=["dropped", "502"])
def test_retry_is_one_click_after_a_drop_or_a_5xx(page: Page, server: Server, fault: dict[str, object]) -> None:
    open_app(page, server)
    server.fault("chat", **fault)  # type: ignore[arg-type]
    send(page, "one click")
    page.get_by_test_id("retry-button").click()
    expect(messages(page)).to_have_count(2)
    expect(messages(page, "assistant")).to_have_count(1)


# ----- ordering ----------------------------------------------------------------------------


def test_a_reply_arriving_after_switching_lands_in_its_own_conversation(page: Page, server: Server) -> None:
    open_app(page, server)
    server.hold("chat")  # the reply lands only once Atlas is open
    send(page, "for Luna")
    open_character(page, ATLAS)
    server.release()
    expect(page.locator(f'[data-testid="character"][data-config-id="{LUNA}"]')).to_have_attribute("data-unread", "true")
    expect(messages(page)).to_have_count(0)
    open_character(page, LUNA)
    expect(messages(page)).to_have_count(2)
    expect(messages(page, "assistant")).to_contain_text(["Luna"])


# ----- tabs --------------------------------------------------------------------------------


@pytest.fixture
def two_tabs(context: BrowserContext, server: Server) -> tuple[Page, Page]:
    first, second = context.new_page(), context.new_page()
    return open_app(first, server), open_app(second, server)


def test_a_session_replaced_in_another_tab_is_adopted_before_the_next_send(
    two_tabs: tuple[Page, Page], server: Server
) -> None:
    first, second = two_tabs
    replacement = server.create_session(LUNA)
    second.evaluate(f"localStorage.setItem('session_{LUNA}', '{replacement}')")
    expect(first.get_by_test_id("session-id")).to_have_text(replacement)
    send_and_wait(first, "which session?")
    assert server.requests("/api/chat")[-1]["body"]["session_id"] == replacement


def test_a_new_conversation_in_another_tab_is_followed(two_tabs: tuple[Page, Page], server: Server) -> None:
    first, second = two_tabs
    send_and_wait(first, "before")
    expect(messages(second)).to_have_count(2)  # the conversation follows, too
    second.get_by_test_id("new-conversation").click()
    second.get_by_test_id("confirm-button").click()
    expect(first.get_by_test_id("session-id")).to_have_text("")
    expect(messages(first)).to_have_count(0)
    assert "message 1 in this session" in send_and_wait(first, "after")
    assert stored(second, f"session_{LUNA}") == stored(first, f"session_{LUNA}")


def test_two_tabs_opening_a_new_character_at_once_converge_on_one_session(
    context: BrowserContext, server: Server
) -> None:
    server.hold("sessions", times=2)  # neither tab gets a session before both are creating one
    tabs = [context.new_page(), context.new_page()]
    for tab in tabs:
        tab.goto(server.url + "?character=CHAR_together")
    created = server.wait_for_requests("/api/sessions", 2)
    assert [r["body"] for r in created] == [{"config_id": "CHAR_together"}] * 2, "the two tabs did not race"
    server.release()
    for tab in tabs:
        tab.wait_for_selector(READY, timeout=60_000)
    final = stored(tabs[0], "session_CHAR_together")
    assert final
    assert len(server.requests("/api/sessions")) == 2
    for tab in tabs:
        expect(tab.get_by_test_id("session-id")).to_have_text(final)
    send_and_wait(tabs[0], "from one")
    expect(messages(tabs[1])).to_have_count(2)  # the other tab's exchange, shown here too
    send_and_wait(tabs[1], "from two")
    assert {r["body"]["session_id"] for r in server.requests("/api/chat")} == {final}
    expect(messages(tabs[0])).to_have_count(4)


# ----- input limits ------------------------------------------------------------------------


def test_the_length_counter_appears_near_the_limit_and_send_stops_past_it(page: Page, server: Server) -> None:
    open_app(page, server)
    box, counter = page.get_by_test_id("message-input"), page.get_by_test_id("char-counter")
    box.fill("a" * 100)
    expect(counter).to_be_hidden()
    box.fill("a" * 3500)
    expect(counter).to_have_text("3,500 / 4,000")
    box.fill("a" * 4010)
    expect(counter).to_have_text("4,010 / 4,000")
    expect(counter).to_have_class(re.compile(r"\bover\b"))
    expect(page.get_by_test_id("send-button")).to_be_disabled()
    box.press("Enter")
    expect(page.locator("#notice")).to_contain_text("10 characters over")
    expect(box).to_have_value("a" * 4010)
    assert server.requests("/api/chat") == []
    box.press("Backspace")
    box.fill("a" * 4000)
    expect(page.get_by_test_id("send-button")).to_be_enabled()
    expect(page.locator("#notice")).to_be_hidden()  # no longer true: gone by itself
    expect(counter).to_have_text("4,000 / 4,000")
    expect(counter).not_to_have_class(re.compile(r"\bover\b"))
    box.fill("a" * 100)  # the counter only writes what changed: it must still follow every change
    expect(counter).to_be_hidden()
    box.fill("a" * 4000)
    expect(counter).to_be_visible()
    expect(counter).to_have_text("4,000 / 4,000")
