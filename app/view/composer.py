"""The composer (input, length counter, Send) and the activity line ("is replying…", Stop)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import create_proxy
from pyscript import document

from ..i18n import _, number
from ..transcript import MAX_MESSAGE_CHARS, message_too_long
from .dom import Announcer, Listeners, isolated

ACTIVITY_DELAY_MS = 250  # how long a wait lasts before "is replying…" shows
COUNTER_FROM = int(MAX_MESSAGE_CHARS * 0.8)  # the counter appears near the limit

# Enter (not Shift+Enter, nor while an input method composes) sends, without its newline. The
# other keys stay in JavaScript: typing does not enter Python once per key.
_ON_ENTER = js.Function.new(
    "handler",
    "return (event) => {"
    " if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) { event.preventDefault(); handler(event); }"
    " };",
)

# Up in an empty input (no modifier, no input method composing) recalls the last message sent.
_ON_UP_WHEN_EMPTY = js.Function.new(
    "handler",
    "return (event) => {"
    " if (event.key === 'ArrowUp' && !event.target.value && !event.isComposing"
    " && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey) handler(event);"
    " };",
)

# Escape with no dialog nor the menu open (they take their own Escape first) asks to stop a pending reply.
_ON_ESCAPE = js.Function.new(
    "handler",
    "return (event) => {"
    " if (event.key === 'Escape' && !event.isComposing && !document.querySelector('dialog[open]')"
    " && !document.documentElement.hasAttribute('data-menu-open')) handler(event);"
    " };",
)


class Composer:
    """The message form: its input grows with the text, counts near the limit, and Send knows when it can.

    Sending updates the input and Send twice in one key press, so what the DOM
    shows is remembered and only changes are written (each write is a call into
    JavaScript).
    """

    def __init__(self, announcer: Announcer) -> None:
        byid = document.getElementById
        self.form = byid("composer")
        self.input = byid("message-input")
        self.send_button = byid("send-button")
        self.counter = byid("char-counter")
        self._announcer = announcer
        self._ready = False
        self._busy = False
        self._offline = False
        self._too_long = False
        self._send_button_shown: tuple[bool, str] | None = None  # disabled, title
        self._counter_shown: tuple[bool, str | None, bool] | None = None  # hidden, text, over the limit
        # CSS grows the input (style.css) where the browser can; measuring it on every keystroke forces layout.
        self._css_sizes_input = bool(js.CSS.supports("field-sizing", "content"))
        self.on_fits: Callable[[], object] = lambda: None  # the text went back within the limit
        self.on_input: Callable[[str], object] = lambda _text: None  # the text changed (typed or written)

    def read(self) -> str:
        return str(self.input.value)

    def write(self, text: str) -> None:
        self.input.value = text
        self._input_changed()

    def focus(self) -> None:
        self.input.focus()

    def set_ready(self) -> None:
        """Python runs: Send may enable."""
        self._ready = True
        self._update_send_button()

    def set_busy(self, busy: bool) -> None:
        """While a reply or a session is awaited, Send is disabled."""
        self._busy = busy
        self._update_send_button()

    def set_offline(self, offline: bool) -> None:
        self._offline = offline
        self._update_send_button()

    def bind(
        self, events: Listeners, submit: Callable[[], object], last_sent: Callable[[], str | None] = lambda: None
    ) -> None:
        """Send (the button, or Enter in the input) calls ``submit``; typing updates the counter.

        Up in the empty input brings back ``last_sent()`` (the last message the user sent), to edit.
        """

        def recall(event: Any) -> None:
            text = last_sent()
            if text:
                event.preventDefault()
                self.write(text)
                self.input.setSelectionRange(len(text), len(text))

        def on_submit(event: Any) -> None:
            event.preventDefault()
            submit()
            self.input.focus()

        events.on(self.form, "submit", on_submit)
        events.on(self.input, "keydown", lambda _event: submit(), only=_ON_ENTER)
        events.on(self.input, "keydown", recall, only=_ON_UP_WHEN_EMPTY)
        events.on(self.input, "input", lambda _event: self._input_changed())

    def _update_send_button(self) -> None:
        shown = (self._busy or self._too_long or self._offline or not self._ready,
                 _("Offline: sending is paused") if self._offline else "")
        if shown != self._send_button_shown:
            self._send_button_shown = shown
            self.send_button.disabled, self.send_button.title = shown

    def _input_changed(self) -> None:
        """Grow the input with its text, show the length counter near the limit, and report the text."""
        text = self.read()
        self.on_input(text)
        if not self._css_sizes_input:
            if text:
                self.input.style.height = "auto"
                self.input.style.height = f"{min(int(self.input.scrollHeight) + 2, 200)}px"
            else:
                self.input.style.height = ""  # back to one row, without measuring (sending clears it)
        length = len(text)  # code points, as the controller counts them
        too_long = message_too_long(text) is not None
        if too_long != self._too_long:  # announce crossing the limit, not every keystroke
            self._announcer.say(
                _("Over the {limit}-character limit", limit=number(MAX_MESSAGE_CHARS)) if too_long
                else _("Within the character limit")
            )
            if not too_long:
                self.on_fits()
        self._too_long = too_long
        hidden = length < COUNTER_FROM
        text = "" if hidden else (
            _("{length} / {limit}", length=number(length), limit=number(MAX_MESSAGE_CHARS))
        )  # a hidden counter keeps its old text
        was_hidden, was_text, was_over = self._counter_shown or (None, None, None)
        if hidden != was_hidden:
            self.counter.hidden = hidden
        if text and text != was_text:
            self.counter.textContent = text
        if too_long != was_over:
            self.counter.classList.toggle("over", too_long)
        self._counter_shown = (hidden, text or was_text, too_long)
        self._update_send_button()


class ActivityIndicator:
    """The activity line, "<name> is replying…" (or "Starting a session…") and Stop, once a wait lasts.

    A reply within :data:`ACTIVITY_DELAY_MS` never flashes the indicator (nor
    shifts the layout twice). Also marks ``<html data-setting-up>`` while the
    first session is set up, for tests and styles.
    """

    def __init__(self, root: Any) -> None:
        self.root = root
        self.indicator = document.getElementById("sending-indicator")
        self.stop_button = document.getElementById("stop-button")
        self._shown: tuple[bool, bool, str] | None = None  # sending, setting up, name
        self._setting_up_shown = False
        self._visible = False
        self._timer: Any = None
        self._later = create_proxy(self._show_now)

    def show(self, *, sending: bool, setting_up: bool, name: str) -> bool:
        """Show what is awaited (a reply from ``name``, a session, or nothing); False if nothing changed."""
        if (sending, setting_up, name) == self._shown:
            return False
        self._shown = (sending, setting_up, name)
        if setting_up != self._setting_up_shown:
            self._setting_up_shown = setting_up
            self.root.toggleAttribute("data-setting-up", setting_up)
        if self._timer is not None:
            js.clearTimeout(self._timer)
            self._timer = None
        if not (sending or setting_up):
            if self._visible:
                self.indicator.hidden = self.stop_button.hidden = True
                self._visible = False
        elif self._visible:
            self._show_now()
        else:
            self._timer = js.setTimeout(self._later, ACTIVITY_DELAY_MS)
        return True

    def bind(self, events: Listeners, stop: Callable[[], object], escape: Callable[[], object]) -> None:
        """Stop calls ``stop``; Escape anywhere on the page (no dialog open) calls ``escape``."""
        events.on(self.stop_button, "click", lambda _event: stop())
        events.on(document, "keydown", lambda _event: escape(), only=_ON_ESCAPE)

    def _show_now(self) -> None:
        self._timer = None
        sending, setting_up, name = self._shown or (False, False, "")
        if sending:
            self.indicator.textContent = _("{name} is replying\u2026", name=isolated(name))
        elif setting_up:
            self.indicator.textContent = _("Starting a session\u2026")
        self.indicator.hidden = False
        self.stop_button.hidden = not sending
        self._visible = True
