"""The conversation: its messages, "show earlier" paging, copy and retry buttons, and announcements."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import create_once_callable, create_proxy, to_js
from pyscript import document, window

from ..export import SPEAKERS
from ..i18n import _, ngettext, number
from ..transcript import MAX_FORMATTED_CHARS, Message
from .dom import Announcer, Listeners, el, found, isolated
from .formatting import Formatter
from .scroll import ScrollFollow

_SCROLL_CENTRE = to_js({"block": "center"}, dict_converter=js.Object.fromEntries)
RENDER_NEWEST = 100  # messages rendered when a conversation opens; older ones wait behind a button
RENDER_MORE = 200  # how many more each "Show earlier messages" adds
# A long session keeps the list this short: past MAX_RENDERED + TRIM_BATCH messages (while the
# user is at the end), the oldest go back behind "Show earlier messages", so that each new
# message costs the same layout and memory however long the session has run. A send's paint and
# layout grow with the messages in the list (about 9 ms with 100 of them, 10.5 ms with 300 to 350,
# bench/long_session.py), so the bound is near what the first hundred sends have on screen: the
# 1,000th send then costs what the 100th does.
MAX_RENDERED = 150
TRIM_BATCH = 50
FORMAT_AT_ONCE = 12  # replies formatted before a conversation is shown; the older ones in idle time after
FORMAT_SLICE_S = 0.008  # formatting in the background yields to the page this often

# One message's <li>, cloned from the template and filled in one call into JavaScript: each call
# from Python into the DOM costs about as much as the work it does. Every outside string goes in
# as text (textContent, an attribute value), never as HTML.
# A reply's Markdown goes in as JSON nodes, built by the formatter's ``build`` (text and
# attributes only); one still waiting for the formatter goes in as text, marked pending.
# A text shown as written, in blocks of about 8,000 characters once it is long (each split after a line
# break where there is one, else after a space): the browser lays out only the blocks on screen
# (``content-visibility: auto`` on ``.text-block``), so a megabyte reply costs what a screenful does.
# Called again with the same text grown (a reply streaming in), it redraws only its last block and
# adds the new ones. The blocks' text is the text exactly: textContent, Copy and search stay whole.
FILL_TEXT = js.Function.new(
    "element",
    "text",
    """const CHUNK = 8192;
    const state = element.pychatBlocks;
    if (!state && text.length <= 2 * CHUNK) {
      element.textContent = text;
      return;
    }
    const blocks = state && text.startsWith(state.text) ? state.blocks : [];
    let start = 0;
    if (blocks.length) {
      const last = blocks.pop();  // the last block may have grown
      start = last.start;
      last.node.remove();
    } else {
      element.replaceChildren();
    }
    while (start < text.length) {
      let end = Math.min(start + CHUNK, text.length);
      if (end < text.length) {
        const piece = text.slice(start + CHUNK / 2, end);
        const lineEnd = piece.lastIndexOf("\\n");
        const at = lineEnd >= 0 ? lineEnd : piece.lastIndexOf(" ");
        if (at >= 0) end = start + CHUNK / 2 + at + 1;
      }
      const node = document.createElement("span");
      node.className = "text-block";
      node.textContent = text.slice(start, end);
      element.appendChild(node);
      blocks.push({ node, start });
      start = end;
    }
    element.pychatBlocks = { text, blocks };""",
)

_FILL_MESSAGE = js.Function.new(
    "fillText",
    "template",
    "role",
    "label",
    "text",
    "copyLabel",
    "build",
    "nodes",
    "pending",
    """const item = template.cloneNode(true);
    item.className = `message ${role}`;
    const [speaker, bubble, tools] = item.children;
    speaker.textContent = label;
    if (nodes) {
      bubble.classList.add("markdown");
      build(bubble, nodes, 0);
      bubble.pychatSource = text;  // what Copy copies: the Markdown as written
    } else {
      fillText(bubble, text);
      if (pending) bubble.dataset.markdown = "pending";
    }
    bubble.dataset.role = role;
    tools.firstElementChild.setAttribute("aria-label", copyLabel);
    return item;""",
)


def _make_message_template() -> Any:
    """One message's elements, built once and cloned per message (fewer calls into JavaScript)."""
    item = el("li", cls="message")
    item.appendChild(el("span", cls="visually-hidden"))
    # Each message's own direction, from its first letters: an English reply in the Arabic page reads
    # left to right, lists and all, as an Arabic message does right to left in the English one.
    item.appendChild(el("div", cls="bubble", data_testid="message", dir="auto"))
    tools = el("div", cls="message-tools")
    tools.appendChild(el("button", cls="copy", type="button", text=_("Copy"), data_testid="copy-button"))
    item.appendChild(tools)
    return item


class LiveReply:
    """The reply streaming in: one message element that grows, redrawn at most once per frame.

    It appears with the first text and carries ``aria-busy="true"`` while it
    grows. It is not announced: the finished message that replaces it is,
    once, so a screen reader hears the reply whole rather than token by token.
    """

    def __init__(
        self, make: Callable[[str], Any], follow: ScrollFollow, formatter: Callable[[], Formatter | None]
    ) -> None:
        """``make(text)``: a new message element for the reply; ``formatter()``: Markdown, if loaded."""
        self._make = make
        self._follow = follow
        self._formatter = formatter
        self._node: Any = None
        self._bubble: Any = None
        self._live: Any = None  # the reply's app.markdown.LiveMarkdown, once it is formatted
        self._text = ""
        self._frame_due = False
        self._draw_proxy = create_proxy(self._draw)

    def show(self, text: str | None) -> None:
        """Show the reply as far as it came (None: it ended; the messages it ends as follow)."""
        if text is None:
            if self._node is not None:
                self._node.remove()
            self.forget()
            return
        self._text = text
        if self._node is None:
            self._node = self._make("")
            self._bubble = self._node.children[1]
            for node in (self._node, self._bubble):
                node.setAttribute("aria-busy", "true")
            self._follow.scroller.insertBefore(self._node, self._follow.end)
            self._draw()  # drawn as every later frame is, so that those keep what this one shows
        elif not self._frame_due:
            self._frame_due = True
            js.requestAnimationFrame(self._draw_proxy)

    def forget(self) -> None:
        """The list was drawn anew, without this element."""
        self._node = self._bubble = self._live = None

    def _draw(self, _timestamp: Any = None) -> None:
        self._frame_due = False
        if self._bubble is None:
            return
        formatter = self._formatter()
        if formatter is None or len(self._text) > MAX_FORMATTED_CHARS:
            if self._live is not None:  # it outgrew Markdown: shown as written from now on
                self._live = None
                self._bubble.classList.remove("markdown")
                self._bubble.replaceChildren()
                self._bubble.pychatBlocks = None
            FILL_TEXT(self._bubble, self._text)
        else:
            if self._live is None:  # the first frame formatted: whatever the element holds is replaced
                self._live = formatter.live()
                self._bubble.pychatBlocks = None
                self._bubble.classList.add("markdown")
                self._bubble.removeAttribute("data-markdown")
            keep, nodes = self._live.update(self._text)
            formatter.build(self._bubble, formatter.encode(nodes), keep)
            self._bubble.pychatSource = self._text
        self._follow.scroll_to_end(force=False)


class MessageList:
    """``#message-list``: renders one character's conversation and follows its end.

    Opening a conversation renders only its newest :data:`RENDER_NEWEST`
    messages; the older ones wait behind a "Show earlier messages" button.
    """

    def __init__(self, announcer: Announcer, notify: Callable[[str], None]) -> None:
        """``notify`` shows an info notice (a copy that failed)."""
        self.list = document.getElementById("message-list")
        self.empty = document.getElementById("empty-conversation")
        self.character_name = ""  # whose conversation this is: the speaker of its replies
        self._announcer = announcer
        self._notify = notify
        self._follow = ScrollFollow(self.list)
        self._template = _make_message_template()
        self._has_messages = False  # whether the list shows messages (and so hides "Say hello")
        self._earlier: list[Message] = []  # the open conversation's oldest messages, not rendered yet
        self._rendered: list[Message] = []  # the messages in the list now, oldest first
        self._earlier_item: Any = None
        self._tasks: set[Any] = set()
        self._formatter: Formatter | None = None
        self._formatting: Any = None  # the task formatting pending replies, if one runs
        self.live = LiveReply(
            lambda text: self._message_node(Message("assistant", text), -1), self._follow, lambda: self._formatter
        )

    def last_sent(self) -> str | None:
        """The text of the open conversation's newest message from the user, if any."""
        for messages in (self._rendered, self._earlier):
            for message in reversed(messages):
                if message.role == "user":
                    return message.text
        return None

    def use_formatter(self, formatter: Formatter) -> None:
        """Format replies as Markdown from now on, those shown as written so far too (newest first)."""
        self._formatter = formatter
        self._format_pending()

    def show_conversation(self, name: str, messages: list[Message]) -> None:
        """Render ``name``'s conversation: the newest :data:`RENDER_NEWEST` messages, the rest one click away."""
        self.character_name = name
        start = max(0, len(messages) - RENDER_NEWEST)
        self._earlier = messages[:start]
        self._rendered = messages[start:]
        fragment = document.createDocumentFragment()
        for index in range(start, len(messages)):
            formatted = len(messages) - index <= FORMAT_AT_ONCE  # the newest, on screen: formatted now
            fragment.appendChild(self._message_node(messages[index], index, formatted=formatted))
        fragment.appendChild(self._follow.end)
        self.list.replaceChildren(fragment)
        self.live.forget()
        self._earlier_item = None
        self._update_earlier_control()
        self.empty.hidden = self._has_messages = bool(messages)
        self.empty.textContent = _("Say hello to {name}.", name=isolated(name))
        self._follow.scroll_to_end(force=True, in_frame=True)
        self._format_pending()

    def append_message(self, message: Message, index: int) -> None:
        """Add ``message`` (the conversation's ``index``-th) at the end; announce it unless the user wrote it."""
        nodes = self._formatter.nodes(message.text) if self._formatter and message.role == "assistant" else None
        self.list.insertBefore(self._message_node(message, index, nodes=nodes), self._follow.end)
        self._rendered.append(message)
        if not self._has_messages:
            self.empty.hidden = self._has_messages = True
        if len(self._rendered) > MAX_RENDERED + TRIM_BATCH and self._follow.at_end:
            self._trim()
        self._follow.scroll_to_end(force=message.role == "user")
        if message.role != "user":  # announce replies and errors, not what the user just typed
            who = _(SPEAKERS[message.role]) if message.role in SPEAKERS else self.character_name
            words = self._formatter.words(nodes) if self._formatter and nodes is not None else message.text
            self._announcer.say(_("{speaker}: {text}", speaker=isolated(who), text=words[:500]))

    def show_earlier(self) -> None:
        """Render up to :data:`RENDER_MORE` more of the older messages, keeping the view where it was."""
        if not self._earlier:
            return
        start = max(0, len(self._earlier) - RENDER_MORE)
        batch, self._earlier = self._earlier[start:], self._earlier[:start]
        self._rendered[:0] = batch
        fragment = document.createDocumentFragment()
        for offset, message in enumerate(batch):
            fragment.appendChild(self._message_node(message, start + offset, formatted=False))
        height = self.list.scrollHeight
        self._earlier_item.after(fragment)
        self._update_earlier_control()
        self.list.scrollTop += self.list.scrollHeight - height
        self._format_pending()

    def insert_older(self, position: int, messages: list[Message]) -> bool:
        """Put ``messages`` (read after the conversation was shown) in at ``position``, behind "Show earlier".

        Every message shown is newer, so it keeps its place and its index moves
        up by their number. False when ``position`` is among the rendered
        messages (the view cannot put them behind the button).
        """
        if not messages:
            return True
        if position > len(self._earlier):
            return False
        self._earlier[position:position] = messages
        shift = len(messages)
        for node in self.list.querySelectorAll("[data-index]"):
            index = int(node.dataset.index)
            if index >= position:
                node.dataset.index = str(index + shift)
        self._update_earlier_control()
        return True

    def reveal(self, index: int) -> None:
        """Show the conversation's ``index``-th message (rendering earlier ones if needed), centred and marked found."""
        while self._earlier and index < len(self._earlier):
            self.show_earlier()
        node = self.list.querySelector(f'li[data-index="{int(index)}"]')
        if not found(node):
            return
        for old in self.list.querySelectorAll("[data-found]"):
            old.removeAttribute("data-found")
        node.dataset.found = "true"

        def centre(_timestamp: Any = None) -> None:
            node.scrollIntoView(_SCROLL_CENTRE)

        # After the frame in which a newly shown conversation scrolls to its end.
        later = create_once_callable(centre)
        js.requestAnimationFrame(create_once_callable(lambda _t: js.requestAnimationFrame(later)))

    def bind(self, events: Listeners, retry: Callable[[int], object]) -> None:
        """Clicks in the list: Retry calls ``retry`` with the failed message's index; also Copy and Show earlier."""

        def on_click(event: Any) -> None:
            target = event.target
            button = target.closest("[data-testid=retry-button]")
            if found(button):
                retry(int(button.dataset.index))
            if found(target.closest("[data-testid=show-earlier]")):
                self.show_earlier()
                return
            copy = target.closest("[data-testid=copy-button]")
            if found(copy):
                self._copy_message(copy)
            code = target.closest("[data-testid=copy-code]")
            if found(code):
                self._copy_text(code, str(code.closest(".code-block").querySelector("code").textContent))

        events.on(self.list, "click", on_click)

    def _message_node(self, message: Message, index: int, *, formatted: bool = True, nodes: Any = None) -> Any:
        """One message's element; a reply as Markdown if ``formatted`` (and loaded), else marked pending."""
        who = isolated(_(SPEAKERS[message.role]) if message.role in SPEAKERS else self.character_name)
        formatter = self._formatter
        reply = message.role == "assistant"
        if reply and formatter is not None and formatted and nodes is None:
            nodes = formatter.nodes(message.text)
        item = _FILL_MESSAGE(
            FILL_TEXT, self._template, message.role, _("{speaker}: ", speaker=who), message.text,
            _("Copy {speaker}'s message", speaker=who),
            formatter.build if formatter else None, Formatter.encode(nodes) if nodes is not None else None,
            reply and len(message.text) <= MAX_FORMATTED_CHARS,  # waits for Markdown (a longer one never does)
        )
        item.dataset.index = str(index)
        if message.incomplete:
            item.dataset.incomplete = "true"  # what arrived of a reply stopped or cut off (styled as such)
        if message.greeting:
            item.children[1].dataset.greeting = "true"  # the character's opening line, never sent
        if message.retry is not None:
            retry = el("button", cls="retry", type="button", text=_("Retry"), data_testid="retry-button")
            retry.dataset.index = str(index)
            retry.setAttribute("aria-label", _("Retry sending this message"))
            item.lastChild.prepend(retry)
        return item

    def _trim(self) -> None:
        """Put the oldest rendered messages back behind "Show earlier messages", down to :data:`MAX_RENDERED`."""
        excess = len(self._rendered) - MAX_RENDERED
        self._earlier += self._rendered[:excess]
        del self._rendered[:excess]
        earlier = self._earlier_item
        oldest = earlier.nextElementSibling if earlier is not None else self.list.firstElementChild
        for _step in range(excess):
            following = oldest.nextElementSibling
            oldest.remove()
            oldest = following
        self._update_earlier_control()

    def _update_earlier_control(self) -> None:
        hidden = len(self._earlier)
        if not hidden:
            if self._earlier_item is not None:
                had_focus = self._earlier_item.contains(document.activeElement)
                self._earlier_item.remove()
                self._earlier_item = None
                if had_focus:
                    self.list.focus()
            return
        if self._earlier_item is None:
            self._earlier_item = el("li", cls="earlier")
            self._earlier_item.appendChild(el("button", cls="quiet", type="button", data_testid="show-earlier"))
            self.list.prepend(self._earlier_item)
        more = min(hidden, RENDER_MORE)
        self._earlier_item.firstChild.textContent = ngettext(
            "Show {count} earlier message ({hidden} not shown)", "Show {count} earlier messages ({hidden} not shown)",
            more, hidden=number(hidden),
        )

    def _format_pending(self) -> None:
        """Format the replies shown as written, newest first, in idle time (one task at a time)."""
        if self._formatter is None or (self._formatting is not None and not self._formatting.done()):
            return
        self._formatting = asyncio.ensure_future(self._format_in_slices(self._formatter))
        self._tasks.add(self._formatting)
        self._formatting.add_done_callback(self._tasks.discard)

    async def _format_in_slices(self, formatter: Formatter) -> None:
        while True:
            pending = self.list.querySelectorAll('[data-markdown="pending"]')
            if not pending.length:
                return
            started = time.perf_counter()
            for position in range(pending.length - 1, -1, -1):  # newest first: nearest the end of the list
                bubble = pending.item(position)
                text = str(bubble.textContent)
                bubble.removeAttribute("data-markdown")
                nodes = formatter.nodes(text)
                if nodes is None:  # too long to format (never marked pending, unless edited): stays as written
                    continue
                bubble.classList.add("markdown")
                bubble.pychatSource = text
                formatter.build(bubble, formatter.encode(nodes), 0)
                if time.perf_counter() - started > FORMAT_SLICE_S:
                    break
            await asyncio.sleep(0)  # let the page answer the user before the next slice

    def _copy_message(self, button: Any) -> None:
        bubble = button.closest(".message").querySelector("[data-testid=message]")
        if found(bubble):
            source = getattr(bubble, "pychatSource", None)  # a formatted reply: its Markdown as written
            self._copy_text(button, str(source) if isinstance(source, str) else str(bubble.textContent))

    def _copy_text(self, button: Any, text: str) -> None:
        task = asyncio.ensure_future(self._copy(button, text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _copy(self, button: Any, text: str) -> None:
        try:
            await window.navigator.clipboard.writeText(text)
        except Exception as exc:  # noqa: BLE001 - permission denied, insecure context...
            self._notify(_("Could not copy: {error}", error=exc))
            return
        button.textContent = _("Copied")
        await asyncio.sleep(1.5)
        button.textContent = _("Copy")
