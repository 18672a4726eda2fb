from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from app.resume import CallbackFuture

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]


def in_a_loop_of_its_own(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``scenario()`` on a new loop, closed without waiting for its tasks.

    ``asyncio.run`` would wait for ever on a task that can no longer resume:
    this way such a task fails the test instead of hanging it.
    """

    def run() -> T:
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(scenario())
        finally:
            loop.close()

    with ThreadPoolExecutor(max_workers=1) as worker:  # Playwright's loop may be running in this thread
        return worker.submit(run).result()


async def waiting_task(future: CallbackFuture[str], log: list[str]) -> asyncio.Task[None]:
    """A task awaiting ``future`` that logs when it resumes; returned once it is waiting."""

    async def wait() -> None:
        log.append(f"resumed with {await future}")

    task = asyncio.ensure_future(wait())
    await asyncio.sleep(0)  # let it reach the await
    return task


async def from_a_callback(action: Any) -> None:
    """Run ``action`` as a loop callback, outside any task: as a JavaScript callback runs in the browser."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # noqa: BLE001 - handed to the test, which raises it
            done.set_exception(exc)
        else:
            done.set_result(None)

    loop.call_soon(run)
    await done


async def test_settled_outside_any_task_the_waiting_task_resumes_before_settle_returns() -> None:
    log: list[str] = []
    future: CallbackFuture[str] = CallbackFuture()
    task = await waiting_task(future, log)
    await from_a_callback(lambda: (future.settle("reply"), log.append("settle returned")))
    assert log == ["resumed with reply", "settle returned"]
    assert task.done()


def test_settled_from_inside_a_task_the_waiting_task_resumes_later_as_usual() -> None:
    log: list[str] = []

    async def scenario() -> set[asyncio.Task[None]]:
        future: CallbackFuture[str] = CallbackFuture()
        task = await waiting_task(future, log)
        future.settle("reply")  # from inside this scenario's own task
        log.append("settle returned")
        finished, _ = await asyncio.wait({task}, timeout=5)
        return finished

    assert len(in_a_loop_of_its_own(scenario)) == 1
    assert log == ["settle returned", "resumed with reply"]


async def test_an_exception_is_raised_in_the_waiting_task() -> None:
    future: CallbackFuture[str] = CallbackFuture()
    raised: list[str] = []

    async def wait() -> None:
        try:
            await future
        except ConnectionError as exc:
            raised.append(str(exc))

    task = asyncio.ensure_future(wait())
    await asyncio.sleep(0)
    await from_a_callback(lambda: (future.fail(ConnectionError("Failed to fetch")), raised.append("fail returned")))
    assert raised == ["Failed to fetch", "fail returned"] and task.done()


async def test_only_the_first_settle_counts() -> None:
    log: list[str] = []
    future: CallbackFuture[str] = CallbackFuture()
    await waiting_task(future, log)
    await from_a_callback(lambda: (future.settle("first"), future.settle("second")))
    assert (log, future.result()) == (["resumed with first"], "first")


async def test_a_cancelled_wait_ignores_a_late_settle() -> None:
    log: list[str] = []
    future: CallbackFuture[str] = CallbackFuture()
    task = await waiting_task(future, log)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await from_a_callback(lambda: future.settle("too late"))
    assert log == [] and future.cancelled()


async def test_an_answer_just_after_a_cancel_is_ignored() -> None:
    """A timeout or Stop cancels the wait; the answer may already be on its way."""
    log: list[str] = []
    future: CallbackFuture[str] = CallbackFuture()
    task = await waiting_task(future, log)
    await from_a_callback(lambda: (task.cancel(), future.settle("answer")))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == []


async def test_a_cancel_from_outside_any_task_resumes_the_task_later_as_usual() -> None:
    """Stop is clicked in an event handler: the task winds up after the handler, not inside it."""
    log: list[str] = []
    future: CallbackFuture[str] = CallbackFuture()

    async def wait() -> None:
        try:
            await future
        except asyncio.CancelledError:
            log.append("task cancelled")
            raise

    task = asyncio.ensure_future(wait())
    await asyncio.sleep(0)
    await from_a_callback(lambda: (task.cancel(), log.append("cancel returned")))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["cancel returned", "task cancelled"]


async def test_without_the_loop_installed_as_running_the_task_resumes_later_as_usual() -> None:
    """Under Pyodide's stack switching a JavaScript call may run on a thread state without the loop."""
    log: list[str] = []
    future: CallbackFuture[str] = CallbackFuture()
    task = await waiting_task(future, log)
    loop = asyncio.get_running_loop()

    def settle_without_running_loop() -> None:
        asyncio._set_running_loop(None)
        try:
            future.settle("reply")
            log.append("settle returned")
        finally:
            asyncio._set_running_loop(loop)

    await from_a_callback(settle_without_running_loop)
    await task
    assert log == ["settle returned", "resumed with reply"]


def test_done_callbacks_that_edit_each_other_run_as_with_a_plain_future() -> None:
    """CPython 3.11's C future crashed if a callback run inside its settling edited its callbacks."""
    script = """
import asyncio
from app.resume import CallbackFuture

async def main():
    loop, out = asyncio.get_running_loop(), []
    future = CallbackFuture()
    def a(_f): out.append("a")
    def c(_f): out.append("c")
    def b(_f): out.append("b"); future.remove_done_callback(c)
    for callback in (a, b, c): future.add_done_callback(callback)
    done = loop.create_future()
    loop.call_soon(lambda: (future.settle(1), done.set_result(None)))
    await done
    print(out)

asyncio.run(main())
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout.strip()) == (0, "['a', 'b', 'c']"), result.stderr


async def test_a_timeout_around_the_wait_still_cancels_it() -> None:
    future: CallbackFuture[str] = CallbackFuture()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(future, 0.01)
    assert future.cancelled()


async def test_a_failing_done_callback_is_reported_to_the_loop_not_raised_into_the_settler() -> None:
    loop = asyncio.get_running_loop()
    reported: list[BaseException] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context["exception"]))
    future: CallbackFuture[str] = CallbackFuture()

    def broken(_future: object) -> None:
        raise RuntimeError("bug in a callback")

    future.add_done_callback(broken)
    returned: list[bool] = []
    await from_a_callback(lambda: (future.settle("reply"), returned.append(True)))
    assert returned == [True]
    assert [str(exc) for exc in reported] == ["bug in a callback"]


async def test_the_future_belongs_to_the_running_loop() -> None:
    future: CallbackFuture[str] = CallbackFuture()
    assert future.get_loop() is asyncio.get_running_loop()
    assert asyncio.isfuture(future)
