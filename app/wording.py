"""What people read when something fails: the only place errors become words."""

from __future__ import annotations

from .errors import (
    AuthError,
    BadResponse,
    ChatError,
    HttpError,
    NetworkError,
    ReplyTooLarge,
    RequestTimeout,
    ServerError,
    SessionExpired,
    StreamCutOff,
    StreamFailed,
)

NETWORK = "Network error: Unable to connect to server"
TIMEOUT = "Network error: The server did not answer in time"
AUTH = "Authentication error: Please refresh the page"
SERVER = "Server error: Please try again later"
CUT_OFF = "The reply was cut off before it finished. Please try again."
TOO_LARGE = "The reply was too large to show"


def describe_error(error: BaseException) -> str:
    """One sentence for the conversation, e.g. ``"Server error: Please try again later"``."""
    if isinstance(error, RequestTimeout):
        return TIMEOUT
    if isinstance(error, NetworkError):
        return NETWORK
    if isinstance(error, AuthError):
        return AUTH
    if isinstance(error, ServerError):
        return SERVER
    if isinstance(error, SessionExpired):
        detail = f" ({error.message})" if error.message else ""
        return f"Session error {error.status}: the session expired again right after renewal{detail}. Please try again."
    if isinstance(error, HttpError):
        detail = error.message or "the server gave no reason"
        return f"Request failed ({error.status}): {detail}"
    if isinstance(error, ReplyTooLarge):
        return TOO_LARGE
    if isinstance(error, BadResponse):
        return f"Unexpected reply from the server: {error}"
    if isinstance(error, StreamCutOff):
        return CUT_OFF
    if isinstance(error, StreamFailed):
        detail = f": {error.message}" if error.message else ""
        return f"The server reported an error while replying{detail}"
    if isinstance(error, ChatError):
        return str(error)
    return f"Something went wrong in the page: {type(error).__name__}: {error}"
