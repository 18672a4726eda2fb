"""JSON nested thousands of levels deep, from the proxy or in storage, never hangs or kills the page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .conftest import READY, Server, open_app
from .helpers import LUNA, messages, send

DEPTH = 20_000


def test_a_deeply_nested_reply_is_an_unexpected_reply_and_the_page_goes_on(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "status", status=200, body="[" * DEPTH + "]" * DEPTH)
    send(page, "are you there?")
    expect(messages(page, "error")).to_have_text(["Unexpected reply from the server: the reply is not valid JSON"])
    page.get_by_test_id("retry-button").click()
    expect(messages(page, "assistant")).to_have_count(1)


def test_a_deeply_nested_error_body_still_shows_the_statuss_error(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "status", status=400, body='{"error":' * DEPTH)
    send(page, "hello")
    expect(messages(page, "error")).to_have_text(["Request failed (400): the server gave no reason"])


def test_deeply_nested_junk_in_the_pages_own_keys_does_not_stop_it_starting(page: Page, server: Server) -> None:
    open_app(page, server)
    page.evaluate(
        """([depth, id]) => {
            const junk = '['.repeat(depth) + ']'.repeat(depth);
            for (const key of ['pychat:characters', `pychat:transcript:${id}`, 'pychat:transcripts']) {
                localStorage.setItem(key, junk);
            }
        }""",
        [DEPTH, LUNA],
    )
    page.reload()
    page.wait_for_selector(READY)
    expect(messages(page)).to_have_count(0)
    send(page, "still works")
    expect(messages(page, "assistant")).to_have_count(1)
