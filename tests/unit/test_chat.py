from __future__ import annotations

import pytest

from app.chat import send_chat_message
from app.errors import ServerError, SessionExpired
from app.sessions import SessionManager
from app.storage import MemoryStorage

from .fakes import FakeProxy, ok, status


def setup(stored: dict[str, str] | None = None) -> tuple[FakeProxy, SessionManager, MemoryStorage]:
    proxy = FakeProxy()
    storage = MemoryStorage(stored)
    return proxy, SessionManager(storage, proxy.client().create_session), storage


async def test_send_uses_the_stored_session() -> None:
    proxy, manager, _ = setup({"session_A": "kept"})
    result = await send_chat_message(manager, proxy.client(), "A", "hi")
    assert result.text == "reply to hi"
    assert proxy.calls == [("/api/chat", {"session_id": "kept", "config_id": "A", "input": "hi"})]


async def test_send_without_a_session_creates_one_first() -> None:
    proxy, manager, storage = setup()
    await send_chat_message(manager, proxy.client(), "A", "hi")
    assert proxy.paths() == ["/api/sessions", "/api/chat"]
    assert proxy.bodies("/api/chat")[0]["session_id"] == storage.items["session_A"]


@pytest.mark.parametrize("code", [404, 410])
async def test_expired_session_is_replaced_and_the_same_message_resent_once(code: int) -> None:
    proxy, manager, storage = setup({"session_A": "old"})
    proxy.script("/api/chat", status(code, {"error": "Session expired"}))
    result = await send_chat_message(manager, proxy.client(), "A", "the same words")
    assert proxy.paths() == ["/api/chat", "/api/sessions", "/api/chat"]
    assert [b["input"] for b in proxy.bodies("/api/chat")] == ["the same words", "the same words"]
    assert [b["session_id"] for b in proxy.bodies("/api/chat")] == ["old", "sess-1"]
    assert storage.items == {"session_A": "sess-1"}
    assert result.renewed and result.session_id == "sess-1"


async def test_a_second_expiry_is_raised_not_retried_again() -> None:
    proxy, manager, _ = setup({"session_A": "old"})
    proxy.script("/api/chat", status(410), status(410), status(410))
    with pytest.raises(SessionExpired):
        await send_chat_message(manager, proxy.client(), "A", "hi")
    assert proxy.paths() == ["/api/chat", "/api/sessions", "/api/chat"]


async def test_server_errors_do_not_touch_the_session() -> None:
    proxy, manager, storage = setup({"session_A": "kept"})
    proxy.script("/api/chat", status(500))
    with pytest.raises(ServerError):
        await send_chat_message(manager, proxy.client(), "A", "hi")
    assert storage.items == {"session_A": "kept"}


async def test_a_reply_naming_a_new_session_replaces_the_stored_one() -> None:
    proxy, manager, storage = setup({"session_A": "old"})
    proxy.script("/api/chat", ok({"ai": "hi", "session_id": "rotated"}))
    result = await send_chat_message(manager, proxy.client(), "A", "hi")
    assert storage.items == {"session_A": "rotated"}
    assert result.session_id == "rotated"
    await send_chat_message(manager, proxy.client(), "A", "again")
    assert proxy.bodies("/api/chat")[-1]["session_id"] == "rotated"


async def test_a_stale_expiry_does_not_clear_a_session_another_tab_stored_meanwhile() -> None:
    import asyncio

    proxy, manager, storage = setup({"session_A": "old"})
    proxy.gate = asyncio.Event()
    proxy.script("/api/chat", status(410))
    sending = asyncio.ensure_future(send_chat_message(manager, proxy.client(), "A", "hi"))
    await asyncio.sleep(0)
    storage.set("session_A", "from-other-tab")
    manager.forget_cached("A")
    proxy.gate.set()
    result = await sending
    assert storage.items == {"session_A": "from-other-tab"}
    assert proxy.paths() == ["/api/chat", "/api/chat"]
    assert result.session_id == "from-other-tab" and result.renewed
