"""The demo proxy's contract and its test-only control API, over real sockets."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.stream import ReplyOutcome, ReplyStream
from demo_proxy import MAX_BODY_BYTES, ProxyHandler, long_reply, make_proxy_server, make_reply, stream_deltas

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    raw: bytes

    @property
    def json(self) -> Any:
        assert self.headers["Content-Type"] == "application/json", self.headers["Content-Type"]
        return json.loads(self.raw)


class Client:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
            all_headers = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=payload, headers=all_headers)
            response = conn.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            conn.close()

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Response:
        return self.request("POST", path, body, **kwargs)

    def new_session(self, config_id: str = "CHAR_luna") -> str:
        response = self.post("/api/sessions", {"config_id": config_id})
        assert response.status == 200
        return str(response.json["session_id"])

    def chat(self, session_id: str, text: str, config_id: str = "CHAR_luna") -> Response:
        return self.post(
            "/api/chat",
            {"session_id": session_id, "config_id": config_id, "input": text},
        )

    def fault(self, **spec: Any) -> None:
        assert self.post("/__test__/fault", spec).status == 200

    def log(self) -> Any:
        return self.request("GET", "/__test__/log").json


def _serve(test_faults: bool, stream_delay_ms: int | None = None) -> Iterator[Client]:
    server = make_proxy_server("127.0.0.1", 0, test_faults=test_faults, stream_delay_ms=stream_delay_ms)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Client(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxy() -> Iterator[Client]:
    yield from _serve(test_faults=True)


@pytest.fixture
def plain_proxy() -> Iterator[Client]:
    yield from _serve(test_faults=False)


def test_proxy_sends_without_waiting_for_acks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Like the page server: no Nagle delay between a reply's headers and its body."""
    nodelay: list[int] = []
    setup = ProxyHandler.setup

    def recording_setup(handler: ProxyHandler) -> None:
        setup(handler)
        nodelay.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(ProxyHandler, "setup", recording_setup)
    for client in _serve(test_faults=False):
        assert client.post("/api/sessions", {"config_id": "CHAR_luna"}).status == 200
    assert nodelay and all(nodelay)


# -- sessions --------------------------------------------------------------------
def test_create_session_returns_the_contract_fields(proxy: Client) -> None:
    before = int(time.time())
    body = proxy.post("/api/sessions", {"config_id": "CHAR_luna"}).json
    assert set(body) == {
        "session_id",
        "config_id",
        "user_id",
        "session_status",
        "updated_at",
    }
    assert body["session_id"].startswith("sess_") and len(body["session_id"]) == 5 + 24
    assert body["config_id"] == "CHAR_luna"
    assert body["user_id"] == "demo-user"
    assert body["session_status"] == "active"
    assert before <= body["updated_at"] <= int(time.time())


def test_each_created_session_gets_a_new_id(proxy: Client) -> None:
    assert proxy.new_session() != proxy.new_session()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"config_id": ""},
        {"config_id": 7},
        {"config_id": None},
        {"config_id": "x" * 129},
    ],
)
def test_create_session_rejects_a_bad_config_id(proxy: Client, body: dict[str, Any]) -> None:
    response = proxy.post("/api/sessions", body)
    assert response.status == 400
    assert "config_id" in response.json["error"]


def test_create_session_accepts_a_128_character_config_id(proxy: Client) -> None:
    assert proxy.post("/api/sessions", {"config_id": "x" * 128}).status == 200


def test_a_body_that_is_not_json_is_rejected(proxy: Client) -> None:
    response = proxy.post("/api/sessions", raw=b"config_id=CHAR_luna")
    assert (response.status, response.json) == (
        400,
        {"error": "Request body must be JSON"},
    )


# -- chat ------------------------------------------------------------------------
def test_chat_reply_names_the_character_quotes_the_input_and_counts(
    proxy: Client,
) -> None:
    session_id = proxy.new_session("CHAR_luna")
    body = proxy.chat(session_id, "hi").json
    assert body == {
        "ai": 'Luna (message 1 in this session): you said "hi". *The stars agree.*',
        "session_id": session_id,
        "message_count": 1,
    }


def test_message_count_grows_with_each_message_of_a_session(proxy: Client) -> None:
    session_id = proxy.new_session("CHAR_atlas")
    replies = [proxy.chat(session_id, f"m{i}", "CHAR_atlas").json for i in range(3)]
    assert [r["message_count"] for r in replies] == [1, 2, 3]
    assert replies[2]["ai"].startswith("Atlas (message 3 in this session)")
    assert '"m2"' in replies[2]["ai"]


def test_two_sessions_count_independently(proxy: Client) -> None:
    first, second = proxy.new_session(), proxy.new_session()
    proxy.chat(first, "a")
    proxy.chat(first, "b")
    assert proxy.chat(second, "c").json["message_count"] == 1
    assert proxy.chat(first, "d").json["message_count"] == 3


def test_echo_replies_with_the_input_verbatim(proxy: Client) -> None:
    hostile = '<img src=x onerror="alert(1)"> </div>\n\t"quotes" & ünïcödé 🎉'
    session_id = proxy.new_session("CHAR_echo")
    assert proxy.chat(session_id, hostile, "CHAR_echo").json["ai"] == hostile


def test_unknown_characters_get_a_generic_persona_with_the_count(proxy: Client) -> None:
    session_id = proxy.new_session("CHAR_custom")
    reply = proxy.chat(session_id, "hello", "CHAR_custom").json["ai"]
    assert "CHAR_custom" in reply
    assert "message 1 in this session" in reply and '"hello"' in reply


def test_replies_are_deterministic() -> None:
    assert make_reply("CHAR_luna", "x", 4) == make_reply("CHAR_luna", "x", 4)


def test_chat_with_an_unknown_session_is_404(proxy: Client) -> None:
    response = proxy.chat("sess_nope", "hi")
    assert (response.status, response.json) == (404, {"error": "Session not found"})


def test_chat_as_another_character_is_400(proxy: Client) -> None:
    session_id = proxy.new_session("CHAR_luna")
    response = proxy.chat(session_id, "hi", "CHAR_atlas")
    assert response.status == 400
    assert response.json == {"error": "Session belongs to another character"}


@pytest.mark.parametrize("text", [None, 42, "", "   "])
def test_chat_requires_input_text(proxy: Client, text: Any) -> None:
    session_id = proxy.new_session()
    body: dict[str, Any] = {"session_id": session_id, "config_id": "CHAR_luna"}
    if text is not None:
        body["input"] = text
    response = proxy.post("/api/chat", body)
    assert (response.status, response.json) == (400, {"error": "input is required"})


def test_rejected_messages_do_not_count(proxy: Client) -> None:
    session_id = proxy.new_session()
    proxy.chat(session_id, "")
    assert proxy.chat(session_id, "real").json["message_count"] == 1


# -- HTTP details ----------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/sessions", "/api/nope"])
def test_every_response_carries_cors_headers(proxy: Client, path: str) -> None:
    response = proxy.post(path, {"config_id": "CHAR_luna"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Vary"] == "Origin"


def test_preflight_allows_json_posts(proxy: Client) -> None:
    response = proxy.request(
        "OPTIONS",
        "/api/chat",
        headers={
            "Origin": "http://127.0.0.1:8000",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert response.headers["Access-Control-Allow-Private-Network"] is None


def test_preflight_allows_private_network_access_when_asked(proxy: Client) -> None:
    response = proxy.request(
        "OPTIONS",
        "/api/sessions",
        headers={"Access-Control-Request-Private-Network": "true"},
    )
    assert response.headers["Access-Control-Allow-Private-Network"] == "true"


def test_unknown_path_is_404_json(proxy: Client) -> None:
    response = proxy.request("GET", "/api/nothing-here")
    assert (response.status, response.json) == (404, {"error": "Not found"})


def test_wrong_method_is_405_json(proxy: Client) -> None:
    response = proxy.request("GET", "/api/chat")
    assert (response.status, response.json) == (405, {"error": "Method not allowed"})
    assert response.headers["Allow"] == "POST, OPTIONS"


def test_oversized_body_is_413(proxy: Client) -> None:
    response = proxy.post("/api/chat", headers={"Content-Length": str(MAX_BODY_BYTES + 1)}, raw=b"")
    assert response.status == 413


# -- faults ----------------------------------------------------------------------
def test_status_fault_answers_with_that_status_and_reason(proxy: Client) -> None:
    session_id = proxy.new_session()
    proxy.fault(endpoint="chat", kind="status", status=503)
    response = proxy.chat(session_id, "hi")
    assert (response.status, response.json) == (503, {"error": "Service Unavailable"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_status_fault_can_carry_a_json_body(proxy: Client) -> None:
    proxy.fault(endpoint="sessions", kind="status", status=401, body={"error": "bad key"})
    response = proxy.post("/api/sessions", {"config_id": "CHAR_luna"})
    assert (response.status, response.json) == (401, {"error": "bad key"})


def test_status_fault_with_a_string_body_sends_it_as_text(proxy: Client) -> None:
    proxy.fault(endpoint="sessions", kind="status", status=500, body="Internal oops")
    response = proxy.post("/api/sessions", {"config_id": "CHAR_luna"})
    assert (response.status, response.raw) == (500, b"Internal oops")
    assert response.headers["Content-Type"].startswith("text/plain")


def test_drop_fault_closes_the_connection_without_a_response(proxy: Client) -> None:
    proxy.fault(endpoint="sessions", kind="drop")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        proxy.post("/api/sessions", {"config_id": "CHAR_luna"})


def test_malformed_fault_sends_truncated_json(proxy: Client) -> None:
    proxy.fault(endpoint="sessions", kind="malformed")
    response = proxy.post("/api/sessions", {"config_id": "CHAR_luna"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.raw == b'{"ai": "unterminated'


def test_html_fault_sends_a_502_gateway_page(proxy: Client) -> None:
    proxy.fault(endpoint="any", kind="html")
    response = proxy.post("/api/sessions", {"config_id": "CHAR_luna"})
    assert response.status == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert b"<h1>502 Bad Gateway</h1>" in response.raw


def test_delay_fault_waits_then_answers_normally(proxy: Client) -> None:
    proxy.fault(endpoint="sessions", kind="delay", delay_ms=300)
    started = time.monotonic()
    response = proxy.post("/api/sessions", {"config_id": "CHAR_luna"})
    assert time.monotonic() - started >= 0.3
    assert response.status == 200 and response.json["config_id"] == "CHAR_luna"


def test_hold_fault_answers_normally_only_once_released(proxy: Client) -> None:
    proxy.fault(endpoint="sessions", kind="hold", times=2)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = [pool.submit(proxy.post, "/api/sessions", {"config_id": "CHAR_luna"}) for _ in range(2)]
        while len(proxy.log()["requests"]) < 2:
            time.sleep(0.01)
        time.sleep(0.2)
        assert not any(answer.done() for answer in answers)  # both arrived, and both wait
        assert proxy.post("/__test__/release").status == 200
        responses = [answer.result(timeout=10) for answer in answers]
    assert [(r.status, r.json["config_id"]) for r in responses] == [(200, "CHAR_luna")] * 2


def test_reply_fault_sends_exactly_that_body(proxy: Client) -> None:
    session_id = proxy.new_session()
    proxy.fault(endpoint="chat", kind="reply", body={"unexpected": True})
    response = proxy.chat(session_id, "hi")
    assert (response.status, response.json) == (200, {"unexpected": True})


def test_a_fault_is_used_up_after_its_times(proxy: Client) -> None:
    proxy.fault(endpoint="sessions", kind="status", status=500, times=2)
    statuses = [proxy.post("/api/sessions", {"config_id": "c"}).status for _ in range(3)]
    assert statuses == [500, 500, 200]


def test_faults_apply_in_the_order_queued(proxy: Client) -> None:
    proxy.fault(endpoint="sessions", kind="status", status=500)
    proxy.fault(endpoint="sessions", kind="status", status=429)
    statuses = [proxy.post("/api/sessions", {"config_id": "c"}).status for _ in range(3)]
    assert statuses == [500, 429, 200]


def test_a_fault_only_hits_its_endpoint(proxy: Client) -> None:
    session_id = proxy.new_session()
    proxy.fault(endpoint="sessions", kind="status", status=500)
    assert proxy.chat(session_id, "hi").status == 200
    assert proxy.post("/api/sessions", {"config_id": "c"}).status == 500


def test_preflight_requests_do_not_use_up_faults(proxy: Client) -> None:
    proxy.fault(endpoint="any", kind="status", status=500)
    assert proxy.request("OPTIONS", "/api/sessions").status == 204
    assert proxy.post("/api/sessions", {"config_id": "c"}).status == 500


@pytest.mark.parametrize(
    "spec",
    [
        {"endpoint": "chat", "kind": "explode"},
        {"endpoint": "elsewhere", "kind": "drop"},
        {"endpoint": "chat", "kind": "status"},
        {"endpoint": "chat", "kind": "delay"},
        {"endpoint": "chat", "kind": "drop", "times": 0},
        {"endpoint": "chat", "kind": "reply"},
    ],
)
def test_an_invalid_fault_is_rejected(proxy: Client, spec: dict[str, Any]) -> None:
    assert proxy.post("/__test__/fault", spec).status == 400


# -- expire, log, reset ----------------------------------------------------------
def test_expired_sessions_answer_410(proxy: Client) -> None:
    session_id = proxy.new_session()
    assert proxy.post("/__test__/expire", {"session_id": session_id}).status == 200
    response = proxy.chat(session_id, "hi")
    assert (response.status, response.json) == (410, {"error": "Session expired"})


def test_expire_can_make_sessions_answer_404(proxy: Client) -> None:
    session_id = proxy.new_session()
    proxy.post("/__test__/expire", {"session_id": session_id, "status": 404})
    response = proxy.chat(session_id, "hi")
    assert (response.status, response.json) == (404, {"error": "Session not found"})


def test_expire_without_an_id_expires_every_session(proxy: Client) -> None:
    first, second = proxy.new_session(), proxy.new_session()
    proxy.post("/__test__/expire", {})
    assert [proxy.chat(s, "hi").status for s in (first, second)] == [410, 410]
    assert proxy.chat(proxy.new_session(), "hi").status == 200


def test_log_lists_api_requests_including_failed_ones(proxy: Client) -> None:
    proxy.post("/api/sessions", {"config_id": "CHAR_luna"})
    proxy.post("/api/chat", raw=b"not json")
    proxy.request("OPTIONS", "/api/chat")
    assert proxy.log()["requests"] == [
        {"method": "POST", "path": "/api/sessions", "body": {"config_id": "CHAR_luna"}},
        {"method": "POST", "path": "/api/chat", "body": "not json"},
    ]


def test_log_shows_sessions_with_counts_and_expiry(proxy: Client) -> None:
    used, expired = proxy.new_session("CHAR_luna"), proxy.new_session("CHAR_atlas")
    proxy.chat(used, "a")
    proxy.chat(used, "b")
    proxy.post("/__test__/expire", {"session_id": expired})
    assert proxy.log()["sessions"] == {
        used: {"config_id": "CHAR_luna", "count": 2, "expired": False},
        expired: {"config_id": "CHAR_atlas", "count": 0, "expired": True},
    }


def test_reset_clears_sessions_faults_and_log(proxy: Client) -> None:
    session_id = proxy.new_session()
    proxy.fault(endpoint="sessions", kind="status", status=500)
    assert proxy.post("/__test__/reset").status == 200
    assert proxy.log() == {"requests": [], "sessions": {}}
    assert proxy.chat(session_id, "hi").status == 404
    assert proxy.post("/api/sessions", {"config_id": "c"}).status == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/__test__/reset"),
        ("POST", "/__test__/fault"),
        ("POST", "/__test__/expire"),
        ("GET", "/__test__/log"),
    ],
)
def test_control_api_is_404_unless_enabled(plain_proxy: Client, method: str, path: str) -> None:
    body = {"endpoint": "any", "kind": "drop"} if path.endswith("fault") else None
    response = plain_proxy.request(method, path, body)
    assert response.status == 404
    assert plain_proxy.post("/api/sessions", {"config_id": "c"}).status == 200


# -- command line ----------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_running_as_a_script_serves_until_sigterm() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "demo_proxy.py"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"Demo proxy: http://127.0.0.1:{port}"
        assert Client(port).post("/api/sessions", {"config_id": "c"}).status == 200
        os.kill(process.pid, signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert out.strip().endswith("Stopped.")
    assert "Traceback" not in err


# -- streamed replies --------------------------------------------------------------
SSE_ACCEPT = {"Accept": "text/event-stream, application/json"}


@pytest.fixture
def streaming_proxy() -> Iterator[Client]:
    yield from _serve(test_faults=True, stream_delay_ms=0)


def read_stream(response: Response) -> ReplyStream:
    """The body as the page reads it."""
    assert response.headers["Content-Type"].startswith("text/event-stream"), response.headers["Content-Type"]
    reply = ReplyStream()
    reply.feed(response.raw)
    reply.close()
    return reply


def streamed_chat(client: Client, session_id: str, text: str) -> Response:
    return client.post("/api/chat", {"session_id": session_id, "config_id": "CHAR_luna", "input": text},
                       headers=SSE_ACCEPT)


def test_a_client_that_accepts_a_stream_gets_the_reply_word_by_word(streaming_proxy: Client) -> None:
    session_id = streaming_proxy.new_session()
    response = streamed_chat(streaming_proxy, session_id, "hi")
    reply = read_stream(response)
    assert reply.result().text == make_reply("CHAR_luna", "hi", 1)
    assert reply.session_id == session_id
    assert response.raw.count(b'"type": "text-delta"') == len(stream_deltas(make_reply("CHAR_luna", "hi", 1)))
    assert response.raw.endswith(b"data: [DONE]\n\n")


def test_a_client_that_accepts_only_json_gets_json_from_a_streaming_proxy(streaming_proxy: Client) -> None:
    session_id = streaming_proxy.new_session()
    assert streaming_proxy.chat(session_id, "hi").json["ai"] == make_reply("CHAR_luna", "hi", 1)


def test_a_proxy_without_streaming_answers_json_even_when_a_stream_is_accepted(proxy: Client) -> None:
    session_id = proxy.new_session()
    assert streamed_chat(proxy, session_id, "hi").json["ai"] == make_reply("CHAR_luna", "hi", 1)


def test_an_expired_session_is_a_status_before_any_event(streaming_proxy: Client) -> None:
    session_id = streaming_proxy.new_session()
    assert streaming_proxy.post("/__test__/expire", {"session_id": session_id}).status == 200
    response = streamed_chat(streaming_proxy, session_id, "hi")
    assert response.status == 410 and response.json == {"error": "Session expired"}


@pytest.mark.parametrize(
    ("spec", "outcome", "text"),
    [
        ({"cut_after": 2}, ReplyOutcome.CUT_OFF, "Luna (message "),
        ({"error_after": 1, "error_text": "overloaded"}, ReplyOutcome.FAILED, "Luna "),
        ({"stall_after": 1, "stall_ms": 300}, ReplyOutcome.COMPLETE, make_reply("CHAR_luna", "hi", 1)),
    ],
)
def test_stream_faults_cut_fail_or_stall_the_reply(
    proxy: Client, spec: dict[str, Any], outcome: ReplyOutcome, text: str
) -> None:
    session_id = proxy.new_session()
    proxy.fault(endpoint="chat", kind="stream", **spec)
    started = time.monotonic()
    reply = read_stream(streamed_chat(proxy, session_id, "hi"))
    assert reply.outcome is outcome and reply.text == text
    if "stall_ms" in spec:
        assert time.monotonic() - started >= 0.3
    if "error_text" in spec:
        assert reply.error == "overloaded"


def test_a_stream_fault_can_name_a_new_session_that_then_works(proxy: Client) -> None:
    session_id = proxy.new_session()
    proxy.fault(endpoint="chat", kind="stream", session_id="sess_rotated")
    assert read_stream(streamed_chat(proxy, session_id, "hi")).session_id == "sess_rotated"
    assert proxy.chat("sess_rotated", "again").json["message_count"] == 2


def test_a_raw_stream_fault_is_sent_byte_for_byte(proxy: Client) -> None:
    session_id = proxy.new_session()
    raw = ': ping\r\ndata: {"type":"text-delta","id":"a","delta":"x"}\r\n\r\ndata: [DONE]\r\n\r\n'
    proxy.fault(endpoint="chat", kind="stream", raw=raw)
    assert streamed_chat(proxy, session_id, "hi").raw == raw.encode()


@pytest.mark.parametrize("spec", [{"cut_after": -1}, {"delay_ms": "soon"}, {"extra_parts": ["x"]}, {"raw": 5}])
def test_bad_stream_faults_are_refused(proxy: Client, spec: dict[str, Any]) -> None:
    assert proxy.post("/__test__/fault", {"endpoint": "chat", "kind": "stream", **spec}).status == 400


# -- a hostile proxy ---------------------------------------------------------------


def _raw_chat(proxy: Client, session_id: str, read_for: float = 0.6) -> bytes:
    """What the proxy sends in ``read_for`` seconds to a chat request (a hostile answer may never end)."""
    body = json.dumps({"session_id": session_id, "config_id": "CHAR_luna", "input": "hi"}).encode()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=read_for) as conn:
        conn.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        received = b""
        deadline = time.monotonic() + read_for
        while time.monotonic() < deadline:
            try:
                piece = conn.recv(65536)
            except TimeoutError:
                break
            if not piece:
                break
            received += piece
        return received


def test_a_nested_fault_nests_the_reply_or_the_error_that_deep(proxy: Client) -> None:
    session_id = proxy.new_session()
    proxy.fault(endpoint="chat", kind="nested", depth=3)
    assert proxy.chat(session_id, "hi").raw == b'{"ai":{"ai":{"ai":null}}}'
    proxy.fault(endpoint="chat", kind="nested", depth=2, status=400)
    answer = proxy.chat(session_id, "hi")
    assert (answer.status, answer.raw) == (400, b'{"error":{"error":null}}')


def test_a_redirect_fault_points_elsewhere_with_cors_headers(proxy: Client) -> None:
    proxy.fault(endpoint="sessions", kind="redirect", location="http://127.0.0.1:9/api/sessions")
    answer = proxy.post("/api/sessions", {"config_id": "CHAR_luna"})
    assert answer.status == 307 and answer.headers["Location"] == "http://127.0.0.1:9/api/sessions"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_an_oversized_fault_sends_that_much_with_or_without_its_length(proxy: Client) -> None:
    session_id = proxy.new_session()
    proxy.fault(endpoint="chat", kind="oversized", size=3000)
    answer = proxy.chat(session_id, "hi")
    assert len(answer.json["ai"]) == 3000 and answer.headers["Content-Length"] == str(len(answer.raw))
    proxy.fault(endpoint="chat", kind="oversized", size=3000, announce=False)
    answer = proxy.chat(session_id, "hi")
    assert answer.headers["Content-Length"] is None and len(json.loads(answer.raw)["ai"]) == 3000
    proxy.fault(endpoint="chat", kind="oversized", stream=True, deltas=[10, 20])
    reply = ReplyStream()
    reply.feed(proxy.chat(session_id, "hi").raw)
    reply.close()
    assert reply.outcome is ReplyOutcome.COMPLETE and len(reply.text) == 30


def test_a_lying_length_fault_announces_more_than_it_sends_and_holds_on(proxy: Client) -> None:
    session_id = proxy.new_session()
    proxy.fault(endpoint="chat", kind="lying_length", length=5000, body='{"ai": "short')
    received = _raw_chat(proxy, session_id)
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"Content-Length: 5000" in head and body == b'{"ai": "short'


def test_a_stalled_chunks_fault_sends_chunks_and_never_the_last_one(proxy: Client) -> None:
    session_id = proxy.new_session()
    proxy.fault(endpoint="chat", kind="stalled_chunks", chunks=['{"ai": ', '"half'])
    head, _, body = _raw_chat(proxy, session_id).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Transfer-Encoding: chunked" in head
    assert body == b'7\r\n{"ai": \r\n5\r\n"half\r\n'  # no "0\r\n\r\n"


def test_a_trickle_fault_sends_one_byte_an_interval(proxy: Client) -> None:
    session_id = proxy.new_session()
    proxy.fault(endpoint="chat", kind="trickle", interval_ms=100)
    body = _raw_chat(proxy, session_id, read_for=0.55).partition(b"\r\n\r\n")[2]
    assert 3 <= len(body) <= 7 and b'{"ai": "The start'.startswith(body)


def test_a_bad_session_id_fault_names_junk_in_an_otherwise_normal_answer(proxy: Client) -> None:
    proxy.fault(endpoint="sessions", kind="bad_session_id", value=None)
    assert proxy.post("/api/sessions", {"config_id": "CHAR_luna"}).json["session_id"] is None
    session_id = proxy.new_session()
    proxy.fault(endpoint="chat", kind="bad_session_id", value="undefined")
    answer = proxy.chat(session_id, "hi").json
    assert answer["session_id"] == "undefined" and answer["ai"] == make_reply("CHAR_luna", "hi", 1)


@pytest.mark.parametrize("spec", [{"kind": "redirect"}, {"kind": "redirect", "location": "x", "status": 200},
                                  {"kind": "trickle", "interval_ms": 0}, {"kind": "oversized", "deltas": ["x"]},
                                  {"kind": "stalled_chunks", "chunks": [1]}, {"kind": "nested", "depth": 0}])
def test_bad_hostile_faults_are_refused(proxy: Client, spec: dict[str, Any]) -> None:
    assert proxy.post("/__test__/fault", {"endpoint": "chat", **spec}).status == 400


def test_a_stream_fault_can_ask_for_a_long_reply_of_so_many_words(proxy: Client) -> None:
    session_id = proxy.new_session()
    proxy.fault(endpoint="chat", kind="stream", words=4000)
    reply = read_stream(streamed_chat(proxy, session_id, "hi"))
    assert reply.outcome is ReplyOutcome.COMPLETE and len(reply.text.split()) == 4000
    assert reply.text == long_reply(4000)


@pytest.mark.parametrize("words", [0, -1, 100_001, 2.5, True, "9"])
def test_a_stream_fault_refuses_a_reply_length_that_is_not_a_sensible_count(proxy: Client, words: Any) -> None:
    response = proxy.post("/__test__/fault", {"endpoint": "chat", "kind": "stream", "words": words})
    assert response.status == 400 and "words" in response.json["error"]
