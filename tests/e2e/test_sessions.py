"""Session behaviour in the browser: storage format, reuse, interop, single-flight, expiry, clearing."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .conftest import Server, open_app
from .helpers import ATLAS, LUNA, confirm_if_asked, messages, open_character, send, send_and_wait, stored

# The JavaScript reference guide's getOrCreateSession, verbatim in behaviour.
REFERENCE_GET_OR_CREATE = """async ([configId, apiBaseUrl]) => {
  const sessionKey = `session_${configId}`;
  const existingSessionId = localStorage.getItem(sessionKey);
  if (existingSessionId) return existingSessionId;
  const response = await fetch(`${apiBaseUrl}/api/sessions`, {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({config_id: configId}),
  });
  const session = await response.json();
  localStorage.setItem(sessionKey, session.session_id);
  return session.session_id;
}"""


def test_first_visit_creates_one_session_and_stores_the_raw_id(page: Page, server: Server) -> None:
    open_app(page, server)
    assert server.requests("/api/sessions") == [
        {"method": "POST", "path": "/api/sessions", "body": {"config_id": LUNA}}]
    session_id = stored(page, f"session_{LUNA}")
    assert session_id and session_id.startswith("sess_")  # raw string: no JSON quotes
    expect(page.get_by_test_id("session-id")).to_have_text(session_id)


def test_the_page_is_usable_while_its_first_session_is_being_set_up(page: Page, server: Server) -> None:
    server.fault("sessions", "delay", delay_ms=3000, times=1)
    page.goto(server.url)
    page.wait_for_selector("html[data-app-state=ready][data-setting-up]", timeout=60_000)
    assert stored(page, f"session_{LUNA}") is None, "the session came before the page was ready: nothing tested"
    expect(page.get_by_test_id("session-id")).to_have_text("")
    expect(page.get_by_test_id("send-button")).to_be_disabled()
    send(page, "typed while the session is set up")  # Enter does nothing yet; the text stays
    expect(page.get_by_test_id("message-input")).to_have_value("typed while the session is set up")
    expect(messages(page)).to_have_count(0)
    expect(page.get_by_test_id("sending-indicator")).to_have_text("Starting a session\u2026")

    expect(page.get_by_test_id("send-button")).to_be_enabled(timeout=10_000)
    assert page.evaluate("document.documentElement.hasAttribute('data-setting-up')") is False
    expect(page.get_by_test_id("session-id")).to_have_text(stored(page, f"session_{LUNA}") or "missing")
    expect(page.get_by_test_id("message-input")).to_have_value("typed while the session is set up")
    page.get_by_test_id("send-button").click()
    expect(messages(page, "assistant")).to_have_count(1)


def test_reload_reuses_the_stored_session(page: Page, server: Server) -> None:
    open_app(page, server)
    assert "message 1 in this session" in send_and_wait(page, "first")
    session_id = stored(page, f"session_{LUNA}")
    page.reload()
    page.wait_for_selector("html[data-app-state=ready]")
    assert "message 2 in this session" in send_and_wait(page, "second")
    assert len(server.requests("/api/sessions")) == 1
    assert {r["body"]["session_id"] for r in server.requests("/api/chat")} == {session_id}


def test_session_written_by_the_javascript_reference_is_reused(page: Page, server: Server) -> None:
    from_js = server.create_session(LUNA)
    page.add_init_script(f"localStorage.setItem('session_{LUNA}', '{from_js}')")
    open_app(page, server)
    send_and_wait(page, "hello")
    assert [r["path"] for r in server.requests()] == ["/api/sessions", "/api/chat"]  # only the test's own create
    assert server.requests("/api/chat")[0]["body"] == {"session_id": from_js, "config_id": LUNA, "input": "hello"}


def test_session_created_by_the_page_is_reused_by_the_javascript_reference(page: Page, server: Server) -> None:
    open_app(page, server)
    ours = stored(page, f"session_{LUNA}")
    theirs = page.evaluate(REFERENCE_GET_OR_CREATE, [LUNA, server.api])
    assert theirs == ours
    assert len(server.requests("/api/sessions")) == 1


def test_rapid_switching_creates_one_session_per_character(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("sessions", "delay", delay_ms=600, times=1)
    atlas = page.locator(f'[data-testid="character"][data-config-id="{ATLAS}"]')
    luna = page.locator(f'[data-testid="character"][data-config-id="{LUNA}"]')
    atlas.click()
    luna.click()
    atlas.click()
    atlas.click()
    expect(page.get_by_test_id("send-button")).to_be_enabled()
    expect(page.get_by_test_id("session-id")).not_to_have_text("")
    created = [r["body"]["config_id"] for r in server.requests("/api/sessions")]
    assert created == [LUNA, ATLAS]


def test_send_is_disabled_while_the_session_is_being_set_up(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("sessions", "delay", delay_ms=800, times=1)
    page.locator(f'[data-testid="character"][data-config-id="{ATLAS}"]').click()
    expect(page.get_by_test_id("send-button")).to_be_disabled()
    expect(page.get_by_test_id("sending-indicator")).to_be_visible()
    expect(page.get_by_test_id("send-button")).to_be_enabled()


def test_each_character_keeps_its_own_session_and_conversation(page: Page, server: Server) -> None:
    open_app(page, server)
    send_and_wait(page, "hi Luna")
    open_character(page, ATLAS)
    expect(messages(page)).to_have_count(0)
    send_and_wait(page, "hi Atlas")
    open_character(page, LUNA)
    expect(messages(page)).to_have_count(2)
    expect(messages(page, "user")).to_have_text(["hi Luna"])
    luna, atlas = stored(page, f"session_{LUNA}"), stored(page, f"session_{ATLAS}")
    assert luna and atlas and luna != atlas
    expect(page.get_by_test_id("session-id")).to_have_text(luna)
    by_character = {r["body"]["config_id"]: r["body"]["session_id"] for r in server.requests("/api/chat")}
    assert by_character == {LUNA: luna, ATLAS: atlas}


def test_a_reply_naming_a_new_session_id_replaces_the_stored_one(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "reply", body={"ai": "rotated", "session_id": "sess_rotated"})
    send_and_wait(page, "rotate please")
    assert stored(page, f"session_{LUNA}") == "sess_rotated"
    expect(page.get_by_test_id("session-id")).to_have_text("sess_rotated")


def _recovers_from_expiry(page: Page, server: Server, status: int) -> None:
    open_app(page, server)
    old = stored(page, f"session_{LUNA}")
    server.expire(old, status=status)
    reply = send_and_wait(page, "are you still there?")
    new = stored(page, f"session_{LUNA}")
    assert new and new != old
    assert "message 1 in this session" in reply
    chats = server.requests("/api/chat")
    assert [(c["body"]["session_id"], c["body"]["input"]) for c in chats] == [
        (old, "are you still there?"), (new, "are you still there?")]
    expect(messages(page, "error")).to_have_count(0)
    expect(page.get_by_test_id("session-id")).to_have_text(new)


def test_expired_session_410_is_replaced_and_the_message_resent(page: Page, server: Server) -> None:
    _recovers_from_expiry(page, server, 410)


def test_unknown_session_404_is_replaced_and_the_message_resent(page: Page, server: Server) -> None:
    _recovers_from_expiry(page, server, 404)


def test_a_4xx_saying_the_session_is_invalid_is_recovered(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "status", status=400, body={"error": "Invalid session ID"})
    assert "message 1 in this session" in send_and_wait(page, "hello")
    assert len(server.requests("/api/sessions")) == 2


def test_expiry_right_after_renewal_is_an_error_not_a_loop(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "status", status=410, body={"error": "Session expired"}, times=5)
    send(page, "loop?")
    expect(messages(page, "error")).to_have_count(1)
    assert len(server.requests("/api/chat")) == 2
    assert len(server.requests("/api/sessions")) == 2
    expect(page.get_by_test_id("message-input")).to_have_value("loop?")


def test_new_conversation_clears_the_session_and_the_next_message_creates_one(page: Page, server: Server) -> None:
    open_app(page, server)
    send_and_wait(page, "before")
    old = stored(page, f"session_{LUNA}")
    page.get_by_test_id("new-conversation").click()
    confirm_if_asked(page)
    expect(messages(page)).to_have_count(0)
    assert stored(page, f"session_{LUNA}") is None
    expect(page.get_by_test_id("session-id")).to_have_text("")
    assert "message 1 in this session" in send_and_wait(page, "after")
    new = stored(page, f"session_{LUNA}")
    assert new and new != old


def test_cancelling_the_confirmation_keeps_everything(page: Page, server: Server) -> None:
    open_app(page, server)
    send_and_wait(page, "keep me")
    page.get_by_test_id("new-conversation").click()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("confirm-button")).to_be_hidden()
    expect(messages(page)).to_have_count(2)
    assert stored(page, f"session_{LUNA}")


def test_clear_all_sessions_removes_only_session_keys(page: Page, server: Server) -> None:
    page.add_init_script("if (!localStorage.getItem('theme')) localStorage.setItem('theme', 'dark');"
                         "localStorage.setItem('sessionless', 'keep');")
    open_app(page, server)
    send_and_wait(page, "hi")
    open_character(page, ATLAS)
    page.evaluate("localStorage.setItem('session_CHAR_from_elsewhere', 'sess_x')")
    page.get_by_test_id("clear-all-sessions").click()
    confirm_if_asked(page)
    expect(page.get_by_test_id("session-id")).to_have_text("")
    keys = page.evaluate("Object.keys(localStorage)")
    assert not [k for k in keys if k.startswith("session_")]
    assert "theme" in keys and "sessionless" in keys
    open_character(page, LUNA)
    expect(messages(page)).to_have_count(0)
