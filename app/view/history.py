"""The history: a character's earlier conversations in a dialog, and the banner over one opened read-only."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyscript import document

from ..archive import Record
from ..i18n import _, date_time, ngettext, number
from .dialogs import ConfirmDialog
from .dom import Listeners, el, found, isolated

if TYPE_CHECKING:
    from . import ChatActions


def when(ms: float) -> str:
    """A record's time as the page's language writes a date and time (``Intl``, see ``app.browser``)."""
    return date_time(ms)


def _count(n: int) -> str:
    return ngettext("{count} message", "{count} messages", n)


class HistoryPanel:
    """``#history-dialog``: the open character's earlier conversations, newest first; open or delete one."""

    def __init__(self, dialog: ConfirmDialog) -> None:
        byid = document.getElementById
        self.dialog = byid("history-dialog")
        self.list = byid("history-list")
        self.empty = byid("history-empty")
        self.button = byid("history-button")
        self._confirm = dialog
        self._records: dict[str, Record] = {}

    def show(self, records: list[Record]) -> None:
        """List ``records`` (already newest first); the button says how many there are."""
        self._records = {r.id: r for r in records}
        items = []
        for record in records:
            item = el("li", cls="history-item", data_testid="history-item")
            item.dataset.conversation = record.id
            opener = el("button", cls="history-open", type="button", data_testid="history-open")
            opener.appendChild(el("span", cls="history-title", text=record.title or _("(no message sent)")))
            opener.appendChild(el("span", cls="history-meta",
                                  text=_("{date} \u00b7 {count}", date=when(record.started),
                                         count=_count(record.count))))
            remover = el("button", cls="quiet history-delete", type="button", text=_("Delete"),
                         data_testid="delete-conversation")
            named = isolated(record.title or when(record.started))
            remover.setAttribute("aria-label", _("Delete the conversation {title}", title=named))
            item.appendChild(opener)
            item.appendChild(remover)
            items.append(item)
        self.list.replaceChildren(*items)
        self.empty.hidden = bool(records)
        label = _("History") if not records else _("History ({count})", count=number(len(records)))
        self.button.textContent = label

    def open(self) -> None:
        if not self.dialog.open:
            self.dialog.showModal()

    def close(self) -> None:
        if self.dialog.open:
            self.dialog.close()

    def bind(self, events: Listeners, actions: ChatActions) -> None:
        """The button opens the list; an item opens its conversation; Delete asks first."""

        def on_click(event: Any) -> None:
            target = event.target
            if not found(target) or not hasattr(target, "closest"):
                return
            item = target.closest("[data-testid=history-item]")
            if not found(item):
                return
            record = self._records.get(str(item.dataset.conversation))
            if record is None:
                return
            if found(target.closest("[data-testid=delete-conversation]")):

                def delete() -> None:
                    actions.delete_past(record.id)

                self.close()
                self._confirm.confirm(
                    _("Delete this conversation?"),
                    ngettext(  # the English singular is as it always was
                        "\u201c{title}\u201d and its {count} message are deleted from this browser for good.",
                        "\u201c{title}\u201d and its {count} messages are deleted from this browser for good.",
                        record.count, title=isolated(record.title or when(record.started)),
                    ),
                    _("Delete conversation"),
                    delete,
                )
            elif found(target.closest("[data-testid=history-open]")):
                self.close()
                actions.open_past(record.id)

        events.on(self.list, "click", on_click)
        events.on(document.getElementById("history-close"), "click", lambda _e: self.close())


class PastBanner:
    """``#past-banner``: says an earlier conversation is shown read-only; Continue it, or go back."""

    def __init__(self) -> None:
        byid = document.getElementById
        self.banner = byid("past-banner")
        self.text = byid("past-text")
        self.continue_button = byid("continue-conversation")
        self.back_button = byid("back-to-current")
        self.composer = byid("composer")
        self.record: Record | None = None

    def show(self, record: Record | None) -> None:
        """Over ``record``'s messages (None: the current conversation is shown, with its composer)."""
        self.record = record
        self.banner.hidden = record is None
        self.composer.hidden = record is not None
        if record is not None:
            self.text.textContent = _("An earlier conversation, from {date}. "
                                      "Read-only: continue it to write in it again.", date=when(record.started))

    def bind(self, events: Listeners, actions: ChatActions, back: Callable[[], None]) -> None:
        def on_continue(_event: Any) -> None:
            if self.record is not None:
                actions.continue_conversation(self.record.id)

        events.on(self.continue_button, "click", on_continue)
        events.on(self.back_button, "click", lambda _e: back())
