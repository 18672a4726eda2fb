"""Junk in the page's own keys (pychat:*, session_*), before load or from another tab after it, never bricks it.

And when the page cannot start at all, it offers a reset of its own data that touches no key of other code.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from .conftest import READY, Server, open_app
from .helpers import LUNA, messages, send, send_and_wait, stored

DEPTH = 20_000
DAMAGED = "Some of this page's saved data was damaged"
DEEP_JS = f"'['.repeat({DEPTH}) + ']'.repeat({DEPTH})"
OWN_KEYS = ["pychat:characters", "pychat:open", f"session_{LUNA}", f"pychat:transcript:{LUNA}", "pychat:transcripts"]
OTHER_KEYS = {"theme": "dark", "sessionless": "keep", "other:pychat:x": "keep", "Session_x": "keep"}


def seed(page: Page, values: dict[str, str]) -> None:
    """Set localStorage ``values`` (JavaScript expressions) before the page's first load only."""
    sets = " ".join(f"localStorage.setItem({key!r}, {value});" for key, value in values.items())
    page.add_init_script(f"if (!sessionStorage.getItem('seeded')) {{ sessionStorage.setItem('seeded', '1'); {sets} }}")


@pytest.mark.parametrize("junk", [DEEP_JS, "'undefined'", "'not json'", "''", "'{\"a\": 1}'", "'x'.repeat(300000)"],
                         ids=["deep", "undefined", "not-json", "empty", "object", "long"])
def test_junk_in_every_own_key_before_load_still_starts_the_page_and_chats(
        page: Page, server: Server, junk: str) -> None:
    seed(page, dict.fromkeys(OWN_KEYS, junk))
    open_app(page, server)
    send_and_wait(page, "still works")
    page.reload()
    page.wait_for_selector(READY)
    expect(messages(page)).to_have_count(2)


def test_deep_json_in_the_added_characters_is_repaired_and_said_once(page: Page, server: Server) -> None:
    seed(page, {"pychat:characters": DEEP_JS, "pychat:open": "'\\n'"})
    open_app(page, server)
    expect(page.locator("#notice .notice-line", has_text=DAMAGED)).to_have_count(1)
    assert stored(page, "pychat:characters") == "[]"
    assert stored(page, "pychat:open") == LUNA


@pytest.fixture
def two_tabs(context: BrowserContext, server: Server) -> tuple[Page, Page]:
    first, second = context.new_page(), context.new_page()
    return open_app(first, server), open_app(second, server)


@pytest.mark.parametrize("junk", ["undefined", "null", "", "   "])
def test_junk_written_into_the_session_by_another_tab_while_a_reply_is_pending_keeps_the_reply(
        two_tabs: tuple[Page, Page], server: Server, junk: str) -> None:
    first, second = two_tabs
    session = stored(first, f"session_{LUNA}")
    server.fault("chat", "delay", delay_ms=1500)
    send(first, "pending")
    second.evaluate("([key, junk]) => localStorage.setItem(key, junk)", [f"session_{LUNA}", junk])
    expect(messages(first, "assistant")).to_have_count(1, timeout=15_000)
    expect(messages(first, "error")).to_have_count(0)
    assert stored(first, f"session_{LUNA}") == session  # a good copy written back
    expect(first.locator("#notice .notice-line", has_text=DAMAGED)).to_have_count(1)
    send_and_wait(first, "same session")
    assert server.requests("/api/chat")[-1]["body"]["session_id"] == session


def test_deep_json_written_into_the_added_characters_by_another_tab_keeps_this_tabs_characters(
        two_tabs: tuple[Page, Page], server: Server) -> None:
    first, second = two_tabs
    for config_id in ("CHAR_kept_one", "CHAR_kept_two"):
        first.get_by_test_id("add-character-input").fill(config_id)
        first.get_by_test_id("add-character-submit").click()
        expect(first.locator(f'[data-testid="character"][data-config-id="{config_id}"]')).to_have_count(1)
    second.evaluate(f"localStorage.setItem('pychat:characters', {DEEP_JS})")
    expect(first.locator("#notice .notice-line", has_text=DAMAGED)).to_have_count(1)
    assert "CHAR_kept_one" in (stored(first, "pychat:characters") or "")
    second.reload()
    second.wait_for_selector(READY)
    expect(second.locator('[data-testid="character"][data-config-id="CHAR_kept_two"]')).to_have_count(1)


# ----- the way out ------------------------------------------------------------------------------------


def seed_all(page: Page) -> None:
    own = {key: "'x'" for key in OWN_KEYS}
    other = {key: repr(value) for key, value in OTHER_KEYS.items()}
    seed(page, {**own, **other})


def remaining_keys(page: Page) -> dict[str, str]:
    return page.evaluate("() => Object.fromEntries(Object.entries(localStorage))")


def reset_and_check(page: Page) -> None:
    reset = page.get_by_test_id("reset-page-data")
    expect(reset).to_be_visible()
    with page.expect_navigation():
        reset.click()
    page.wait_for_selector("html[data-app-state=error]", timeout=60_000)
    assert remaining_keys(page) == OTHER_KEYS


def test_a_page_that_cannot_start_offers_a_reset_of_its_own_data_only(
        page: Page, server: Server, page_errors: list[str]) -> None:
    seed_all(page)
    page.route(re.compile(r".*/app/main\.py$"), lambda route: route.fulfill(
        body="raise RuntimeError('broken on purpose')", content_type="text/x-python"))
    page.goto(server.url)
    page.wait_for_selector("html[data-app-state=error]", timeout=60_000)
    expect(page.locator("#boot-status")).to_contain_text("could not start")
    reset_and_check(page)
    page_errors.clear()  # the broken main.py's, on purpose
    page.unroute(re.compile(r".*/app/main\.py$"))
    page.reload()
    page.wait_for_selector(READY, timeout=60_000)


def test_a_start_that_fails_in_python_offers_the_reset_too(page: Page, server: Server) -> None:
    seed_all(page)

    def broken(route: Route) -> None:
        body = route.fetch().text().replace("settings = load_settings(", "settings = 1 / 0 or load_settings(", 1)
        route.fulfill(body=body, content_type="text/x-python")

    page.route(re.compile(r".*/app/main\.py$"), broken)
    page.goto(server.url)
    page.wait_for_selector("html[data-app-state=error]", timeout=60_000)
    expect(page.locator("#notice")).to_contain_text("The page could not start")
    reset_and_check(page)


def test_a_page_that_starts_shows_no_reset(page: Page, server: Server) -> None:
    open_app(page, server)
    expect(page.get_by_test_id("reset-page-data")).to_be_hidden()


def test_malformed_entries_in_an_old_conversation_do_not_stop_the_upgrade_and_are_reported(
        page: Page, server: Server) -> None:
    old = '[{"role": "user", "text": "kept one"}, {"a": 1}, "junk", {"role": "assistant", "text": "kept two"}]'
    seed(page, {f"pychat:transcript:{LUNA}": repr(old), "pychat:transcripts": DEEP_JS, "pychat:open": repr(LUNA)})
    open_app(page, server)
    expect(messages(page)).to_have_text(["kept one", "kept two"])
    expect(page.locator("#notice .notice-line", has_text=DAMAGED)).to_have_count(1)
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('pychat:transcript'))") == []
    page.reload()
    page.wait_for_selector(READY)
    expect(messages(page)).to_have_text(["kept one", "kept two"])
    expect(page.locator("#notice .notice-line", has_text=DAMAGED)).to_have_count(0)  # repaired: said once
