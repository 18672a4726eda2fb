"""On a phone (360×740, touch): the conversation owns the screen, the rest is in the menu, the strip stays readable."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .conftest import Server, open_app
from .helpers import ECHO, messages, open_menu, send_and_wait

PHONE = {"viewport": {"width": 360, "height": 740}, "has_touch": True, "is_mobile": True}

# How many lines each word of an element's text lies on (1 for each: no word is broken; a line may
# end after a hyphen, as in print).
WORD_LINES = """node => {
    const text = node.firstChild, lines = [];
    for (const m of text.data.matchAll(/[^\\s-]+/g)) {
        const range = document.createRange();
        range.setStart(text, m.index);
        range.setEnd(text, m.index + m[0].length);
        lines.push(new Set([...range.getClientRects()].map(r => Math.round(r.top))).size);
    }
    return lines;
}"""


@pytest.fixture
def phone(new_context: Callable[..., BrowserContext]) -> Page:
    return new_context(**PHONE).new_page()


def add_character(page: Page, config_id: str, name: str = "") -> None:
    open_menu(page)
    page.get_by_test_id("add-character-input").fill(config_id)
    page.get_by_test_id("add-character-name").fill(name)
    page.get_by_test_id("add-character-submit").click()
    expect(page.locator(f'[data-testid="character"][data-config-id="{config_id}"]')).to_have_attribute(
        "aria-current", "true")


def test_while_chatting_the_bars_take_at_most_15_percent_of_the_screen(phone: Page, server: Server) -> None:
    page = open_app(phone, server)
    send_and_wait(page, "Hello Luna")
    send_and_wait(page, "Tell me more")
    top = page.get_by_test_id("message-list").evaluate("m => m.getBoundingClientRect().top")
    assert top <= 0.15 * 740, top  # everything above the conversation: the characters and the header
    for testid in ("add-character-input", "export-markdown", "export-json", "clear-all-sessions", "theme-select"):
        expect(page.get_by_test_id(testid)).to_be_hidden()  # in the menu, clear all included
    expect(page.get_by_test_id("new-conversation")).to_be_in_viewport()


def test_the_menu_holds_the_secondary_actions_and_closes_after_one(phone: Page, server: Server) -> None:
    page = open_app(phone, server)
    send_and_wait(page, "Hello Luna")
    menu_button = page.get_by_test_id("menu-button")
    expect(menu_button).to_have_attribute("aria-expanded", "false")
    open_menu(page)
    expect(menu_button).to_have_attribute("aria-expanded", "true")
    for testid in ("add-character-input", "add-character-name", "add-character-submit", "export-markdown",
                   "export-json", "clear-all-sessions", "theme-select", "shortcuts-button"):
        expect(page.get_by_test_id(testid)).to_be_in_viewport()
    with page.expect_download():
        page.get_by_test_id("export-json").tap()
    expect(page.locator("#menu")).to_be_hidden()
    open_menu(page)
    page.get_by_test_id("clear-all-sessions").tap()
    expect(page.locator("#menu")).to_be_hidden()
    page.get_by_test_id("confirm-button").tap()
    expect(messages(page)).to_have_count(0)


def test_the_menu_closes_on_escape_and_on_a_tap_outside(phone: Page, server: Server) -> None:
    page = open_app(phone, server)
    open_menu(page)
    page.keyboard.press("Escape")
    expect(page.locator("#menu")).to_be_hidden()
    expect(page.get_by_test_id("menu-button")).to_be_focused()
    open_menu(page)
    box = page.get_by_test_id("message-list").bounding_box()
    assert box is not None
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] - 8)  # below the open sheet
    expect(page.locator("#menu")).to_be_hidden()
    page.get_by_test_id("menu-button").tap()
    page.get_by_test_id("menu-button").tap()  # the button toggles it
    expect(page.locator("#menu")).to_be_hidden()


def test_a_failed_add_keeps_the_menu_open_with_the_reason(phone: Page, server: Server) -> None:
    page = open_app(phone, server)
    open_menu(page)
    page.get_by_test_id("add-character-input").fill("   ")
    page.get_by_test_id("add-character-submit").tap()
    expect(page.locator("#add-character-error")).to_be_visible()
    expect(page.locator("#menu")).to_be_visible()


def test_a_newly_added_character_is_scrolled_into_the_strips_view(phone: Page, server: Server) -> None:
    page = open_app(phone, server)
    strip = page.locator("#character-list")
    for n in range(4):
        config_id = f"CHAR_guest_{n}"
        add_character(page, config_id, f"Guest number {n}")
        button = page.locator(f'[data-testid="character"][data-config-id="{config_id}"]').bounding_box()
        box = strip.bounding_box()
        assert button and box, config_id
        assert box["x"] - 1 <= button["x"] and button["x"] + button["width"] <= box["x"] + box["width"] + 1
    assert strip.evaluate("s => s.scrollLeft") > 0  # the strip overflows: it was scrolled to the new one
    page.reload()
    open_app(page, server, "")  # reopened: the last open character is in view again
    last = page.locator('[data-testid="character"][aria-current="true"]').bounding_box()
    assert last and last["x"] + last["width"] <= 360


def test_a_long_name_in_the_strip_wraps_between_words_and_is_never_cut(phone: Page, server: Server) -> None:
    page = open_app(phone, server)
    add_character(page, "CHAR_quillon", "Professor Quillon Featherstonehaugh-Smythe")
    name = page.locator('[data-config-id="CHAR_quillon"] .character-name')
    assert name.evaluate(WORD_LINES) == [1, 1, 1, 1]
    assert name.evaluate("n => n.scrollWidth <= n.clientWidth + 1")  # nothing clipped either
    button = page.locator('[data-testid="character"][data-config-id="CHAR_quillon"]').bounding_box()
    assert button and button["width"] <= 0.6 * 360, button  # wrapped between words, not one line past the screen


def test_a_title_that_is_an_id_never_breaks_inside_it(phone: Page, server: Server) -> None:
    page = open_app(phone, server)
    config_id = "CHAR_the_very_long_config_id_of_featherstonehaugh"
    add_character(page, config_id)  # no name: the config ID is its name
    title = page.locator("#chat-title")
    expect(title).to_have_text(config_id)
    assert title.evaluate(WORD_LINES) == [1]


def test_the_input_grows_with_its_text_up_to_a_limit(phone: Page, server: Server) -> None:
    page = open_app(phone, server, f"?character={ECHO}")
    box = page.get_by_test_id("message-input")
    height = "b => b.getBoundingClientRect().height"
    box.fill("one line")
    one = box.evaluate(height)
    box.fill("line\n" * 4)
    four = box.evaluate(height)
    box.fill("line\n" * 60)
    many = box.evaluate(height)
    assert one < four < many <= 0.35 * 740, (one, four, many)
    assert box.evaluate("b => b.scrollHeight > b.clientHeight")  # the rest scrolls inside it
    top = page.get_by_test_id("message-list").evaluate("m => m.getBoundingClientRect().height")
    assert top > 200  # the conversation keeps most of the screen
