from __future__ import annotations

import asyncio

import pytest

from app.errors import BadResponse, InvalidConfigId, NetworkError
from app.sessions import (
    SessionManager,
    get_or_create_session,
    is_valid_session_id,
    read_session,
    session_key,
    validate_config_id,
)
from app.storage import MemoryStorage

from .fakes import DROPPED, FakeProxy, ok


def manager_for(proxy: FakeProxy, storage: MemoryStorage | None = None) -> tuple[SessionManager, MemoryStorage]:
    storage = storage if storage is not None else MemoryStorage()
    return SessionManager(storage, proxy.client().create_session), storage


def test_session_key_is_the_reference_format() -> None:
    assert session_key("CHAR_luna") == "session_CHAR_luna"


def test_config_id_is_trimmed() -> None:
    assert validate_config_id("  CHAR_luna\t") == "CHAR_luna"


@pytest.mark.parametrize("raw", ["", "   ", "x" * 129, "a\nb", "a\x00b", None, 42])
def test_bad_config_ids_are_refused_with_a_reason(raw: object) -> None:
    with pytest.raises(InvalidConfigId) as info:
        validate_config_id(raw)
    assert str(info.value)


@pytest.mark.parametrize("value", ["", " ", "undefined", "null", "NaN", " sess-1", "a\nb", "x" * 513, None, 7])
def test_placeholder_and_corrupt_session_values_are_not_sessions(value: object) -> None:
    assert not is_valid_session_id(value)


def test_corrupt_stored_value_reads_as_absent() -> None:
    storage = MemoryStorage({"session_A": "undefined"})
    assert read_session(storage, "A") is None


async def test_stored_session_is_reused_without_a_request() -> None:
    proxy = FakeProxy()
    storage = MemoryStorage({"session_A": "sess-from-js"})
    assert await get_or_create_session("A", storage, proxy.client().create_session) == "sess-from-js"
    assert proxy.calls == []


async def test_new_session_is_requested_with_exactly_the_config_id_and_stored_raw() -> None:
    proxy = FakeProxy()
    storage = MemoryStorage()
    session_id = await get_or_create_session("A", storage, proxy.client().create_session)
    assert proxy.calls == [("/api/sessions", {"config_id": "A"})]
    assert storage.items == {"session_A": session_id}
    assert session_id == "sess-1"  # raw string, no JSON quotes


@pytest.mark.parametrize(
    "reply",
    [{}, {"session_id": None}, {"session_id": ""}, {"session_id": 12}, {"session_id": "undefined"}],
)
async def test_create_reply_without_a_session_id_stores_nothing(reply: dict[str, object]) -> None:
    proxy = FakeProxy()
    proxy.script("/api/sessions", ok(reply))
    storage = MemoryStorage()
    with pytest.raises(BadResponse):
        await get_or_create_session("A", storage, proxy.client().create_session)
    assert storage.items == {}


async def test_manager_answers_from_cache_after_the_first_lookup() -> None:
    proxy = FakeProxy()
    manager, storage = manager_for(proxy)
    first = await manager.get_session("A")
    storage.items.clear()  # even if storage loses it, the cache still answers
    assert await manager.get_session("A") == first
    assert proxy.paths() == ["/api/sessions"]


async def test_concurrent_lookups_for_one_character_make_one_request() -> None:
    proxy = FakeProxy()
    proxy.gate = asyncio.Event()
    manager, storage = manager_for(proxy)
    waiters = [asyncio.ensure_future(manager.get_session("A")) for _ in range(5)]
    await asyncio.sleep(0)
    proxy.gate.set()
    results = await asyncio.gather(*waiters)
    assert set(results) == {"sess-1"}
    assert proxy.paths() == ["/api/sessions"]
    assert storage.items == {"session_A": "sess-1"}


async def test_concurrent_lookups_for_two_characters_make_two_sessions() -> None:
    proxy = FakeProxy()
    manager, storage = manager_for(proxy)
    a, b = await asyncio.gather(manager.get_session("A"), manager.get_session("B"))
    assert a != b
    assert storage.items == {"session_A": a, "session_B": b}


async def test_a_cancelled_waiter_does_not_cancel_the_shared_request() -> None:
    proxy = FakeProxy()
    proxy.gate = asyncio.Event()
    manager, _ = manager_for(proxy)
    first = asyncio.ensure_future(manager.get_session("A"))
    second = asyncio.ensure_future(manager.get_session("A"))
    await asyncio.sleep(0)
    first.cancel()
    proxy.gate.set()
    assert await second == "sess-1"


async def test_failed_creation_is_reported_to_every_waiter_and_retried_next_time() -> None:
    proxy = FakeProxy()
    proxy.script("/api/sessions", DROPPED)
    manager, storage = manager_for(proxy)
    results = await asyncio.gather(manager.get_session("A"), manager.get_session("A"), return_exceptions=True)
    assert all(isinstance(r, NetworkError) for r in results)
    assert storage.items == {}
    assert await manager.get_session("A") == "sess-1"


async def test_clear_session_removes_cache_and_storage_so_the_next_use_creates_one() -> None:
    proxy = FakeProxy()
    manager, storage = manager_for(proxy)
    await manager.get_session("A")
    manager.clear_session("A")
    assert storage.items == {}
    assert await manager.get_session("A") == "sess-2"


@pytest.mark.parametrize("clear", ["one", "all"])
async def test_a_clear_while_creating_does_not_store_the_late_session(clear: str) -> None:
    proxy = FakeProxy()
    proxy.gate = asyncio.Event()
    manager, storage = manager_for(proxy)
    pending = asyncio.ensure_future(manager.get_session("A"))
    await asyncio.sleep(0)
    if clear == "one":
        manager.clear_session("A")
    else:
        manager.clear_all_sessions()
    proxy.gate.set()
    await pending
    assert storage.items == {}
    assert manager.peek("A") is None


async def test_clear_only_if_leaves_a_newer_session_alone() -> None:
    manager, storage = manager_for(FakeProxy(), MemoryStorage({"session_A": "new"}))
    manager.clear_session("A", only_if="old")
    assert storage.items == {"session_A": "new"}


async def test_an_expired_session_is_forgotten_without_counting_as_a_fresh_start() -> None:
    manager, storage = manager_for(FakeProxy(), MemoryStorage({"session_A": "old"}))
    before = manager.token("A")
    manager.expire_session("A", "old")
    assert storage.items == {} and manager.peek("A") is None
    assert manager.token("A") == before  # the conversation goes on: work in flight still belongs to it
    manager.clear_session("A")
    assert manager.token("A") != before


async def test_expiring_leaves_a_session_another_request_renewed_alone() -> None:
    manager, storage = manager_for(FakeProxy(), MemoryStorage({"session_A": "new"}))
    manager.expire_session("A", "old")
    assert storage.items == {"session_A": "new"}


async def test_clear_all_removes_every_session_key_and_nothing_else() -> None:
    storage = MemoryStorage({"session_A": "s1", "session_B": "s2", "theme": "dark", "sessionX": "keep",
                             "pychat:open": "A"})
    manager, _ = manager_for(FakeProxy(), storage)
    await manager.get_session("A")
    manager.clear_all_sessions()
    assert storage.items == {"theme": "dark", "sessionX": "keep", "pychat:open": "A"}
    assert manager.peek("A") is None


async def test_replace_session_stores_a_valid_id_and_ignores_junk() -> None:
    manager, storage = manager_for(FakeProxy(), MemoryStorage({"session_A": "s1"}))
    manager.replace_session("A", "undefined")
    assert storage.items["session_A"] == "s1"
    manager.replace_session("A", "s2")
    assert storage.items["session_A"] == "s2"
    assert await manager.get_session("A") == "s2"


async def test_a_lookup_after_a_clear_does_not_join_the_discarded_request() -> None:
    proxy = FakeProxy()
    proxy.gate = asyncio.Event()
    manager, storage = manager_for(proxy)
    stale = asyncio.ensure_future(manager.get_session("A"))
    await asyncio.sleep(0)
    manager.clear_session("A")
    fresh = asyncio.ensure_future(manager.get_session("A"))
    await asyncio.sleep(0)
    proxy.gate.set()
    assert await stale == "sess-1"
    assert await fresh == "sess-2"
    assert storage.items == {"session_A": "sess-2"}


async def test_a_session_another_tab_stored_while_we_created_ours_wins() -> None:
    proxy = FakeProxy()
    proxy.gate = asyncio.Event()
    manager, storage = manager_for(proxy)
    pending = asyncio.ensure_future(manager.get_session("A"))
    await asyncio.sleep(0)
    storage.set("session_A", "first-writer")  # the other tab got there first
    proxy.gate.set()
    assert await pending == "first-writer"
    assert storage.items == {"session_A": "first-writer"}
