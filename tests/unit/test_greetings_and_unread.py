"""A character's greeting opens each conversation (never sent, never stored); replies elsewhere mark unread."""

from __future__ import annotations

import asyncio
import json

from app.archive import MemoryArchive
from app.conversations import Conversations
from app.settings import Character
from app.storage import MemoryStorage
from app.transcript import Message

from .fakes import DROPPED, stored_conversation, stored_messages
from .test_controller import Page

GREETING = "Good evening. What shall we look for?"
GREETED = [Character("A", "Alice", greeting=GREETING), Character("B", "Bob")]


def greeted_page(storage: MemoryStorage | None = None) -> Page:
    return Page(storage, characters=GREETED)


# ----- the greeting -------------------------------------------------------------------------------


async def test_a_new_conversation_opens_with_the_greeting_marked_as_such() -> None:
    page = greeted_page()
    await page.controller.start()
    assert page.view.messages == [Message("assistant", GREETING, greeting=True)]


async def test_the_greeting_is_never_sent_and_the_first_message_goes_alone() -> None:
    page = greeted_page()
    await page.controller.start()
    await page.send("hello")
    assert page.proxy.bodies("/api/chat") == [{"session_id": "sess-1", "config_id": "A", "input": "hello"}]
    assert page.view.texts() == [("assistant", GREETING), ("user", "hello"), ("assistant", "reply to hello")]


async def test_the_greeting_is_not_stored_and_comes_back_once_after_a_reload() -> None:
    page = greeted_page()
    await page.controller.start()
    await page.send("hello")
    assert [m.text for m in stored_messages(page.storage, "A")] == ["hello", "reply to hello"]
    again = greeted_page(page.storage)
    await again.controller.start()
    assert again.view.texts() == [("assistant", GREETING), ("user", "hello"), ("assistant", "reply to hello")]


async def test_new_conversation_and_clear_all_start_again_with_the_greeting() -> None:
    page = greeted_page()
    await page.controller.start()
    await page.send("hello")
    page.controller.new_conversation()
    assert page.view.messages == [Message("assistant", GREETING, greeting=True)]
    await page.send("again")
    page.controller.clear_all_sessions()
    assert page.view.messages == [Message("assistant", GREETING, greeting=True)]


async def test_a_greeting_alone_is_nothing_to_confirm_losing() -> None:
    page = greeted_page()
    await page.controller.start()
    assert not page.controller.needs_confirmation("new")
    page.storage.remove("session_A")
    page.controller.sessions.forget_cached("A")
    assert not page.controller.needs_confirmation("clear-all")
    await page.send("hello")
    assert page.controller.needs_confirmation("new")


async def test_a_character_without_a_greeting_opens_empty() -> None:
    page = greeted_page()
    await page.controller.start("B")
    assert page.view.messages == []


async def test_the_greeting_is_exported_marked() -> None:
    page = greeted_page()
    await page.controller.start()
    await page.send("hello")
    exported = await page.controller.export_conversation("json", "2026-12-02T00:00:00Z")
    assert exported is not None
    assert json.loads(exported[1])["messages"][0] == {"role": "assistant", "text": GREETING, "greeting": True}


async def test_another_tabs_write_keeps_the_greeting_once_before_both_tabs_messages() -> None:
    archive = MemoryArchive()
    mine = Conversations(archive, defer=lambda _s, _c: None, greeting=lambda _c: GREETING)
    theirs = Conversations(archive, greeting=lambda _c: GREETING)
    await mine.load("A")
    await theirs.load("A")
    theirs.save("A", theirs.add("A", Message("user", "theirs")))
    mine.save("A", mine.add("A", Message("user", "mine")))  # pending (the defer never runs)
    assert await mine.changed_elsewhere() == {"A"}
    assert [m.text for m in mine.get("A")] == [GREETING, "theirs", "mine"]
    assert [m.text for m in stored_conversation(archive, "A")] == ["theirs", "mine"]


async def test_a_greeting_alone_is_not_a_conversation_to_lose_or_to_store() -> None:
    archive = MemoryArchive()
    conversations = Conversations(archive, greeting=lambda _c: GREETING)
    await conversations.load("A")
    assert conversations.get("A") and not conversations.has_messages("A")
    assert await conversations.changed_elsewhere() == set()
    conversations.end("A")
    assert archive.conversations == {} and conversations.history("A") == []


# ----- unread marks -------------------------------------------------------------------------------


async def reply_while_bob_is_open(page: Page) -> None:
    """Alice's reply is held until Bob is open, then lands."""
    task = page.submit_held("for Alice")
    switch = page.controller.select_character("B")
    assert switch is not None and page.proxy.gate is not None
    await asyncio.sleep(0)
    assert page.view.current == "B" and page.view.unread == set()
    page.proxy.gate.set()
    await asyncio.gather(task, switch)
    page.proxy.gate = None


async def test_a_reply_landing_for_another_character_marks_it_unread_until_opened() -> None:
    page = greeted_page()
    await page.controller.start()
    await reply_while_bob_is_open(page)
    assert page.view.unread == {"A"}
    await page.controller.open_character("A")
    assert page.view.unread == set()
    assert page.view.texts()[-1] == ("assistant", "reply to for Alice")


async def test_a_failure_landing_for_another_character_marks_it_unread_too() -> None:
    page = greeted_page()
    await page.controller.start()
    page.proxy.script("/api/chat", DROPPED)
    await reply_while_bob_is_open(page)
    assert page.view.unread == {"A"}
    assert page.controller.conversation("A")[-1].role == "error"


async def test_a_reply_for_the_open_character_is_not_marked_unread() -> None:
    page = greeted_page()
    await page.controller.start()
    await page.send("hello")
    assert page.view.unread == set()


async def test_the_unread_mark_survives_the_list_being_drawn_again_and_goes_with_clear_all() -> None:
    page = greeted_page()
    await page.controller.start()
    await reply_while_bob_is_open(page)
    opening = page.controller.add_character("CHAR_new")  # the list is drawn again, then CHAR_new opens
    assert opening is not None
    await opening
    assert page.view.unread == {"A"}
    page.controller.clear_all_sessions()
    assert page.view.unread == set()


async def test_a_display_name_given_in_the_add_form_is_shown() -> None:
    page = greeted_page()
    await page.controller.start()
    opening = page.controller.add_character(" CHAR_qq ", "Quiet Quill")
    assert opening is not None
    await opening
    assert page.view.title == "Quiet Quill"
    assert [c.name for c in page.view.characters] == ["Alice", "Bob", "Quiet Quill"]
