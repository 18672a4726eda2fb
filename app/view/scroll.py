"""Scroll-follow: the message list stays at its newest message while the user is there."""

from __future__ import annotations

from typing import Any

import js
from pyodide.ffi import create_proxy, to_js

from .dom import el

STICK_TO_BOTTOM_PX = 80  # this close to the end still counts as "at the end"


class ScrollFollow:
    """Knows whether the list is at its end, and scrolls it there at most once per render.

    Being at the end is observed, not measured: a marker after the last
    message (:attr:`end`, which the list keeps last), watched by an
    IntersectionObserver, reports only when it enters or leaves the view. A
    scroll listener would run Python, and read layout, on every scroll event,
    including the one each new message's own scroll causes.
    """

    def __init__(self, scroller: Any) -> None:
        self.scroller = scroller
        self.end = el("li", cls="list-end", role="none", aria_hidden="true")
        scroller.appendChild(self.end)
        self._stick = True  # at (or near) the end, as last observed
        self._height = 0.0  # the list's height when last resized
        self._end_soon = False  # a scroll to the end is due in a microtask
        self._end_in_frame = False  # ... or in the next frame
        self._end_now = create_proxy(self._scroll_end_now)
        self._end_frame = create_proxy(self._scroll_end_in_frame)
        self._on_end_seen = create_proxy(self._end_seen)
        self._on_resized = create_proxy(self._list_resized)
        self._end_observer = js.IntersectionObserver.new(
            self._on_end_seen,
            to_js({"root": scroller, "rootMargin": f"0px 0px {STICK_TO_BOTTOM_PX}px 0px"},
                  dict_converter=js.Object.fromEntries),
        )
        self._end_observer.observe(self.end)
        # The list also shrinks without scrolling (the input grows, the window gets smaller):
        # at its end, it stays there, rather than leaving the end out of view and unfollowed.
        self._resize_observer = js.ResizeObserver.new(self._on_resized)
        self._resize_observer.observe(scroller)

    @property
    def at_end(self) -> bool:
        """Whether the list was at (or near) its end when last observed."""
        return self._stick

    def scroll_to_end(self, *, force: bool, in_frame: bool = False) -> None:
        """Scroll to the newest message once, for however many calls, before the browser renders.

        Unless ``force``d, only when the user had not scrolled up to read.

        A new message (the default) scrolls in a microtask: after the rest of
        the event handler (its request is already on its way) and before the
        browser renders. Not in ``requestAnimationFrame``: a scroll made while
        a frame renders needs another frame for its scroll event, which keeps
        Chromium rendering at vsync and delays the frame after the next key
        press, which the reply waits for (Chromium defers network tasks after
        input until that frame).

        A whole conversation shown (``in_frame``) scrolls in the frame that
        first lays it out: forcing that layout here would only delay the
        page's other work.
        """
        if not (force or self._stick):
            return
        if in_frame and not self._end_in_frame:
            self._end_in_frame = True
            js.requestAnimationFrame(self._end_frame)
        elif not in_frame and not self._end_soon:
            self._end_soon = True  # even with a frame's scroll pending: that one comes too late
            js.queueMicrotask(self._end_now)

    def _end_seen(self, entries: Any, _observer: Any = None) -> None:
        """The end of the list came within :data:`STICK_TO_BOTTOM_PX` of the view, or left it."""
        self._stick = bool(entries[len(entries) - 1].isIntersecting)

    def _list_resized(self, entries: Any, _observer: Any = None) -> None:
        # Resize observations come before intersection ones in a frame: scrolled here, the
        # end never counts as left. But the last observation may be older than a scroll the
        # user made since (up, to read, in the frame the list resized in): the end counts as
        # near only if it still is, give or take what the list shrank by.
        height = float(entries[len(entries) - 1].contentRect.height)
        shrunk, self._height = max(self._height - height, 0.0), height
        scroller = self.scroller
        beyond = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight
        if self._stick and beyond <= STICK_TO_BOTTOM_PX + shrunk:
            self._scroll_end_now()

    def _scroll_end_now(self) -> None:
        self._end_soon = False
        self.scroller.scrollTop = self.scroller.scrollHeight
        self._stick = True

    def _scroll_end_in_frame(self, _timestamp: Any = None) -> None:
        self._end_in_frame = False
        self._scroll_end_now()
