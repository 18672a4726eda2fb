"""The page as people use it: accessibility (axe-core), layouts and themes, and chat conveniences."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from demo_proxy import make_reply
from serving.config import configured_characters

from .conftest import READY, ROOT, Server, open_app
from .helpers import ATLAS, ECHO, LUNA, greetings, messages, send, send_and_wait, serve_main_with

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "test-results" / "screenshots"


def axe_violations(page: Page) -> list[dict[str, object]]:
    """Serious and critical axe-core violations on the page as it is now."""
    if page.evaluate("typeof window.axe") == "undefined":
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .map(v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' '))}))"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.fixture
def axe_page(new_context: Callable[..., BrowserContext]) -> Page:
    """axe-core is injected as a script, which the page's CSP (rightly) forbids: bypass it for the audit."""
    assert AXE.exists(), "axe-core is missing: run npm ci (scripts/test.sh does)"
    return new_context(bypass_csp=True).new_page()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations_loaded_mid_conversation_and_with_an_error(
    axe_page: Page, server: Server, scheme: str
) -> None:
    page = axe_page
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    open_app(page, server)
    assert axe_violations(page) == []
    send_and_wait(page, "Hello Luna")
    send_and_wait(page, "How are the stars?")
    assert axe_violations(page) == []
    server.fault("chat", "status", status=500)
    send(page, "this one fails")
    expect(messages(page, "error")).to_have_count(1)
    assert axe_violations(page) == []


def test_replies_are_announced_politely(page: Page, server: Server) -> None:
    open_app(page, server)
    reply = send_and_wait(page, "announce me")
    announcer = page.locator("#announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_have_text(f"\u2068Luna\u2069: {reply}")  # the name is bidi-isolated


def test_every_control_has_an_accessible_name(page: Page, server: Server) -> None:
    open_app(page, server)
    send_and_wait(page, "hi")
    unnamed = page.evaluate("""() => [...document.querySelectorAll('button, input, textarea, select')]
        .filter(el => el.checkVisibility() && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                      && !el.textContent.trim())
        .map(el => el.outerHTML.slice(0, 80))""")
    assert unnamed == []


def test_the_whole_flow_works_from_the_keyboard(page: Page, server: Server) -> None:
    open_app(page, server)
    atlas = page.locator(f'[data-testid="character"][data-config-id="{ATLAS}"]')
    atlas.focus()
    page.keyboard.press("Enter")
    expect(atlas).to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("message-input")).to_be_focused()  # switched: ready to write to Atlas
    expect(page.get_by_test_id("send-button")).to_be_enabled()  # Atlas's session is ready
    page.keyboard.type("typed only")
    page.keyboard.press("Enter")
    expect(messages(page, "assistant")).to_have_count(1)
    page.get_by_test_id("new-conversation").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("cancel-button")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#confirm-dialog")).not_to_have_attribute("open", "")
    expect(messages(page)).to_have_count(2)
    page.get_by_test_id("new-conversation").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("cancel-button")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("confirm-button")).to_be_focused()
    page.keyboard.press("Enter")
    expect(messages(page)).to_have_count(0)


def test_focus_is_visible(page: Page, server: Server) -> None:
    open_app(page, server)
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")


@pytest.mark.parametrize("width,height", [(360, 740), (1280, 800)], ids=["phone", "desktop"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_layout_fits_at_phone_and_desktop_width_in_both_themes(
    new_context: Callable[..., BrowserContext], server: Server, width: int, height: int, scheme: str
) -> None:
    page = new_context(viewport={"width": width, "height": height}, color_scheme=scheme).new_page()
    open_app(page, server, f"?character={ECHO}")
    send_and_wait(page, "A reasonably long first message to see how bubbles wrap at this width. " * 2)
    send_and_wait(page, "x" * 300)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for testid in ("message-input", "send-button", "new-conversation"):
        box = page.get_by_test_id(testid).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
    background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    dark = sum(int(c) for c in background[background.index("(") + 1 : -1].split(",")[:3]) < 200
    assert dark == (scheme == "dark")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{scheme}-{width}.png"))


@pytest.fixture
def clipboard_context(context: BrowserContext, server: Server) -> BrowserContext:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url.rstrip("/"))
    return context


def test_copy_puts_the_message_text_on_the_clipboard(clipboard_context: BrowserContext, server: Server) -> None:
    page = open_app(clipboard_context.new_page(), server, f"?character={ECHO}")
    send_and_wait(page, "copy <b>me</b> exactly")
    copy = page.get_by_test_id("copy-button").last
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "copy <b>me</b> exactly"


def test_stop_cancels_a_slow_reply_and_keeps_the_text(page: Page, server: Server) -> None:
    open_app(page, server)
    aborted: list[str] = []
    page.on("requestfailed", lambda request: aborted.append(request.url))
    server.fault("chat", "delay", delay_ms=5000)
    send(page, "never mind")
    stop = page.get_by_test_id("stop-button")
    expect(stop).to_be_visible()
    stop.click()
    expect(messages(page, "error")).to_have_text(["Stopped: you cancelled this reply. Retry sends it again."])
    expect(page.get_by_test_id("message-input")).to_have_value("never mind")
    expect(stop).to_be_hidden()
    expect(page.get_by_test_id("send-button")).to_be_enabled()
    assert [u for u in aborted if u.endswith("/api/chat")], "the browser request was not aborted"


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_export_downloads_the_conversation(page: Page, server: Server, fmt: str, tmp_path: Path) -> None:
    open_app(page, server)
    send_and_wait(page, "export *this*")
    reply = make_reply(LUNA, "export *this*", 1)  # as the proxy sent it, its Markdown as written
    with page.expect_download() as info:
        page.get_by_test_id(f"export-{fmt}").click()
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    text = path.read_text(encoding="utf-8")
    if fmt == "json":
        assert download.suggested_filename.startswith(f"chat-{LUNA}-") and path.suffix == ".json"
        written = json.loads(text)["messages"]
        assert [m.pop("at", None) is not None for m in written] == [False, True, True]  # when each was written
        assert written == [{"role": "assistant", "text": greetings(page).inner_text(),
                                                 "greeting": True},
                                                {"role": "user", "text": "export *this*"},
                                                {"role": "assistant", "text": reply}]
    else:
        assert path.suffix == ".md"
        assert "**You**" in text and "export \\*this\\*" in text and "**Luna**" in text


def test_offline_shows_an_indicator_and_pauses_sending(page: Page, server: Server) -> None:
    open_app(page, server)
    page.context.set_offline(True)
    indicator = page.get_by_test_id("offline-indicator")
    expect(indicator).to_be_visible()
    page.get_by_test_id("message-input").fill("queued thought")
    expect(page.get_by_test_id("send-button")).to_be_disabled()
    page.get_by_test_id("message-input").press("Enter")
    expect(page.get_by_test_id("message-input")).to_have_value("queued thought")
    expect(page.locator("#notice")).to_contain_text("You are offline")
    page.context.set_offline(False)
    expect(indicator).to_be_hidden()
    expect(page.locator("#notice")).to_be_hidden()
    page.get_by_test_id("send-button").click()
    expect(messages(page, "assistant")).to_have_count(1)


AT_BOTTOM = ("(() => { const m = document.querySelector('[data-testid=message-list]');"
             " return m.scrollHeight - m.scrollTop - m.clientHeight < 5; })()")


def open_long_echo_conversation(page: Page, server: Server) -> None:
    """Echo, in a short window, with eight replies: more than the list shows at once."""
    page.set_viewport_size({"width": 900, "height": 500})
    open_app(page, server, f"?character={ECHO}")
    for i in range(8):
        send_and_wait(page, f"line {i}\n" * 4)


def test_the_newest_message_stays_in_view_unless_the_user_scrolled_up(page: Page, server: Server) -> None:
    open_long_echo_conversation(page, server)
    page.wait_for_function(AT_BOTTOM, timeout=2_000)  # scrolled in the next frame
    page.get_by_test_id("message-list").evaluate("m => { m.scrollTop = 0; }")
    server.fault("chat", "delay", delay_ms=300)
    send(page, "while reading older messages")
    page.wait_for_function(AT_BOTTOM)  # sending shows your own message, even after scrolling up
    page.get_by_test_id("message-list").evaluate("m => { m.scrollTop = 0; }")
    expect(messages(page, "assistant")).to_have_count(9)
    assert page.get_by_test_id("message-list").evaluate("m => m.scrollTop") < 50


def test_scrolling_up_in_the_frame_the_list_resizes_in_still_stops_following(page: Page, server: Server) -> None:
    # The list resizes (here: the input grows) in the frame the user scrolls up in: the resize is
    # observed before the end is seen to leave the view, and must not scroll back to the end.
    open_long_echo_conversation(page, server)
    page.wait_for_function(AT_BOTTOM, timeout=2_000)
    server.fault("chat", "delay", delay_ms=300)
    send(page, "while reading older messages")
    page.wait_for_function(AT_BOTTOM)
    page.get_by_test_id("message-list").evaluate(
        "m => { m.scrollTop = 0; document.querySelector('[data-testid=message-input]').style.height = '9em'; }"
    )
    expect(messages(page, "assistant")).to_have_count(9)
    page.wait_for_timeout(100)
    assert page.get_by_test_id("message-list").evaluate("m => m.scrollTop") < 50


def test_scrolling_back_to_the_end_keeps_the_next_reply_in_view(page: Page, server: Server) -> None:
    open_long_echo_conversation(page, server)
    server.fault("chat", "delay", delay_ms=1500)
    send(page, "a slow reply")
    page.wait_for_function(AT_BOTTOM)
    listing = page.get_by_test_id("message-list")
    listing.evaluate("m => { m.scrollTop = 0; }")  # up to read...
    page.wait_for_timeout(100)
    listing.evaluate("m => { m.scrollTop = m.scrollHeight; }")  # ...and back down before the reply
    expect(messages(page, "assistant")).to_have_count(8)  # (the reply is not in yet)
    expect(messages(page, "assistant")).to_have_count(9)
    page.wait_for_function(AT_BOTTOM, timeout=2_000)


def test_a_growing_input_does_not_stop_the_conversation_following_new_replies(page: Page, server: Server) -> None:
    open_long_echo_conversation(page, server)
    server.fault("chat", "delay", delay_ms=1500)
    send(page, "a slow reply")
    page.wait_for_function(AT_BOTTOM)
    page.get_by_test_id("message-input").fill("a long draft\n" * 12)  # the input grows, the list shrinks
    expect(messages(page, "assistant")).to_have_count(8)  # (the reply is not in yet)
    expect(messages(page, "assistant")).to_have_count(9)
    page.wait_for_function(AT_BOTTOM, timeout=2_000)


def test_a_long_conversation_opens_at_its_newest_messages_and_shows_earlier_ones_on_request(
    page: Page, server: Server
) -> None:
    stored = [{"role": "assistant" if i % 2 else "user", "text": f"message {i}"} for i in range(350)]
    stored[5] = {"role": "error", "text": "That failed", "retry": "message 4"}
    page.goto(server.url)
    page.evaluate("list => localStorage.setItem('pychat:transcript:CHAR_luna', JSON.stringify(list))", stored)
    open_app(page, server)
    shown = messages(page)
    expect(shown).to_have_count(100)
    expect(shown.first).to_have_text("message 250")
    expect(shown.last).to_have_text("message 349")
    earlier = page.get_by_test_id("show-earlier")
    expect(earlier).to_have_text("Show 200 earlier messages (251 not shown)")  # and Luna's greeting
    earlier.click()
    expect(shown).to_have_count(300)
    expect(shown.first).to_have_text("message 50")
    expect(earlier).to_have_text("Show 51 earlier messages (51 not shown)")
    assert page.get_by_test_id("message-list").evaluate("m => m.scrollTop") > 0  # still reading where you were
    earlier.press("Enter")
    expect(shown).to_have_count(350)
    expect(earlier).to_have_count(0)
    expect(page.get_by_test_id("message-list")).to_be_focused()  # focus is not lost with the button
    # An old failed message, rendered late, still retries the right text.
    page.get_by_test_id("retry-button").click()
    expect(messages(page, "user").last).to_have_text("message 4")
    expect(messages(page, "assistant").last).to_contain_text('you said "message 4"')
    expect(messages(page, "error")).to_have_count(0)  # the failure it replaced is gone


def test_a_long_session_keeps_the_list_short_with_the_oldest_one_click_away(page: Page, server: Server) -> None:
    # The bound made small for the test (it is 150 messages, trimmed 50 at a time).
    serve_main_with(page, "import app.view.messages as _m\n_m.MAX_RENDERED, _m.TRIM_BATCH = 6, 2\n")
    open_app(page, server, f"?character={ECHO}")
    for n in range(6):
        send(page, f"message {n}")
        expect(messages(page, "assistant").last).to_have_text(f"message {n}")
        expect(page.get_by_test_id("send-button")).to_be_enabled()
    # 12 messages sent and answered: at most 6 + 2 in the list, the rest behind the button.
    shown = page.evaluate("document.querySelectorAll('#message-list .message').length")
    assert 6 <= shown <= 8
    earlier = page.get_by_test_id("show-earlier")
    expect(earlier).to_contain_text(f"({12 - shown} not shown)")
    earlier.click()
    expect(messages(page)).to_have_count(12)
    expect(messages(page).first).to_have_text("message 0")


def test_on_a_touch_screen_every_message_action_is_visible_and_a_44px_target(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    context = new_context(viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True)
    page = open_app(context.new_page(), server, f"?character={ECHO}")
    server.fault("chat", "status", status=503)
    send(page, "first try")
    page.get_by_test_id("retry-button").tap()
    expect(messages(page, "assistant")).to_have_count(1)
    send(page, "```\ncode\n```")
    expect(page.get_by_test_id("copy-code")).to_have_count(1)
    page.get_by_test_id("message-input").tap()  # nothing hovered or focused in the list
    actions = page.locator("[data-testid=copy-button], [data-testid=retry-button], [data-testid=copy-code]")
    for n in range(actions.count()):
        action = actions.nth(n)
        assert action.evaluate("b => getComputedStyle(b).opacity") == "1"
        box = action.bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44, box


def test_a_wide_screen_gets_a_centred_reading_column(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = open_app(new_context(viewport={"width": 1920, "height": 1000}).new_page(), server, f"?character={ECHO}")
    send(page, "a message long enough to fill its bubble " * 6)
    expect(messages(page, "assistant")).to_have_count(1)
    edges = page.evaluate("""() => {
        const list = document.getElementById('message-list').getBoundingClientRect();
        const [mine, reply] = [...document.querySelectorAll('#message-list .message')]
            .map(m => m.getBoundingClientRect());
        const input = document.querySelector('[data-testid=message-input]').getBoundingClientRect();
        return {left: reply.left - list.left, right: list.right - mine.right, input: input.left - list.left};
    }""")
    assert edges["left"] > 200 and abs(edges["left"] - edges["right"]) < 24, edges  # centred, not edge to edge
    assert abs(edges["input"] - edges["left"]) < 24, edges  # the input lines up with the column


def test_on_a_phone_the_empty_input_is_one_line_and_says_how_to_send(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = open_app(new_context(viewport={"width": 360, "height": 740}).new_page(), server)
    box = page.get_by_test_id("message-input")
    empty = box.evaluate("b => b.getBoundingClientRect().height")
    box.fill("a")
    assert box.evaluate("b => b.getBoundingClientRect().height") == empty  # the placeholder fits on one line
    hint = box.evaluate("b => document.getElementById(b.getAttribute('aria-describedby')).textContent")
    assert "Enter" in hint and "Shift+Enter" in hint


def active_id(page: Page) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def test_the_input_has_focus_on_load_and_after_a_dialog_closes(page: Page, server: Server) -> None:
    open_app(page, server)
    assert active_id(page) == "message-input"
    send_and_wait(page, "hello")
    page.get_by_test_id("new-conversation").click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#confirm-dialog")).to_be_hidden()
    expect(page.get_by_test_id("message-input")).to_be_focused()


def test_on_a_touch_screen_the_input_is_not_focused_on_load(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    context = new_context(viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True)
    page = open_app(context.new_page(), server)
    assert active_id(page) != "message-input"  # no on-screen keyboard over the conversation


def test_the_first_tab_stop_skips_the_conversation_to_the_input(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    # A touch screen leaves focus where a page load puts it (nowhere), as a keyboard user may find it.
    page = open_app(new_context(has_touch=True).new_page(), server, f"?character={ECHO}")
    for n in range(3):
        send_and_wait(page, f"message {n}")  # Copy buttons that Tab would otherwise pass first
    page.reload()
    page.wait_for_selector(READY)
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("message-input")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("send-button")).to_be_focused()


def test_up_in_the_empty_input_brings_back_the_last_message_sent(page: Page, server: Server) -> None:
    open_app(page, server, f"?character={ECHO}")
    send_and_wait(page, "first message")
    send_and_wait(page, "second\nmessage")
    box = page.get_by_test_id("message-input")
    box.press("ArrowUp")
    expect(box).to_have_value("second\nmessage")
    box.press("ArrowUp")  # not empty now: Up moves the cursor, as in any text
    expect(box).to_have_value("second\nmessage")
    box.fill("typed")
    box.press("ArrowUp")
    expect(box).to_have_value("typed")  # what the user typed is never replaced


# Every layout shift of the page (Chromium's layout-shift entries, as Lighthouse sums them), and
# the characters' boxes as first drawn, before Python has listed them.
LAYOUT_PROBE = """(() => {
  window.__shifts = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (!entry.hadRecentInput) window.__shifts.push({value: entry.value, sources: entry.sources.map((s) =>
        s.node?.id || s.node?.className || s.node?.nodeName || "?")});
    }
  }).observe({type: "layout-shift", buffered: true});
  const boxes = () => [...document.querySelectorAll("#character-list .character")].map((node) => {
    const r = node.getBoundingClientRect();
    return [r.x, r.y, r.width, r.height].map(Math.round);
  });
  document.addEventListener("DOMContentLoaded", () => {
    window.__firstBoxes = boxes();
    window.__standIns = document.querySelectorAll("#character-list [data-placeholder]").length;
  });
  window.__boxes = boxes;
})();"""


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 360, "height": 740}],
                         ids=["desktop", "phone"])
def test_nothing_moves_when_the_page_gets_ready(
    new_context: Callable[..., BrowserContext], server: Server, viewport: dict[str, int]
) -> None:
    # Before ready the page holds the room of what it will show: the configured characters (serve.py's
    # stand-ins, with their names), the header's avatar and description, and the start-up status just
    # above the input. It was a layout shift of 0.12 at desktop width and 0.05 on a phone.
    context = new_context(viewport=viewport, has_touch=viewport["width"] < 720)
    context.add_init_script(LAYOUT_PROBE)
    page = context.new_page()
    page.goto(server.url)
    first = page.evaluate("window.__firstBoxes")
    assert page.evaluate("window.__standIns") == 3  # as first laid out, before Python
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_timeout(1000)  # the greeting, the avatars' images, the copy buttons

    assert page.locator("#character-list [data-placeholder]").count() == 0
    expect(page.get_by_test_id("character")).to_have_count(3)
    assert first == page.evaluate("window.__boxes()")  # each stand-in where, and as big as, its character
    shifts = page.evaluate("window.__shifts")
    assert sum(shift["value"] for shift in shifts) < 0.01, shifts


CONFIG = (ROOT / "pyscript.toml").read_text(encoding="utf-8")
GREETING = {c.config_id: c.greeting for c in configured_characters(CONFIG)}

# The greeting serve.py writes in for a first visit: whether it is drawn when the page is first laid out.
GREETING_PROBE = """document.addEventListener("DOMContentLoaded", () => {
  const stand_in = document.querySelector("#message-list .message[data-placeholder]");
  window.__greetingShown = stand_in ? getComputedStyle(stand_in).display !== "none" : null;
  window.__greetingText = stand_in?.textContent ?? null;
});"""


def test_a_first_visit_shows_the_first_characters_greeting_before_python_and_no_other_visit_does(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    context = new_context()
    context.add_init_script(GREETING_PROBE)
    page = context.new_page()
    held: list[Route] = []
    page.route(re.compile(r".*/pyodide\.asm\.wasm(\.br)?$"), lambda route: held.append(route))  # held: Python waits
    page.goto(server.url)
    page.wait_for_function("window.__greetingShown !== undefined")
    assert page.evaluate("[window.__greetingShown, window.__greetingText]") == [True, GREETING[LUNA]]
    stand_in = page.locator("#message-list .message[data-placeholder]")
    expect(stand_in).to_have_attribute("aria-hidden", "true")  # the real one is announced, not this
    expect(page.locator("html")).to_have_attribute("data-app-state", "loading")
    page.goto("about:blank")  # this load ends here, its held request with it: nothing of it runs on
    page.unroute_all(behavior="ignoreErrors")
    assert held  # the request was made, and held: Python never started on that load
    open_app(page, server)  # still a first visit: Python never started, so nothing was stored
    assert page.evaluate("window.__greetingShown") is True

    open_app(page, server)  # the same browser again, now with a session: not a first visit
    assert page.evaluate("window.__greetingShown") is False
    expect(greetings(page)).to_have_text([GREETING[LUNA]])  # Python's own, once
    expect(stand_in).to_have_count(0)

    fresh = new_context()
    fresh.add_init_script(GREETING_PROBE)
    chosen = fresh.new_page()
    open_app(chosen, server, "?character=CHAR_atlas")  # opens another conversation
    assert chosen.evaluate("window.__greetingShown") is False
    expect(greetings(chosen)).to_have_text([GREETING[ATLAS]])
