"""The conversations and their archive on their own: storing, history, migration, and other tabs' writes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.archive import (
    JOURNAL_PREFIX,
    Change,
    JournaledArchive,
    MemoryArchive,
    Record,
    message_from_record,
    snippet,
    title_of,
)
from app.conversations import NEWEST_FIRST, Conversations, tab_ids
from app.storage import CorruptValues, MemoryStorage
from app.transcript import Message, TranscriptStore

from .fakes import BrokenStorage, Timers, stored_conversation


class RecordingArchive(MemoryArchive):
    """A memory archive that keeps every change written, and can be told to refuse writes."""

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[Change] = []
        self.refuse: Exception | None = None

    def write(self, change: Change) -> Awaitable[None]:
        if self.refuse is not None:
            raise_it = self.refuse

            async def refused() -> None:
                raise raise_it

            return refused()
        self.changes.append(change)
        return super().write(change)


def tab(archive: MemoryArchive, timers: Timers | None = None, name: str = "t1", **options: Any) -> Conversations:
    return Conversations(archive, defer=timers, new_id=tab_ids(name), **options)


def say(conversations: Conversations, text: str, *, config_id: str = "A", max_delay: float = 0.0) -> Message:
    message = conversations.add(config_id, Message("user", text))
    conversations.save(config_id, message, max_delay=max_delay)
    return message


def texts(archive: MemoryArchive, config_id: str = "A") -> list[str]:
    return [m.text for m in stored_conversation(archive, config_id)]


async def test_a_conversation_is_read_from_the_archive_once_and_then_kept_in_memory() -> None:
    archive = MemoryArchive()
    first = tab(archive)
    await first.load("A")
    say(first, "stored before")
    second = tab(archive, name="t2")
    loaded = await second.load("A")
    archive.clear()
    assert await second.load("A") is loaded and [m.text for m in loaded] == ["stored before"]
    assert second.loaded() == {"A"}


async def test_without_a_defer_every_change_is_stored_at_once() -> None:
    archive = MemoryArchive()
    conversations = tab(archive)
    await conversations.load("A")
    say(conversations, "hi")
    assert texts(archive) == ["hi"]


async def test_with_a_defer_changes_wait_for_the_callback_and_are_stored_in_one_write() -> None:
    archive, timers = RecordingArchive(), Timers()
    conversations = tab(archive, timers)
    await conversations.load("A")
    say(conversations, "one")
    say(conversations, "two")
    assert texts(archive) == []
    assert len(timers.pending) == 1  # one callback for everything changed meanwhile
    timers.run()
    assert texts(archive) == ["one", "two"]
    assert len(archive.changes) == 1


async def test_a_change_with_a_max_delay_waits_for_a_flush_but_no_longer_than_that() -> None:
    archive, timers = MemoryArchive(), Timers()
    conversations = tab(archive, timers)
    await conversations.load("A")
    say(conversations, "waiting for a reply", max_delay=0.25)
    timers.run()
    assert texts(archive) == []
    timers.run(within=0.25)
    assert texts(archive) == ["waiting for a reply"]


async def test_a_write_holds_only_what_changed_however_long_the_conversation() -> None:
    archive = RecordingArchive()
    conversations = tab(archive)
    await conversations.load("A")
    for n in range(500):
        say(conversations, f"message {n}")
    last = archive.changes[-1]
    assert [m["text"] for m in last.messages] == ["message 499"]
    assert len(last.conversations) == 1 and last.conversations[0]["count"] == 500
    assert len(texts(archive)) == 500


async def test_every_message_is_stored_whole_however_long() -> None:
    archive = MemoryArchive()
    conversations = tab(archive)
    await conversations.load("A")
    huge = "x" * 1_048_576
    conversations.save("A", conversations.add("A", Message("assistant", huge)))
    assert texts(archive) == [huge]
    assert [m.text for m in await tab(archive, name="t2").load("A")] == [huge]


async def test_a_failed_write_reaches_on_error_and_what_is_shown_stays() -> None:
    archive, errors = RecordingArchive(), []
    archive.refuse = RuntimeError("QuotaExceededError")
    conversations = tab(archive, on_error=errors.append)
    await conversations.load("A")
    say(conversations, "kept on screen")
    await conversations.settled()
    assert [str(e) for e in errors] == ["QuotaExceededError"]
    assert [m.text for m in conversations.get("A")] == ["kept on screen"]


async def test_after_store_runs_after_each_write() -> None:
    checks: list[list[str]] = []
    archive = MemoryArchive()
    conversations = tab(archive, after_store=lambda: checks.append(texts(archive)))
    await conversations.load("A")
    say(conversations, "hi")
    await conversations.settled()
    assert checks == [["hi"]]


async def test_transient_messages_are_shown_but_never_stored() -> None:
    archive = MemoryArchive()
    conversations = tab(archive)
    await conversations.load("A")
    conversations.add("A", Message("error", "setup failed", transient=True))
    say(conversations, "hi")
    assert [m.text for m in conversations.get("A")] == ["setup failed", "hi"]
    assert texts(archive) == ["hi"]


async def test_a_resent_failure_is_deleted_from_the_archive_with_the_message_it_failed() -> None:
    archive = MemoryArchive()
    conversations = tab(archive)
    await conversations.load("A")
    say(conversations, "hello")
    conversations.save("A", conversations.add("A", Message("error", "Network error", retry="hello")))
    assert conversations.drop_superseded("A", "hello")
    assert texts(archive) == [] and conversations.get("A") == []


async def test_without_a_failure_a_send_does_not_look_through_the_conversation() -> None:
    archive = MemoryArchive()
    conversations = tab(archive)
    await conversations.load("A")
    for n in range(50):
        say(conversations, f"m{n}")

    class Untouchable(list[Message]):
        def __iter__(self) -> Any:
            raise AssertionError("the whole conversation was read")

    conversations._cache["A"] = Untouchable(conversations.get("A"))
    assert conversations.drop_superseded("A", "m3") is False


async def test_a_save_costs_the_same_however_long_the_conversation() -> None:
    """Issue 19's long session: each save reads what changed, not the whole conversation to count it."""
    archive = MemoryArchive()
    conversations = tab(archive, greeting=lambda _c: "Hello!")
    await conversations.load("A")
    read = 0

    class Counting(list[Message]):
        def __iter__(self) -> Any:
            nonlocal read
            for message in super().__iter__():
                read += 1
                yield message

    conversations._cache["A"] = Counting(conversations.get("A"))
    for n in range(300):
        say(conversations, f"m{n}")
    assert read < 3 * 300  # counting the whole conversation at each save reads about 45,000
    [record] = archive.conversations.values()
    assert record["count"] == 300 and record["title"] == "m0"


async def test_the_stored_count_follows_every_change_to_the_conversation() -> None:
    archive = MemoryArchive()
    conversations = tab(archive, greeting=lambda _c: "Hello!")
    await conversations.load("A")

    def count() -> int:
        [record] = archive.conversations.values()
        return int(record["count"])

    say(conversations, "hello")
    conversations.add("A", Message("error", "setup failed", transient=True))
    conversations.save("A", conversations.add("A", Message("error", "Network error", retry="again")))
    say(conversations, "again")
    assert count() == len(texts(archive)) == 3
    assert conversations.drop_superseded("A", "again")  # the failure and the transient go
    assert count() == len(texts(archive)) == 2
    say(conversations, "after")
    assert count() == len(texts(archive)) == 3
    conversations.end("A")
    say(conversations, "a new one")
    assert [r["count"] for r in sorted(archive.conversations.values(), key=lambda r: r["started"])] == [3, 1]


# ----- the history ----------------------------------------------------------------------------------


async def test_ending_a_conversation_keeps_it_in_the_history_with_its_session_and_title() -> None:
    archive = MemoryArchive()
    conversations = Conversations(archive, new_id=tab_ids("t1"), session_of=lambda _c: "sess-1",
                                  greeting=lambda _c: "Hi, I am A.")
    await conversations.load("A")
    say(conversations, "What is the tallest mountain on Earth, and who climbed it first, and when?")
    ended = conversations.end("A")
    assert ended is not None and ended.session_id == "sess-1" and ended.ended is not None
    assert ended.title == "What is the tallest mountain on Earth, and who climbed it\u2026"
    assert [m.text for m in conversations.get("A")] == ["Hi, I am A."]  # a new one, with the greeting
    assert conversations.history("A") == [ended]
    assert [m.text for m in await conversations.past(ended.id)] == [
        "What is the tallest mountain on Earth, and who climbed it first, and when?"]
    again = tab(archive, name="t2")
    await again.load("A")
    assert [r.id for r in again.history("A")] == [ended.id] and again.get("A") == []


async def test_an_empty_conversation_is_not_kept_in_the_history() -> None:
    conversations = tab(MemoryArchive())
    await conversations.load("A")
    assert conversations.end("A") is None and conversations.history("A") == []


async def test_the_history_lists_the_most_recently_ended_first() -> None:
    conversations = tab(MemoryArchive())
    await conversations.load("A")
    for text in ("first", "second", "third"):
        say(conversations, text)
        conversations.end("A")
    assert [r.title for r in conversations.history("A")] == ["third", "second", "first"]


async def test_continuing_an_earlier_conversation_makes_it_current_and_keeps_the_current_one() -> None:
    archive = MemoryArchive()
    conversations = tab(archive)
    await conversations.load("A")
    say(conversations, "old")
    old = conversations.end("A")
    assert old is not None
    say(conversations, "newer")
    resumed = await conversations.resume("A", old.id)
    assert resumed is not None and resumed.id == old.id and resumed.ended is None
    assert [m.text for m in conversations.get("A")] == ["old"]
    assert [r.title for r in conversations.history("A")] == ["newer"]
    say(conversations, "more")
    assert texts(archive) == ["old", "more"]


async def test_deleting_an_earlier_conversation_removes_it_and_its_messages() -> None:
    archive = MemoryArchive()
    conversations = tab(archive)
    await conversations.load("A")
    say(conversations, "forget me")
    old = conversations.end("A")
    assert old is not None and conversations.delete(old.id)
    assert conversations.history("A") == [] and archive.records == {} and archive.conversations == {}


async def test_the_current_conversation_cannot_be_deleted_from_the_history() -> None:
    conversations = tab(MemoryArchive())
    await conversations.load("A")
    say(conversations, "current")
    record = conversations.current_record("A")
    assert record is not None and conversations.delete(record.id) is False


async def test_removing_a_character_deletes_all_of_its_conversations_only() -> None:
    archive = MemoryArchive()
    conversations = tab(archive)
    for config_id in ("A", "B"):
        await conversations.load(config_id)
        say(conversations, f"{config_id} old", config_id=config_id)
        conversations.end(config_id)
        say(conversations, f"{config_id} now", config_id=config_id)
    conversations.remove_character("A")
    assert {r["config_id"] for r in archive.conversations.values()} == {"B"}
    assert sorted(r["text"] for r in archive.records.values()) == ["B now", "B old"]


# ----- other tabs -----------------------------------------------------------------------------------


async def test_another_tabs_messages_are_taken_and_this_tabs_unsaved_ones_kept() -> None:
    archive, timers = MemoryArchive(), Timers()
    mine, theirs = tab(archive, timers), tab(archive, name="t2")
    await mine.load("A")
    await theirs.load("A")
    say(theirs, "theirs")
    say(mine, "mine")  # not stored yet
    assert await mine.changed_elsewhere() == {"A"}
    assert [m.text for m in mine.get("A")] == ["theirs", "mine"]
    assert texts(archive) == ["theirs", "mine"]


class SlowFirstRead(MemoryArchive):
    """An archive whose next read of messages is held until ``release`` is set (a busy page's read)."""

    def __init__(self) -> None:
        super().__init__()
        self.hold: asyncio.Event | None = None

    async def messages(self, conversation_id: str) -> list[Any]:
        hold, self.hold = self.hold, None
        found = await super().messages(conversation_id)  # read now: what is stored at this moment
        if hold is not None:
            await hold.wait()
        return found


async def test_reads_after_other_tabs_writes_finish_in_order_so_the_newest_is_what_stays() -> None:
    # Two writes of the other tab, heard one after the other; the read after the first is slow and
    # would finish last, putting back what was stored before the second write.
    archive = SlowFirstRead()
    mine, theirs = tab(archive), tab(archive, name="t2")
    await mine.load("A")
    await theirs.load("A")
    say(theirs, "first")
    archive.hold = release = asyncio.Event()
    first = asyncio.ensure_future(mine.changed_elsewhere())
    await asyncio.sleep(0.01)
    say(theirs, "second")
    second = asyncio.ensure_future(mine.changed_elsewhere())
    await asyncio.sleep(0.01)
    release.set()
    assert {"A"} in [await first, await second]
    assert [m.text for m in mine.get("A")] == ["first", "second"]


async def test_a_conversation_ended_in_another_tab_ends_here_too() -> None:
    archive = MemoryArchive()
    mine, theirs = tab(archive), tab(archive, name="t2")
    await mine.load("A")
    say(mine, "before")
    await theirs.load("A")
    theirs.end("A")
    assert await mine.changed_elsewhere() == {"A"}
    assert mine.get("A") == [] and [r.title for r in mine.history("A")] == ["before"]
    say(mine, "after")  # goes into the new conversation, and the old one stays ended
    assert texts(archive) == ["after"] and [r.title for r in tab(archive, name="t3").history("A")] == []


async def test_writing_into_a_conversation_another_tab_ended_does_not_bring_it_back() -> None:
    archive, timers = MemoryArchive(), Timers()
    mine, theirs = tab(archive, timers), tab(archive, name="t2")
    await mine.load("A")
    say(mine, "first")
    timers.run()
    await theirs.load("A")
    say(mine, "late")  # pending here while the other tab ends the conversation
    theirs.end("A")
    timers.run()
    later = tab(archive, name="t3")
    await later.load("A")
    assert later.get("A") == []
    [ended] = later.history("A")
    assert [m.text for m in await later.past(ended.id)] == ["first", "late"]


async def test_two_tabs_starting_a_characters_first_conversation_write_the_same_one() -> None:
    archive = MemoryArchive()
    one, two = tab(archive), tab(archive, name="t2")
    await one.load("A")
    await two.load("A")
    say(one, "from one")
    say(two, "from two")
    assert len(archive.conversations) == 1 and texts(archive) == ["from one", "from two"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["send", "flush", "sync", "end"]), st.integers(0, 1)), max_size=40))
def test_two_writers_in_any_interleaving_lose_and_duplicate_nothing(steps: list[tuple[str, int]]) -> None:
    async def run() -> None:
        archive = MemoryArchive()
        tabs = [tab(archive, Timers(), name=f"t{n}") for n in range(2)]
        for conversations in tabs:
            await conversations.load("A")
        sent: list[str] = []
        for n, (step, which) in enumerate(steps):
            conversations = tabs[which]
            if step == "send":
                sent.append(f"m{n}")
                say(conversations, f"m{n}", max_delay=0.25)
            elif step == "flush":
                conversations.flush()
            elif step == "sync":
                await conversations.changed_elsewhere()
            else:
                conversations.end("A")
        for conversations in tabs:
            conversations.flush()
        await asyncio.gather(*(c.settled() for c in tabs))
        stored = [r["text"] for r in archive.records.values()]
        assert sorted(stored) == sorted(sent)  # every message once
        for conversations in tabs:
            await conversations.changed_elsewhere()
            shown = [m.text for m in conversations.get("A")]
            earlier = [m.text for r in conversations.history("A") for m in await conversations.past(r.id)]
            assert sorted(shown + earlier) == sorted(sent)  # and each tab can find every one

    asyncio.run(run())


# ----- records from outside ---------------------------------------------------------------------------


@pytest.mark.parametrize("junk", [None, "x", [], {}, {"id": "a/b", "config_id": "A", "started": 1},
                                  {"id": "c", "config_id": "", "started": 1}, {"id": "c", "config_id": "A"},
                                  {"id": "c", "config_id": "A", "started": True}, {"id": 3, "config_id": "A"}])
def test_a_conversation_record_that_is_not_ours_is_skipped(junk: Any) -> None:
    assert Record.from_dict(junk) is None


@pytest.mark.parametrize("junk", [None, [], {"id": "c/1", "role": "system", "text": "x", "at": 1},
                                  {"id": "c1", "role": "user", "text": "x", "at": 1},
                                  {"id": "c/1", "role": "user", "text": 5, "at": 1},
                                  {"id": "c/1", "role": "user", "text": "x", "at": "soon"}])
def test_a_message_record_that_is_not_ours_is_skipped(junk: Any) -> None:
    assert message_from_record(junk) is None


async def test_junk_records_in_the_archive_are_skipped_and_the_rest_shown() -> None:
    archive = MemoryArchive()
    conversations = tab(archive)
    await conversations.load("A")
    say(conversations, "real")
    record = conversations.current_record("A")
    assert record is not None
    archive.records[f"{record.id}/junk"] = {"id": f"{record.id}/junk", "role": "user", "text": {"deep": []}}
    archive.conversations["junk"] = {"id": "junk", "nested": [[[]]]}
    corrupt = CorruptValues()
    again = Conversations(archive, new_id=tab_ids("t2"), corrupt=corrupt)
    assert [m.text for m in await again.load("A")] == ["real"]
    assert corrupt.keys == ["IndexedDB pychat: conversations", f"IndexedDB pychat: messages of {record.id}"]


async def test_an_archive_of_good_records_reports_nothing() -> None:
    archive = MemoryArchive()
    first = tab(archive)
    await first.load("A")
    say(first, "real")
    corrupt = CorruptValues()
    again = Conversations(archive, new_id=tab_ids("t2"), corrupt=corrupt)
    assert [m.text for m in await again.load("A")] == ["real"]
    assert corrupt.keys == []


def test_a_title_is_one_line_cut_at_a_word() -> None:
    assert title_of("  Hello\n\nthere  ") == "Hello there"
    long = title_of("word " * 40)
    assert len(long) <= 60 and long.endswith("\u2026") and "wor\u2026" not in long


# ----- from the previous release ------------------------------------------------------------------------


def old_store(conversations: dict[str, list[Message]]) -> MemoryStorage:
    """localStorage as the previous release left it: one JSON list per character, and an index."""
    storage = MemoryStorage({"pychat:transcripts": json.dumps(dict.fromkeys(conversations, 1))})
    for config_id, messages in conversations.items():
        storage.set(f"pychat:transcript:{config_id}", json.dumps([{"role": m.role, "text": m.text} for m in messages]))
    return storage


async def test_the_previous_releases_conversations_are_moved_whole_and_their_keys_removed() -> None:
    big = [Message("user" if n % 2 == 0 else "assistant", f"{n}:" + "w" * 1500) for n in range(900)]
    storage = old_store({"A": big, "B/with slash": [Message("user", "b")]})
    storage.set("theme", "dark")
    archive = MemoryArchive()
    conversations = Conversations(archive, legacy=TranscriptStore(storage), new_id=tab_ids("t1"))
    assert [m.text for m in await conversations.load("A")] == [m.text for m in big]
    assert texts(archive, "B/with slash") == ["b"]
    assert sum(len(m.text) for m in big) > 1_350_000
    assert storage.keys() == ["theme"]  # the old keys are gone, nothing else


async def test_an_interrupted_migration_resumes_without_duplicating() -> None:
    storage = old_store({"A": [Message("user", "one"), Message("assistant", "two")]})
    archive = RecordingArchive()
    first = Conversations(archive, legacy=TranscriptStore(storage), new_id=tab_ids("t1"))
    await first.load("A")
    storage.set("pychat:transcript:A", json.dumps([{"role": "user", "text": "one"},
                                                    {"role": "assistant", "text": "two"}]))  # the tab closed
    second = Conversations(archive, legacy=TranscriptStore(storage), new_id=tab_ids("t2"))
    assert [m.text for m in await second.load("A")] == ["one", "two"]
    assert len(archive.records) == 2 and len(archive.conversations) == 1


async def test_a_migration_whose_write_fails_keeps_the_old_keys() -> None:
    storage = old_store({"A": [Message("user", "keep me")]})
    archive = RecordingArchive()
    archive.refuse = RuntimeError("blocked")
    with pytest.raises(RuntimeError):
        await Conversations(archive, legacy=TranscriptStore(storage)).load("A")
    assert storage.get("pychat:transcript:A") is not None


async def test_junk_in_the_old_keys_does_not_stop_the_migration() -> None:
    storage = old_store({"B": [Message("user", "fine")]})
    storage.set("pychat:transcript:A", "[" * 100_000)
    storage.set("pychat:transcripts", "{\"a\":" * 50_000)
    storage.set("pychat:transcript:C", json.dumps([{"role": "user", "text": "kept"}, {"a": 1}, "junk"]))
    archive = MemoryArchive()
    corrupt = CorruptValues()
    conversations = Conversations(archive, legacy=TranscriptStore(storage, corrupt))
    assert await conversations.load("A") == []
    assert texts(archive, "B") == ["fine"] and texts(archive, "C") == ["kept"] and storage.keys() == []
    assert sorted(corrupt.keys) == ["pychat:transcript:A", "pychat:transcript:C"]  # told, not taken for empty


async def test_a_migrated_conversation_goes_to_the_history_when_one_is_current_already() -> None:
    archive = MemoryArchive()
    newer = tab(archive)
    await newer.load("A")
    say(newer, "written by the new release")
    storage = old_store({"A": [Message("user", "written by an old tab")]})
    conversations = Conversations(archive, legacy=TranscriptStore(storage), new_id=tab_ids("t2"))
    assert [m.text for m in await conversations.load("A")] == ["written by the new release"]
    [old] = conversations.history("A")
    assert [m.text for m in await conversations.past(old.id)] == ["written by an old tab"]


# ----- the journal: a write noted in localStorage until it is committed ---------------------------------


class AbortingArchive(MemoryArchive):
    """IndexedDB of a page being reloaded: writes are started but never committed."""

    def write(self, change: Change) -> Awaitable[None]:
        return asyncio.get_running_loop().create_future()


async def test_a_write_is_noted_until_committed_then_the_note_is_removed() -> None:
    storage, archive = MemoryStorage(), MemoryArchive()
    journaled = JournaledArchive(archive, storage, "t1")
    conversations = Conversations(journaled, new_id=tab_ids("t1"))
    await conversations.load("A")
    say(conversations, "hi")
    assert [k for k in storage.keys() if k.startswith(JOURNAL_PREFIX)] == ["pychat:journal:t1:1"]
    await conversations.settled()
    assert storage.keys() == [] and texts(archive) == ["hi"]


async def test_a_write_aborted_by_a_reload_is_written_at_the_next_start() -> None:
    storage, lost = MemoryStorage(), AbortingArchive()
    conversations = Conversations(JournaledArchive(lost, storage, "t1"), new_id=tab_ids("t1"))
    await conversations.load("A")
    say(conversations, "shown just before the reload")
    say(conversations, "and this")
    assert lost.records == {}
    archive = MemoryArchive()  # the same database, as the next page finds it
    again = JournaledArchive(archive, storage, "t2")
    assert await again.replay() == 2
    assert texts(archive) == ["shown just before the reload", "and this"] and storage.keys() == []
    assert await again.replay() == 0


async def test_replaying_a_note_twice_changes_nothing() -> None:
    storage, archive = MemoryStorage(), MemoryArchive()
    conversations = Conversations(JournaledArchive(AbortingArchive(), storage, "t1"), new_id=tab_ids("t1"))
    await conversations.load("A")
    say(conversations, "once")
    note = dict(storage.items)
    await JournaledArchive(archive, storage, "t2").replay()
    storage.items.update(note)
    await JournaledArchive(archive, storage, "t3").replay()
    assert texts(archive) == ["once"] and len(archive.records) == 1


@pytest.mark.parametrize("junk", ["", "not json", "[" * 10_000, '{"messages": [{"id": 1}], "conversations": "x"}'])
async def test_a_junk_note_is_dropped_without_writing(junk: str) -> None:
    storage, archive = MemoryStorage({f"{JOURNAL_PREFIX}x:1": junk, "theme": "dark"}), RecordingArchive()
    assert await JournaledArchive(archive, storage, "t1").replay() == 1
    assert archive.changes == [] and storage.keys() == ["theme"]


async def test_without_room_for_a_note_the_write_still_goes_to_the_archive() -> None:
    archive = MemoryArchive()
    conversations = Conversations(JournaledArchive(archive, BrokenStorage(fail_writes=True), "t1"))
    await conversations.load("A")
    say(conversations, "kept anyway")
    await conversations.settled()
    assert texts(archive) == ["kept anyway"]


# ----- search ---------------------------------------------------------------------------------------


async def test_search_finds_text_in_every_characters_current_and_earlier_conversations_newest_first() -> None:
    conversations = tab(MemoryArchive())
    for config_id in ("A", "B"):
        await conversations.load(config_id)
    say(conversations, "Orion rises early", config_id="A")
    conversations.end("A")
    say(conversations, "no match here", config_id="A")
    say(conversations, "Tell me of ORION", config_id="B")
    found = await conversations.search("orion")
    assert [(r.config_id, m.text) for r, m in found] == [("B", "Tell me of ORION"), ("A", "Orion rises early")]
    assert found[1][0].ended is not None  # an earlier conversation, as such
    assert await conversations.search("   ") == [] and await conversations.search("nebula") == []


async def test_search_finds_what_is_on_screen_but_not_stored_yet() -> None:
    conversations = tab(MemoryArchive(), Timers())
    await conversations.load("A")
    say(conversations, "just typed", max_delay=0.25)
    assert [m.text for _r, m in await conversations.search("just")] == ["just typed"]


async def test_search_never_finds_the_greeting() -> None:
    conversations = Conversations(MemoryArchive(), greeting=lambda _c: "Hello traveller")
    await conversations.load("A")
    assert await conversations.search("traveller") == []


async def test_search_is_bounded() -> None:
    conversations = tab(MemoryArchive())
    await conversations.load("A")
    for n in range(80):
        say(conversations, f"same words {n}")
    found = await conversations.search("same words", limit=50)
    assert len(found) == 50 and found[0][1].text == "same words 79"


def test_a_snippet_keeps_the_match_as_written_with_context_on_one_line() -> None:
    assert snippet("The stars of\nOrion tonight", "orion") == ("The stars of ", "Orion", " tonight")
    before, match, after = snippet("x " * 200 + "needle" + " y" * 200, "NEEDLE", width=40)
    assert match == "needle" and before.startswith("\u2026") and after.endswith("\u2026")
    assert len(before) + len(match) + len(after) <= 44
    assert snippet("<b>bold</b>", "<b>") == ("", "<b>", "bold</b>")  # text, for the view to show as text


# ----- a long conversation opens with its newest messages -----------------------------------------------


async def long_conversation(archive: MemoryArchive, count: int) -> None:
    writer = tab(archive, name="w")
    await writer.load("A")
    for n in range(count):
        say(writer, f"message {n}")


async def test_a_long_conversation_opens_with_its_newest_and_completes_in_order() -> None:
    archive = MemoryArchive()
    await long_conversation(archive, NEWEST_FIRST + 50)
    reader = tab(archive, name="r", greeting=lambda _c: "Hello!")
    shown = await reader.load("A", newest_first=True)
    assert reader.partial("A")
    assert [m.text for m in shown] == ["Hello!"] + [f"message {n}" for n in range(50, NEWEST_FIRST + 50)]
    position, older = await reader.complete("A")
    assert position == 1 and [m.text for m in older] == [f"message {n}" for n in range(50)]
    assert [m.text for m in reader.get("A")] == ["Hello!"] + [f"message {n}" for n in range(NEWEST_FIRST + 50)]
    assert not reader.partial("A") and await reader.complete("A") == (0, [])


async def test_a_short_conversation_is_read_whole_even_when_newest_first_is_asked() -> None:
    archive = MemoryArchive()
    await long_conversation(archive, 5)
    reader = tab(archive, name="r")
    assert [m.text for m in await reader.load("A", newest_first=True)] == [f"message {n}" for n in range(5)]
    assert not reader.partial("A")


async def test_what_is_written_before_the_rest_is_read_keeps_the_whole_count_and_loses_nothing() -> None:
    archive = MemoryArchive()
    total = NEWEST_FIRST + 30
    await long_conversation(archive, total)
    reader = tab(archive, name="r")
    await reader.load("A", newest_first=True)
    say(reader, "sent before the rest was read")
    [record] = [r for r in archive.conversations.values() if r["config_id"] == "A"]
    assert record["count"] == total + 1  # the stored record counts every message, read or not
    await reader.complete("A")
    expected = [f"message {n}" for n in range(total)] + ["sent before the rest was read"]
    assert [m.text for m in reader.get("A")] == expected
    assert texts(archive) == [m.text for m in reader.get("A")]
    say(reader, "sent after")
    [record] = [r for r in archive.conversations.values() if r["config_id"] == "A"]
    assert record["count"] == total + 2


async def test_a_conversation_replaced_before_the_rest_is_read_is_left_as_it_is() -> None:
    archive = MemoryArchive()
    await long_conversation(archive, NEWEST_FIRST + 10)
    reader = tab(archive, name="r")
    await reader.load("A", newest_first=True)
    reader.end("A")  # New conversation
    assert not reader.partial("A") and await reader.complete("A") == (0, [])
    assert reader.get("A") == []
    [ended] = reader.history("A")
    assert ended.count == NEWEST_FIRST + 10


async def test_the_newest_are_the_latest_written_whatever_their_ids() -> None:
    archive = MemoryArchive()
    conversation = {"id": "c1", "config_id": "A", "started": 1.0, "ended": None, "session_id": None,
                    "title": "t", "count": NEWEST_FIRST + 2, "updated": 2.0}
    rows = [{"id": f"c1/{'z' if n % 2 else 'a'}{n:05d}", "conversation": "c1", "at": float(n), "role": "user",
             "text": f"m{n}"} for n in range(NEWEST_FIRST + 2)]
    await archive.write(Change(conversations=[conversation], messages=rows))
    records, total = await archive.newest("c1", 3)
    assert [r["text"] for r in records] == [f"m{n}" for n in range(NEWEST_FIRST - 1, NEWEST_FIRST + 2)]
    assert total == NEWEST_FIRST + 2
