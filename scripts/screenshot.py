"""Take the README's screenshots of the running page (headless Chromium, demo proxy).

    python3 scripts/screenshot.py            # writes docs/screenshot*.png (not the streaming one), phones at 360×740
    python3 scripts/screenshot.py arabic     # only the Arabic (right-to-left) ones
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from serving.browsers import CHROMIUM_ARGS, find_chromium  # noqa: E402
from tests.e2e.conftest import serve  # noqa: E402
from tests.e2e.helpers import confirm_if_asked, send_and_wait  # noqa: E402

SHOTS = [
    ("screenshot.png", {"width": 1280, "height": 800}, "light"),
    ("screenshot-dark.png", {"width": 1280, "height": 800}, "dark"),
    ("screenshot-phone.png", {"width": 360, "height": 740}, "light"),
    ("screenshot-phone-dark.png", {"width": 360, "height": 740}, "dark"),
]


def main(argv: list[str]) -> int:
    with serve() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(playwright), args=CHROMIUM_ARGS)
        arabic(browser, server.url)
        if argv == ["arabic"]:
            browser.close()
            return 0
        for name, viewport, scheme in SHOTS:
            page = browser.new_page(viewport=viewport, color_scheme=scheme)  # type: ignore[arg-type]
            page.goto(server.url)
            page.wait_for_selector("html[data-app-state=ready]", timeout=60_000)
            send_and_wait(page, "Hi Luna! What can you see tonight?")
            send_and_wait(page, "Tell me about <b>Orion</b>.")
            page.get_by_test_id("message-input").fill("And tomorrow?")
            page.screenshot(path=str(ROOT / "docs" / name))
            print(f"wrote docs/{name}")
            if name == "screenshot-phone.png":  # and with its menu open
                page.get_by_test_id("menu-button").click()
                page.screenshot(path=str(ROOT / "docs" / "screenshot-phone-menu.png"))
                print("wrote docs/screenshot-phone-menu.png")
            page.close()
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(server.url)
        page.wait_for_selector("html[data-app-state=ready]", timeout=60_000)
        send_and_wait(page, "Can you write Markdown?")
        page.wait_for_selector(".message.assistant .bubble.markdown table")
        page.screenshot(path=str(ROOT / "docs" / "screenshot-markdown.png"))
        print("wrote docs/screenshot-markdown.png")
        history_and_search(browser, server.url)
        browser.close()
    return 0


def arabic(browser: Browser, url: str) -> None:
    """The page in Arabic, mirrored: desktop, and a phone with its menu open."""
    for name, viewport in (("screenshot-arabic.png", {"width": 1280, "height": 800}),
                           ("screenshot-phone-arabic.png", {"width": 360, "height": 740})):
        page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
        page.goto(f"{url}?lang=ar")
        page.wait_for_selector("html[data-app-state=ready]", timeout=60_000)
        send_and_wait(page, "مساء الخير يا لونا! ماذا ترين الليلة؟")
        send_and_wait(page, "Tell me about Orion.")
        page.get_by_test_id("message-input").fill("وغدًا؟")
        page.screenshot(path=str(ROOT / "docs" / name))
        print(f"wrote docs/{name}")
        page.close()


def history_and_search(browser: Browser, url: str) -> None:
    """Luna with two earlier conversations: the history list, then a search across characters."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(url)
    page.wait_for_selector("html[data-app-state=ready]", timeout=60_000)
    for question in ("What can you see tonight?", "Tell me about Orion, the hunter of the winter sky"):
        send_and_wait(page, question)
        page.get_by_test_id("new-conversation").click()
        confirm_if_asked(page)
    send_and_wait(page, "Which stars make the Summer Triangle?")
    page.get_by_test_id("history-button").click()
    page.screenshot(path=str(ROOT / "docs" / "screenshot-history.png"))
    print("wrote docs/screenshot-history.png")
    page.keyboard.press("Escape")
    page.locator('[data-testid="character"][data-config-id="CHAR_atlas"]').click()
    send_and_wait(page, "How far is it to the stars of Orion?")
    page.get_by_test_id("search-button").click()
    page.get_by_test_id("search-input").fill("orion")
    page.get_by_test_id("search-result").nth(2).wait_for()
    page.screenshot(path=str(ROOT / "docs" / "screenshot-search.png"))
    print("wrote docs/screenshot-search.png")
    page.close()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
