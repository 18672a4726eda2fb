"""Drafts in the browser: what is typed is kept per character, stored within a second and when the page hides.

They are kept in IndexedDB (static/archive.mjs's drafts store), read here through the page's own
functions; localStorage holds a draft only as a note while its write is not committed.
"""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Locator, Page, expect

from .conftest import Server, open_app
from .helpers import ATLAS, LUNA, confirm_if_asked, messages, open_character, send, send_and_wait, stored

# A character's draft as IndexedDB holds it (null: none).
READ_DRAFT = """async (id) => {
  const found = JSON.parse(await pychatArchive.drafts()).find((record) => record.id === id);
  return found ? found.text : null;
}"""

# Resolves with how long (ms) after the last input event the draft was `text`, or -1 if it never was in 10 s.
STORED_AFTER = """async ([id, text]) => {
  const typedAt = window.__lastInput ?? performance.now();
  for (const deadline = performance.now() + 10000; performance.now() < deadline;) {
    const found = JSON.parse(await pychatArchive.drafts()).find((record) => record.id === id);
    if ((found ? found.text : null) === text) return performance.now() - typedAt;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return -1;
}"""
RECORD_INPUT_TIMES = ("document.addEventListener('input', () => { window.__lastInput = performance.now(); },"
                      " {capture: true});")

# Types into the input and hides the page in one task: no timer can store the draft meanwhile.
TYPE_THEN_HIDE = """([text, how]) => {
  const input = document.querySelector('[data-testid=message-input]');
  input.value = text;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  if (how === 'pagehide') {
    window.dispatchEvent(new PageTransitionEvent('pagehide'));
  } else {
    Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
    document.dispatchEvent(new Event('visibilitychange'));
    delete document.visibilityState;
  }
  return localStorage.getItem('pychat:draft:CHAR_luna');
}"""


def composer(page: Page) -> Locator:
    return page.get_by_test_id("message-input")


def draft(page: Page, config_id: str) -> str | None:
    value = page.evaluate(READ_DRAFT, config_id)
    return value if value is None else str(value)


def wait_stored(page: Page, config_id: str, text: str | None) -> None:
    assert page.evaluate(STORED_AFTER, [config_id, text]) >= 0, f"{config_id}'s draft never became {text!r}"
    # Committed: no note is left in localStorage (removed once the commit is heard, a moment later).
    page.wait_for_function("key => localStorage.getItem(key) === null", arg=f"pychat:draft:{config_id}",
                           timeout=5_000)


def test_each_character_keeps_its_own_draft(page: Page, server: Server) -> None:
    open_app(page, server)
    composer(page).fill("half a thought for Luna")
    open_character(page, ATLAS)
    expect(composer(page)).to_have_value("")
    composer(page).fill("a question for Atlas")
    open_character(page, LUNA)
    expect(composer(page)).to_have_value("half a thought for Luna")
    open_character(page, ATLAS)
    expect(composer(page)).to_have_value("a question for Atlas")


def test_drafts_survive_a_reload(page: Page, server: Server) -> None:
    open_app(page, server)
    composer(page).fill("for Luna, <b>as typed</b>")
    open_character(page, ATLAS)
    composer(page).fill("for Atlas")
    wait_stored(page, ATLAS, "for Atlas")
    page.reload()
    page.wait_for_selector("html[data-app-state=ready]")
    expect(page.locator('[data-testid="character"][aria-current="true"]')).to_have_attribute("data-config-id", ATLAS)
    expect(composer(page)).to_have_value("for Atlas")
    open_character(page, LUNA)
    expect(composer(page)).to_have_value("for Luna, <b>as typed</b>")


def test_a_draft_is_stored_within_a_second_of_typing(page: Page, server: Server) -> None:
    page.add_init_script(RECORD_INPUT_TIMES)
    open_app(page, server)
    composer(page).press_sequentially("typing")
    after = page.evaluate(STORED_AFTER, [LUNA, "typing"])
    assert 0 <= after < 1000, f"stored {after:.0f} ms after the last keystroke"


def test_a_draft_is_stored_when_the_page_is_hidden(page: Page, server: Server) -> None:
    open_app(page, server)
    assert page.evaluate(TYPE_THEN_HIDE, ["kept as the tab is hidden", "visibilitychange"]) == \
        "kept as the tab is hidden"
    assert page.evaluate(TYPE_THEN_HIDE, ["kept as the page goes", "pagehide"]) == "kept as the page goes"


def test_a_note_made_as_the_page_hides_goes_once_the_draft_is_committed(page: Page, server: Server) -> None:
    open_app(page, server)
    assert page.evaluate(TYPE_THEN_HIDE, ["noted, then committed", "visibilitychange"]) == "noted, then committed"
    wait_stored(page, LUNA, "noted, then committed")  # and the note is gone


def test_drafts_left_in_localstorage_are_taken_over_and_win_over_older_ones(page: Page, server: Server) -> None:
    # What a page left noted as it went (its write aborted), or the release before kept there.
    open_app(page, server)
    composer(page).fill("older, committed")
    wait_stored(page, LUNA, "older, committed")
    open_character(page, ATLAS)
    composer(page).fill("atlas, committed")
    wait_stored(page, ATLAS, "atlas, committed")
    page.goto("about:blank")
    page.goto(server.url + "static/")  # same origin, without the app
    page.evaluate(f"""() => {{
        localStorage.setItem('pychat:draft:{LUNA}', 'newer, as noted');
        localStorage.setItem('pychat:draft:{ATLAS}', '');  // noted: emptied
        localStorage.setItem('pychat:open', '{LUNA}');
    }}""")
    open_app(page, server)
    expect(composer(page)).to_have_value("newer, as noted")
    wait_stored(page, LUNA, "newer, as noted")
    wait_stored(page, ATLAS, None)
    open_character(page, ATLAS)
    expect(composer(page)).to_have_value("")


def test_a_draft_typed_just_before_leaving_is_there_on_return(page: Page, server: Server) -> None:
    open_app(page, server)
    composer(page).fill("written, then gone at once")
    page.goto("about:blank")
    open_app(page, server)
    expect(composer(page)).to_have_value("written, then gone at once")


def test_sending_clears_the_draft(page: Page, server: Server) -> None:
    open_app(page, server)
    composer(page).fill("hello")
    wait_stored(page, LUNA, "hello")
    composer(page).press("Enter")
    expect(messages(page, "assistant")).to_have_count(1)
    wait_stored(page, LUNA, None)
    page.reload()
    page.wait_for_selector("html[data-app-state=ready]")
    expect(composer(page)).to_have_value("")


def test_a_failed_send_keeps_the_draft(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "status", status=500)
    send(page, "try to keep me")
    expect(messages(page, "error")).to_have_count(1)
    expect(composer(page)).to_have_value("try to keep me")
    wait_stored(page, LUNA, "try to keep me")
    page.reload()
    page.wait_for_selector("html[data-app-state=ready]")
    expect(composer(page)).to_have_value("try to keep me")


def test_clear_all_sessions_removes_the_drafts(page: Page, server: Server) -> None:
    open_app(page, server)
    page.evaluate("localStorage.setItem('other-app:draft', 'not ours')")
    send_and_wait(page, "something to clear")
    composer(page).fill("for Luna")
    open_character(page, ATLAS)
    composer(page).fill("for Atlas")
    wait_stored(page, ATLAS, "for Atlas")
    page.get_by_test_id("clear-all-sessions").click()
    confirm_if_asked(page)
    expect(page.get_by_test_id("session-id")).to_have_text("")
    keys = page.evaluate("Object.keys(localStorage)")
    assert [k for k in keys if k.startswith("pychat:draft:")] == []
    assert page.evaluate("async () => JSON.parse(await pychatArchive.drafts())") == []
    assert stored(page, "other-app:draft") == "not ours"
    expect(composer(page)).to_have_value("")


def test_a_draft_typed_in_another_tab_is_adopted_where_nothing_is_being_typed(
    page: Page, context: BrowserContext, server: Server
) -> None:
    open_app(page, server)
    other = open_app(context.new_page(), server)
    composer(other).fill("typed in the other tab")
    expect(composer(page)).to_have_value("typed in the other tab")
    composer(page).fill("typed here")
    wait_stored(page, LUNA, "typed here")
    expect(composer(other)).to_have_value("typed here")
    other.close()
