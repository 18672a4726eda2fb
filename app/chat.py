"""Sending a message: session lookup, the chat call, and recovery from expiry.

Example::

    reply = await send_chat_message(manager, client, "CHAR_luna", "Hello")
    print(reply.text, reply.session_id, reply.renewed)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .api import ProxyClient
from .errors import SessionExpired
from .sessions import SessionManager


@dataclass(frozen=True)
class SentMessage:
    """The outcome of :func:`send_chat_message`."""

    text: str
    session_id: str
    renewed: bool = False  # True when the old session had expired and a new one answered


async def send_chat_message(
    manager: SessionManager,
    client: ProxyClient,
    config_id: str,
    message: str,
    *,
    on_text: Callable[[str], None] | None = None,
) -> SentMessage:
    """Send ``message`` to ``config_id``'s character and return its reply.

    ``on_text`` gets a streamed reply's text so far each time it grows
    (see :meth:`ProxyClient.chat`).

    If the service says the session expired or is unknown, the session is
    cleared, a new one created and the same message resent once; a second
    expiry is raised, never retried again. A reply naming a different
    session ID replaces the stored one.

    If the user clears the session while the request is out (new
    conversation, clear all), nothing is renewed or stored for it afterwards.
    """
    token = manager.token(config_id)
    session_id = await manager.get_session(config_id)
    renewed = False

    def adopt(named: str) -> None:  # a session a streamed reply names, kept even if the reply then fails
        if named != session_id and manager.token(config_id) == token:
            manager.replace_session(config_id, named)

    try:
        reply = await client.chat(session_id, config_id, message, on_text=on_text, on_session=adopt)
    except SessionExpired:
        if manager.token(config_id) != token:
            raise  # cleared meanwhile: do not start a session for the discarded conversation
        manager.expire_session(config_id, session_id)
        session_id = await manager.get_session(config_id)
        renewed = True
        reply = await client.chat(session_id, config_id, message, on_text=on_text, on_session=adopt)
    if reply.session_id is not None and reply.session_id != session_id and manager.token(config_id) == token:
        manager.replace_session(config_id, reply.session_id)
        session_id = reply.session_id
    return SentMessage(reply.text, session_id, renewed)
