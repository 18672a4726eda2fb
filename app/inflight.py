"""What is under way for each character: a session being set up, a message waiting for its reply.

One record per character replaces parallel sets and dicts, so "is this
character busy?" has one answer. Whether work that finishes later still
belongs to the conversation on screen is the session manager's
:meth:`~app.sessions.SessionManager.token`, not something kept here.

Example::

    inflight = InFlight()
    inflight.begin_send("CHAR_luna")
    inflight.busy("CHAR_luna")      # True until end_send
    inflight.cancel("CHAR_luna")    # Stop: aborts the reply's request
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any


def start_task(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """Run ``coro`` as a task, starting it at once (Python 3.12+) rather than on the next loop turn.

    In the browser each loop turn is a separate browser task: starting
    eagerly sends a message's request within the key press that sent it,
    before the browser renders a frame. The task may be done on return.
    """
    loop = asyncio.get_event_loop()
    if sys.version_info >= (3, 12):
        return asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]
    return loop.create_task(coro)


@dataclass
class Underway:
    """One character's work in progress."""

    setting_up: bool = False
    sending: bool = False
    reply: asyncio.Future[None] | None = None  # the task waiting for the reply, while it waits
    streamed: str | None = None  # what arrived so far of a reply that streams

    @property
    def idle(self) -> bool:
        return not (self.setting_up or self.sending or self.reply)


class InFlight:
    """Every character's :class:`Underway` record (absent while idle)."""

    def __init__(self) -> None:
        self._records: dict[str, Underway] = {}

    def _record(self, config_id: str) -> Underway:
        return self._records.setdefault(config_id, Underway())

    def _tidy(self, config_id: str) -> None:
        record = self._records.get(config_id)
        if record is not None and record.idle:
            del self._records[config_id]

    def setting_up(self, config_id: str | None) -> bool:
        record = self._records.get(config_id or "")
        return record is not None and record.setting_up

    def sending(self, config_id: str | None) -> bool:
        record = self._records.get(config_id or "")
        return record is not None and record.sending

    def busy(self, config_id: str | None) -> bool:
        """Setting up or sending: a new message must wait."""
        return self.setting_up(config_id) or self.sending(config_id)

    def begin_setup(self, config_id: str) -> None:
        self._record(config_id).setting_up = True

    def end_setup(self, config_id: str) -> None:
        self._record(config_id).setting_up = False
        self._tidy(config_id)

    def begin_send(self, config_id: str) -> None:
        self._record(config_id).sending = True

    def awaiting(self, config_id: str, reply: asyncio.Future[None]) -> None:
        """``reply`` is the task that waits for the reply (one started eagerly may be done already)."""
        if not reply.done():
            self._record(config_id).reply = reply

    def end_send(self, config_id: str) -> None:
        record = self._record(config_id)
        record.sending, record.reply, record.streamed = False, None, None
        self._tidy(config_id)

    def stream(self, config_id: str, text: str) -> None:
        """``text`` is what arrived so far of ``config_id``'s reply (kept to show it again on reopening)."""
        record = self._records.get(config_id)
        if record is not None and record.sending:
            record.streamed = text

    def streamed(self, config_id: str | None) -> str | None:
        """What arrived so far of ``config_id``'s streaming reply, if one streams."""
        record = self._records.get(config_id or "")
        return None if record is None else record.streamed

    def take_streamed(self, config_id: str) -> str | None:
        """:meth:`streamed`, and forget it: the reply ends (whole, stopped or cut off)."""
        record = self._records.get(config_id)
        if record is None:
            return None
        text, record.streamed = record.streamed, None
        return text

    def waiting_for_reply(self) -> set[str]:
        """The characters whose reply is still on its way."""
        return {c for c, r in self._records.items() if r.reply is not None and not r.reply.done()}

    def sending_characters(self) -> set[str]:
        return {c for c, r in self._records.items() if r.sending}

    def cancel(self, config_id: str | None) -> bool:
        """Cancel the pending reply of ``config_id`` (the browser aborts its request); False if none."""
        record = self._records.get(config_id or "")
        if record is None or record.reply is None or record.reply.done():
            return False
        record.reply.cancel()
        return True


class Background:
    """Tasks started by user actions: kept alive until done, and a failure (a bug) reported, never lost."""

    def __init__(self, report: Callable[[BaseException], None]) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()
        self._report = report

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Future[None]:
        task = start_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._report(task.exception() or Exception())
