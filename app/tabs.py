"""Another tab of this browser changed storage: adopt its sessions and conversations without losing ours.

Sessions live in localStorage: the browser's ``storage`` event names the
key another tab wrote (or None when it cleared everything). A session
cleared over there makes this tab's pending reply moot too. Conversations
live in the archive, where another tab's write is announced on a broadcast
channel: this tab reads them again (:meth:`~app.conversations.Conversations.changed_elsewhere`),
and since every message is a record of its own, both tabs' messages stay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .sessions import SESSION_KEY_PREFIX

if TYPE_CHECKING:
    from .controller import ChatController


class OtherTabs:
    """What one page does when another tab changes the storage they share."""

    def __init__(self, page: ChatController) -> None:
        self.page = page

    def storage_changed(self, key: str | None) -> None:
        """Adopt the change to ``key`` (None: everything was cleared) now."""
        page = self.page
        if key is not None and not key.startswith(SESSION_KEY_PREFIX):
            return
        config_id = None if key is None else key[len(SESSION_KEY_PREFIX) :]
        known = {*page.conversations.loaded(), *page.inflight.waiting_for_reply()}
        for character in [c for c in known if config_id in (None, c)]:
            if self.lost(character):
                # Cleared over there: this tab's pending reply is moot too.
                page.sessions.forget_cached(character, cleared=True)
                page.inflight.cancel(character)
        page.sessions.forget_cached(config_id)
        if page.current is not None and config_id in (None, page.current):
            page.view.show_session(page.sessions.peek(page.current))

    def lost(self, config_id: str) -> bool:
        """Whether another tab removed ``config_id``'s session while a reply is pending."""
        page = self.page
        # Removed, not junk written over it: junk is corruption (ChatController.storage_changed repairs it).
        return page.sessions.cleared_in_storage(config_id) and config_id in page.inflight.waiting_for_reply()

    async def archive_changed(self) -> None:
        """Another tab wrote conversations: take them, and show the open one anew if it changed."""
        page = self.page
        changed = await page.conversations.changed_elsewhere()
        if page.current in changed:
            page.show_open_conversation()
            page.show_history()
