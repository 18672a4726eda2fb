"""Another tab of this browser changed storage: adopt its sessions and conversations without losing ours.

The browser's ``storage`` event names the key another tab wrote (or None
when it cleared everything). A session or conversation cleared over there
makes this tab's pending reply and write moot too; a conversation stored
over there is taken, with this tab's messages not stored yet added after it
(:meth:`~app.conversations.Conversations.stored_elsewhere`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .sessions import SESSION_KEY_PREFIX
from .transcript import TRANSCRIPT_PREFIX

if TYPE_CHECKING:
    from .controller import ChatController


class OtherTabs:
    """What one page does when another tab changes the storage they share."""

    def __init__(self, page: ChatController) -> None:
        self.page = page

    def storage_changed(self, key: str | None) -> None:
        """Adopt the change to ``key`` (None: everything was cleared) now."""
        page = self.page
        for prefix in (SESSION_KEY_PREFIX, TRANSCRIPT_PREFIX):
            if key is not None and not key.startswith(prefix):
                continue
            config_id = None if key is None else key[len(prefix) :]
            known = {*page.conversations.loaded(), *page.inflight.waiting_for_reply()}
            for character in [c for c in known if config_id in (None, c)]:
                if self.lost(prefix, character):
                    # Cleared over there: this tab's pending reply and write are moot too.
                    page.sessions.forget_cached(character, cleared=True)
                    page.conversations.drop_pending(character)
                    page.inflight.cancel(character)
                if prefix == TRANSCRIPT_PREFIX:
                    page.conversations.stored_elsewhere(character)
            page.sessions.forget_cached(config_id)
            if page.current is not None and config_id in (None, page.current):
                page.view.show_session(page.sessions.peek(page.current))
                page.show_open_conversation()

    def lost(self, prefix: str, config_id: str) -> bool:
        """Whether another tab removed ``config_id``'s session (while a reply is pending) or its conversation."""
        page = self.page
        if prefix == SESSION_KEY_PREFIX:
            return page.sessions.peek_stored(config_id) is None and config_id in page.inflight.waiting_for_reply()
        return page.conversations.lost_elsewhere(config_id)
