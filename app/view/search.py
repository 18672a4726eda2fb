"""Search: one field over every character's conversations, in a dialog; choosing a result opens it there."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import js
from pyodide.ffi import create_once_callable
from pyscript import document

from ..archive import SearchHit, snippet
from ..i18n import _, ngettext
from .dom import Listeners, el, found
from .history import when

if TYPE_CHECKING:
    from . import ChatActions

SEARCH_DELAY_MS = 150  # typing pauses this long before the search runs


class SearchPanel:
    """``#search-dialog``: the field (``search-input``), how many were found, and the results."""

    def __init__(self) -> None:
        byid = document.getElementById
        self.dialog = byid("search-dialog")
        self.input = byid("search-input")
        self.status = byid("search-status")
        self.results = byid("search-results")
        self.button = byid("search-button")
        self._hits: list[SearchHit] = []
        self._timer: Any = None
        self.on_open: Callable[[], None] = lambda: None  # the dialog opened (the archive reads ahead)

    def open(self) -> None:
        """Open the dialog with the field focused (its text kept from last time, selected)."""
        if not self.dialog.open:
            self.dialog.showModal()
            self.on_open()
        self.input.focus()
        self.input.select()

    def show(self, query: str, hits: list[SearchHit]) -> None:
        if query != str(self.input.value):
            return  # the field changed since: a newer search is on its way
        self._hits = hits
        items = []
        for n, hit in enumerate(hits):
            item = el("li", cls="search-result")
            button = el("button", cls="search-open", type="button", data_testid="search-result")
            button.dataset.hit = str(n)
            where = _("current conversation") if hit.current else (hit.record.title or _("earlier conversation"))
            meta = el("span", cls="search-meta")
            meta.appendChild(el("strong", text=hit.character.name))
            meta.appendChild(document.createTextNode(
                _(" \u00b7 {date} \u00b7 {where}", date=when(hit.message.at), where=where)))
            button.appendChild(meta)
            before, match, after = snippet(hit.message.text, query)
            text = el("span", cls="search-text")
            text.appendChild(document.createTextNode(before))
            if match:
                text.appendChild(el("mark", text=match))  # highlighted as text, never as HTML
            text.appendChild(document.createTextNode(after))
            button.appendChild(text)
            item.appendChild(button)
            items.append(item)
        self.results.replaceChildren(*items)
        if not query.strip():
            self.status.textContent = ""
        elif not hits:
            self.status.textContent = _("Nothing found.")
        else:
            self.status.textContent = (
                ngettext("{count} found (the newest shown)", "{count} found (the newest shown)", len(hits))
                if len(hits) >= 50 else ngettext("{count} found", "{count} found", len(hits))
            )

    def bind(self, events: Listeners, actions: ChatActions) -> None:
        events.on(document.getElementById("search-close"), "click", lambda _e: self.dialog.close())
        self.on_open = actions.prepare_search

        def run() -> None:
            self._timer = None
            actions.search(str(self.input.value))

        def on_input(_event: Any) -> None:
            if self._timer is not None:
                js.clearTimeout(self._timer)
            self._timer = js.setTimeout(create_once_callable(run), SEARCH_DELAY_MS)

        def on_click(event: Any) -> None:
            target = event.target
            if not hasattr(target, "closest"):
                return
            button = target.closest("[data-testid=search-result]")
            if not found(button):
                return
            n = int(button.dataset.hit)
            if 0 <= n < len(self._hits):
                hit = self._hits[n]
                self.dialog.close()
                actions.open_search_result(hit.record.id, hit.message.id)

        def on_key(event: Any) -> None:
            # Escape closes the dialog at once (its text is kept for next time), rather than first
            # emptying the field, as a search field does on its own.
            if event.key == "Escape" and not event.isComposing:
                event.preventDefault()
                self.dialog.close()

        events.on(self.input, "input", on_input)
        events.on(self.input, "keydown", on_key)
        events.on(self.results, "click", on_click)
