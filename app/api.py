"""The proxy's two calls, with response validation and error classification.

:class:`ProxyClient` speaks the contract (``POST /api/sessions``,
``POST /api/chat``) over an injected ``post_json`` coroutine, so it runs
under CPython with a fake and in the browser with ``fetch``
(see :mod:`app.browser`). Every failure comes out as a :mod:`app.errors` type.

Example::

    client = ProxyClient("http://localhost:3000", post_json)
    session_id = await client.create_session("CHAR_luna")
    reply = await client.chat(session_id, "CHAR_luna", "Hello")
    print(reply.text)
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .errors import AuthError, BadResponse, HttpError, RequestTimeout, ServerError, SessionExpired
from .sessions import is_valid_session_id

DEFAULT_TIMEOUT_SECONDS = 20.0
MAX_SERVER_MESSAGE = 300


@dataclass(frozen=True)
class HttpResponse:
    """What ``post_json`` returns: the status and the body as text."""

    status: int
    body: str


# post_json(url, body) -> HttpResponse; raises NetworkError when no HTTP answer arrived.
PostJson = Callable[[str, dict[str, str]], Awaitable[HttpResponse]]


@dataclass(frozen=True)
class ChatReply:
    """A validated ``/api/chat`` answer: the reply text and the session ID it names, if any."""

    text: str
    session_id: str | None = None


_STATE = r"(?:invalid|expired|not[ _-]?found|unknown|does[ _-]not[ _-]exist|no[ _-]longer[ _-]valid)"
# "Session not found", "session_id is invalid", "SESSION_EXPIRED", "Invalid session", "unknown session ID";
# not "unknown field session_ttl".
_SESSION_INVALID = re.compile(
    rf"\bsession(?:[ _-]?id)?(?:[ _-](?:is|has|was))?(?:[ _-]been)?[ _-]{_STATE}\b"
    rf"|\b{_STATE}[ _-]session(?:[ _-]?id)?\b"
    r"|\bno[ _-]such[ _-]session\b",
    re.IGNORECASE,
)
_TAGS = re.compile(r"<[^>]*>")


def _parse_json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def server_message(body: str) -> str:
    """The server's explanation in an error body, as short plain text ('' if none).

    Looks at ``error`` (text or ``{"message": ...}``), ``message`` and ``detail``
    of a JSON object; falls back to a short non-HTML text body.
    """
    data = _parse_json(body)
    parts: list[str] = []
    if isinstance(data, dict):
        for field in ("error", "message", "detail", "error_description"):
            value = data.get(field)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str) and value.strip() and value.strip() not in parts:
                parts.append(value.strip())
    elif data is None and body.strip() and "<" not in body[:200]:
        parts.append(body.strip())
    text = " - ".join(parts)
    text = " ".join(_TAGS.sub(" ", text).split())
    if len(text) > MAX_SERVER_MESSAGE:
        text = text[: MAX_SERVER_MESSAGE - 1] + "\u2026"
    return text


def _says_session_invalid(body: str) -> bool:
    data = _parse_json(body)
    if not isinstance(data, dict):
        return False
    texts: list[str] = []
    for field in ("error", "message", "detail", "code", "error_code", "reason"):
        value = data.get(field)
        if isinstance(value, dict):
            value = " ".join(str(v) for v in value.values() if isinstance(v, str))
        if isinstance(value, str):
            texts.append(value)
    return any(_SESSION_INVALID.search(text) for text in texts)


def classify_http_error(status: int, body: str, *, session_bound: bool) -> HttpError:
    """The error type for a non-2xx answer.

    ``session_bound`` says the request carried a session ID (``/api/chat``):
    only then do 404, 410 and "session invalid/expired/not found" bodies mean
    :class:`SessionExpired`.
    """
    message = server_message(body)
    if status == 401:
        return AuthError(status, message)
    if status >= 500:
        return ServerError(status, message)
    if session_bound and (status in (404, 410) or (400 <= status < 500 and _says_session_invalid(body))):
        return SessionExpired(status, message)
    return HttpError(status, message)


class ProxyClient:
    """Typed access to the proxy; see the module docstring for an example."""

    def __init__(self, api_base: str, post_json: PostJson, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.api_base = api_base.rstrip("/")
        self._post_json = post_json
        self._timeout = timeout

    async def _post(self, path: str, body: dict[str, str], *, session_bound: bool) -> dict[str, Any]:
        try:
            response = await asyncio.wait_for(self._post_json(f"{self.api_base}{path}", body), self._timeout)
        except TimeoutError as exc:  # builtin TimeoutError on 3.11+, kept explicit for clarity
            raise RequestTimeout(f"no answer within {self._timeout:g} s") from exc
        if not 200 <= response.status < 300:
            raise classify_http_error(response.status, response.body, session_bound=session_bound)
        data = _parse_json(response.body)
        if data is None:
            if response.body.lstrip()[:1] == "<":
                raise BadResponse("the server sent an HTML page instead of JSON")
            raise BadResponse("the reply is not valid JSON")
        if not isinstance(data, dict):
            raise BadResponse("the reply is not a JSON object")
        return data

    async def create_session(self, config_id: str) -> str:
        """``POST /api/sessions``; returns the new session ID (validated)."""
        data = await self._post("/api/sessions", {"config_id": config_id}, session_bound=False)
        session_id = data.get("session_id")
        if not is_valid_session_id(session_id):
            raise BadResponse("the server did not return a session ID")
        assert isinstance(session_id, str)
        return session_id

    async def chat(self, session_id: str, config_id: str, text: str) -> ChatReply:
        """``POST /api/chat``; returns the reply text and any session ID it names."""
        data = await self._post(
            "/api/chat",
            {"session_id": session_id, "config_id": config_id, "input": text},
            session_bound=True,
        )
        reply = data.get("ai")
        if not isinstance(reply, str):
            raise BadResponse("the reply has no text")
        named = data.get("session_id")
        return ChatReply(reply, named if is_valid_session_id(named) else None)
