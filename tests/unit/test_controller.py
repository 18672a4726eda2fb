from __future__ import annotations

import asyncio
import json

from app.controller import ChatController
from app.drafts import Drafts
from app.quota import QuotaWatch, quota_warning
from app.roster import Roster
from app.sending import OFFLINE_NOTICE, RENEWED_NOTICE, SENT_SAVE_DELAY, STOPPED
from app.sessions import SessionManager
from app.settings import Character
from app.storage import CorruptValues, GuardedStorage, MemoryStorage
from app.transcript import MAX_MESSAGE_CHARS, Message, message_too_long
from app.wording import NETWORK, SERVER

from .fakes import (
    DROPPED,
    BrokenStorage,
    CountingStorage,
    FakeProxy,
    FakeView,
    Timers,
    archive_of,
    ok,
    status,
    stored_messages,
)

CHARACTERS = [Character("A", "Alice"), Character("B", "Bob")]


class Page:
    """One page load: a controller over shared storage (a reload is a new Page on the same storage)."""

    def __init__(
        self,
        storage: MemoryStorage | GuardedStorage | None = None,
        proxy: FakeProxy | None = None,
        *,
        timers: Timers | None = None,
        timeout: float = 5.0,
        characters: list[Character] = CHARACTERS,
        corrupt: CorruptValues | None = None,
    ) -> None:
        """``timers``: store conversations as the browser page does, in callbacks run by ``timers.run``."""
        self.storage = storage if storage is not None else MemoryStorage()
        self.proxy = proxy or FakeProxy()
        self.view = FakeView()
        client = self.proxy.client(timeout)
        guarded = self.storage if isinstance(self.storage, GuardedStorage) else None
        self.controller = ChatController(
            self.view,
            SessionManager(self.storage, client.create_session, corrupt),
            client,
            archive_of(self.storage),
            Roster(self.storage, characters, corrupt),
            storage_problem=(lambda: guarded.problem) if guarded else (lambda: None),
            corrupt=corrupt,
            defer=timers,
            drafts=Drafts(self.storage, defer=timers),
        )
        self.view.on_input = self.controller.input_changed

    def submit_held(self, text: str) -> asyncio.Future[None]:
        """Send ``text`` while the proxy holds every request until ``proxy.gate.set()``."""
        self.proxy.gate = asyncio.Event()
        self.view.input = text
        task = self.controller.submit()
        assert task is not None, "nothing was sent"
        return task

    async def send(self, text: str) -> None:
        self.view.input = text
        task = self.controller.submit()
        assert task is not None, "nothing was sent"
        await task


async def test_start_opens_the_first_character_and_creates_its_session() -> None:
    page = Page()
    await page.controller.start()
    assert page.view.current == "A" and page.view.title == "Alice"
    assert page.view.session == "sess-1"
    assert page.storage.get("session_A") == "sess-1"
    assert not page.view.setting_up


async def test_reload_reuses_the_session_and_shows_the_conversation() -> None:
    first = Page()
    await first.controller.start()
    await first.send("hello")
    second = Page(first.storage, first.proxy)
    await second.controller.start()
    assert second.proxy.paths().count("/api/sessions") == 1
    assert second.view.texts() == [("user", "hello"), ("assistant", "reply to hello")]
    assert second.view.session == "sess-1"


async def test_reload_reopens_the_last_open_character() -> None:
    first = Page()
    await first.controller.start()
    await first.controller.open_character("B")
    second = Page(first.storage, first.proxy)
    await second.controller.start()
    assert second.view.current == "B"


async def test_submit_sends_the_input_clears_it_and_shows_the_reply() -> None:
    page = Page()
    await page.controller.start()
    await page.send("hi there")
    assert page.view.input == ""
    assert page.view.texts() == [("user", "hi there"), ("assistant", "reply to hi there")]
    assert not page.view.sending


async def test_blank_input_is_never_sent() -> None:
    page = Page()
    await page.controller.start()
    page.view.input = "  \n\t "
    assert page.controller.submit() is None
    assert page.proxy.paths() == ["/api/sessions"]


async def test_pressing_send_repeatedly_sends_once() -> None:
    page = Page()
    await page.controller.start()
    page.view.input = "once"
    tasks = [page.controller.submit() for _ in range(5)]
    await asyncio.gather(*(t for t in tasks if t is not None))
    assert [b["input"] for b in page.proxy.bodies("/api/chat")] == ["once"]


async def test_send_is_blocked_while_the_session_is_set_up() -> None:
    page = Page()
    page.proxy.gate = asyncio.Event()
    starting = asyncio.ensure_future(page.controller.start())
    await asyncio.sleep(0.01)
    assert page.view.setting_up
    page.view.input = "too early"
    assert page.controller.submit() is None
    assert page.view.input == "too early"
    page.proxy.gate.set()
    await starting
    assert not page.view.setting_up


async def test_network_failure_shows_the_message_and_keeps_the_text() -> None:
    page = Page()
    await page.controller.start()
    page.proxy.script("/api/chat", DROPPED)
    await page.send("do not lose me")
    assert page.view.texts()[-1] == ("error", NETWORK)
    assert page.view.messages[-1].retry == "do not lose me"
    assert page.view.input == "do not lose me"


async def test_failure_does_not_overwrite_text_typed_meanwhile() -> None:
    page = Page()
    await page.controller.start()
    page.proxy.script("/api/chat", status(500))
    page.view.input = "first"
    task = page.controller.submit()
    page.view.input = "newer draft"
    assert task is not None
    await task
    assert page.view.input == "newer draft"
    assert page.view.texts()[-1] == ("error", SERVER)


async def test_retry_resends_the_failed_text_and_removes_the_failure() -> None:
    page = Page()
    await page.controller.start()
    page.proxy.script("/api/chat", status(500))
    await page.send("again please")
    task = page.controller.retry(len(page.view.messages) - 1)
    assert task is not None
    await task
    assert page.view.texts() == [("user", "again please"), ("assistant", "reply to again please")]
    assert page.view.input == ""
    assert [b["input"] for b in page.proxy.bodies("/api/chat")] == ["again please", "again please"]


async def test_retry_ignores_messages_that_are_not_failures() -> None:
    page = Page()
    await page.controller.start()
    await page.send("fine")
    assert page.controller.retry(1) is None
    assert page.controller.retry(99) is None


async def test_a_reply_after_switching_lands_in_its_own_conversation() -> None:
    page = Page()
    await page.controller.start()
    task = page.submit_held("for Alice")
    assert task is not None
    switch = page.controller.select_character("B")
    assert switch is not None
    await asyncio.sleep(0)
    page.proxy.gate.set()
    await asyncio.gather(task, switch)
    assert page.view.current == "B"
    assert page.view.texts() == []
    assert [(m.role, m.text) for m in page.controller.conversation("A")] == [
        ("user", "for Alice"), ("assistant", "reply to for Alice")]


async def test_each_character_keeps_its_own_session_and_conversation() -> None:
    page = Page()
    await page.controller.start()
    await page.send("to A")
    await page.controller.open_character("B")
    await page.send("to B")
    await page.controller.open_character("A")
    assert page.view.texts() == [("user", "to A"), ("assistant", "reply to to A")]
    assert page.storage.get("session_A") != page.storage.get("session_B")
    sessions_used = {b["config_id"]: b["session_id"] for b in page.proxy.bodies("/api/chat")}
    assert sessions_used == {"A": page.storage.get("session_A"), "B": page.storage.get("session_B")}


async def test_expiry_recovery_is_visible_and_the_conversation_continues() -> None:
    page = Page()
    await page.controller.start()
    await page.send("one")
    page.proxy.script("/api/chat", status(410, {"error": "Session expired"}))
    await page.send("two")
    assert page.view.texts()[-1] == ("assistant", "reply to two")
    assert page.view.session == "sess-2"
    assert page.view.notice == RENEWED_NOTICE


async def test_new_conversation_clears_session_and_conversation_and_the_next_message_creates_one() -> None:
    page = Page()
    await page.controller.start()
    await page.send("before")
    assert page.controller.needs_confirmation("new")
    page.controller.new_conversation()
    assert page.storage.get("session_A") is None
    assert page.view.texts() == [] and page.view.session is None
    assert Page(page.storage, page.proxy).controller.conversation("A") == []
    await page.send("after")
    assert page.storage.get("session_A") == "sess-2"
    assert page.proxy.bodies("/api/chat")[-1]["session_id"] == "sess-2"


async def test_clear_all_removes_sessions_and_conversations_but_not_other_keys() -> None:
    page = Page(MemoryStorage({"theme": "dark", "session_other": "x"}))
    await page.controller.start()
    await page.send("a")
    await page.controller.open_character("B")
    page.controller.clear_all_sessions()
    keys = set(page.storage.keys())
    assert not any(k.startswith("session_") or k.startswith("pychat:transcript:") for k in keys)
    assert "theme" in keys
    assert page.view.session is None and page.view.texts() == []


async def test_requested_unknown_character_is_added_and_opened() -> None:
    page = Page()
    await page.controller.start("CHAR_new")
    assert page.view.current == "CHAR_new"
    assert [c.config_id for c in page.view.characters] == ["A", "B", "CHAR_new"]
    reloaded = Page(page.storage, page.proxy)
    await reloaded.controller.start()
    assert "CHAR_new" in [c.config_id for c in reloaded.view.characters]


async def test_invalid_requested_character_is_refused_with_a_notice() -> None:
    page = Page()
    await page.controller.start("x" * 300)
    assert page.view.current == "A"
    assert page.view.notice and "character" in page.view.notice


async def test_adding_a_character_validates_and_clears_the_field() -> None:
    page = Page()
    await page.controller.start()
    assert page.controller.add_character("x" * 500) is None
    assert page.view.add_error and "128" in page.view.add_error
    task = page.controller.add_character("  CHAR_z ")
    assert task is not None
    await task
    assert page.view.add_error is None and page.view.add_input_cleared
    assert page.view.current == "CHAR_z"


async def test_session_setup_failure_is_shown_but_not_stored() -> None:
    proxy = FakeProxy()
    proxy.script("/api/sessions", DROPPED)
    page = Page(proxy=proxy)
    await page.controller.start()
    assert page.view.texts() == [("error", NETWORK)]
    assert page.view.messages[0].retry is None
    assert stored_messages(page.storage, "A") == []
    await page.send("works now")
    assert page.view.texts()[-1] == ("assistant", "reply to works now")


async def test_blocked_storage_still_chats_and_says_so_once() -> None:
    page = Page(GuardedStorage(BrokenStorage()))
    await page.controller.start()
    await page.send("hi")
    assert page.view.texts()[-1] == ("assistant", "reply to hi")
    storage_warnings = [text for level, text in page.view.warnings if "storage" in text.lower()]
    assert len(storage_warnings) == 1
    await page.send("again")
    await page.controller.open_character("B")
    assert [text for _, text in page.view.warnings if "storage" in text.lower()] == storage_warnings
    assert page.proxy.paths().count("/api/sessions") == 2  # A and B, each once


async def test_stored_conversation_with_a_failed_message_can_be_retried_after_reload() -> None:
    first = Page()
    await first.controller.start()
    first.proxy.script("/api/chat", DROPPED)
    await first.send("lost?")
    second = Page(first.storage, first.proxy)
    await second.controller.start()
    assert second.view.messages[-1] == Message("error", NETWORK, retry="lost?")
    task = second.controller.retry(1)
    assert task is not None
    await task
    assert second.view.texts() == [("user", "lost?"), ("assistant", "reply to lost?")]


async def test_a_message_over_the_limit_is_refused_and_kept() -> None:
    page = Page()
    await page.controller.start()
    page.view.input = "x" * (MAX_MESSAGE_CHARS + 5)
    assert page.controller.submit() is None
    assert page.view.input == "x" * (MAX_MESSAGE_CHARS + 5)
    assert page.view.notice and "5 characters over" in page.view.notice
    assert page.proxy.bodies("/api/chat") == []


def test_the_limit_counts_characters_not_bytes() -> None:
    assert message_too_long("\U0001f600" * MAX_MESSAGE_CHARS) is None
    assert message_too_long("a" * (MAX_MESSAGE_CHARS + 1))


async def test_a_second_message_while_one_is_in_flight_is_refused_visibly() -> None:
    page = Page()
    await page.controller.start()
    first = page.submit_held("first")
    page.view.input = "second"
    assert page.controller.submit() is None
    assert page.view.sending
    assert page.view.notice and "kept" in page.view.notice
    page.proxy.gate.set()
    await first
    assert page.view.input == "second"


async def test_a_session_replaced_in_another_tab_is_used_for_the_next_send() -> None:
    page = Page()
    await page.controller.start()
    page.storage.set("session_A", "from-other-tab")
    page.controller.storage_changed("session_A")
    assert page.view.session == "from-other-tab"
    await page.send("hi")
    assert page.proxy.bodies("/api/chat")[-1]["session_id"] == "from-other-tab"


async def test_a_session_cleared_in_another_tab_is_recreated_on_the_next_send() -> None:
    page = Page()
    await page.controller.start()
    page.storage.remove("session_A")
    page.controller.storage_changed("session_A")
    assert page.view.session is None
    await page.send("hi")
    assert page.proxy.paths().count("/api/sessions") == 2


async def test_a_conversation_changed_in_another_tab_is_shown() -> None:
    page = Page()
    await page.controller.start()
    other = Page(page.storage, page.proxy)
    await other.controller.start()
    await other.send("from the other tab")
    await page.controller.archive_changed()
    assert page.view.texts() == [("user", "from the other tab"), ("assistant", "reply to from the other tab")]


async def test_clear_all_in_another_tab_resets_sessions_and_conversations_here() -> None:
    page = Page()
    await page.controller.start()
    await page.send("hi")
    other = Page(page.storage, page.proxy)
    await other.controller.start()
    other.controller.clear_all_sessions()
    page.controller.storage_changed(None)
    await page.controller.archive_changed()
    assert page.view.session is None and page.view.texts() == []


async def test_a_reply_arriving_after_new_conversation_is_dropped() -> None:
    page = Page()
    await page.controller.start()
    task = page.submit_held("old question")
    await asyncio.sleep(0)
    page.controller.new_conversation()
    page.proxy.gate.set()
    assert task is not None
    await task
    assert page.view.texts() == []
    assert stored_messages(page.storage, "A") == []


async def test_a_rotated_session_id_arriving_after_clear_all_is_not_stored() -> None:
    page = Page()
    await page.controller.start()
    page.proxy.script("/api/chat", ok({"ai": "late", "session_id": "rotated"}))
    task = page.submit_held("hi")
    await asyncio.sleep(0)
    page.controller.clear_all_sessions()
    page.proxy.gate.set()
    assert task is not None
    await task
    assert page.storage.get("session_A") is None
    assert page.view.texts() == []


async def test_an_expiry_arriving_after_new_conversation_creates_no_session() -> None:
    page = Page()
    await page.controller.start()
    page.proxy.script("/api/chat", status(410))
    task = page.submit_held("hi")
    await asyncio.sleep(0)
    page.controller.new_conversation()
    page.proxy.gate.set()
    assert task is not None
    await task
    assert page.proxy.paths() == ["/api/sessions", "/api/chat"]
    assert page.storage.get("session_A") is None


async def test_a_setup_error_is_not_stored_even_after_the_next_message() -> None:
    proxy = FakeProxy()
    proxy.script("/api/sessions", DROPPED)
    page = Page(proxy=proxy)
    await page.controller.start()
    await page.send("works now")
    stored_roles = [m.role for m in stored_messages(page.storage, "A")]
    assert stored_roles == ["user", "assistant"]


async def test_enter_pressed_again_with_text_while_sending_sends_nothing_more() -> None:
    page = Page()
    await page.controller.start()
    first = page.submit_held("once")
    for _ in range(4):
        page.view.input = "once"
        assert page.controller.submit() is None
    page.proxy.gate.set()
    assert first is not None
    await first
    assert [b["input"] for b in page.proxy.bodies("/api/chat")] == ["once"]


async def test_an_unexpected_failure_in_a_spawned_task_is_shown() -> None:
    page = Page()
    await page.controller.start()

    async def broken(config_id: str) -> None:
        raise RuntimeError("bug")

    page.controller.open_character = broken  # type: ignore[method-assign]
    task = page.controller.select_character("B")
    assert task is not None
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)
    assert page.view.notice_level == "error" and "RuntimeError: bug" in (page.view.notice or "")


async def test_an_empty_character_query_is_ignored_quietly() -> None:
    page = Page()
    await page.controller.start("  ")
    assert page.view.current == "A" and page.view.notice is None


async def test_sending_the_restored_text_replaces_the_failed_message_instead_of_duplicating_it() -> None:
    page = Page()
    await page.controller.start()
    page.proxy.script("/api/chat", DROPPED)
    await page.send("only once please")
    assert page.view.input == "only once please"
    await page.send(page.view.input)
    assert page.view.texts() == [("user", "only once please"), ("assistant", "reply to only once please")]
    assert [m.role for m in stored_messages(page.storage, "A")] == ["user", "assistant"]


async def test_a_failed_setup_message_goes_away_when_the_user_sends() -> None:
    proxy = FakeProxy()
    proxy.script("/api/sessions", DROPPED)
    page = Page(proxy=proxy)
    await page.controller.start()
    await page.send("hello")
    assert page.view.texts() == [("user", "hello"), ("assistant", "reply to hello")]


async def test_an_info_notice_is_cleared_by_the_next_reply() -> None:
    page = Page()
    await page.controller.start()
    await page.send("one")
    page.controller.new_conversation()
    assert page.view.info
    await page.send("two")
    assert page.view.info is None


async def test_stop_cancels_the_pending_reply_and_keeps_the_text() -> None:
    page = Page()
    await page.controller.start()
    task = page.submit_held("too slow")
    await asyncio.sleep(0)
    assert page.controller.stop()
    assert task is not None
    await asyncio.gather(task, return_exceptions=True)
    assert page.view.texts() == [("user", "too slow"), ("error", STOPPED)]
    assert page.view.messages[-1].retry == "too slow"
    assert page.view.input == "too slow"
    assert not page.view.sending
    assert not page.controller.stop()


async def test_offline_pauses_sending_with_a_reason_and_keeps_the_text() -> None:
    page = Page()
    await page.controller.start()
    page.controller.set_online(False)
    assert page.view.offline
    page.view.input = "wait for me"
    assert page.controller.submit() is None
    assert page.view.input == "wait for me" and page.view.notice == OFFLINE_NOTICE
    page.controller.set_online(True)
    assert not page.view.offline
    await page.send("wait for me")
    assert page.view.texts()[-1] == ("assistant", "reply to wait for me")


async def test_removing_the_open_added_character_forgets_it_and_opens_another() -> None:
    page = Page()
    await page.controller.start("CHAR_link")
    await page.send("hi")
    assert page.controller.needs_confirmation("remove", "CHAR_link")
    task = page.controller.remove_character("CHAR_link")
    assert task is not None
    await task
    assert page.view.current == "A"
    assert "CHAR_link" not in [c.config_id for c in page.view.characters]
    assert page.storage.get("session_CHAR_link") is None
    assert stored_messages(page.storage, "CHAR_link") == []


async def test_configured_characters_are_not_removed() -> None:
    page = Page()
    await page.controller.start()
    assert page.controller.remove_character("A") is None
    assert page.storage.get("session_A")


async def test_new_conversation_cancels_the_pending_reply_so_the_user_can_send_at_once() -> None:
    page = Page()
    await page.controller.start()
    old = page.submit_held("old")
    await asyncio.sleep(0)
    page.controller.new_conversation()
    assert old is not None
    await asyncio.gather(old, return_exceptions=True)
    assert not page.view.sending
    page.proxy.gate.set()
    await page.send("new")
    assert page.view.texts() == [("user", "new"), ("assistant", "reply to new")]


async def test_a_conversation_ended_in_another_tab_does_not_get_the_orphan_reply() -> None:
    page = Page()
    await page.controller.start()
    page.proxy.script("/api/chat", ok({"ai": "orphan", "session_id": "rotated"}))
    task = page.submit_held("pending")
    await asyncio.sleep(0)
    other = Page(page.storage, page.proxy)  # the other tab presses New conversation
    await other.controller.start()
    other.controller.new_conversation()
    page.controller.storage_changed("session_A")
    await page.controller.archive_changed()
    page.proxy.gate.set()
    assert task is not None
    await asyncio.gather(task, return_exceptions=True)
    assert page.view.texts() == []
    assert stored_messages(page.storage, "A") == []
    assert page.storage.get("session_A") is None
    [ended] = other.controller.conversations.history("A")
    assert ended.title == "pending"  # what was sent before is kept, in the history


async def test_retry_is_refused_while_offline() -> None:
    page = Page()
    await page.controller.start()
    page.proxy.script("/api/chat", DROPPED)
    await page.send("later")
    page.controller.set_online(False)
    assert page.controller.retry(1) is None
    assert page.view.info == OFFLINE_NOTICE
    page.controller.set_online(True)
    assert page.view.info is None


# ----- storing after the page has shown the change (the browser page passes a ``defer``) -----------


def stored_texts(storage: MemoryStorage, config_id: str = "A") -> list[tuple[str, str]]:
    return [(m.role, m.text) for m in stored_messages(storage, config_id)]


async def test_a_sent_message_and_its_reply_are_stored_in_one_write_after_the_reply_is_shown() -> None:
    storage, timers = CountingStorage(), Timers()
    page = Page(storage, timers=timers)
    await page.controller.start()
    await page.send("hi")
    assert page.view.texts() == [("user", "hi"), ("assistant", "reply to hi")]
    assert stored_texts(storage) == []  # not while the reply is being shown
    timers.run()
    assert stored_texts(storage) == [("user", "hi"), ("assistant", "reply to hi")]
    assert archive_of(storage).writes == 1


async def test_a_sent_message_waiting_for_its_reply_is_stored_within_the_delay() -> None:
    storage, timers = MemoryStorage(), Timers()
    page = Page(storage, timers=timers)
    await page.controller.start()
    reply = page.submit_held("still waiting")
    timers.run()
    assert stored_texts(storage) == []
    timers.run(within=SENT_SAVE_DELAY)
    assert stored_texts(storage) == [("user", "still waiting")]
    page.proxy.gate.set()
    await reply


async def test_flushing_stores_everything_pending_at_once() -> None:
    """What the page does when it is hidden or closed."""
    storage = MemoryStorage()
    page = Page(storage, timers=Timers())
    await page.controller.start()
    await page.send("hi")
    page.controller.flush_saves()
    assert stored_texts(storage) == [("user", "hi"), ("assistant", "reply to hi")]


async def test_a_conversation_thrown_away_before_it_was_stored_stays_gone() -> None:
    storage, timers = MemoryStorage(), Timers()
    page = Page(storage, timers=timers)
    await page.controller.start()
    await page.send("forget me")
    page.controller.new_conversation()
    timers.run(within=SENT_SAVE_DELAY)
    page.controller.flush_saves()
    assert storage.get("pychat:transcript:A") is None


async def test_a_message_not_stored_when_another_tab_ends_the_conversation_is_kept_in_its_history() -> None:
    storage, timers = MemoryStorage(), Timers()
    page = Page(storage, timers=timers)
    await page.controller.start()
    await page.send("first")
    timers.run()
    await page.send("second")  # not stored yet when the other tab starts a new conversation
    other = Page(storage, page.proxy)
    await other.controller.start()
    other.controller.new_conversation()
    await page.controller.archive_changed()
    timers.run(within=SENT_SAVE_DELAY)
    assert page.view.texts() == [] and stored_texts(storage) == []
    [ended] = page.controller.conversations.history("A")
    kept = await page.controller.conversations.past(ended.id)
    assert [m.text for m in kept] == ["first", "reply to first", "second", "reply to second"]


async def test_two_tabs_sending_at_once_both_keep_every_message() -> None:
    storage, timers_1, timers_2 = MemoryStorage(), Timers(), Timers()
    proxy = FakeProxy()
    tab_1 = Page(storage, proxy, timers=timers_1)
    await tab_1.controller.start()
    tab_2 = Page(storage, proxy, timers=timers_2)
    await tab_2.controller.start()
    await tab_1.send("from tab 1")
    await tab_2.send("from tab 2")  # neither tab has stored anything yet
    timers_1.run()
    await tab_2.controller.archive_changed()
    await tab_1.controller.archive_changed()
    both = [("user", "from tab 1"), ("assistant", "reply to from tab 1"),
            ("user", "from tab 2"), ("assistant", "reply to from tab 2")]
    assert stored_texts(storage) == both
    assert tab_1.view.texts() == both and tab_2.view.texts() == both


# ----- the history and search, as the page's controls use them -------------------------------------------


async def test_a_search_result_in_an_earlier_conversation_opens_it_read_only_at_that_message() -> None:
    page = Page()
    await page.controller.start()
    await page.send("the comet of 1997")
    page.controller.new_conversation()
    await page.controller.select_character("B")  # type: ignore[misc]
    task = page.controller.search("COMET")
    assert task is not None
    await task
    assert page.view.search is not None
    query, hits = page.view.search
    assert [h.message.text for h in hits] == ["reply to the comet of 1997", "the comet of 1997"]  # newest first
    hit = hits[1]
    assert (query, hit.character.name, hit.current) == ("COMET", "Alice", False)
    opening = page.controller.open_search_result(hit.record.id, hit.message.id)
    assert opening is not None
    await opening
    assert page.controller.current == "A" and page.view.past is not None
    assert [m.text for m in page.view.past[1]] == ["the comet of 1997", "reply to the comet of 1997"]
    assert page.view.revealed == 0


async def test_only_the_latest_search_shows_its_results() -> None:
    page = Page()
    await page.controller.start()
    await page.send("alpha beta")
    first = page.controller.search("alpha")
    second = page.controller.search("beta")
    assert first is not None and second is not None
    await asyncio.gather(first, second)
    assert page.view.search is not None and page.view.search[0] == "beta"


async def test_a_message_sent_while_an_earlier_conversation_is_shown_goes_to_the_current_one() -> None:
    page = Page()
    await page.controller.start()
    await page.send("old")
    page.controller.new_conversation()
    await page.send("new")
    [old] = page.controller.conversations.history("A")
    opening = page.controller.open_past(old.id)
    assert opening is not None
    await opening
    assert page.view.past is not None and [m.text for m in page.view.past[1]] == ["old", "reply to old"]
    assert page.controller.viewing == old
    page.controller.show_open_conversation()
    assert [m.text for m in page.controller.conversation("A")] == ["new", "reply to new"]


# ----- import and Clear all keeping the history ---------------------------------------------------------


async def test_an_exported_conversation_imports_into_its_characters_history_and_opens_read_only() -> None:
    page = Page()
    await page.controller.start()
    await page.send("the first question")
    exported = await page.controller.export_conversation("json", "2026-12-02T19:00:00Z")
    assert exported is not None
    page.controller.new_conversation()
    await page.controller.select_character("B")  # type: ignore[misc]
    task = page.controller.import_conversation(exported[1], exported[0])
    assert task is not None
    await task
    assert page.controller.current == "A" and page.view.past is not None
    assert [m.text for m in page.view.past[1]] == ["the first question", "reply to the first question"]
    assert len(page.controller.conversations.history("A")) == 2  # the ended one and the import
    assert page.view.info == "Imported 2 messages into Alice's history."
    reloaded = Page(page.storage, page.proxy)
    await reloaded.controller.start()
    titles = [r.title for r in reloaded.controller.conversations.history("A")]
    assert titles == ["the first question", "the first question"]


async def test_a_conversation_of_a_character_not_in_the_list_adds_it_with_its_name() -> None:
    page = Page()
    await page.controller.start()
    text = json.dumps({"character": {"config_id": "CHAR_new", "name": "Newcomer"},
                       "messages": [{"role": "user", "text": "hello"}, {"role": "assistant", "text": "hi"}]})
    task = page.controller.import_conversation(text, "chat.json")
    assert task is not None
    await task
    assert page.controller.current == "CHAR_new"
    assert [c.name for c in page.view.characters][-1] == "Newcomer"
    assert page.view.past is not None and [m.text for m in page.view.past[1]] == ["hello", "hi"]
    assert "as a new character" in (page.view.info or "")


async def test_a_bad_file_changes_nothing_and_says_why() -> None:
    page = Page()
    await page.controller.start()
    await page.send("kept")
    before = (set(page.storage.keys()), dict(archive_of(page.storage).records))
    text = json.dumps({"character": {"config_id": "CHAR_new"},
                       "messages": [{"role": "user", "text": "fine"}, {"role": "wizard", "text": "x"}]})
    assert page.controller.import_conversation(text, "chat.json") is None
    assert page.view.warnings[-1] == ("error", "chat.json was not imported. Message 2 has an unknown role ('wizard').")
    assert (set(page.storage.keys()), dict(archive_of(page.storage).records)) == before
    assert [c.config_id for c in page.view.characters] == ["A", "B"]


async def test_clear_all_keeping_the_history_clears_only_the_sessions() -> None:
    page = Page()
    await page.controller.start()
    await page.send("for alice")
    await page.controller.select_character("B")  # type: ignore[misc]
    await page.send("for bob")
    assert page.controller.needs_confirmation("clear-all")
    page.controller.clear_all_sessions(keep_history=True)
    assert not any(k.startswith("session_") for k in page.storage.keys())
    assert page.view.texts() == [] and page.view.session is None
    reloaded = Page(page.storage, page.proxy)
    await reloaded.controller.start()
    for config_id, text in (("A", "for alice"), ("B", "for bob")):
        [kept] = reloaded.controller.conversations.history(config_id)
        assert kept.session_id is None and kept.ended is not None and kept.title == text
        assert [m.text for m in await reloaded.controller.conversations.past(kept.id)] == [text, f"reply to {text}"]
    assert reloaded.controller.needs_confirmation("clear-all")  # the history is something to lose
    reloaded.controller.clear_all_sessions()
    assert archive_of(page.storage).conversations == {} and archive_of(page.storage).records == {}


async def test_a_refused_write_says_storage_may_be_full_and_points_at_export() -> None:
    page = Page()
    await page.controller.start()

    def refuse(change: object) -> object:
        raise RuntimeError("QuotaExceededError")

    archive_of(page.storage).write = refuse  # type: ignore[method-assign,assignment]
    await page.send("not stored")
    await asyncio.sleep(0)
    assert [m.text for m in page.view.messages] == ["not stored", "reply to not stored"]  # still on screen
    [(level, text)] = [w for w in page.view.warnings if "refused to save" in w[1]]
    assert level == "warning" and "QuotaExceededError" in text and "export" in text


async def test_storage_nearly_full_is_said_once_at_start() -> None:
    asked: list[int] = []

    async def estimate() -> tuple[float, float]:
        asked.append(1)
        return (96e6, 100e6)

    page = Page()
    page.controller._quota = QuotaWatch(estimate, lambda text: page.view.show_notice(text, level="warning"))
    await page.controller.start()
    await asyncio.sleep(0)
    await page.send("more")
    await asyncio.sleep(0)
    assert asked == [1]
    assert [text for _level, text in page.view.warnings if "nearly full" in text] == [
        quota_warning(96e6, 100e6)]


async def test_a_long_conversation_opens_with_its_newest_then_shows_and_exports_every_message() -> None:
    first = Page()
    await first.controller.start()
    for n in range(60):  # 120 messages with the replies: more than a conversation opens with
        await first.send(f"question {n}")
    whole = first.view.texts()
    second = Page(first.storage, first.proxy)
    opened = second.controller.start()
    await opened
    shown = second.view.texts()
    assert len(shown) < len(whole) and shown == whole[len(whole) - len(shown):]  # the newest, in order
    for _ in range(20):  # the rest is read in the background
        await asyncio.sleep(0)
        if second.view.texts() == whole:
            break
    assert second.view.texts() == whole
    exported = await second.controller.export_conversation("json", "2026-12-03T00:00:00Z")
    assert exported is not None and len(json.loads(exported[1])["messages"]) == len(whole)
    await second.send("one more")
    third = Page(first.storage, first.proxy)
    await third.controller.start()
    exported = await third.controller.export_conversation("json", "2026-12-03T00:00:00Z")  # whole, read first
    assert exported is not None and len(json.loads(exported[1])["messages"]) == len(whole) + 2
