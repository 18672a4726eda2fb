"""Characters with a face: avatars, descriptions, names before config IDs, greetings, unread marks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Route, expect

from app.cards import HUES, hue_of
from tests.unit.test_cards import contrast

from .conftest import READY, Server, open_app
from .helpers import (
    ATLAS,
    ECHO,
    LUNA,
    confirm_if_asked,
    greetings,
    messages,
    open_character,
    send_and_wait,
    stored,
    wait_until_stored,
)

DEMO = {LUNA: "Luna", ATLAS: "Atlas", ECHO: "Echo"}
LUNA_GREETING = "Good evening. The sky is clear tonight: what shall we look for?"


def character(page: Page, config_id: str) -> Locator:
    return page.locator(f'[data-testid="character"][data-config-id="{config_id}"]')


def add(page: Page, config_id: str, name: str = "") -> None:
    page.get_by_test_id("add-character-input").fill(config_id)
    page.get_by_test_id("add-character-name").fill(name)
    page.get_by_test_id("add-character-submit").click()
    expect(character(page, config_id.strip())).to_have_attribute("aria-current", "true")


def rgb_hex(css_colour: str) -> str:
    """``rgb(r, g, b)`` as computed by the browser, as ``#rrggbb``."""
    r, g, b = (int(c) for c in re.findall(r"\d+", css_colour)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


# ----- avatars ------------------------------------------------------------------------------------


def test_each_demo_character_shows_its_own_avatar_image_loaded_from_the_site(page: Page, server: Server) -> None:
    open_app(page, server)
    for config_id, name in DEMO.items():
        face = character(page, config_id).get_by_test_id("avatar")
        expect(face).to_have_attribute("alt", name)
        assert face.evaluate("n => n.tagName") == "IMG"
        assert face.get_attribute("src") == f"static/avatars/{name.lower()}.svg"
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=face.element_handle())


def test_a_character_without_an_avatar_shows_its_initials_on_a_colour_of_its_config_id(
    page: Page, server: Server
) -> None:
    open_app(page, server)
    add(page, "CHAR_quiet", "Quiet Quill")
    face = character(page, "CHAR_quiet").get_by_test_id("avatar")
    expect(face).to_have_text("QQ")
    expect(face).to_have_class(f"avatar avatar-hue-{hue_of('CHAR_quiet')}")
    assert face.get_attribute("style") is None  # the policy blocks style attributes: a class gives the colour
    assert face.evaluate("n => getComputedStyle(n).backgroundColor") != "rgba(0, 0, 0, 0)"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_initials_keep_aa_contrast_on_every_colour_in_both_themes(
    new_context: Callable[..., BrowserContext], server: Server, scheme: str
) -> None:
    ids: dict[int, str] = {}
    for n in range(500):
        ids.setdefault(hue_of(f"CHAR_{n}"), f"CHAR_{n}")
    assert len(ids) == HUES
    page = new_context(color_scheme=scheme).new_page()
    page.goto(server.url)
    page.evaluate("list => localStorage.setItem('pychat:characters', JSON.stringify(list))",
                  [{"config_id": c, "name": f"Name {c}"} for c in ids.values()])
    open_app(page, server)
    faces = page.locator('[data-testid="character"] span[data-testid="avatar"]')
    expect(faces).to_have_count(HUES)
    colours = faces.evaluate_all("ns => ns.map(n => [getComputedStyle(n).color, getComputedStyle(n).backgroundColor])")
    ratios = [contrast(rgb_hex(text), rgb_hex(background)) for text, background in colours]
    assert len({background for _, background in colours}) == HUES
    assert min(ratios) >= 4.5, ratios


def test_an_avatar_image_that_fails_to_load_gives_way_to_the_initials(page: Page, server: Server) -> None:
    page.route(re.compile(r".*/static/avatars/atlas\.svg$"), lambda route: route.fulfill(status=404, body=""))
    open_app(page, server)
    face = character(page, ATLAS).get_by_test_id("avatar")
    expect(face).to_have_text("AT")
    assert face.evaluate("n => n.tagName") == "SPAN"


def test_bad_card_fields_in_the_config_are_refused_with_a_warning_and_the_rest_kept(
    page: Page, server: Server
) -> None:
    def bad_avatar(route: Route) -> None:
        text = route.fetch().text().replace('avatar = "static/avatars/luna.svg"',
                                            'avatar = "https://evil.example/luna.svg"')
        route.fulfill(body=text, content_type="application/toml")

    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.route(re.compile(r".*/pyscript\.toml$"), bad_avatar)
    open_app(page, server)
    expect(page.locator("#notice")).to_contain_text(
        "pyscript.toml: character 'CHAR_luna': ignored its avatar (an avatar must be a path on this site")
    expect(character(page, LUNA).get_by_test_id("avatar")).to_have_text("LU")
    expect(page.get_by_test_id("character-description")).to_have_text(
        "A gentle stargazer who answers by the light of the stars.")
    assert not [url for url in requested if "evil.example" in url]


# ----- names, descriptions and config IDs ------------------------------------------------------------


def test_the_list_shows_names_and_the_header_the_open_characters_description_and_config_id(
    page: Page, server: Server
) -> None:
    open_app(page, server)
    for config_id, name in DEMO.items():
        expect(character(page, config_id)).to_have_text(name)  # no config ID in the list's text...
        expect(character(page, config_id)).to_have_attribute("title", f"Config ID: {config_id}")  # ...a tooltip
    header = page.locator(".chat-header")
    expect(page.locator("#chat-title")).to_have_text("Luna")
    expect(page.get_by_test_id("character-description")).to_have_text(
        "A gentle stargazer who answers by the light of the stars.")
    expect(page.get_by_test_id("config-id")).to_have_text(LUNA)
    expect(header.get_by_test_id("avatar")).to_have_attribute("src", "static/avatars/luna.svg")
    expect(page.get_by_test_id("session-id")).to_have_text(stored(page, f"session_{LUNA}") or "missing")
    open_character(page, ATLAS)
    expect(page.get_by_test_id("character-description")).to_have_text(
        "A terse cartographer. Short answers, exact directions.")
    expect(page.get_by_test_id("config-id")).to_have_text(ATLAS)


def test_a_character_added_without_a_description_shows_none(page: Page, server: Server) -> None:
    open_app(page, server)
    add(page, "CHAR_plain")
    expect(page.get_by_test_id("character-description")).to_be_hidden()
    expect(page.get_by_test_id("config-id")).to_have_text("CHAR_plain")


def test_the_add_form_takes_a_display_name_kept_across_reloads(page: Page, server: Server) -> None:
    open_app(page, server)
    add(page, " CHAR_quiet_quill ", "  Quiet   Quill ")
    expect(character(page, "CHAR_quiet_quill")).to_have_text("QQQuiet Quill")  # initials, then the name
    expect(page.locator("#chat-title")).to_have_text("Quiet Quill")
    expect(page.get_by_test_id("add-character-name")).to_have_value("")
    assert json.loads(stored(page, "pychat:characters") or "[]") == [
        {"config_id": "CHAR_quiet_quill", "name": "Quiet Quill"}]
    page.reload()
    page.wait_for_selector(READY)
    expect(character(page, "CHAR_quiet_quill").locator(".character-name")).to_have_text("Quiet Quill")


# ----- greetings --------------------------------------------------------------------------------------


def test_the_greeting_opens_the_conversation_and_is_never_sent(page: Page, server: Server) -> None:
    open_app(page, server)
    expect(greetings(page)).to_have_text([LUNA_GREETING])
    expect(greetings(page)).to_have_attribute("data-role", "assistant")
    expect(page.locator('[data-testid="message"]').first).to_have_attribute("data-greeting", "true")
    reply = send_and_wait(page, "Hello")
    assert reply.startswith("Luna (message 1 in this session)")  # the service saw one message: yours
    bodies = [r["body"] for r in server.requests("/api/chat")]
    assert bodies == [{"session_id": stored(page, f"session_{LUNA}"), "config_id": LUNA, "input": "Hello"}]
    assert LUNA_GREETING not in json.dumps(server.requests())
    assert LUNA_GREETING not in json.dumps(wait_until_stored(page, LUNA, 2))
    page.reload()
    page.wait_for_selector(READY)
    expect(greetings(page)).to_have_count(1)
    expect(page.locator('[data-testid="message"]')).to_have_text([LUNA_GREETING, "Hello", reply])


def test_every_new_conversation_starts_with_the_greeting(page: Page, server: Server) -> None:
    open_app(page, server)
    send_and_wait(page, "Hello")
    page.get_by_test_id("new-conversation").click()
    confirm_if_asked(page)
    expect(messages(page)).to_have_count(0)
    expect(greetings(page)).to_have_text([LUNA_GREETING])
    page.get_by_test_id("new-conversation").click()  # only the greeting: nothing to lose, no question
    expect(page.get_by_test_id("confirm-button")).to_be_hidden()


def test_a_character_without_a_greeting_opens_with_an_invitation(page: Page, server: Server) -> None:
    open_app(page, server, f"?character={ECHO}")
    expect(greetings(page)).to_have_count(0)
    expect(page.locator("#empty-conversation")).to_have_text("Say hello to \u2068Echo\u2069.")


# ----- unread marks -----------------------------------------------------------------------------------


def test_a_reply_landing_while_another_character_is_open_is_marked_until_opened(
    page: Page, server: Server
) -> None:
    open_app(page, server)
    server.hold("chat")  # the reply lands only once Atlas is open, however slow the machine
    page.get_by_test_id("message-input").fill("for Luna")
    page.get_by_test_id("message-input").press("Enter")
    open_character(page, ATLAS)
    luna = character(page, LUNA)
    expect(luna).not_to_have_attribute("data-unread", "true")
    server.release()
    expect(luna).to_have_attribute("data-unread", "true", timeout=10_000)
    expect(luna.get_by_test_id("unread-dot")).to_be_visible()
    expect(luna).to_have_accessible_name(re.compile(r"^Luna \(new reply\)$"))
    expect(character(page, ATLAS)).not_to_have_attribute("data-unread", "true")
    open_character(page, LUNA)
    expect(luna).not_to_have_attribute("data-unread", "true")
    expect(luna.get_by_test_id("unread-dot")).to_have_count(0)
    expect(messages(page, "assistant")).to_have_count(1)
