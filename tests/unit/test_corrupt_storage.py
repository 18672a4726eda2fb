"""Junk in the page's own keys (other code, a broken tab) is corruption: this tab's data is kept and written back.

Never "cleared elsewhere", never a page that cannot start; the user is told once.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from app.controller import CORRUPT_NOTICE
from app.roster import ADDED_KEY, MAX_ADDED_CHARS, OPEN_KEY, Roster
from app.sessions import SessionManager
from app.settings import Character
from app.storage import CorruptValues, MemoryStorage

from .fakes import ok
from .test_controller import Page

DEEP = "[" * 50_000 + "]" * 50_000
JUNK = ["undefined", "not json", "", '{"a": 1}', "null", "42", DEEP, "[" + " " * MAX_ADDED_CHARS + "]"]
CONFIGURED = [Character("A", "Alice")]


def corrupt_notices(page: Page) -> list[str]:
    return [text for _level, text in page.view.warnings if text.startswith(CORRUPT_NOTICE)]


@pytest.mark.parametrize("junk", JUNK, ids=range(len(JUNK)))
def test_junk_in_the_added_characters_is_reported_and_written_over(junk: str) -> None:
    storage, corrupt = MemoryStorage({ADDED_KEY: junk}), CorruptValues()
    roster = Roster(storage, CONFIGURED, corrupt)
    assert [c.config_id for c in roster.characters] == ["A"]
    assert corrupt.keys == [ADDED_KEY]
    assert json.loads(storage.get(ADDED_KEY) or "") == []


def test_a_stored_list_too_long_to_read_is_corruption_not_parsed() -> None:
    entries = [{"config_id": f"CHAR_{n}", "name": "x" * 80} for n in range(1000)]
    storage, corrupt = MemoryStorage({ADDED_KEY: json.dumps(entries)}), CorruptValues()
    Roster(storage, CONFIGURED, corrupt)
    assert corrupt.keys == [ADDED_KEY]


@pytest.mark.parametrize("junk", JUNK, ids=range(len(JUNK)))
def test_junk_written_by_another_tab_keeps_the_characters_this_tab_holds(junk: str) -> None:
    storage, corrupt = MemoryStorage(), CorruptValues()
    roster = Roster(storage, CONFIGURED, corrupt)
    roster.add("CHAR_mine", "Mine")
    storage.set(ADDED_KEY, junk)  # the other tab
    roster.add("CHAR_next")
    assert [c.config_id for c in Roster(storage, CONFIGURED).characters] == ["A", "CHAR_mine", "CHAR_next"]
    assert Roster(storage, CONFIGURED).find("CHAR_mine").name == "Mine"  # type: ignore[union-attr]
    assert corrupt.keys == [ADDED_KEY]


def test_a_removed_characters_id_as_last_open_is_not_corruption() -> None:
    storage, corrupt = MemoryStorage({OPEN_KEY: "CHAR_gone"}), CorruptValues()
    assert Roster(storage, CONFIGURED, corrupt).last_open() is None
    assert corrupt.keys == [] and storage.get(OPEN_KEY) == "CHAR_gone"


@pytest.mark.parametrize("junk", ["", "   ", "x" * 5000, "a\nb"])
def test_junk_as_last_open_is_reported_and_removed(junk: str) -> None:
    storage, corrupt = MemoryStorage({OPEN_KEY: junk}), CorruptValues()
    assert Roster(storage, CONFIGURED, corrupt).last_open() is None
    assert corrupt.keys == [OPEN_KEY] and storage.get(OPEN_KEY) is None


async def test_junk_in_a_session_key_is_reported_when_read() -> None:
    corrupt = CorruptValues()
    manager = SessionManager(MemoryStorage({"session_A": "undefined"}), lambda _cid: asyncio.sleep(0, "s1"), corrupt)
    assert manager.peek("A") is None
    assert corrupt.keys == ["session_A"]
    assert await manager.get_session("A") == "s1"


async def test_junk_in_the_session_key_while_a_reply_is_pending_does_not_drop_the_reply() -> None:
    page = Page(corrupt=CorruptValues())
    await page.controller.start()
    session = page.storage.get("session_A")
    page.proxy.script("/api/chat", ok({"ai": "kept reply"}))
    task = page.submit_held("pending")
    await asyncio.sleep(0)
    page.storage.set("session_A", "undefined")  # another tab, or other code
    page.controller.storage_changed("session_A")
    page.proxy.gate.set()
    await task
    assert page.view.texts() == [("user", "pending"), ("assistant", "kept reply")]
    assert page.storage.get("session_A") == session  # a good copy written back
    assert len(corrupt_notices(page)) == 1


async def test_a_session_key_removed_while_a_reply_is_pending_still_drops_the_reply() -> None:
    page = Page(corrupt=CorruptValues())
    await page.controller.start()
    page.proxy.script("/api/chat", ok({"ai": "orphan"}))
    task = page.submit_held("pending")
    await asyncio.sleep(0)
    page.storage.remove("session_A")  # cleared over there: the conversation was thrown away
    page.controller.storage_changed("session_A")
    page.proxy.gate.set()
    await asyncio.gather(task, return_exceptions=True)
    assert ("assistant", "orphan") not in page.view.texts()
    assert corrupt_notices(page) == []


async def test_the_user_is_told_once_however_many_keys_are_junk() -> None:
    corrupt = CorruptValues()
    page = Page(MemoryStorage({ADDED_KEY: DEEP, OPEN_KEY: "", "session_A": "null"}), corrupt=corrupt)
    await page.controller.start()
    page.storage.set(ADDED_KEY, "not json")
    page.controller.storage_changed(ADDED_KEY)
    assert len(corrupt_notices(page)) == 1
    assert set(corrupt.keys) == {ADDED_KEY, OPEN_KEY, "session_A"}
    assert page.storage.get("session_A").startswith("sess")  # type: ignore[union-attr]
