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
from .i18n import N_, _, phrase_of

NETWORK = N_("Network error: Unable to connect to server")
TIMEOUT = N_("Network error: The server did not answer in time")
AUTH = N_("Authentication error: Please refresh the page")
SERVER = N_("Server error: Please try again later")
CUT_OFF = N_("The reply was cut off before it finished. Please try again.")
TOO_LARGE = N_("The reply was too large to show")


def describe_error(error: BaseException) -> str:
    """One sentence for the conversation, e.g. ``"Server error: Please try again later"``, in the page's language."""
    if isinstance(error, RequestTimeout):
        return _(TIMEOUT)
    if isinstance(error, NetworkError):
        return _(NETWORK)
    if isinstance(error, AuthError):
        return _(AUTH)
    if isinstance(error, ServerError):
        return _(SERVER)
    if isinstance(error, SessionExpired):
        if error.message:
            return _("Session error {status}: the session expired again right after renewal ({message}). "
                     "Please try again.", status=error.status, message=error.message)
        return _("Session error {status}: the session expired again right after renewal. Please try again.",
                 status=error.status)
    if isinstance(error, HttpError):
        if error.message:
            return _("Request failed ({status}): {message}", status=error.status, message=error.message)
        return _("Request failed ({status}): the server gave no reason", status=error.status)
    if isinstance(error, ReplyTooLarge):
        return _(TOO_LARGE)
    if isinstance(error, BadResponse):
        return _("Unexpected reply from the server: {reason}", reason=reason(error))
    if isinstance(error, StreamCutOff):
        return _(CUT_OFF)
    if isinstance(error, StreamFailed):
        if error.message:
            return _("The server reported an error while replying: {message}", message=error.message)
        return _("The server reported an error while replying")
    if isinstance(error, ChatError):
        return reason(error)
    return _("Something went wrong in the page: {error}", error=f"{type(error).__name__}: {error}")


def reason(error: BaseException) -> str:
    """Why, as the error says it, in the page's language: reasons are raised as ``N_("...", **values)``
    (a :class:`~app.i18n.Phrase`), their numbers written the language's way; other text stays as written."""
    return _(phrase_of(error))
