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
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from . import bounded_json
from .errors import (
    AuthError,
    BadResponse,
    HttpError,
    NetworkError,
    ReplyTooLarge,
    RequestTimeout,
    ServerError,
    SessionExpired,
    StreamCutOff,
)
from .i18n import N_
from .resume import CallbackFuture
from .sessions import is_valid_session_id

DEFAULT_TIMEOUT_SECONDS = 20.0
"""How long a request may go without progress: until a JSON answer is complete, or between a stream's parts."""
DEFAULT_REPLY_TIME_LIMIT_SECONDS = 300.0
"""How long one reply may take in all, from the request to its last part, however steadily it comes."""
MAX_REPLY_SIZE = 1 << 20
"""The largest reply, 1 MiB: a JSON answer's body in bytes (read no further), a streamed reply's text in
characters (the sum of its deltas). An ASCII reply is the same size either way."""
MAX_SERVER_MESSAGE = 300
"""The longest server message shown, in characters."""
MAX_ERROR_BODY = 64 * 1024
"""How much of an error's body is read and looked at (bytes by the fetch adapter, characters here)."""


class BodyStream:
    """A response body still arriving (a streamed reply): its text in pieces, then its end.

    The fetch adapter calls :meth:`push` with each piece of decoded text and
    :meth:`end` once (with the error that cut it short, if any). The reader
    calls :meth:`listen` (pieces that came before are delivered first) and
    awaits :attr:`ended`, which raises what ended the body early: the
    adapter's error, or what the reader raised on a piece. The reader calls
    :meth:`finish` when it needs no more (the reply is complete), and
    :meth:`cancel` if it gives up (Stop); both abort the request.

        stream = BodyStream(cancel=abort_request)
        stream.push("data: ...")          # from the adapter
        stream.listen(parser.feed)        # from the reader
        stream.end()                      # the adapter again: the body is complete
    """

    def __init__(
        self, cancel: Callable[[], None] = lambda: None, *, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        """``cancel`` aborts the request; ``loop``: the loop of the task that reads it (default: the running one)."""
        self._abort = cancel
        self._early: list[str] = []
        self._early_end: tuple[BaseException | None] | None = None  # an end that came before listen()
        self._on_text: Callable[[str], None] | None = None
        self.ended: CallbackFuture[None] = CallbackFuture(loop=loop)

    def listen(self, on_text: Callable[[str], None]) -> None:
        """Call ``on_text`` with every piece, those already arrived first; what it raises ends the body."""
        self._on_text = on_text
        early, self._early = self._early, []
        for text in early:
            self._deliver(text)
        if self._early_end is not None:
            self.end(*self._early_end)

    def push(self, text: str) -> None:
        if self._on_text is None:
            self._early.append(text)
        else:
            self._deliver(text)

    def _deliver(self, text: str) -> None:
        if self.ended.done() or self._on_text is None:
            return  # ended (complete, failed or given up): nothing more is read
        try:
            self._on_text(text)
        except Exception as exc:  # noqa: BLE001 - a piece the protocol does not allow, or a bug: it ends the body
            self.ended.fail(exc)
            self._abort()

    def end(self, error: BaseException | None = None) -> None:
        """The body is complete (``error`` None) or was cut short by ``error``."""
        if self._on_text is None:
            self._early_end = (error,)  # after the pieces that came before it
        elif error is None:
            self.ended.settle(None)
        else:
            self.ended.fail(error)

    def finish(self) -> None:
        """The reader has all it needs: end the body now, and abort the rest of the request."""
        if not self.ended.done():
            self.ended.settle(None)
        self._abort()

    def cancel(self) -> None:
        """Give up on the rest of the body: the request is aborted, and nothing more is read."""
        if not self.ended.done():
            self.ended.cancel()
        self._abort()


@dataclass(frozen=True)
class HttpResponse:
    """What ``post_json`` returns: the status and the body as text, or a body still streaming.

    ``stream`` is set for a 2xx ``text/event-stream`` answer: ``body`` is then empty.
    ``too_large`` says the body was bigger than :data:`MAX_REPLY_SIZE` (or its
    ``Content-Length`` said so) and was not read: ``body`` is then empty too.
    """

    status: int
    body: str
    stream: BodyStream | None = None
    too_large: bool = False


# post_json(url, body) -> HttpResponse; raises NetworkError when no HTTP answer arrived,
# RedirectRefused for a redirect (never followed).
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
# A tag, linear on any input: a match attempt stops at the next "<", so "<<<<..." costs one pass
# (``<[^>]*>`` rescanned to the end from every "<": quadratic, a frozen tab on a large body).
_TAGS = re.compile(r"<[^<>]*>")


def _parse_json(body: str) -> Any:
    try:
        return bounded_json.loads(body)
    except ValueError:  # not JSON, or nested too deep to parse safely
        return None


def server_message(body: str) -> str:
    """The server's explanation in an error body, as short plain text ('' if none).

    Looks at ``error`` (text or ``{"message": ...}``), ``message`` and ``detail``
    of a JSON object; falls back to a short plain-text body (not HTML, not broken JSON).
    Only the first :data:`MAX_ERROR_BODY` characters are read, and the text is
    cut again before any pattern runs over it: any body costs one linear pass.
    """
    body = body[:MAX_ERROR_BODY]
    data = _parse_json(body)
    parts: list[str] = []
    if isinstance(data, dict):
        for field in ("error", "message", "detail", "error_description"):
            value = data.get(field)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str) and value.strip() and value.strip() not in parts:
                parts.append(value.strip())
    elif data is None and body.strip() and "<" not in body[:200] and body.lstrip()[:1] not in ("{", "["):
        parts.append(body.strip())  # plain text; JSON that does not parse says nothing worth showing
    text = " - ".join(parts)[: MAX_SERVER_MESSAGE * 8]  # room for tags and white space to go
    text = " ".join(_TAGS.sub(" ", text).split())
    if len(text) > MAX_SERVER_MESSAGE:
        text = text[: MAX_SERVER_MESSAGE - 1] + "\u2026"
    return text


def _says_session_invalid(body: str) -> bool:
    data = _parse_json(body[:MAX_ERROR_BODY])
    if not isinstance(data, dict):
        return False
    texts: list[str] = []
    for field in ("error", "message", "detail", "code", "error_code", "reason"):
        value = data.get(field)
        if isinstance(value, dict):
            value = " ".join(str(v) for v in value.values() if isinstance(v, str))
        if isinstance(value, str):
            texts.append(value[:MAX_ERROR_BODY])
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

    def __init__(
        self,
        api_base: str,
        post_json: PostJson,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        reply_time_limit: float = DEFAULT_REPLY_TIME_LIMIT_SECONDS,
    ) -> None:
        """``timeout``: the most time without progress; ``reply_time_limit``: the most for a whole reply
        (never less than ``timeout``). A JSON answer must be complete within ``timeout``."""
        self.api_base = api_base.rstrip("/")
        self._post_json = post_json
        self._timeout = timeout
        self._reply_time_limit = max(reply_time_limit, timeout)

    async def _send(self, path: str, body: dict[str, str], *, session_bound: bool) -> HttpResponse:
        """POST and check the status: a 2xx answer, or the error its status means."""
        try:
            response = await asyncio.wait_for(self._post_json(f"{self.api_base}{path}", body), self._timeout)
        except TimeoutError as exc:  # builtin TimeoutError on 3.11+, kept explicit for clarity
            raise RequestTimeout(f"no answer within {self._timeout:g} s") from exc
        if not 200 <= response.status < 300:
            if response.stream is not None:
                response.stream.cancel()  # an error's body is not read as it comes
            raise classify_http_error(response.status, response.body[:MAX_ERROR_BODY], session_bound=session_bound)
        if response.too_large or len(response.body) > MAX_REPLY_SIZE:  # the second: an adapter that read it all
            raise ReplyTooLarge(f"the reply is larger than {MAX_REPLY_SIZE:,} bytes")
        return response

    async def _post(self, path: str, body: dict[str, str], *, session_bound: bool) -> dict[str, Any]:
        return self._json_object(await self._send(path, body, session_bound=session_bound))

    @staticmethod
    def _json_object(response: HttpResponse) -> dict[str, Any]:
        if response.stream is not None:
            response.stream.cancel()
            raise BadResponse(N_("the server streamed a reply where JSON was expected"))
        data = _parse_json(response.body)
        if data is None:
            if response.body.lstrip()[:1] == "<":
                raise BadResponse(N_("the server sent an HTML page instead of JSON"))
            raise BadResponse(N_("the reply is not valid JSON"))
        if not isinstance(data, dict):
            raise BadResponse(N_("the reply is not a JSON object"))
        return data

    async def create_session(self, config_id: str) -> str:
        """``POST /api/sessions``; returns the new session ID (validated)."""
        data = await self._post("/api/sessions", {"config_id": config_id}, session_bound=False)
        session_id = data.get("session_id")
        if not is_valid_session_id(session_id):
            raise BadResponse(N_("the server did not return a session ID"))
        assert isinstance(session_id, str)
        return session_id

    async def chat(
        self,
        session_id: str,
        config_id: str,
        text: str,
        *,
        on_text: Callable[[str], None] | None = None,
        on_session: Callable[[str], None] | None = None,
    ) -> ChatReply:
        """``POST /api/chat``; returns the reply text and any session ID it names.

        A streamed reply (:mod:`app.stream`) calls ``on_text`` with the whole
        text so far each time it grows. It must finish: one cut short (the
        connection dropped, no event for the timeout, an ``error`` event)
        raises, and the text that came stays with the caller, never passed
        off as the reply. ``on_session`` gets a session the stream names, as
        soon as it does (so it is kept even if the reply then fails).
        """
        deadline = asyncio.get_running_loop().time() + self._reply_time_limit
        response = await self._send(
            "/api/chat",
            {"session_id": session_id, "config_id": config_id, "input": text},
            session_bound=True,
        )
        if response.stream is not None:
            return await self._read_stream(response.stream, on_text, on_session, deadline)
        data = self._json_object(response)
        reply = data.get("ai")
        if not isinstance(reply, str):
            raise BadResponse(N_("the reply has no text"))
        named = data.get("session_id")
        return ChatReply(reply, named if is_valid_session_id(named) else None)

    async def _read_stream(
        self,
        stream: BodyStream,
        on_text: Callable[[str], None] | None,
        on_session: Callable[[str], None] | None,
        deadline: float,
    ) -> ChatReply:
        """Read a streamed reply to its end, by ``deadline`` (loop time) and with no gap longer than the timeout.

        Progress is a complete event: bytes that never finish one (a trickle,
        comments) do not hold the reply open.
        """
        from .stream import ReplyStream, SessionNamed  # here: app.stream builds on this module's ChatReply

        reply = ReplyStream()
        loop = asyncio.get_running_loop()
        last_progress = loop.time()

        def feed(piece: str) -> None:
            nonlocal last_progress
            length, events = reply.text_length, reply.events  # not len(reply.text): it would join the reply
            try:
                updates = reply.feed(piece)
            finally:  # text that came before a broken part still reaches the page
                if reply.events != events:
                    last_progress = loop.time()
                if on_text is not None and reply.text_length != length:
                    on_text(reply.text)
            if on_session is not None:
                for update in updates:
                    if isinstance(update, SessionNamed):
                        on_session(update.session_id)
            if reply.finished or reply.error is not None:
                stream.finish()  # complete (or failed): a connection kept open has nothing more to say

        try:
            stream.listen(feed)
            while not stream.ended.done():
                try:
                    wait = min(last_progress + self._timeout, deadline) - loop.time()
                    await asyncio.wait_for(asyncio.shield(stream.ended), max(wait, 0))
                except TimeoutError:
                    if loop.time() >= deadline:
                        raise RequestTimeout(f"the reply took more than {self._reply_time_limit:g} s") from None
                    if loop.time() - last_progress >= self._timeout:
                        raise RequestTimeout(f"no part of the reply within {self._timeout:g} s") from None
            try:
                await stream.ended  # raises what ended the body early, if anything did
            except RequestTimeout:
                raise
            except NetworkError as exc:  # the connection dropped after the reply had begun
                raise StreamCutOff(N_("the connection dropped before the reply finished")) from exc
        finally:
            stream.cancel()  # a no-op once the body is complete
            reply.close()
        return reply.result()
