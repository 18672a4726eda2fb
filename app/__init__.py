"""Session management and chat for character pages, in Python, for CPython and PyScript.

The public API mirrors the JavaScript reference guide::

    from app import GuardedStorage, ProxyClient, SessionManager, send_chat_message

    client = ProxyClient("http://localhost:3000", post_json)       # post_json: see app.browser
    manager = SessionManager(GuardedStorage(storage), client.create_session)
    session_id = await manager.get_session("CHAR_luna")
    reply = await send_chat_message(manager, client, "CHAR_luna", "Hello!")
    manager.clear_session("CHAR_luna")
    manager.clear_all_sessions()

Nothing imported here touches the browser; ``app.browser`` (localStorage and
fetch), ``app.view`` (the DOM) and ``app.main`` (the page) do.
"""

from .api import ChatReply, HttpResponse, ProxyClient, classify_http_error
from .chat import SentMessage, send_chat_message
from .errors import (
    AuthError,
    BadResponse,
    BadStream,
    ChatError,
    HttpError,
    InvalidConfigId,
    NetworkError,
    RedirectRefused,
    ReplyTooLarge,
    RequestTimeout,
    ServerError,
    SessionExpired,
    StreamCutOff,
    StreamError,
    StreamFailed,
)
from .sessions import (
    SessionManager,
    get_or_create_session,
    is_valid_session_id,
    session_key,
    validate_config_id,
)
from .storage import GuardedStorage, MemoryStorage, Storage

__all__ = [
    "AuthError",
    "BadResponse",
    "BadStream",
    "ChatError",
    "ChatReply",
    "GuardedStorage",
    "HttpError",
    "HttpResponse",
    "InvalidConfigId",
    "MemoryStorage",
    "NetworkError",
    "ProxyClient",
    "RedirectRefused",
    "ReplyTooLarge",
    "RequestTimeout",
    "SentMessage",
    "ServerError",
    "SessionExpired",
    "SessionManager",
    "StreamCutOff",
    "StreamError",
    "StreamFailed",
    "Storage",
    "classify_http_error",
    "get_or_create_session",
    "is_valid_session_id",
    "send_chat_message",
    "session_key",
    "validate_config_id",
]
