"""What is under way per character: one record, busy while setting up or sending, Stop cancels."""

from __future__ import annotations

import asyncio

from app.inflight import Background, InFlight


def test_a_character_is_busy_while_setting_up_or_sending_and_idle_after() -> None:
    inflight = InFlight()
    inflight.begin_setup("A")
    assert inflight.busy("A") and inflight.setting_up("A") and not inflight.sending("A")
    inflight.end_setup("A")
    inflight.begin_send("A")
    assert inflight.busy("A") and inflight.sending("A") and not inflight.busy("B")
    inflight.end_send("A")
    assert not inflight.busy("A") and inflight.sending_characters() == set()
    assert not inflight.busy(None)


async def test_cancel_stops_the_pending_reply_and_only_that() -> None:
    inflight = InFlight()
    reply: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    inflight.begin_send("A")
    inflight.awaiting("A", reply)
    assert inflight.waiting_for_reply() == {"A"}
    assert inflight.cancel("B") is False
    assert inflight.cancel("A") is True and reply.cancelled()
    assert inflight.cancel("A") is False  # nothing pending any more
    assert inflight.waiting_for_reply() == set()


async def test_a_reply_already_finished_is_not_waited_for() -> None:
    inflight = InFlight()
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.set_result(None)
    inflight.begin_send("A")
    inflight.awaiting("A", done)
    assert inflight.waiting_for_reply() == set() and inflight.cancel("A") is False


async def test_a_background_task_that_fails_is_reported() -> None:
    reported: list[str] = []

    async def broken() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("a bug")

    task = Background(lambda exc: reported.append(str(exc))).spawn(broken())
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)
    assert reported == ["a bug"]
