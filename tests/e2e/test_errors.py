"""Failures become clear messages in the conversation, and the typed text is never lost."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import Server, open_app
from .helpers import messages, send, stored

NETWORK = "Network error: Unable to connect to server"
AUTH = "Authentication error: Please refresh the page"
SERVER = "Server error: Please try again later"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"kind": "drop"}, NETWORK),
        ({"kind": "status", "status": 401}, AUTH),
        ({"kind": "status", "status": 500}, SERVER),
        ({"kind": "status", "status": 503, "body": {"error": "upstream down"}}, SERVER),
        ({"kind": "html"}, SERVER),
        ({"kind": "status", "status": 403, "body": {"error": "Forbidden by policy"}},
         "Request failed (403): Forbidden by policy"),
        ({"kind": "malformed"}, "Unexpected reply from the server: the reply is not valid JSON"),
        ({"kind": "reply", "body": {"no_ai": True}}, "Unexpected reply from the server: the reply has no text"),
    ],
    ids=["dropped", "401", "500", "503", "html-502", "403", "malformed-json", "missing-ai"],
)
def test_chat_failure_shows_its_message_and_keeps_the_text(
    page: Page, server: Server, fault: dict[str, object], expected: str
) -> None:
    open_app(page, server)
    session_id = stored(page, "session_CHAR_luna")
    server.fault("chat", **fault)  # type: ignore[arg-type]
    send(page, "please keep this text")
    expect(messages(page, "error")).to_have_text([expected])
    expect(messages(page, "user")).to_have_text(["please keep this text"])
    expect(page.get_by_test_id("message-input")).to_have_value("please keep this text")
    expect(page.get_by_test_id("send-button")).to_be_enabled()
    assert stored(page, "session_CHAR_luna") == session_id


def test_retry_resends_the_failed_message(page: Page, server: Server) -> None:
    open_app(page, server)
    server.fault("chat", "drop")
    send(page, "second chance")
    page.get_by_test_id("retry-button").click()
    expect(messages(page, "assistant")).to_have_count(1)
    expect(messages(page)).to_have_count(2)
    expect(messages(page, "error")).to_have_count(0)
    expect(page.get_by_test_id("message-input")).to_have_value("")
    assert [r["body"]["input"] for r in server.requests("/api/chat")] == ["second chance", "second chance"]


def test_the_proxy_being_down_at_start_is_reported_and_the_page_stays_usable(page: Page, server: Server) -> None:
    server.fault("sessions", "drop")
    open_app(page, server)
    expect(messages(page, "error")).to_have_text([NETWORK])
    assert stored(page, "session_CHAR_luna") is None
    page.get_by_test_id("message-input").fill("now it works")
    page.get_by_test_id("send-button").click()
    expect(messages(page, "assistant")).to_have_count(1)
    assert stored(page, "session_CHAR_luna")


def test_a_session_reply_without_an_id_stores_nothing(page: Page, server: Server) -> None:
    server.fault("sessions", "reply", body={"config_id": "CHAR_luna", "session_status": "active"})
    open_app(page, server)
    expect(messages(page, "error")).to_have_text(
        ["Unexpected reply from the server: the server did not return a session ID"])
    assert stored(page, "session_CHAR_luna") is None
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('session_'))") == []
