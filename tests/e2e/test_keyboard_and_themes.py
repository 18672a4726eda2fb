"""The keyboard shortcuts and their help, Escape, focus after switching, and the theme control."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .conftest import READY, Server, open_app
from .helpers import ATLAS, ECHO, LUNA, messages, open_menu, send, send_and_wait, stored
from .test_experience import axe_violations
from .test_phone import PHONE

STOPPED = "Stopped: you cancelled this reply. Retry sends it again."


def current(page: Page) -> str | None:
    return page.locator('[data-testid="character"][aria-current="true"]').get_attribute("data-config-id")


def focus_nothing(page: Page) -> None:
    page.evaluate("document.activeElement.blur()")


def test_question_mark_outside_a_field_opens_the_shortcuts_help(page: Page, server: Server) -> None:
    open_app(page, server)
    page.keyboard.type("?")  # in the input: it is typed, not a shortcut
    expect(page.get_by_test_id("message-input")).to_have_value("?")
    expect(page.get_by_test_id("shortcuts-dialog")).to_be_hidden()
    focus_nothing(page)
    page.keyboard.press("?")
    dialog = page.get_by_test_id("shortcuts-dialog")
    expect(dialog).to_be_visible()
    for keys in ("AltShiftN", "/", "Alt\u2193", "Alt\u2191", "?", "Esc"):
        expect(dialog.locator("dt", has_text=keys).first).to_be_visible()
    expect(dialog).to_contain_text("Start a new conversation")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("message-input")).to_be_focused()


def test_the_menu_opens_the_shortcuts_help(new_context: Callable[..., BrowserContext], server: Server) -> None:
    page = open_app(new_context(viewport={"width": 360, "height": 740}).new_page(), server)
    open_menu(page)
    page.get_by_test_id("shortcuts-button").click()
    expect(page.get_by_test_id("shortcuts-dialog")).to_be_visible()
    expect(page.locator("#menu")).to_be_hidden()


def test_alt_shift_n_starts_a_new_conversation_asking_first(page: Page, server: Server) -> None:
    open_app(page, server)
    send_and_wait(page, "remember me")
    page.keyboard.press("Alt+Shift+N")
    expect(page.get_by_test_id("confirm-button")).to_be_visible()
    page.get_by_test_id("confirm-button").click()
    expect(messages(page)).to_have_count(0)
    expect(page.get_by_test_id("message-input")).to_be_focused()
    assert stored(page, f"session_{LUNA}") is None


def test_alt_arrows_open_the_next_and_previous_character_and_focus_the_input(page: Page, server: Server) -> None:
    open_app(page, server)
    box = page.get_by_test_id("message-input")
    box.fill("draft")
    page.keyboard.press("Alt+ArrowDown")
    expect(page.locator(f'[data-config-id="{ATLAS}"]')).to_have_attribute("aria-current", "true")
    expect(box).to_be_focused()
    page.keyboard.press("Alt+ArrowUp")
    expect(page.locator(f'[data-config-id="{LUNA}"]')).to_have_attribute("aria-current", "true")
    page.keyboard.press("Alt+ArrowUp")  # from the first, round to the last
    expect(page.locator(f'[data-config-id="{ECHO}"]')).to_have_attribute("aria-current", "true")
    expect(box).to_be_focused()


def test_clicking_a_character_puts_the_cursor_in_the_input(page: Page, server: Server) -> None:
    open_app(page, server)
    page.locator(f'[data-config-id="{ECHO}"]').click()
    expect(page.locator(f'[data-config-id="{ECHO}"]')).to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("message-input")).to_be_focused()


@pytest.mark.parametrize("width", [1280, 360], ids=["desktop", "phone"])
def test_slash_focuses_the_search_field(new_context: Callable[..., BrowserContext], server: Server, width: int) -> None:
    page = open_app(new_context(viewport={"width": width, "height": 740}).new_page(), server)
    focus_nothing(page)
    page.keyboard.press("/")
    expect(page.get_by_test_id("search-input")).to_be_focused()
    expect(page.get_by_test_id("search-input")).to_have_value("")  # the "/" was not typed


def test_escape_stops_a_pending_reply(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "delay", delay_ms=5000)
    send(page, "never mind")
    expect(page.get_by_test_id("send-button")).to_be_disabled()
    page.keyboard.press("Escape")
    expect(messages(page, "error")).to_have_text([STOPPED])
    expect(page.get_by_test_id("message-input")).to_have_value("never mind")


def test_escape_closes_a_dialog_or_the_menu_before_it_stops_the_reply(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = open_app(new_context(viewport={"width": 360, "height": 740}).new_page(), server)
    send_and_wait(page, "first")
    server.fault("chat", "delay", delay_ms=2500)
    send(page, "second")
    page.get_by_test_id("new-conversation").click()
    expect(page.get_by_test_id("confirm-button")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#confirm-dialog")).to_be_hidden()
    open_menu(page)
    page.keyboard.press("Escape")
    expect(page.locator("#menu")).to_be_hidden()
    expect(messages(page, "assistant")).to_have_count(2)  # the reply came: neither Escape stopped it
    expect(messages(page, "error")).to_have_count(0)


def background(page: Page) -> str:
    return str(page.evaluate("getComputedStyle(document.documentElement).backgroundColor"))


LIGHT_BG, DARK_BG = "rgb(246, 247, 251)", "rgb(18, 20, 27)"


def test_the_theme_control_is_remembered_and_applied_before_python_starts(page: Page, server: Server) -> None:
    page.emulate_media(color_scheme="light")
    open_app(page, server)
    select = page.get_by_test_id("theme-select")
    expect(select).to_have_value("system")
    assert background(page) == LIGHT_BG
    select.select_option("dark")
    assert background(page) == DARK_BG and stored(page, "pychat:theme") == "dark"
    # What the page looks like when it is first parsed, long before Python runs.
    page.add_init_script("""document.addEventListener('DOMContentLoaded', () => {
        const root = document.documentElement;
        window.__first = [root.dataset.appState, getComputedStyle(root).backgroundColor];
    });""")
    page.reload()
    page.wait_for_selector(READY)
    assert page.evaluate("window.__first") == ["loading", DARK_BG]
    expect(select).to_have_value("dark")
    select.select_option("system")
    assert background(page) == LIGHT_BG and stored(page, "pychat:theme") is None
    page.emulate_media(color_scheme="dark")
    assert background(page) == DARK_BG  # system: follows the system again


def test_light_overrides_a_dark_system(page: Page, server: Server) -> None:
    page.emulate_media(color_scheme="dark")
    open_app(page, server)
    assert background(page) == DARK_BG
    page.get_by_test_id("theme-select").select_option("light")
    assert background(page) == LIGHT_BG


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_no_serious_accessibility_violations_with_the_menu_and_the_help_open(
    new_context: Callable[..., BrowserContext], server: Server, theme: str
) -> None:
    page = new_context(bypass_csp=True, **PHONE).new_page()
    page.emulate_media(color_scheme="light" if theme == "dark" else "dark")  # the choice wins over the system
    page.add_init_script(f"localStorage.setItem('pychat:theme', '{theme}')")
    open_app(page, server)
    send_and_wait(page, "Hello")
    assert axe_violations(page) == []
    open_menu(page)
    assert axe_violations(page) == []
    page.get_by_test_id("shortcuts-button").tap()
    expect(page.get_by_test_id("shortcuts-dialog")).to_be_visible()
    assert axe_violations(page) == []
