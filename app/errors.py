"""Errors raised by the session and chat logic.

The client raises these types; only the view layer (through
:func:`app.wording.describe_error`) turns them into words for people.
"""

from __future__ import annotations


class ChatError(Exception):
    """Base class of every failure the chat logic reports."""


class NetworkError(ChatError):
    """The request never got an HTTP answer (connection refused, dropped, offline)."""


class RequestTimeout(NetworkError):
    """The server did not answer within the client's time limit."""


class BodyCutShort(RequestTimeout):
    """The answer began, but its body stopped short: less than its ``Content-Length``, or the connection closed.

    Said as a timeout ("the server did not answer in time"): the answer never came whole, like a body
    that stalls until the time limit, which a proxy that holds the connection open gets instead.
    """


class HttpError(ChatError):
    """The proxy answered with an error status.

    ``message`` is the server's own explanation when it gave one (already
    shortened, plain text), else an empty string.
    """

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(f"HTTP {status}: {message}" if message else f"HTTP {status}")
        self.status = status
        self.message = message


class AuthError(HttpError):
    """401: the proxy refused our credentials."""


class ServerError(HttpError):
    """5xx: the proxy or the character service failed."""


class SessionExpired(HttpError):
    """The session ID is unknown to the service or has expired (404, 410, or a 4xx saying so)."""


class BadResponse(ChatError):
    """A 2xx answer that is not the JSON the contract promises."""


class RedirectRefused(BadResponse):
    """The proxy answered with a redirect: not followed, so nothing went to where it pointed."""


class ReplyTooLarge(BadResponse):
    """A reply over :data:`app.api.MAX_REPLY_SIZE`: refused, and not read (or parsed) past the limit."""


class InvalidConfigId(ChatError, ValueError):
    """A character config ID that is empty, too long or contains control characters."""


class StreamError(ChatError):
    """A streamed reply (Server-Sent Events, the AI SDK UI message stream) went wrong once it had begun."""


class BadStream(StreamError, BadResponse):
    """The stream broke its protocol: a part that is not JSON, not an object, or has fields of the wrong type."""


class StreamTooLarge(BadStream):
    """A line, an event, a part's nesting or the whole reply went past the reader's limits."""


class StreamReplyTooLarge(StreamTooLarge, ReplyTooLarge):
    """A streamed reply whose text (the sum of its deltas) went past :data:`app.api.MAX_REPLY_SIZE`."""


class StreamCutOff(StreamError):
    """The stream ended before its ``finish`` part or ``[DONE]`` (dropped, or closed early by the server)."""


class StreamFailed(StreamError):
    """The server sent an ``error`` part; ``message`` is its ``errorText`` (shortened, plain text)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or "the server reported an error while replying")
        self.message = message
