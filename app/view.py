"""The page's DOM: renders what the controller says and forwards what the user does.

Everything from outside (names, config IDs, messages, server text) is set
through ``textContent``, never parsed as HTML.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import create_once_callable, create_proxy, jsnull, to_js
from pyscript import document, window

from .controller import ChatController
from .export import speaker
from .settings import Character
from .transcript import MAX_MESSAGE_CHARS, Message, message_too_long
from .wording import describe_error

FSI, PDI = "\u2068", "\u2069"  # first-strong isolate: a name's RTL overrides cannot flip our sentence
STICK_TO_BOTTOM_PX = 80
RENDER_NEWEST = 100  # messages rendered when a conversation opens; older ones wait behind a button
RENDER_MORE = 200  # how many more each "Show earlier messages" adds
ACTIVITY_DELAY_MS = 250  # how long a wait lasts before "is replying…" shows
COUNTER_FROM = int(MAX_MESSAGE_CHARS * 0.8)  # the counter appears near the limit


def _isolated(text: str) -> str:
    """Outside text placed inside one of our sentences, isolated for bidi."""
    return f"{FSI}{text}{PDI}"


def _found(node: Any) -> bool:
    """True for a DOM node; DOM lookups return JavaScript null (``jsnull``), not ``None``."""
    return node is not None and node is not jsnull


def _el(tag: str, *, cls: str | None = None, text: str | None = None, **attrs: str) -> Any:
    node = document.createElement(tag)
    if cls:
        node.className = cls
    if text is not None:
        node.textContent = text
    for name, value in attrs.items():
        node.setAttribute(name.replace("_", "-"), value)
    return node


# Enter (not Shift+Enter, nor while an input method composes) sends, without its newline. The
# other keys stay in JavaScript: typing does not enter Python once per key.
_ON_ENTER = js.Function.new(
    "handler",
    "return (event) => {"
    " if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) { event.preventDefault(); handler(event); }"
    " };",
)

# The character list, built in one call into JavaScript from ``[config_id, name, added, current]``
# rows as JSON (texts only through textContent and attributes): built from Python, a dozen calls
# per character took 19 ms for 200 characters.
_FILL_CHARACTERS = js.Function.new(
    "list",
    "rows",
    """const fragment = document.createDocumentFragment();
    const make = (tag, className, text) => {
      const node = document.createElement(tag);
      node.className = className;
      if (text !== undefined) node.textContent = text;
      return node;
    };
    for (const [configId, name, added, current] of JSON.parse(rows)) {
      const button = make("button", "character");
      button.type = "button";
      button.dataset.testid = "character";
      button.dataset.configId = configId;
      button.title = configId;
      button.append(make("span", "character-name", name));
      if (name !== configId) button.append(make("span", "character-id", configId));
      if (current) button.setAttribute("aria-current", "true");
      const item = make("li", "character-item");
      item.append(button);
      if (added) {
        const remove = make("button", "remove-character", "\u00d7");
        remove.type = "button";
        remove.dataset.testid = "remove-character";
        remove.setAttribute("aria-label", `Remove ${name}`);
        remove.dataset.configId = configId;
        remove.title = `Remove ${name}`;
        item.append(remove);
      }
      fragment.append(item);
    }
    list.replaceChildren(fragment);""",
)

# One message's <li>, cloned from the template and filled in one call into JavaScript: each
# call from Python into the DOM costs about as much as the work it does, and a message took a
# dozen. Every outside string goes in as text (textContent, an attribute value), never as HTML.
_FILL_MESSAGE = js.Function.new(
    "template",
    "role",
    "label",
    "text",
    "copyLabel",
    """const item = template.cloneNode(true);
    item.className = `message ${role}`;
    const [speaker, bubble, tools] = item.children;
    speaker.textContent = label;
    bubble.textContent = text;
    bubble.dataset.role = role;
    tools.firstElementChild.setAttribute("aria-label", copyLabel);
    return item;""",
)


class DomView:
    """Implements :class:`app.controller.ChatView` on the elements of ``index.html``."""

    def __init__(self) -> None:
        byid = document.getElementById
        self.root = document.documentElement
        self.character_list = byid("character-list")
        self.title = byid("chat-title")
        self.session_id = byid("session-id")
        self.session_none = byid("session-none")
        self.notice = byid("notice")
        self.messages = byid("message-list")
        self.empty = byid("empty-conversation")
        self.indicator = byid("sending-indicator")
        self.input = byid("message-input")
        self.send_button = byid("send-button")
        self.add_input = byid("add-character-input")
        self.add_error = byid("add-character-error")
        self.dialog = byid("confirm-dialog")
        self.counter = byid("char-counter")
        self.offline = byid("offline")
        self.stop_button = byid("stop-button")
        self.announcer = byid("announcer")
        self._character_name = ""
        self._ready = False
        self._busy = False
        self._too_long = False
        # What the DOM shows now, so that sending (which updates these twice) writes only changes:
        # each write is a call into JavaScript, about 25 µs.
        self._send_button_shown: tuple[bool, str] | None = None
        self._counter_shown: tuple[bool, str | None, bool] | None = None  # hidden, text, over the limit
        self._setting_up_shown = False
        self._session_shown: str | None = None  # as index.html starts: "none yet"
        self._has_messages = False  # whether the list shows messages (and so hides "Say hello")
        self._offline = False
        self._info: str | None = None
        self._warnings: list[tuple[str, str]] = []  # (level, text), shown until the page reloads
        self._on_confirm: Callable[[], None] | None = None
        self._proxies: list[Any] = []
        self._tasks: set[Any] = set()
        self._earlier: list[Message] = []  # the open conversation's oldest messages, not rendered yet
        self._earlier_item: Any = None
        self._stick = True  # the list is at (or near) its end, as last observed
        self._end_soon = False  # a scroll to the end is due in a microtask
        self._end_in_frame = False  # ... or in the next frame
        self._end_now = create_proxy(self._scroll_end_now)
        self._end_frame = create_proxy(self._scroll_end_in_frame)
        # Whether the list is at its end is observed, not measured: a marker after the last
        # message, watched by an IntersectionObserver, reports only when it enters or leaves
        # the view. (A scroll listener would run Python, and read layout, on every scroll event,
        # including the one each new message's own scroll causes.)
        self._list_end = _el("li", cls="list-end", role="none", aria_hidden="true")
        self.messages.appendChild(self._list_end)
        self._end_observer = js.IntersectionObserver.new(
            self._keep(create_proxy(self._end_seen)),
            to_js({"root": self.messages, "rootMargin": f"0px 0px {STICK_TO_BOTTOM_PX}px 0px"},
                  dict_converter=js.Object.fromEntries),
        )
        self._end_observer.observe(self._list_end)
        # The list also shrinks without scrolling (the input grows, the window gets smaller):
        # at its end, it stays there, rather than leaving the end out of view and unfollowed.
        self._resize_observer = js.ResizeObserver.new(self._keep(create_proxy(self._list_resized)))
        self._resize_observer.observe(self.messages)
        self._notice_shown: list[tuple[str, str]] = []
        self._activity_shown: tuple[bool, bool, str] | None = None
        self._activity_visible = False
        self._activity_timer: Any = None
        self._activity_later = create_proxy(self._show_activity_now)
        self._message_template = self._make_message_template()
        # CSS grows the input (style.css) where the browser can; measuring it on every keystroke forces layout.
        self._css_sizes_input = bool(js.CSS.supports("field-sizing", "content"))

    # ----- ChatView ------------------------------------------------------------------------

    def show_characters(self, characters: list[Character], current: str | None) -> None:
        active = document.activeElement
        had_focus = _found(active) and _found(active.closest("#character-list"))
        rows = [(c.config_id, c.name, c.added, c.config_id == current) for c in characters]
        _FILL_CHARACTERS(self.character_list, json.dumps(rows))
        for character in characters:
            if character.config_id == current:
                self._character_name = character.name
        if had_focus:  # re-rendering must not throw keyboard users back to the top of the page
            chosen = self.character_list.querySelector('[aria-current="true"]')
            if _found(chosen):
                chosen.focus()

    def show_conversation(self, character: Character, messages: list[Message]) -> None:
        """Render the newest :data:`RENDER_NEWEST` messages; older ones are one click away."""
        self._character_name = character.name
        self.title.textContent = character.name
        document.title = f"{_isolated(character.name)} \u00b7 Character Chat"
        start = max(0, len(messages) - RENDER_NEWEST)
        self._earlier = messages[:start]
        fragment = document.createDocumentFragment()
        for index in range(start, len(messages)):
            fragment.appendChild(self._message_node(messages[index], index))
        fragment.appendChild(self._list_end)
        self.messages.replaceChildren(fragment)
        self._earlier_item = None
        self._update_earlier_control()
        self.empty.hidden = self._has_messages = bool(messages)
        self.empty.textContent = f"Say hello to {_isolated(character.name)}."
        self._scroll_to_end(force=True, in_frame=True)

    def append_message(self, message: Message, index: int) -> None:
        self.messages.insertBefore(self._message_node(message, index), self._list_end)
        if not self._has_messages:
            self.empty.hidden = self._has_messages = True
        self._scroll_to_end(force=message.role == "user")
        if message.role != "user":  # announce replies and errors, not what the user just typed
            who = speaker(message.role, self._character_name)
            self.announcer.textContent = f"{_isolated(who)}: {message.text[:500]}"

    def show_earlier(self) -> None:
        """Render up to :data:`RENDER_MORE` more of the older messages, keeping the view where it was."""
        if not self._earlier:
            return
        start = max(0, len(self._earlier) - RENDER_MORE)
        batch, self._earlier = self._earlier[start:], self._earlier[:start]
        fragment = document.createDocumentFragment()
        for offset, message in enumerate(batch):
            fragment.appendChild(self._message_node(message, start + offset))
        height = self.messages.scrollHeight
        self._earlier_item.after(fragment)
        self._update_earlier_control()
        self.messages.scrollTop += self.messages.scrollHeight - height

    def _update_earlier_control(self) -> None:
        hidden = len(self._earlier)
        if not hidden:
            if self._earlier_item is not None:
                had_focus = self._earlier_item.contains(document.activeElement)
                self._earlier_item.remove()
                self._earlier_item = None
                if had_focus:
                    self.messages.focus()
            return
        if self._earlier_item is None:
            self._earlier_item = _el("li", cls="earlier")
            self._earlier_item.appendChild(_el("button", cls="quiet", type="button", data_testid="show-earlier"))
            self.messages.prepend(self._earlier_item)
        more = min(hidden, RENDER_MORE)
        self._earlier_item.firstChild.textContent = (
            f"Show {more:,} earlier message{'s' if more != 1 else ''} ({hidden:,} not shown)"
        )

    def show_session(self, session_id: str | None) -> None:
        if session_id == self._session_shown:
            return  # shown after every reply: an unchanged header must not be laid out again
        self._session_shown = session_id
        self.session_id.textContent = session_id or ""
        self.session_none.hidden = bool(session_id)

    def show_activity(self, *, sending: bool, setting_up: bool) -> None:
        """Send is disabled at once; "is replying…" and Stop appear only if the wait lasts.

        A reply within :data:`ACTIVITY_DELAY_MS` never flashes the indicator
        (nor shifts the layout twice).
        """
        if (sending, setting_up, self._character_name) == self._activity_shown:
            return
        self._activity_shown = (sending, setting_up, self._character_name)
        self._busy = sending or setting_up
        # For tests and styles: the page is ready before its first session exists.
        if setting_up != self._setting_up_shown:
            self._setting_up_shown = setting_up
            self.root.toggleAttribute("data-setting-up", setting_up)
        self._update_send_button()
        if self._activity_timer is not None:
            js.clearTimeout(self._activity_timer)
            self._activity_timer = None
        if not self._busy:
            if self._activity_visible:
                self.indicator.hidden = self.stop_button.hidden = True
                self._activity_visible = False
            return
        if self._activity_visible:
            self._show_activity_now()
        else:
            self._activity_timer = js.setTimeout(self._activity_later, ACTIVITY_DELAY_MS)

    def _show_activity_now(self) -> None:
        self._activity_timer = None
        sending, setting_up, name = self._activity_shown or (False, False, "")
        if sending:
            self.indicator.textContent = f"{_isolated(name)} is replying\u2026"
        elif setting_up:
            self.indicator.textContent = "Starting a session\u2026"
        self.indicator.hidden = False
        self.stop_button.hidden = not sending
        self._activity_visible = True

    def read_input(self) -> str:
        return str(self.input.value)

    def write_input(self, text: str) -> None:
        self.input.value = text
        self._input_changed()

    def show_notice(self, text: str | None, *, level: str = "info") -> None:
        """Info replaces the previous info (``None`` clears it); warnings and errors accumulate."""
        if level == "info" or text is None:
            self._info = text
        elif (level, text) not in self._warnings:
            self._warnings.append((level, text))
        lines = [*self._warnings, *([("info", self._info)] if self._info else [])]
        if lines == self._notice_shown:
            return  # most replies clear an info that is not there: no DOM work for nothing
        self._notice_shown = lines
        fragment = document.createDocumentFragment()
        for line_level, line in lines:
            node = _el("span", cls="notice-line", text=line)
            node.dataset.level = line_level
            fragment.appendChild(node)
        self.notice.replaceChildren(fragment)
        self.notice.dataset.level = lines[0][0] if lines else "info"
        self.notice.hidden = not lines

    def show_offline(self, offline: bool) -> None:
        self._offline = offline
        self.offline.hidden = not offline
        self._update_send_button()

    def show_add_character_error(self, text: str | None) -> None:
        """Show why a config ID was refused; ``None`` means it was accepted (the field is cleared)."""
        self.add_error.textContent = text or ""
        self.add_error.hidden = text is None
        if text is None:
            self.add_input.value = ""
            self.add_input.removeAttribute("aria-invalid")
        else:
            self.add_input.setAttribute("aria-invalid", "true")

    # ----- page state ----------------------------------------------------------------------

    def set_ready(self) -> None:
        self._ready = True
        self._update_send_button()
        for node in document.querySelectorAll("[data-needs-python]"):
            node.disabled = False
        document.getElementById("boot").hidden = True
        self.root.dataset.appState = "ready"

    def show_fatal(self, text: str) -> None:
        self.root.dataset.appState = "error"
        document.getElementById("boot").hidden = True
        self.show_notice(text, level="error")

    # ----- rendering helpers ---------------------------------------------------------------

    @staticmethod
    def _make_message_template() -> Any:
        """One message's elements, built once and cloned per message (fewer calls into JavaScript)."""
        item = _el("li", cls="message")
        item.appendChild(_el("span", cls="visually-hidden"))
        item.appendChild(_el("div", cls="bubble", data_testid="message"))
        tools = _el("div", cls="message-tools")
        tools.appendChild(_el("button", cls="copy", type="button", text="Copy", data_testid="copy-button"))
        item.appendChild(tools)
        return item

    def _message_node(self, message: Message, index: int) -> Any:
        who = _isolated(speaker(message.role, self._character_name))
        item = _FILL_MESSAGE(self._message_template, message.role, f"{who}: ", message.text, f"Copy {who}'s message")
        if message.retry is not None:
            retry = _el("button", cls="retry", type="button", text="Retry", data_testid="retry-button")
            retry.dataset.index = str(index)
            retry.setAttribute("aria-label", "Retry sending this message")
            item.lastChild.prepend(retry)
        return item

    def _stop(self, controller: ChatController) -> None:
        controller.stop()
        self.input.focus()  # the stopped text comes back here

    async def _copy(self, button: Any, text: str) -> None:
        try:
            await window.navigator.clipboard.writeText(text)
        except Exception as exc:  # noqa: BLE001 - permission denied, insecure context...
            self.show_notice(f"Could not copy: {exc}")
            return
        button.textContent = "Copied"
        await asyncio.sleep(1.5)
        button.textContent = "Copy"

    def download(self, name: str, content: str, mime: str) -> None:
        """Offer ``content`` as a file download named ``name``."""
        blob = js.Blob.new(to_js([content]), to_js({"type": mime}, dict_converter=js.Object.fromEntries))
        url = js.URL.createObjectURL(blob)
        link = _el("a", href=url, download=name, hidden="")
        document.body.appendChild(link)
        link.click()
        link.remove()
        js.setTimeout(create_once_callable(lambda: js.URL.revokeObjectURL(url)), 10_000)

    def _end_seen(self, entries: Any, _observer: Any = None) -> None:
        """The end of the list came within about :data:`STICK_TO_BOTTOM_PX` of the view, or left it."""
        self._stick = bool(entries[len(entries) - 1].isIntersecting)

    def _list_resized(self, _entries: Any, _observer: Any = None) -> None:
        # Resize observations come before intersection ones in a frame: scrolled here, the
        # end never counts as left.
        if self._stick:
            self._scroll_end_now()

    def _scroll_to_end(self, *, force: bool, in_frame: bool = False) -> None:
        """Scroll to the newest message once, for however many calls, before the browser renders.

        Unless ``force``d, only when the user had not scrolled up to read.

        A new message (the default) scrolls in a microtask: after the rest of the event
        handler (its request is already on its way) and before the browser renders. Not in
        ``requestAnimationFrame``: a scroll made while a frame renders needs another frame for
        its scroll event, so Chromium keeps rendering at vsync, and the frame after the next
        key press (which the reply waits for: Chromium defers network tasks after input until
        that frame) comes up to 16 ms later instead of at once.

        A whole conversation shown (``in_frame``) scrolls in the frame that first lays it out:
        forcing that layout here would only delay the page's other work.
        """
        if not (force or self._stick):
            return
        if in_frame and not self._end_in_frame:
            self._end_in_frame = True
            js.requestAnimationFrame(self._end_frame)
        elif not in_frame and not self._end_soon:
            self._end_soon = True  # even with a frame's scroll pending: that one comes too late
            js.queueMicrotask(self._end_now)

    def _scroll_end_now(self) -> None:
        self._end_soon = False
        self.messages.scrollTop = self.messages.scrollHeight
        self._stick = True

    def _scroll_end_in_frame(self, _timestamp: Any = None) -> None:
        self._end_in_frame = False
        self._scroll_end_now()

    def _update_send_button(self) -> None:
        shown = (self._busy or self._too_long or self._offline or not self._ready,
                 "Offline: sending is paused" if self._offline else "")
        if shown != self._send_button_shown:
            self._send_button_shown = shown
            self.send_button.disabled, self.send_button.title = shown

    def _input_changed(self) -> None:
        """Grow the input with its text and show the length counter near the limit."""
        text = self.read_input()
        if not self._css_sizes_input:
            if text:
                self.input.style.height = "auto"
                self.input.style.height = f"{min(int(self.input.scrollHeight) + 2, 200)}px"
            else:
                self.input.style.height = ""  # back to one row, without measuring (sending clears it)
        length = len(text)  # code points, as the controller counts them
        too_long = message_too_long(text) is not None
        if too_long != self._too_long:  # announce crossing the limit, not every keystroke
            self.announcer.textContent = (
                f"Over the {MAX_MESSAGE_CHARS:,}-character limit" if too_long else "Within the character limit"
            )
        self._too_long = too_long
        hidden = length < COUNTER_FROM
        text = "" if hidden else f"{length:,} / {MAX_MESSAGE_CHARS:,}"  # a hidden counter keeps its old text
        was_hidden, was_text, was_over = self._counter_shown or (None, None, None)
        if hidden != was_hidden:
            self.counter.hidden = hidden
        if text and text != was_text:
            self.counter.textContent = text
        if too_long != was_over:
            self.counter.classList.toggle("over", too_long)
        self._counter_shown = (hidden, text or was_text, too_long)
        self._update_send_button()

    # ----- events --------------------------------------------------------------------------

    def _keep(self, proxy: Any) -> Any:
        self._proxies.append(proxy)  # keep alive for the page's lifetime
        return proxy

    def _on(self, element: Any, event: str, handler: Callable[[Any], None], *, only: Any = None) -> None:
        """Call ``handler`` for ``event``s on ``element`` (those ``only`` passes on, when given)."""

        def guarded(event: Any) -> None:
            try:
                handler(event)
            except Exception as exc:  # a failing handler must show in the page, not vanish
                self.show_notice(describe_error(exc), level="error")
                raise

        listener = self._keep(create_proxy(guarded))
        element.addEventListener(event, listener if only is None else only(listener))

    def confirm(self, title: str, text: str, action_label: str, on_confirm: Callable[[], None]) -> None:
        document.getElementById("confirm-title").textContent = title
        document.getElementById("confirm-text").textContent = text
        document.getElementById("confirm-button").textContent = action_label
        self._on_confirm = on_confirm
        self.dialog.returnValue = ""  # Escape keeps the previous value otherwise
        self.dialog.showModal()

    def confirm_if(
        self, needed: bool, title: str, text: str, action_label: str, action: Callable[[], None]
    ) -> None:
        """Ask first when ``needed`` (something visible would be lost), else act at once."""
        if needed:
            self.confirm(title, text, action_label, action)
        else:
            action()

    def bind(self, controller: ChatController) -> None:
        """Wire the page's controls to ``controller``."""

        def on_submit(event: Any) -> None:
            event.preventDefault()
            controller.submit()
            self.input.focus()

        def on_enter(_event: Any) -> None:
            controller.submit()

        def on_character(event: Any) -> None:
            remove = event.target.closest("[data-testid=remove-character]")
            if _found(remove):
                config_id = str(remove.dataset.configId)

                def remove_it() -> None:
                    controller.remove_character(config_id)

                self.confirm_if(
                    controller.needs_confirmation("remove", config_id),
                    f"Remove {_isolated(config_id)}?",
                    "This character, its session and its conversation in this browser are forgotten.",
                    "Remove",
                    remove_it,
                )
                return
            button = event.target.closest("[data-testid=character]")
            if _found(button):
                controller.select_character(str(button.dataset.configId))

        def on_add(event: Any) -> None:
            event.preventDefault()
            controller.add_character(str(self.add_input.value))

        def on_message_click(event: Any) -> None:
            retry = event.target.closest("[data-testid=retry-button]")
            if _found(retry):
                controller.retry(int(retry.dataset.index))
            if _found(event.target.closest("[data-testid=show-earlier]")):
                self.show_earlier()
                return
            copy = event.target.closest("[data-testid=copy-button]")
            bubble = copy.closest(".message").querySelector("[data-testid=message]") if _found(copy) else jsnull
            if _found(bubble):
                task = asyncio.ensure_future(self._copy(copy, str(bubble.textContent)))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        def on_export(fmt: str, mime: str) -> Callable[[Any], None]:
            def handler(_event: Any) -> None:
                exported = controller.export_conversation(fmt, str(js.Date.new().toISOString()))
                if exported is not None:
                    self.download(*exported, mime)

            return handler

        def on_new(_event: Any) -> None:
            self.confirm_if(
                controller.needs_confirmation("new"),
                f"Start a new conversation with {_isolated(self._character_name)}?",
                "This conversation and its session are forgotten; your next message starts a new session.",
                "Start new conversation",
                controller.new_conversation,
            )

        def on_clear_all(_event: Any) -> None:
            self.confirm_if(
                controller.needs_confirmation("clear-all"),
                "Clear all sessions?",
                "Every character's session and conversation in this browser is forgotten.",
                "Clear all sessions",
                controller.clear_all_sessions,
            )

        def on_dialog_close(_event: Any) -> None:
            if self.dialog.open:
                # "close" is dispatched as a separate task: when the dialog was reopened in between
                # (Escape, then at once the button again), this event is stale and must not
                # discard the new opening's action.
                return
            action, self._on_confirm = self._on_confirm, None
            if self.dialog.returnValue == "confirm" and action is not None:
                action()

        byid = document.getElementById
        self._on(byid("composer"), "submit", on_submit)
        self._on(self.input, "keydown", on_enter, only=_ON_ENTER)
        self._on(self.input, "input", lambda _e: self._input_changed())
        self._on(self.character_list, "click", on_character)
        self._on(byid("add-character-form"), "submit", on_add)
        self._on(self.messages, "click", on_message_click)
        self._on(byid("new-conversation"), "click", on_new)
        self._on(byid("clear-all-sessions"), "click", on_clear_all)
        self._on(self.dialog, "close", on_dialog_close)
        self._on(self.stop_button, "click", lambda _e: self._stop(controller))
        self._on(byid("export-markdown"), "click", on_export("markdown", "text/markdown;charset=utf-8"))
        self._on(byid("export-json"), "click", on_export("json", "application/json;charset=utf-8"))
