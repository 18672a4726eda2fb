"""Site data blocked by the browser (Chromium's "Block all cookies and site data", a cross-site iframe).

localStorage, IndexedDB and Cache Storage all refuse the page: it must still
start, chat in memory, and say plainly that nothing will be kept. These run in
a persistent profile whose preferences block cookies, as a user's would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, Route, expect

from serving.browsers import CHROMIUM_ARGS, find_chromium

from .conftest import SecondOrigin, Server, open_app
from .helpers import messages, send

NOTHING_KEPT = "Browser storage is unavailable"


@pytest.fixture
def blocking_profile(
    playwright: Playwright, tmp_path: Path, page_errors: list[str]
) -> Iterator[BrowserContext]:
    """A persistent Chromium profile whose preferences block all cookies and site data."""
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    preferences = {"profile": {"default_content_setting_values": {"cookies": 2}}}
    (profile / "Default" / "Preferences").write_text(json.dumps(preferences))
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=find_chromium(playwright), args=CHROMIUM_ARGS, headless=True
    )
    context.set_default_timeout(15_000)
    context.on("page", lambda page: page.on("pageerror", lambda error: page_errors.append(str(error))))
    try:
        yield context
    finally:
        context.close()


def test_the_profile_really_blocks_site_data(blocking_profile: BrowserContext, server: Server) -> None:
    page = blocking_profile.new_page()
    page.goto(server.url + "static/favicon.svg")
    blocked = page.evaluate("() => { try { localStorage.length; return false } catch { return true } }")
    assert blocked, "the preference did not block site data: the tests below would prove nothing"


def test_with_all_site_data_blocked_the_page_starts_chats_and_says_nothing_is_kept(
        blocking_profile: BrowserContext, server: Server) -> None:
    page = blocking_profile.new_page()
    open_app(page, server)
    expect(page.locator("#notice")).to_contain_text(NOTHING_KEPT)
    expect(page.locator("html")).to_have_attribute("data-storage", "none")
    send(page, "hello without storage")
    expect(messages(page, "assistant")).to_have_count(1)
    expect(messages(page, "error")).to_have_count(0)


def test_in_a_cross_site_frame_with_site_data_blocked_the_page_starts_and_chats(
        blocking_profile: BrowserContext, server: Server, second_origin: SecondOrigin) -> None:
    page = blocking_profile.new_page()

    def frameable(route: Route) -> None:  # serve.py forbids framing (frame-ancestors); an export may not
        response = route.fetch()
        headers = dict(response.headers)
        headers["content-security-policy"] = headers["content-security-policy"].replace("; frame-ancestors 'none'", "")
        route.fulfill(response=response, headers=headers)

    page.route(server.url, frameable)
    top = second_origin.url.replace("127.0.0.1", "localhost")  # another site than the page's 127.0.0.1
    page.goto(f"{top}/embedding")
    page.set_content(f'<iframe src="{server.url}" width="1000" height="700"></iframe>')
    frame = page.frame_locator("iframe")
    expect(frame.locator("html[data-app-state=ready]")).to_have_count(1, timeout=60_000)
    expect(frame.locator("#notice")).to_contain_text(NOTHING_KEPT)
    frame.get_by_test_id("message-input").fill("hello from a frame")
    frame.get_by_test_id("send-button").click()
    expect(frame.locator('[data-testid=message][data-role="assistant"]')).to_have_count(1)


def test_with_site_data_allowed_both_stores_are_found_working(page: Page, server: Server) -> None:
    open_app(page, server)
    expect(page.locator("html")).to_have_attribute("data-storage", "localstorage indexeddb")
    assert page.evaluate("Object.keys(localStorage).filter((key) => key === 'pychat:probe')") == []
    expect(page.locator("#notice")).not_to_contain_text(NOTHING_KEPT)
