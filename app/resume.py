"""A future that wakes the task awaiting it inside the callback that settles it.

In the browser, asyncio's loop is the browser's own: every wake-up that
``call_soon`` schedules is a separate browser task. A task awaiting a request
therefore resumes one trip round the browser's queue after the response
arrived (about half a millisecond, and after any frame that is due), and
Pyodide's own futures take two such trips. A :class:`CallbackFuture` settled
from a JavaScript callback, where no task is running, runs the awaiting
task's next step at once instead, in the same browser task as the response:
a reply is on screen sooner. Anywhere else (settled from inside a task,
cancelled, done callbacks added later) it behaves like any asyncio future.

A step resumed this way runs inside that JavaScript call, not from Pyodide's
own loop: code after the ``await`` cannot use Pyodide's stack switching
(``run_sync``). The page's code does not.

Example::

    future = CallbackFuture()
    start_request(on_done=future.settle)      # e.g. a JavaScript promise's callback
    status, text = await future
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class _ResumeNow:
    """What a :class:`CallbackFuture` sees as its loop: the real loop, but ``call_soon`` may run at once.

    asyncio futures schedule their done callbacks (for a task awaiting one, the
    task's next step) through ``loop.call_soon``; this is the one place they
    can be run instead. While a future settles they are only collected, and
    run once the future is done with its own bookkeeping (so a callback never
    runs inside it: CPython 3.11's C future crashes if one edits the list it
    is walking).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.collected: list[tuple[Callable[..., Any], tuple[Any, ...], contextvars.Context | None]] | None = None

    def call_soon(self, callback: Callable[..., Any], *args: Any, context: contextvars.Context | None = None) -> Any:
        if self.collected is None:  # not settling: cancelled, or a callback added once done
            return self.loop.call_soon(callback, *args, context=context)
        self.collected.append((callback, args, context))
        return None

    def run_collected(self) -> None:
        collected, self.collected = self.collected or [], None
        loop = self.loop
        for callback, args, context in collected:
            # A step can only run where it could have run from the loop: with the loop installed
            # as running (under Pyodide's stack switching, a JavaScript call may have a thread
            # state without it) and no task in the middle of its own step.
            if asyncio._get_running_loop() is not loop or asyncio.current_task(loop) is not None:
                loop.call_soon(callback, *args, context=context)
                continue
            try:
                if context is None:
                    callback(*args)
                else:
                    context.run(callback, *args)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:  # noqa: BLE001 - as the loop's own Handle does: report, never raise into the settler
                loop.call_exception_handler({"message": f"Exception in callback {callback!r}", "exception": exc})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loop, name)  # get_debug, call_exception_handler, ...


class CallbackFuture(asyncio.Future[T]):
    """An asyncio future for a result that a callback delivers; see the module docstring."""

    def __init__(self, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._resume = _ResumeNow(loop or asyncio.get_running_loop())
        super().__init__(loop=self._resume)  # type: ignore[arg-type]

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._resume.loop  # what tasks check that they share

    def settle(self, result: T) -> None:
        """Deliver ``result`` to the awaiting task; ignored once done (or cancelled)."""
        self._deliver(self.set_result, result)

    def fail(self, exception: BaseException) -> None:
        """Raise ``exception`` in the awaiting task; ignored once done (or cancelled)."""
        self._deliver(self.set_exception, exception)

    def _deliver(self, setter: Callable[[Any], None], value: Any) -> None:
        if self.done():  # e.g. cancelled (a timeout, Stop) a moment before the answer came
            return
        self._resume.collected = []
        try:
            setter(value)
        finally:
            self._resume.run_collected()
