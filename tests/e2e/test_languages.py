"""The page in English, German, Spanish and Arabic: chosen, remembered, mirrored, formatted, accessible.

A screenshot of each language goes to test-results/languages/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.i18n import LANGUAGE_KEY, LANGUAGES

from .conftest import ROOT, Server, open_app
from .helpers import messages, open_menu, send, send_and_wait, stored
from .test_experience import axe_violations
from .test_snapshot import first_visit_saves_a_snapshot, snapshot_page

SHOTS = ROOT / "test-results" / "languages"
# Per language: Send (index.html, translated before Python), the copy button (made by Python),
# the boot message of a page that cannot start (static/boot.js).
WORDS = {
    "en": ("Send", "Copy", "The page could not start"),
    "de": ("Senden", "Kopieren", "Die Seite konnte nicht starten"),
    "es": ("Enviar", "Copiar", "La página no pudo iniciarse"),
    "ar": ("إرسال", "نسخ", "تعذّر بدء الصفحة"),
}


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not shown"
    return found


def html(page: Page) -> Any:
    return page.locator("html")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_shows_its_words_names_itself_and_stays_accessible(
    new_context: Callable[..., BrowserContext], server: Server, lang: str
) -> None:
    page = new_context(bypass_csp=True, viewport={"width": 1100, "height": 720}).new_page()
    open_app(page, server, f"?lang={lang}")
    send_word, copy_word, _boot = WORDS[lang]
    expect(html(page)).to_have_attribute("lang", lang)
    expect(html(page)).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    expect(page.get_by_test_id("send-button")).to_have_text(send_word)
    expect(page.get_by_test_id("language-select")).to_have_value(lang)
    send_and_wait(page, "Hello Luna")
    expect(page.get_by_test_id("copy-button").last).to_have_text(copy_word)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{lang}.png"))
    assert axe_violations(page) == []
    open_menu(page)
    page.get_by_test_id("shortcuts-button").click()
    expect(page.get_by_test_id("shortcuts-dialog")).to_be_visible()
    assert axe_violations(page) == []


def test_english_reads_as_it_always_did(page: Page, server: Server) -> None:
    open_app(page, server)
    expect(html(page)).to_have_attribute("lang", "en")
    expect(html(page)).to_have_attribute("dir", "ltr")
    expect(page.get_by_test_id("message-input")).to_have_attribute("placeholder", "Write a message…")
    expect(page.get_by_test_id("new-conversation")).to_have_text("New conversation")
    expect(page.locator("#session-none")).to_have_text("none yet")


def test_arabic_mirrors_the_bubbles_the_composer_and_the_character_list(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = new_context(viewport={"width": 1100, "height": 720}).new_page()
    open_app(page, server, "?lang=ar")
    send_and_wait(page, "مرحبا")
    mine, reply = box(page, ".message.user .bubble"), box(page, ".message.assistant .bubble")
    chat, sidebar = box(page, "main.chat"), box(page, "aside.sidebar")
    assert sidebar["x"] > chat["x"]  # the character list on the right
    assert mine["x"] < reply["x"]  # your messages on the left, the character's on the right
    assert reply["x"] + reply["width"] > chat["x"] + chat["width"] - 80
    send_button, field = box(page, "[data-testid=send-button]"), box(page, "[data-testid=message-input]")
    assert send_button["x"] + send_button["width"] <= field["x"] + 1  # Send on the left of the input
    avatar, name = box(page, "[aria-current=true] .avatar, [aria-current=true] img"), box(
        page, "[aria-current=true] .character-name")
    assert avatar["x"] > name["x"]  # the face before the name, reading from the right


def test_in_arabic_an_english_reply_reads_left_to_right_and_its_code_always_does(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = new_context(viewport={"width": 1100, "height": 720}).new_page()
    open_app(page, server, "?lang=ar")
    send_and_wait(page, "markdown")  # the demo characters answer in English, with a list and code
    reply = page.locator(".message.assistant .bubble.markdown").last
    expect(reply.locator("pre")).to_have_count(1)
    direction = "(node) => getComputedStyle(node).direction"
    assert reply.evaluate(direction) == "ltr"  # its list numbers on the left, as English reads
    assert reply.locator("pre").evaluate(direction) == "ltr"
    mine = page.locator(".message.user .bubble").last
    assert mine.evaluate(direction) == "ltr"  # "markdown", typed in Latin letters
    assert page.evaluate("document.documentElement.dir") == "rtl"  # the page stays mirrored
    corner = "(node) => [getComputedStyle(node).borderBottomLeftRadius, getComputedStyle(node).borderBottomRightRadius]"
    assert mine.evaluate(corner)[0] == "4px"  # the pointed corner towards your side (the left), whatever its text


def test_the_language_follows_the_browser_s_preferences(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = new_context(locale="es-MX").new_page()
    open_app(page, server)
    expect(html(page)).to_have_attribute("lang", "es")
    expect(page.get_by_test_id("send-button")).to_have_text("Enviar")


def test_the_menu_s_choice_is_remembered_and_a_link_s_lang_is_only_for_that_visit(
    page: Page, server: Server
) -> None:
    open_app(page, server)
    page.get_by_test_id("language-select").select_option("de")
    page.wait_for_selector("html[lang=de][data-app-state=ready]", timeout=60_000)
    assert stored(page, LANGUAGE_KEY) == "de"
    expect(page.get_by_test_id("send-button")).to_have_text("Senden")
    assert "lang=" not in page.url
    open_app(page, server, "?lang=ar")
    expect(html(page)).to_have_attribute("lang", "ar")
    assert stored(page, LANGUAGE_KEY) == "de"
    open_app(page, server)
    expect(html(page)).to_have_attribute("lang", "de")


@pytest.mark.parametrize("junk", ["xx", "de-<script>", "../../ar", ""])
def test_an_unknown_lang_in_the_link_or_in_storage_is_ignored(page: Page, server: Server, junk: str) -> None:
    open_app(page, server)
    page.evaluate("([key, value]) => localStorage.setItem(key, value)", [LANGUAGE_KEY, "<img src=x>"])
    open_app(page, server, f"?lang={junk}")
    expect(html(page)).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("send-button")).to_have_text("Send")


@pytest.mark.parametrize(("lang", "counter"), [("de", "3.600 / 4.000"), ("es", "3600 / 4000"), ("en", "3,600 / 4,000")])
def test_numbers_are_written_as_the_language_writes_them(page: Page, server: Server, lang: str, counter: str) -> None:
    open_app(page, server, f"?lang={lang}")
    page.get_by_test_id("message-input").fill("x" * 3600)
    expect(page.get_by_test_id("char-counter")).to_have_text(counter)


LATIN_DIGIT = re.compile(r"[0-9]")
ARABIC_INDIC_DIGIT = re.compile(r"[\u0660-\u0669]")


def test_arabic_counts_are_written_in_arabic_indic_digits(page: Page, server: Server) -> None:
    open_app(page, server, "?lang=ar")
    page.get_by_test_id("message-input").fill("x" * 3600)
    counter = page.get_by_test_id("char-counter")
    expect(counter).to_have_text("\u0663\u066c\u0666\u0660\u0660 / \u0664\u066c\u0660\u0660\u0660")  # 3,600 / 4,000
    expect(counter).to_have_text(
        page.evaluate("[3600, 4000].map(n => new Intl.NumberFormat('ar-u-nu-arab').format(n)).join(' / ')"))


def test_arabic_dates_and_counts_in_the_history_have_no_latin_digit(page: Page, server: Server) -> None:
    open_app(page, server, "?lang=ar")
    send_and_wait(page, "first")
    page.get_by_test_id("new-conversation").click()
    page.get_by_test_id("confirm-button").click()
    open_menu(page)
    page.get_by_test_id("history-button").click()
    meta = page.locator(".history-meta").first
    expect(meta).to_contain_text("\u0631\u0633\u0627\u0644\u062a\u0627\u0646")  # "two messages"
    text = meta.inner_text()
    assert ARABIC_INDIC_DIGIT.search(text) and not LATIN_DIGIT.search(text), text
    button = page.get_by_test_id("history-button").text_content() or ""
    assert ARABIC_INDIC_DIGIT.search(button) and not LATIN_DIGIT.search(button), button


def test_dates_are_written_as_the_language_writes_them(page: Page, server: Server) -> None:
    open_app(page, server, "?lang=de")
    send_and_wait(page, "erste")
    page.get_by_test_id("new-conversation").click()
    page.get_by_test_id("confirm-button").click()
    open_menu(page)
    page.get_by_test_id("history-button").click()
    meta = page.locator(".history-meta").first
    expect(meta).to_have_text(re.compile(r"^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2} · 2 Nachrichten$"))


def test_an_error_with_a_status_keeps_its_meaning_in_arabic_in_arabic_indic_digits(page: Page, server: Server) -> None:
    open_app(page, server, "?lang=ar")
    server.fault("chat", "status", status=403, body={"error": "Forbidden by policy"})
    send(page, "مرحبا")
    expect(messages(page, "error")).to_have_text(["فشل الطلب (\u0664\u0660\u0663): Forbidden by policy"])  # (403)


def test_a_refused_api_link_is_warned_about_in_the_language(page: Page, server: Server) -> None:
    open_app(page, server, "?lang=de&api=https://chat.example.invalid")
    expect(page.locator("#notice")).to_contain_text(
        "?api=https://chat.example.invalid ignoriert: Erlaubt sind nur diese Website, localhost, 127.0.0.1")


def test_the_markdown_export_is_written_in_the_language(page: Page, server: Server, tmp_path: Path) -> None:
    open_app(page, server, "?lang=de")
    send_and_wait(page, "Hallo")
    open_menu(page)
    with page.expect_download() as info:
        page.get_by_test_id("export-markdown").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    text = path.read_text(encoding="utf-8")
    assert path.name.startswith("chat-CHAR_luna-") and path.suffix == ".md"
    date = r"\d{2}\\\.\d{2}\\\.\d{4}, \d{2}:\d{2}"  # 24.11.2026, 12:00 (its dots escaped, as all Markdown)
    assert re.match(rf"# Gespräch mit Luna\n\nFigur `CHAR_luna`, exportiert am {date}\\\.\n", text), text[:200]
    assert "**Sie**\n\n> Hallo\n" in text and "**Luna** *(Begrüßung)*" in text


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_a_page_that_cannot_start_says_so_in_its_language_before_python_could(
    page: Page, server: Server, lang: str
) -> None:
    page.route(re.compile(r".*/app/main\.py$"), lambda route: route.fulfill(status=404, body="gone"))
    page.goto(f"{server.url}?lang={lang}")
    page.wait_for_selector("html[data-app-state=error]", state="attached", timeout=60_000)
    expect(page.locator("#boot-status")).to_contain_text(WORDS[lang][2])
    expect(page.get_by_test_id("reset-page-data")).to_have_text(
        {"de": "Gespeicherte Daten dieser Seite zurücksetzen", "ar": "إعادة تعيين البيانات المحفوظة لهذه الصفحة"}[lang])


def test_a_returning_visitor_who_changes_language_still_starts_from_the_snapshot(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = snapshot_page(new_context)
    first_visit_saves_a_snapshot(page, server)
    reply = send_and_wait(page, "before the snapshot")
    open_app(page, server, "?lang=ar")
    expect(html(page)).to_have_attribute("data-snapshot", "restored")
    expect(html(page)).to_have_attribute("dir", "rtl")
    expect(page.get_by_test_id("copy-button").last).to_have_text("نسخ")
    expect(messages(page, "assistant")).to_have_text([reply])
