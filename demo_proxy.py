"""A local stand-in for the character chat service the page talks to.

The chat page never talks to a character service directly: it calls a proxy
with two endpoints. This module implements that contract in memory so the
page can be developed and tested on one machine, with no account and no
network::

    python3 demo_proxy.py --port 3000            # what serve.py starts for you
    python3 demo_proxy.py --port 3000 --test-faults

Contract (every response carries ``Access-Control-Allow-Origin: *``):

``POST /api/sessions`` ``{"config_id": "CHAR_luna"}``
    -> 200 ``{"session_id", "config_id", "user_id", "session_status",
    "updated_at"}``

``POST /api/chat`` ``{"session_id", "config_id", "input"}``
    -> 200 ``{"ai": "<reply>", "session_id", "message_count"}``;
    404 unknown session, 410 expired session, 400 bad request. Made with
    ``stream_delay_ms`` (serve.py does), it streams the reply to a client that
    accepts ``text/event-stream``: the AI SDK UI message stream (``start``,
    ``data-session``, ``text-start``, a ``text-delta`` per word, ``text-end``,
    ``finish``, ``[DONE]``), ``stream_delay_ms`` between words.

Demo characters: ``CHAR_luna`` (Luna, a gentle stargazer), ``CHAR_atlas``
(Atlas, a terse cartographer) and ``CHAR_echo`` (Echo, replies with the input
verbatim). Any other config id gets a generic persona. Replies are
deterministic and name the message number within the session, so session
reuse is visible on the page.

With ``--test-faults`` (``make_proxy_server(..., test_faults=True)``) a
control API for browser tests is added under ``/__test__/``: ``reset``,
``fault``, ``expire`` and ``log``. It is off by default; without the flag
those paths answer 404. See ``ProxyHandler`` for the exact bodies.

Example::

    >>> server = make_proxy_server("127.0.0.1", 0)
    >>> threading.Thread(target=server.serve_forever, daemon=True).start()
    >>> # POST http://127.0.0.1:<server.server_address[1]>/api/sessions ...
    >>> server.shutdown(); server.server_close()
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import re
import secrets
import select
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from serving.http import LocalServer, QuietHandler, http_url, is_address_in_use, wait_for_stop_signal

MAX_BODY_BYTES = 1024 * 1024
MAX_CONFIG_ID_CHARS = 128
MAX_DELAY_MS = 600_000
DEMO_USER_ID = "demo-user"

SESSIONS_PATH = "/api/sessions"
CHAT_PATH = "/api/chat"
API_PATHS = (SESSIONS_PATH, CHAT_PATH)
TEST_PREFIX = "/__test__/"
TEST_PATHS = {
    "/__test__/reset": "POST",
    "/__test__/fault": "POST",
    "/__test__/expire": "POST",
    "/__test__/release": "POST",
    "/__test__/log": "GET",
}
FAULT_ENDPOINTS = {"chat": (CHAT_PATH,), "sessions": (SESSIONS_PATH,), "any": API_PATHS}
FAULT_KINDS = ("status", "drop", "malformed", "html", "delay", "hold", "reply", "stream")
# A hostile proxy's answers (issue 19), each a class of response the page must survive.
HOSTILE_KINDS = ("nested", "redirect", "oversized", "lying_length", "trickle", "stalled_chunks", "bad_session_id")
MAX_HOLD_MS = 120_000  # the longest a hostile answer keeps a connection open (the page gives up far sooner)
MAX_OVERSIZED_BYTES = 64 * 1024 * 1024
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# A streamed reply's options (fault kind "stream"): each a count of deltas, or milliseconds.
STREAM_COUNTS = ("cut_after", "stall_after", "error_after", "hold_after")
MAX_STREAM_WORDS = 100_000  # fault option "words": a long reply of that many words, for the benchmark
LONG_REPLY_WORDS = ("the", "stars", "drift", "over", "a", "quiet", "sea", "and", "Luna", "counts", "them",
                    "one", "by", "one,")
DEFAULT_STREAM_DELAY_MS = 35  # between words: fast enough to read along, slow enough to see it stream

MALFORMED_JSON = b'{"ai": "unterminated'
GATEWAY_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    b"<body><h1>502 Bad Gateway</h1><p>The upstream character service did not"
    b" answer.</p><hr><address>demo gateway</address></body></html>\n"
)


@dataclass(frozen=True)
class Character:
    name: str
    persona: str
    sign_offs: tuple[str, ...] = ()


CHARACTERS: dict[str, Character] = {
    "CHAR_luna": Character(
        "Luna",
        "a gentle stargazer",
        ("*The stars agree.*", "*The moon is listening.*", "*Orion sends his regards.*"),
    ),
    "CHAR_atlas": Character(
        "Atlas",
        "a terse cartographer",
        ("**Noted on the map.**", "**Charted.**", "**Bearing logged.**"),
    ),
    "CHAR_echo": Character("Echo", "repeats every message verbatim"),
}
GENERIC_SIGN_OFFS = ("Thanks for chatting.", "Tell me more.", "Nice to hear from you.")


# What a character answers to a message that mentions Markdown: what the page can format.
MARKDOWN_SAMPLE = """\
*{name} smiles.* Here is what I can write, **{where}**:

## A little of everything

1. *emphasis*, **strong** and ~~struck~~ text, `inline code`
2. a [link](https://commonmark.org/help/) that opens in a new tab
3. a list inside a list:
   - stars
   - maps

> A quote, for the wise.

```python
def greet(name):
    return f"Hello, {{name}}!"
```

| Star | Constellation |
| :--- | ---: |
| Betelgeuse | Orion |
| Vega | Lyra |

---
*{sign_off}*"""


def long_reply(words: int) -> str:
    """A reply of exactly ``words`` words (ASCII, deterministic), for timing long streamed replies.

    >>> long_reply(5)
    'The stars drift over a'
    """
    text = " ".join(LONG_REPLY_WORDS[i % len(LONG_REPLY_WORDS)] for i in range(words))
    return text[:1].upper() + text[1:]


def make_reply(config_id: str, text: str, message_number: int) -> str:
    """The deterministic reply of character ``config_id`` to its nth message, in Markdown.

    >>> make_reply("CHAR_luna", "hi", 1)
    'Luna (message 1 in this session): you said "hi". *The stars agree.*'
    >>> make_reply("CHAR_echo", "<b>hi</b>", 7)
    '<b>hi</b>'

    A message that mentions Markdown gets :data:`MARKDOWN_SAMPLE`.
    """
    character = CHARACTERS.get(config_id)
    if config_id == "CHAR_echo":
        return text
    sign_offs: tuple[str, ...]
    if character is None:
        name, sign_offs = f"Demo character {config_id}", GENERIC_SIGN_OFFS
    else:
        name, sign_offs = character.name, character.sign_offs
    sign_off = sign_offs[(message_number - 1) % len(sign_offs)]
    where = f"message {message_number} in this session"
    if "markdown" in text.lower():
        return MARKDOWN_SAMPLE.format(name=name, where=where, sign_off=sign_off.strip("*"))
    return f'{name} ({where}): you said "{text}". {sign_off}'


@dataclass
class Session:
    config_id: str
    count: int = 0
    expired_status: int | None = None


@dataclass
class Fault:
    endpoint: str
    kind: str
    times: int
    spec: dict[str, Any]

    def matches(self, path: str) -> bool:
        return path in FAULT_ENDPOINTS[self.endpoint]


@dataclass
class ProxyState:
    """Sessions, queued faults and the request log, guarded by one lock."""

    sessions: dict[str, Session] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Open while no "hold" fault waits for a release: held requests wait on it.
    released: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.released.set()

    def reset(self) -> None:
        with self.lock:
            self.sessions.clear()
            self.faults.clear()
            self.requests.clear()
        self.released.set()  # nothing stays held past a reset

    def take_fault(self, path: str) -> Fault | None:
        """Consume one use of the oldest queued fault matching ``path``."""
        with self.lock:
            for fault in self.faults:
                if fault.matches(path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None


class BadRequest(Exception):
    """A request the proxy answers with an error status and JSON message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _is_valid_config_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_CONFIG_ID_CHARS


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest(f"{name} must be a positive integer")
    return value


def parse_fault(body: Any) -> Fault:
    """Validate a ``/__test__/fault`` request body into a :class:`Fault`."""
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    endpoint = body.get("endpoint", "any")
    if endpoint not in FAULT_ENDPOINTS:
        raise BadRequest('endpoint must be "chat", "sessions" or "any"')
    kind = body.get("kind")
    if kind not in FAULT_KINDS + HOSTILE_KINDS:
        raise BadRequest("kind must be one of: " + ", ".join(FAULT_KINDS + HOSTILE_KINDS))
    times = _positive_int(body.get("times", 1), "times")
    if kind == "status":
        status = body.get("status")
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise BadRequest("status must be an integer from 200 to 599")
        if "body" in body and not isinstance(body["body"], (dict, str)):
            raise BadRequest("body must be a JSON object or a string")
    elif kind == "delay":
        delay = body.get("delay_ms")
        if isinstance(delay, bool) or not isinstance(delay, (int, float)):
            raise BadRequest("delay_ms must be a number")
        if not 0 <= delay <= MAX_DELAY_MS:
            raise BadRequest(f"delay_ms must be between 0 and {MAX_DELAY_MS}")
    elif kind == "reply" and "body" not in body:
        raise BadRequest("a reply fault needs a body")
    elif kind == "stream":
        _check_stream_spec(body)
    elif kind in HOSTILE_KINDS:
        _check_hostile_spec(kind, body)
    return Fault(endpoint=endpoint, kind=kind, times=times, spec=body)


def _check_stream_spec(body: dict[str, Any]) -> None:
    for name in (*STREAM_COUNTS, "delay_ms", "stall_ms"):
        value = body.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DELAY_MS:
            raise BadRequest(f"{name} must be a whole number from 0 to {MAX_DELAY_MS}")
    words = body.get("words", 1)
    if isinstance(words, bool) or not isinstance(words, int) or not 1 <= words <= MAX_STREAM_WORDS:
        raise BadRequest(f"words must be a whole number from 1 to {MAX_STREAM_WORDS}")
    for name in ("error_text", "raw", "session_id"):
        if name in body and not isinstance(body[name], str):
            raise BadRequest(f"{name} must be a string")
    parts = body.get("extra_parts", [])
    if not isinstance(parts, list) or not all(isinstance(part, dict) for part in parts):
        raise BadRequest("extra_parts must be a list of JSON objects")


def _check_hostile_spec(kind: str, body: dict[str, Any]) -> None:
    def whole(name: str, default: int, low: int, high: int) -> None:
        value = body.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise BadRequest(f"{name} must be a whole number from {low} to {high}")

    whole("hold_ms", MAX_HOLD_MS, 0, MAX_HOLD_MS)
    whole("interval_ms", 1000, 1, MAX_HOLD_MS)
    whole("status", 307 if kind == "redirect" else 200, 200, 599)
    whole("depth", 20_000, 1, 10_000_000)
    whole("size", 2 * 1024 * 1024, 0, MAX_OVERSIZED_BYTES)
    whole("length", 100_000, 0, MAX_OVERSIZED_BYTES)
    for name in ("stream", "announce"):
        if not isinstance(body.get(name, False), bool):
            raise BadRequest(f"{name} must be true or false")
    for name in ("body", "chunk", "location"):
        if name in body and not isinstance(body[name], str):
            raise BadRequest(f"{name} must be a string")
    if kind == "redirect" and ("location" not in body or body.get("status", 307) not in REDIRECT_STATUSES):
        raise BadRequest("a redirect needs a location and a status of " + ", ".join(map(str, REDIRECT_STATUSES)))
    chunks = body.get("chunks", [])
    if not isinstance(chunks, list) or not all(isinstance(chunk, str) for chunk in chunks):
        raise BadRequest("chunks must be a list of strings")
    deltas = body.get("deltas", [64 * 1024] * 32)
    if not isinstance(deltas, list) or not all(isinstance(n, int) and 0 <= n <= MAX_OVERSIZED_BYTES for n in deltas):
        raise BadRequest(f"deltas must be a list of sizes from 0 to {MAX_OVERSIZED_BYTES}")


def sse_event(part: dict[str, Any] | str) -> bytes:
    """One Server-Sent Event carrying ``part`` (an AI SDK UI message stream part, or ``[DONE]``).

    >>> sse_event({"type": "finish"})
    b'data: {"type": "finish"}\\n\\n'
    """
    data = part if isinstance(part, str) else json.dumps(part)
    return f"data: {data}\n\n".encode()


def stream_deltas(text: str) -> list[str]:
    """``text`` in the pieces a streamed reply sends: word by word, each with the space after it.

    >>> stream_deltas("Hello there, you")
    ['Hello ', 'there, ', 'you']
    """
    return re.findall(r"\s*\S+\s*|\s+", text) or [text]


HOSTILE_JSON_HEAD = '{"ai": "The start of a reply that never ends'
HOSTILE_STREAM_HEAD = (
    'data: {"type":"start"}\n\ndata: {"type":"text-start","id":"t"}\n\n'
    'data: {"type":"text-delta","id":"t","delta":"The start of a reply that never ends"}\n\n'
)
HOSTILE_STREAM_FILLER = b'data: {"type":"text-delta","id":"t","delta":"."}\n\n'


def _oversized_stream(sizes: list[int]) -> bytes:
    """A complete UI message stream with one text delta of each of ``sizes`` characters."""
    parts: list[dict[str, Any] | str] = [{"type": "start"}, {"type": "text-start", "id": "t"}]
    parts += [{"type": "text-delta", "id": "t", "delta": _words(size)} for size in sizes]
    parts += [{"type": "text-end", "id": "t"}, {"type": "finish"}, "[DONE]"]
    return b"".join(map(sse_event, parts))


def _words(size: int) -> str:
    """``size`` characters of words and spaces: a long reply, not one unbroken word."""
    return ("Lorem ipsum dolor sit amet. " * (size // 28 + 1))[:size]


def _byte(value: int) -> bytes:
    return bytes((value,))


class ProxyHandler(QuietHandler):
    """Routes the proxy contract and, when enabled, the ``/__test__/`` API.

    Test control API (only with ``test_faults``):

    - ``POST /__test__/reset`` clears sessions, queued faults and the log.
    - ``POST /__test__/fault`` ``{"endpoint": "chat"|"sessions"|"any",
      "kind": ..., "times": 1}`` queues a fault for the next matching POST.
      Kinds: ``status`` (+ ``status``, optional ``body``: object sent as JSON
      or string sent as text/plain), ``drop`` (close without answering),
      ``malformed`` (200 with truncated JSON), ``html`` (502 HTML page),
      ``delay`` (+ ``delay_ms``, then normal handling), ``hold`` (wait until
      ``/__test__/release``, a reset or ``MAX_HOLD_MS``, then normal
      handling: a test decides when the answer comes), ``reply`` (+ ``body``,
      sent as the 200 JSON body), ``stream`` (the reply streamed whatever the
      client accepts, with the options of :meth:`_stream`: ``delay_ms``,
      ``cut_after``, ``stall_after`` + ``stall_ms``, ``hold_after``, ``error_after`` +
      ``error_text``, ``session_id``, ``extra_parts``, ``words``, ``raw``).
      A hostile proxy's kinds (each closes the connection when done):
      ``nested`` (+ ``depth``, ``status``: JSON nested that deep, in
      ``ai`` for a 2xx, in ``error`` otherwise), ``redirect`` (+
      ``location``, ``status`` 301/302/303/307/308), ``oversized`` (+
      ``size`` characters of JSON reply, ``announce``: send
      ``Content-Length``; or with ``stream``, a text delta of each of
      ``deltas`` characters, default 32 of 64 KiB), ``lying_length`` (+ ``length`` announced, ``body``
      sent, then silence for ``hold_ms``), ``stalled_chunks`` (+ ``chunks``
      sent chunked, then silence, never the last chunk), ``trickle`` (+
      ``interval_ms``: one byte of an endless body each interval, or the
      whole ``chunk`` each time; for ``hold_ms``), ``bad_session_id`` (+
      ``value``: any JSON, named as the session in an otherwise normal
      answer). ``stream`` makes the body an event stream, else JSON.
    - ``POST /__test__/expire`` ``{"session_id": ...}`` or ``{}`` for all,
      optional ``"status": 404|410`` (default 410).
    - ``POST /__test__/release`` lets every held request go on.
    - ``GET /__test__/log`` ``{"requests": [...], "sessions": {...}}``.
    """

    server: ProxyServer
    # HTTP/1.0: one request per connection. A browser retries a request that
    # died on a *reused* keep-alive connection, which would hide "drop".
    protocol_version = "HTTP/1.0"
    server_version = "DemoProxy/1.0"
    timeout = 30

    # -- plumbing -------------------------------------------------------
    def _cors_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Vary", "Origin")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self._cors_headers()
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode("ascii")  # \u escapes: lone surrogates stay valid JSON
        self._send(status, body, "application/json", extra)

    def _send_error_json(self, status: int, message: str) -> None:
        self._send_json(status, {"error": message})

    @property
    def _route(self) -> str:
        return self.path.split("?", 1)[0].split("#", 1)[0]

    def _known_paths(self) -> dict[str, str]:
        """Path -> allowed method for the endpoints this server exposes."""
        paths = {path: "POST" for path in API_PATHS}
        if self.server.test_faults:
            paths.update(TEST_PATHS)
        return paths

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise BadRequest("Content-Length is required", HTTPStatus.LENGTH_REQUIRED)
        raw_length = self.headers.get("Content-Length", "0").strip() or "0"
        try:
            length = int(raw_length)
        except ValueError:
            raise BadRequest("Invalid Content-Length") from None
        if length < 0:
            raise BadRequest("Invalid Content-Length")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise BadRequest("Request body too large", HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        return self.rfile.read(length) if length else b""

    @staticmethod
    def _parse_json(raw: bytes) -> Any:
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("Request body must be JSON") from None

    @staticmethod
    def _loggable(raw: bytes | None) -> Any:
        if not raw:
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return raw.decode("utf-8", errors="replace")

    def _record(self, raw: bytes | None) -> None:
        if not self.server.test_faults:
            return
        entry = {
            "method": self.command,
            "path": self._route,
            "body": self._loggable(raw),
        }
        with self.server.state.lock:
            self.server.state.requests.append(entry)

    # -- dispatch -------------------------------------------------------
    def do_OPTIONS(self) -> None:
        if self._route not in self._known_paths():
            self._send_error_json(404, "Not found")
            return
        extra = {
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        }
        if self._route == "/__test__/log":
            extra["Access-Control-Allow-Methods"] = "GET, OPTIONS"
        if self.headers.get("Access-Control-Request-Private-Network"):
            extra["Access-Control-Allow-Private-Network"] = "true"
        self._send(204, extra=extra)

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        route = self._route
        is_api = route.startswith("/api/")
        raw: bytes | None = None
        recorded = False
        try:
            allowed = self._known_paths().get(route)
            if self.command in ("POST", "PUT", "PATCH") or self.headers.get("Content-Length"):
                raw = self._read_body()
            if is_api:
                self._record(raw)
                recorded = True
            if allowed is None:
                raise BadRequest("Not found", 404)
            if self.command != allowed:
                self._send_json(
                    405,
                    {"error": "Method not allowed"},
                    {"Allow": f"{allowed}, OPTIONS"},
                )
                return
            if is_api:
                self._handle_api(route, raw or b"")
            else:
                self._handle_test(route, raw or b"")
        except BadRequest as error:
            if is_api and not recorded:
                self._record(raw)
            self._send_error_json(error.status, str(error))

    # -- the proxy contract ----------------------------------------------
    def _handle_api(self, route: str, raw: bytes) -> None:
        fault = self.server.state.take_fault(route)
        if fault is not None and self._apply_fault(fault):
            return
        body = self._parse_json(raw)
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        answer = self._create_session(body) if route == SESSIONS_PATH else self._chat(body)
        if fault is not None and fault.kind == "bad_session_id":  # the real session exists; the answer names junk
            answer["session_id"] = fault.spec.get("value")
        if route == SESSIONS_PATH:
            self._send_json(200, answer)
            return
        reply = answer
        if fault is not None and fault.kind == "stream":
            self._stream(reply, fault.spec)
        elif self.server.stream_delay_ms is not None and "text/event-stream" in self.headers.get("Accept", ""):
            self._stream(reply, {"delay_ms": self.server.stream_delay_ms})
        else:
            self._send_json(200, reply)

    def _stream(self, reply: dict[str, Any], spec: dict[str, Any]) -> None:
        """Send ``reply`` as an AI SDK UI message stream, word by word, acting out ``spec``'s faults.

        ``delay_ms`` between words; after ``cut_after`` words the connection
        drops, after ``stall_after`` it stalls ``stall_ms``, after ``hold_after``
        it waits for ``/__test__/release`` (as the ``hold`` fault does), after
        ``error_after`` an ``error`` part (``error_text``) ends it.
        ``session_id`` names a session in a ``data-session`` part (made
        valid here), ``extra_parts`` come before the text, ``words`` replaces
        the reply's text with :func:`long_reply` of that many words, and
        ``raw`` is sent instead of everything, byte for byte.
        """
        self.send_response(200)
        self._cors_headers()
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("x-vercel-ai-ui-message-stream", "v1")
        self.end_headers()  # HTTP/1.0: the body ends when the connection closes
        self.close_connection = True
        session_id = spec.get("session_id", reply["session_id"])
        if session_id != reply["session_id"]:
            with self.server.state.lock:
                old = self.server.state.sessions[reply["session_id"]]
                self.server.state.sessions[session_id] = Session(old.config_id, old.count)
        opening = [{"type": "start", "messageId": "msg_" + secrets.token_hex(6)},
                   {"type": "data-session", "data": {"session_id": session_id}},
                   *spec.get("extra_parts", []), {"type": "text-start", "id": "text-1"}]
        delay = spec.get("delay_ms", 0) / 1000
        try:
            if "raw" in spec:
                self.wfile.write(str(spec["raw"]).encode("utf-8"))
                return
            self.wfile.write(b"".join(map(sse_event, opening)))
            text = long_reply(spec["words"]) if "words" in spec else reply["ai"]
            for count, delta in enumerate(stream_deltas(text)):
                if count == spec.get("cut_after"):
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if count == spec.get("stall_after"):
                    time.sleep(spec.get("stall_ms", 0) / 1000)
                if count == spec.get("hold_after"):
                    self.server.state.released.wait(MAX_HOLD_MS / 1000)
                if count == spec.get("error_after"):
                    error = {"type": "error", "errorText": spec.get("error_text", "The character service failed.")}
                    self.wfile.write(sse_event(error) + sse_event("[DONE]"))
                    return
                if count and delay:
                    time.sleep(delay)
                self.wfile.write(sse_event({"type": "text-delta", "id": "text-1", "delta": delta}))
            closing: list[dict[str, Any] | str] = [{"type": "text-end", "id": "text-1"}, {"type": "finish"}, "[DONE]"]
            self.wfile.write(b"".join(map(sse_event, closing)))
        except OSError:
            pass  # the page stopped reading (Stop, a new conversation): nothing to finish

    def _apply_fault(self, fault: Fault) -> bool:
        """Act out ``fault``; True when the response has been dealt with."""
        spec = fault.spec
        if fault.kind == "delay":
            time.sleep(float(spec["delay_ms"]) / 1000)
            return False
        if fault.kind == "hold":
            self.server.state.released.wait(MAX_HOLD_MS / 1000)
            return False
        if fault.kind in ("stream", "bad_session_id"):
            return False  # handled as a normal reply, then streamed or altered as the fault says
        if fault.kind in HOSTILE_KINDS:
            self.close_connection = True
            with contextlib.suppress(OSError):  # the page gave up on the answer: nothing to finish
                self._hostile(fault.kind, spec)
            return True
        if fault.kind == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        elif fault.kind == "malformed":
            self._send(200, MALFORMED_JSON, "application/json")
        elif fault.kind == "html":
            self._send(502, GATEWAY_ERROR_PAGE, "text/html; charset=utf-8")
        elif fault.kind == "reply":
            self._send_json(200, spec["body"])
        else:  # status
            status = int(spec["status"])
            body = spec.get("body")
            if status in (204, 205, 304):
                self._send(status)
            elif isinstance(body, str):
                self._send(status, body.encode("utf-8"), "text/plain; charset=utf-8")
            else:
                default = {"error": _reason(status)}
                self._send_json(status, body if body is not None else default)
        return True

    # -- a hostile proxy (issue 19) -------------------------------------------
    def _hostile(self, kind: str, spec: dict[str, Any]) -> None:
        """Answer as a hostile proxy would; see :data:`HOSTILE_KINDS` and the class docstring."""
        stream = spec.get("stream", False)
        content_type = "text/event-stream; charset=utf-8" if stream else "application/json"
        head = spec.get("body", HOSTILE_STREAM_HEAD if stream else HOSTILE_JSON_HEAD).encode("utf-8")
        if kind == "nested":
            status = spec.get("status", 200)
            opening = '{"ai":' if 200 <= status < 300 else '{"error":'
            depth = spec.get("depth", 20_000)
            self._send(status, (opening * depth + "null" + "}" * depth).encode(), "application/json")
        elif kind == "redirect":
            self._send(spec.get("status", 307), extra={"Location": spec["location"]})
        elif kind == "oversized":
            if stream:
                body = _oversized_stream(spec.get("deltas", [64 * 1024] * 32))
            else:
                body = json.dumps({"ai": _words(spec.get("size", 2 * 1024 * 1024))}).encode()
            extra = {"Content-Length": str(len(body))} if spec.get("announce", True) else {}
            self._send_head(200, content_type, extra)
            self.wfile.write(body)
        elif kind == "lying_length":
            self._send_head(200, content_type, {"Content-Length": str(spec.get("length", len(head) + 100_000))})
            self.wfile.write(head)
            self._hold(spec.get("hold_ms", MAX_HOLD_MS))
        elif kind == "stalled_chunks":
            self.protocol_version = "HTTP/1.1"  # for this answer only: chunked framing needs it
            self._send_head(200, content_type, {"Transfer-Encoding": "chunked", "Connection": "close"})
            for chunk in [c.encode("utf-8") for c in spec.get("chunks", [])] or [head]:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self._hold(spec.get("hold_ms", MAX_HOLD_MS))  # never the closing zero-size chunk
        else:  # trickle: ``chunk`` each interval, else one byte at a time of a body that never ends
            self._send_head(200, content_type)
            endless = itertools.chain(head, itertools.cycle(HOSTILE_STREAM_FILLER if stream else b"a"))
            pieces = itertools.repeat(spec["chunk"].encode("utf-8")) if "chunk" in spec else map(_byte, endless)
            deadline = time.monotonic() + spec.get("hold_ms", MAX_HOLD_MS) / 1000
            for piece in pieces:
                self.wfile.write(piece)
                if time.monotonic() >= deadline or self._hold(spec.get("interval_ms", 1000)):
                    return

    def _send_head(self, status: int, content_type: str, extra: dict[str, str] | None = None) -> None:
        """The status line and headers only: the body is the caller's (no ``Content-Length`` unless in ``extra``)."""
        self.send_response(status)
        self._cors_headers()
        self.send_header("Content-Type", content_type)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def _hold(self, milliseconds: int) -> bool:
        """Keep the connection open, sending nothing, for ``milliseconds``; True if the client left first."""
        readable, _, _ = select.select([self.connection], [], [], milliseconds / 1000)
        return bool(readable)  # a client that sent its request and then is readable has closed (or aborted)

    def _create_session(self, body: dict[str, Any]) -> dict[str, Any]:
        config_id = body.get("config_id")
        if not _is_valid_config_id(config_id):
            if isinstance(config_id, str) and config_id:
                raise BadRequest(f"config_id must be at most {MAX_CONFIG_ID_CHARS} characters")
            raise BadRequest("config_id is required")
        assert isinstance(config_id, str)
        session_id = "sess_" + secrets.token_hex(12)
        with self.server.state.lock:
            self.server.state.sessions[session_id] = Session(config_id)
        return {
            "session_id": session_id,
            "config_id": config_id,
            "user_id": DEMO_USER_ID,
            "session_status": "active",
            "updated_at": int(time.time()),
        }

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        session_id, config_id, text = (
            body.get("session_id"),
            body.get("config_id"),
            body.get("input"),
        )
        if not isinstance(session_id, str) or not session_id:
            raise BadRequest("session_id is required")
        if not _is_valid_config_id(config_id):
            raise BadRequest("config_id is required")
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("input is required")
        assert isinstance(config_id, str)
        with self.server.state.lock:
            session = self.server.state.sessions.get(session_id)
            if session is None or session.expired_status == 404:
                raise BadRequest("Session not found", 404)
            if session.expired_status is not None:
                raise BadRequest("Session expired", session.expired_status)
            if session.config_id != config_id:
                raise BadRequest("Session belongs to another character")
            session.count += 1
            count = session.count
        return {
            "ai": make_reply(config_id, text, count),
            "session_id": session_id,
            "message_count": count,
        }

    # -- test control API -----------------------------------------------
    def _handle_test(self, route: str, raw: bytes) -> None:
        state = self.server.state
        if route == "/__test__/log":
            with state.lock:
                payload = {
                    "requests": list(state.requests),
                    "sessions": {
                        sid: {
                            "config_id": s.config_id,
                            "count": s.count,
                            "expired": s.expired_status is not None,
                        }
                        for sid, s in state.sessions.items()
                    },
                }
            self._send_json(200, payload)
            return
        if route == "/__test__/reset":
            state.reset()
            self._send_json(200, {"ok": True})
            return
        body = self._parse_json(raw) if raw.strip() else {}
        if route == "/__test__/fault":
            fault = parse_fault(body)
            with state.lock:
                state.faults.append(fault)
                queued = len(state.faults)
            if fault.kind == "hold" or "hold_after" in fault.spec:
                state.released.clear()
            self._send_json(200, {"ok": True, "queued": queued})
        elif route == "/__test__/release":
            state.released.set()
            self._send_json(200, {"ok": True})
        else:
            self._send_json(200, {"ok": True, "expired": self._expire(body)})

    def _expire(self, body: Any) -> list[str]:
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        status = body.get("status", 410)
        if status not in (404, 410) or isinstance(status, bool):
            raise BadRequest("status must be 404 or 410")
        session_id = body.get("session_id")
        with self.server.state.lock:
            sessions = self.server.state.sessions
            if session_id is None:
                targets = list(sessions)
            elif session_id in sessions:
                targets = [session_id]
            else:
                raise BadRequest("Session not found", 404)
            for sid in targets:
                sessions[sid].expired_status = status
        return targets


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ProxyServer(LocalServer):
    """A threaded HTTP server holding the proxy's in-memory state."""

    daemon_threads = True

    def __init__(
        self, host: str, port: int, *, test_faults: bool = False, verbose: bool = False,
        stream_delay_ms: int | None = None,
    ):
        """``stream_delay_ms``: stream replies to clients that accept it, with that pause between words
        (None: always answer JSON)."""
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.state = ProxyState()
        self.test_faults = test_faults
        self.verbose = verbose
        self.stream_delay_ms = stream_delay_ms
        super().__init__((host, port), ProxyHandler)


def make_proxy_server(
    host: str, port: int, test_faults: bool = False, *, verbose: bool = False, stream_delay_ms: int | None = None
) -> ProxyServer:
    """Bind the demo proxy on ``host:port`` (0 picks a free port); call
    ``serve_forever()`` to run it. Raises ``OSError`` if the port is taken.
    With ``stream_delay_ms`` it streams replies (see :class:`ProxyServer`)."""
    return ProxyServer(host, port, test_faults=test_faults, verbose=verbose, stream_delay_ms=stream_delay_ms)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the demo chat proxy on this machine.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3000, help="port to listen on (default 3000)")
    parser.add_argument(
        "--test-faults",
        action="store_true",
        help="enable the /__test__/ control API (tests only)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument("--no-stream", action="store_true", help="answer JSON only, never stream")
    parser.add_argument("--stream-delay-ms", type=int, default=DEFAULT_STREAM_DELAY_MS, metavar="MS",
                        help=f"pause between streamed words (default {DEFAULT_STREAM_DELAY_MS})")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        server = make_proxy_server(args.host, args.port, args.test_faults, verbose=args.verbose,
                                   stream_delay_ms=None if args.no_stream else max(0, args.stream_delay_ms))
    except OSError as error:
        why = "port already in use" if is_address_in_use(error) else error.strerror
        print(
            f"demo_proxy.py: cannot listen on {args.host}:{args.port}: {why}",
            file=sys.stderr,
        )
        return 1
    thread = threading.Thread(target=server.serve_forever, name="demo-proxy", daemon=True)
    thread.start()
    print(f"Demo proxy: {http_url(args.host, server.server_address[1])}", flush=True)
    if args.test_faults:
        print("Test control API enabled under /__test__/ (for tests only).", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        wait_for_stop_signal()
    finally:
        server.shutdown()
        server.server_close()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
