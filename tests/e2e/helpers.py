"""Small page actions shared by the end-to-end tests."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Locator, Page, Route, expect

from serving.runtime import pyodide_stdlib_zip

ROOT = Path(__file__).resolve().parents[2]

LUNA, ATLAS, ECHO = "CHAR_luna", "CHAR_atlas", "CHAR_echo"


def messages(page: Page, role: str | None = None) -> Locator:
    """The conversation's messages (of ``role``), without the character's greeting: what was said."""
    selector = '[data-testid="message"]:not([data-greeting])' + (f'[data-role="{role}"]' if role else "")
    return page.locator(selector)


def greetings(page: Page) -> Locator:
    """The character's greeting at the top of the conversation (Luna and Atlas have one; Echo has none)."""
    return page.locator('[data-testid="message"][data-greeting="true"]')


def foreign_images(page: Page) -> list[str]:
    """The sources of images on the page other than the configured characters' avatars (none should be)."""
    sources = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.getAttribute('src') || '')")
    return [src for src in sources if not src.startswith("static/avatars/")]


def send(page: Page, text: str) -> None:
    """Type ``text`` and press Enter, like a person."""
    page.get_by_test_id("message-input").fill(text)
    page.get_by_test_id("message-input").press("Enter")


def send_and_wait(page: Page, text: str) -> str:
    """Send and wait for the next assistant reply; returns its text."""
    replies = messages(page, "assistant")
    before = replies.count()
    send(page, text)
    expect(replies).to_have_count(before + 1)
    expect(page.get_by_test_id("send-button")).to_be_enabled()
    return replies.nth(before).inner_text()


def stored(page: Page, key: str) -> str | None:
    value = page.evaluate("key => localStorage.getItem(key)", key)
    return value if value is None else str(value)


# The open conversation of a character as the page stored it in IndexedDB (static/archive.mjs), read
# through the page's own archive functions: a read starts after every write the page started before it.
READ_CONVERSATION = """async (configId) => {
  const archive = window.pychatArchive;
  const current = JSON.parse(await archive.catalog())
    .filter((r) => r.config_id === configId && r.ended === null)
    .sort((a, b) => b.started - a.started)[0];
  if (!current) return [];
  const found = JSON.parse(await archive.messages(current.id));
  found.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return found.map((m) => ({role: m.role, text: m.text}));
}"""


def stored_conversation(page: Page, config_id: str) -> list[dict[str, str]]:
    """``config_id``'s current conversation as stored: ``{"role", "text"}`` per message, in order."""
    return list(page.evaluate(READ_CONVERSATION, config_id))


def wait_until_stored(page: Page, config_id: str, count: int, timeout: float = 10.0) -> list[dict[str, str]]:
    """:func:`stored_conversation` once it holds at least ``count`` messages (stored after they are shown)."""
    deadline = time.monotonic() + timeout
    while True:
        found = stored_conversation(page, config_id)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        page.wait_for_timeout(50)


def open_character(page: Page, config_id: str) -> None:
    page.locator(f'[data-testid="character"][data-config-id="{config_id}"]').click()
    expect(page.locator(f'[data-testid="character"][data-config-id="{config_id}"]')).to_have_attribute(
        "aria-current", "true")
    expect(page.get_by_test_id("send-button")).to_be_enabled()


def open_menu(page: Page) -> None:
    """Open the menu (add a character, export, theme, shortcuts, clear all) where it is behind its button (phones).

    On wide screens its entries are always in the sidebar, and this does nothing.
    """
    button = page.get_by_test_id("menu-button")
    if button.is_visible() and button.get_attribute("aria-expanded") != "true":
        button.click()
        expect(page.locator("#menu")).to_be_visible()


def confirm_if_asked(page: Page) -> None:
    confirm = page.get_by_test_id("confirm-button")
    if confirm.is_visible():
        confirm.click()


def serve_main_with(page: Page, python: str) -> None:
    """Serve ``app/main.py`` with ``python`` appended (it runs once the page is ready; ``js`` is imported)."""
    body = (ROOT / "app" / "main.py").read_text(encoding="utf-8") + "\n" + python
    page.route(re.compile(r".*/app/main\.py$"), lambda route: route.fulfill(body=body, content_type="text/x-python"))


def serve_pyodides_own_stdlib(page: Page) -> None:
    """Serve Pyodide's own standard-library zip as the page's (as serve.py does without Node)."""
    body = pyodide_stdlib_zip(ROOT / "runtime").read_bytes()
    page.route(re.compile(r".*/runtime/page-stdlib-[^/]*\.zip$"),
               lambda route: route.fulfill(body=body, content_type="application/zip"))
    # Nor is there a Brotli copy of it then.
    page.route(re.compile(r".*/runtime/page-stdlib-[^/]*\.zip\.br$"), lambda route: route.fulfill(status=404))


def with_timeouts(page: Page, request: float, reply: float | None = None) -> None:
    """Serve the page's ``pyscript.toml`` with ``request_timeout_seconds`` (and ``reply_time_limit_seconds``) set."""
    settings = f"request_timeout_seconds = {request}\n" + (f"reply_time_limit_seconds = {reply}\n" if reply else "")

    def shorten(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace("[chat]\n", f"[chat]\n{settings}", 1))

    page.route(re.compile(r".*/pyscript\.toml$"), shorten)
