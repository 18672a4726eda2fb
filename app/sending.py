"""Sending a message and showing what comes back: the reply, a failure with Retry, or Stop.

Synchronous up to the request, so a repeated Enter sends once, and started
eagerly, so the request leaves within the key press. Nothing the user typed
is lost: a message that cannot be sent stays in the input, and a failed one
comes back to it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .chat import send_chat_message
from .i18n import N_, _
from .transcript import Message, message_too_long
from .wording import describe_error

if TYPE_CHECKING:
    from .controller import ChatController

STOPPED = N_("Stopped: you cancelled this reply. Retry sends it again.")
LEFT = N_("The page was closed before the reply finished. Retry sends your message again.")
OFFLINE_NOTICE = N_("You are offline: your message is kept; send it when the connection is back.")
RENEWED_NOTICE = N_("The previous session had expired, so this conversation continues in a new session.")
# With a ``defer``, a sent message is stored together with its reply, in one write after the reply is
# shown; a reply slower than this (seconds) leaves the sent message stored on its own meanwhile.
SENT_SAVE_DELAY = 0.25


class Sender:
    """The send flow of one page (its controller holds the open character and the connection state)."""

    def __init__(self, page: ChatController) -> None:
        self.page = page
        self._texts: dict[str, str] = {}  # what each character's pending send is sending
        self._left: set[str] = set()  # sends ended by the page going away (see :meth:`page_left`)

    def submit(self) -> asyncio.Future[None] | None:
        """Send what is in the input, or say why not (the text stays there)."""
        page = self.page
        config_id = page.current
        text = page.view.read_input()
        if config_id is None or not text.strip():
            return None
        if not page.online:
            page.view.show_notice(_(OFFLINE_NOTICE))
            return None
        if page.inflight.busy(config_id):
            # Refused, visibly; the text stays in the input to send once the reply is in.
            page.view.show_notice(
                _("Your message is kept: send it once the session is set up.") if page.inflight.setting_up(config_id)
                else _("Your message is kept: send it once the reply arrives.")
            )
            return None
        too_long = message_too_long(text)
        if too_long:
            page.view.show_notice(too_long)
            return None
        page.view.write_input("")
        return self._start(config_id, text)

    def retry(self, index: int) -> asyncio.Future[None] | None:
        """Resend the message behind the failed one at ``index`` of the open conversation."""
        page = self.page
        config_id = page.current
        if config_id is None or page.inflight.busy(config_id):
            return None
        if not page.online:
            page.view.show_notice(_(OFFLINE_NOTICE))
            return None
        messages = page.conversation(config_id)
        if not 0 <= index < len(messages) or messages[index].retry is None:
            return None
        text = messages[index].retry
        assert text is not None
        if page.view.read_input() == text:
            page.view.write_input("")
        return self._start(config_id, text)

    def _start(self, config_id: str, text: str) -> asyncio.Future[None]:
        page = self.page
        page.inflight.begin_send(config_id)
        page.refresh_activity()
        # Failures this send supersedes go, so nothing is shown (or sent) twice.
        if page.conversations.drop_superseded(config_id, text) and config_id == page.current:
            page.show_open_conversation()
        page.append(config_id, Message("user", text), save_max_delay=SENT_SAVE_DELAY)
        task = page.background.spawn(self._deliver(config_id, text, page.sessions.token(config_id)))
        page.inflight.awaiting(config_id, task)  # started eagerly, it may already have finished (and cleaned up)
        return task

    def page_left(self) -> None:
        """The page is going away (``pagehide``): keep what arrived of each pending reply, now.

        Its task will never run again, so here, synchronously: the reply so far
        is kept as incomplete, with the reason and Retry, and the request is
        aborted (the store's journal notes the write at once; the next start
        writes it).
        """
        for config_id, text in list(self._texts.items()):
            if not self.page.inflight.busy(config_id):
                continue
            self._left.add(config_id)
            self._failed(config_id, text, _(LEFT))
            self.page.inflight.cancel(config_id)

    async def _deliver(self, config_id: str, text: str, token: tuple[int, int]) -> None:
        page = self.page
        self._texts[config_id] = text

        def on_text(so_far: str) -> None:  # a streamed reply grew
            if page.still_current(config_id, token):
                page.inflight.stream(config_id, so_far)
                if page.showing(config_id):
                    page.view.show_streaming(so_far)

        try:
            result = await send_chat_message(page.sessions, page.client, config_id, text, on_text=on_text)
        except asyncio.CancelledError:
            # Stopped by the user: the request is aborted, the text kept (the service may still have seen it).
            if page.still_current(config_id, token) and config_id not in self._left:
                self._failed(config_id, text, _(STOPPED))
        except Exception as exc:  # noqa: BLE001 - every failure must reach the conversation
            if page.still_current(config_id, token):  # else the user started over meanwhile
                self._failed(config_id, text, describe_error(exc))
        else:
            if page.still_current(config_id, token):
                self._end_stream(config_id)
                page.append(config_id, Message("assistant", result.text))
                if config_id == page.current:
                    page.view.show_notice(_(RENEWED_NOTICE) if result.renewed else None)
        finally:
            self._texts.pop(config_id, None)
            self._left.discard(config_id)
            self._end_stream(config_id)  # gone with a conversation thrown away meanwhile, too
            page.inflight.end_send(config_id)
            if config_id == page.current:
                page.view.show_session(page.sessions.peek(config_id))
                page.refresh_activity()

    def _end_stream(self, config_id: str) -> str:
        """The streamed reply on screen, if any, gives way to the messages it ends as; the text that came."""
        streamed = self.page.inflight.take_streamed(config_id)
        if streamed is not None and self.page.showing(config_id):
            self.page.view.show_streaming(None)
        return streamed or ""

    def _failed(self, config_id: str, text: str, why: str) -> None:
        """Keep what arrived of the reply (marked incomplete), show why with Retry, and refill an empty input
        (or, for a character not open, an empty draft)."""
        page = self.page
        arrived = self._end_stream(config_id)
        if arrived:
            page.append(config_id, Message("assistant", arrived, incomplete=True))
        page.append(config_id, Message("error", why, retry=text))
        page.keep_unsent(config_id, text)  # nothing the user typed is lost
