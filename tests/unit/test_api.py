from __future__ import annotations

import asyncio

import pytest

from app.api import HttpResponse, ProxyClient, classify_http_error, server_message
from app.errors import AuthError, BadResponse, HttpError, NetworkError, RequestTimeout, ServerError, SessionExpired

from .fakes import DROPPED, FakeProxy, ok, status


async def test_chat_sends_exactly_the_contract_body() -> None:
    proxy = FakeProxy()
    await proxy.client().chat("sess-9", "CHAR_luna", "Hi <b>")
    assert proxy.calls == [("/api/chat", {"session_id": "sess-9", "config_id": "CHAR_luna", "input": "Hi <b>"})]


async def test_api_base_trailing_slash_is_not_doubled() -> None:
    seen: list[str] = []

    async def post_json(url: str, body: dict[str, str]) -> HttpResponse:
        seen.append(url)
        return HttpResponse(200, '{"session_id": "s"}')

    await ProxyClient("http://x.test:3000/", post_json).create_session("A")
    assert seen == ["http://x.test:3000/api/sessions"]


async def test_chat_reply_carries_text_and_named_session() -> None:
    proxy = FakeProxy()
    proxy.script("/api/chat", ok({"ai": "hello", "session_id": "other"}))
    reply = await proxy.client().chat("s", "A", "hi")
    assert (reply.text, reply.session_id) == ("hello", "other")


@pytest.mark.parametrize("named", [None, "", 5, "undefined"])
async def test_unusable_session_id_in_a_chat_reply_is_ignored(named: object) -> None:
    proxy = FakeProxy()
    proxy.script("/api/chat", ok({"ai": "hello", "session_id": named}))
    assert (await proxy.client().chat("s", "A", "hi")).session_id is None


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (HttpResponse(200, "not json"), "not valid JSON"),
        (HttpResponse(200, "<html><body>Bad gateway</body></html>"), "HTML page"),
        (HttpResponse(200, "[1, 2]"), "not a JSON object"),
        (ok({"reply": "wrong field"}), "no text"),
        (ok({"ai": 42}), "no text"),
        (HttpResponse(200, '{"ai": "unterminated'), "not valid JSON"),
    ],
)
async def test_malformed_chat_replies_raise_bad_response(answer: HttpResponse, fragment: str) -> None:
    proxy = FakeProxy()
    proxy.script("/api/chat", answer)
    with pytest.raises(BadResponse, match=fragment):
        await proxy.client().chat("s", "A", "hi")


async def test_transport_failure_is_a_network_error() -> None:
    proxy = FakeProxy()
    proxy.script("/api/sessions", DROPPED)
    with pytest.raises(NetworkError):
        await proxy.client().create_session("A")


async def test_a_request_that_hangs_times_out() -> None:
    proxy = FakeProxy()
    proxy.gate = asyncio.Event()  # never released
    with pytest.raises(RequestTimeout):
        await proxy.client(timeout=0.01).chat("s", "A", "hi")


@pytest.mark.parametrize(
    ("code", "body", "session_bound", "kind"),
    [
        (401, {"error": "bad key"}, True, AuthError),
        (500, {}, True, ServerError),
        (503, "<html>down</html>", False, ServerError),
        (404, {"error": "Session not found"}, True, SessionExpired),
        (410, {}, True, SessionExpired),
        (400, {"error": "Invalid session"}, True, SessionExpired),
        (422, {"detail": "session_id expired"}, True, SessionExpired),
        (403, {"error": {"message": "Session does not exist"}}, True, SessionExpired),
        (400, {"code": "SESSION_NOT_FOUND"}, True, SessionExpired),
        (400, {"error": "input is required"}, True, HttpError),
        (404, {"error": "Unknown character"}, False, HttpError),
        (400, {"error": "Invalid session"}, False, HttpError),
        (429, {"error": "Too many requests"}, True, HttpError),
        (422, {"error": "unknown field session_ttl"}, True, HttpError),
        (400, {"error": "Invalid input for session settings"}, True, HttpError),
        (400, {"code": "INVALID_SESSION"}, True, SessionExpired),
    ],
)
def test_error_statuses_are_classified(code: int, body: object, session_bound: bool, kind: type) -> None:
    error = classify_http_error(code, body if isinstance(body, str) else __import__("json").dumps(body),
                                session_bound=session_bound)
    assert type(error) is kind
    assert error.status == code


async def test_session_expiry_on_create_is_not_mistaken_for_expiry() -> None:
    proxy = FakeProxy()
    proxy.script("/api/sessions", status(404, {"error": "Unknown config"}))
    with pytest.raises(HttpError) as info:
        await proxy.client().create_session("A")
    assert type(info.value) is HttpError and info.value.message == "Unknown config"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"error": "Forbidden by policy"}', "Forbidden by policy"),
        ('{"error": {"message": "nested"}}', "nested"),
        ('{"message": "m", "detail": "d"}', "m - d"),
        ("plain words", "plain words"),
        ("<html><h1>502</h1></html>", ""),
        ('{"error": "<script>alert(1)</script>x"}', "alert(1) x"),
        ('{"error": "' + "y" * 1000 + '"}', "y" * 299 + "\u2026"),
        ("", ""),
        ('{"error": "unterminated', ""),
        ('{"error":' * 50_000, ""),
    ],
)
def test_server_message_is_short_plain_text(body: str, message: str) -> None:
    assert server_message(body) == message
