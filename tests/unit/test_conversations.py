"""The conversations module on its own: caching, deferred storing, and another tab's writes."""

from __future__ import annotations

from app.conversations import Conversations
from app.storage import MemoryStorage
from app.transcript import Message, TranscriptStore

from .fakes import CountingStorage, Timers


def stored(storage: MemoryStorage, config_id: str = "A") -> list[str]:
    return [m.text for m in TranscriptStore(storage).load(config_id)]


def tab(storage: MemoryStorage, timers: Timers | None = None, **options: object) -> Conversations:
    return Conversations(TranscriptStore(storage), defer=timers, **options)  # type: ignore[arg-type]


def say(conversations: Conversations, text: str, *, config_id: str = "A", max_delay: float = 0.0) -> Message:
    message = Message("user", text)
    conversations.add(config_id, message)
    conversations.save(config_id, message, max_delay=max_delay)
    return message


def test_a_conversation_is_loaded_from_storage_once_and_then_kept_in_memory() -> None:
    storage = MemoryStorage()
    TranscriptStore(storage).save("A", [Message("user", "stored before")])
    conversations = tab(storage)
    first = conversations.get("A")
    storage.remove("pychat:transcript:A")
    assert conversations.get("A") is first and [m.text for m in first] == ["stored before"]
    assert conversations.loaded() == {"A"}


def test_without_a_defer_every_change_is_stored_at_once() -> None:
    storage = MemoryStorage()
    conversations = tab(storage)
    say(conversations, "hi")
    assert stored(storage) == ["hi"]


def test_with_a_defer_changes_wait_for_the_callback_and_are_stored_in_one_write() -> None:
    storage, timers = CountingStorage(), Timers()
    conversations = tab(storage, timers)
    say(conversations, "one")
    say(conversations, "two")
    assert stored(storage) == []
    assert len(timers.pending) == 1  # one callback for everything changed meanwhile
    timers.run()
    assert stored(storage) == ["one", "two"]
    assert storage.writes.count("pychat:transcript:A") == 1


def test_a_change_with_a_max_delay_waits_for_a_flush_but_no_longer_than_that() -> None:
    storage, timers = MemoryStorage(), Timers()
    conversations = tab(storage, timers)
    say(conversations, "waiting for a reply", max_delay=0.25)
    timers.run()
    assert stored(storage) == []
    timers.run(within=0.25)
    assert stored(storage) == ["waiting for a reply"]


def test_flush_stores_everything_pending_at_once() -> None:
    storage = MemoryStorage()
    conversations = tab(storage, Timers())
    say(conversations, "for A")
    say(conversations, "for B", config_id="B")
    conversations.flush()
    assert stored(storage, "A") == ["for A"] and stored(storage, "B") == ["for B"]


def test_a_failed_write_reaches_on_error_and_the_rest_is_still_stored() -> None:
    storage, errors = MemoryStorage(), []

    class Exploding(TranscriptStore):
        def save(self, config_id: str, messages: list[Message]) -> None:
            if config_id == "A":
                raise RuntimeError("a bug")
            super().save(config_id, messages)

    conversations = Conversations(Exploding(storage), defer=Timers(), on_error=errors.append)
    say(conversations, "for A")
    say(conversations, "for B", config_id="B")
    conversations.flush()
    assert [str(e) for e in errors] == ["a bug"]
    assert stored(storage, "B") == ["for B"]


def test_after_store_runs_after_each_write() -> None:
    checks: list[list[str]] = []
    storage = MemoryStorage()
    conversations = tab(storage, after_store=lambda: checks.append(stored(storage)))
    say(conversations, "hi")
    assert checks == [["hi"]]


def test_transient_messages_are_shown_but_never_stored() -> None:
    storage = MemoryStorage()
    conversations = tab(storage)
    conversations.add("A", Message("error", "setup failed", transient=True))
    say(conversations, "hi")
    assert [m.text for m in conversations.get("A")] == ["setup failed", "hi"]
    assert stored(storage) == ["hi"]


def test_adding_past_the_limit_drops_the_oldest_and_says_so() -> None:
    conversations = tab(MemoryStorage(), max_messages=2)
    assert conversations.add("A", Message("user", "1")) is False
    assert conversations.add("A", Message("user", "2")) is False
    assert conversations.add("A", Message("user", "3")) is True
    assert [m.text for m in conversations.get("A")] == ["2", "3"]


def test_a_conversation_cleared_before_it_was_stored_stays_gone() -> None:
    storage, timers = MemoryStorage(), Timers()
    conversations = tab(storage, timers)
    say(conversations, "forget me", max_delay=0.25)
    conversations.clear("A")
    timers.run(within=0.25)
    conversations.flush()
    assert storage.get("pychat:transcript:A") is None
    assert conversations.get("A") == []


def test_clear_all_forgets_every_conversation_and_nothing_else() -> None:
    storage = MemoryStorage()
    storage.set("theme", "dark")
    conversations = tab(storage)
    say(conversations, "a")
    say(conversations, "b", config_id="B")
    conversations.clear_all()
    assert conversations.loaded() == set()
    assert [k for k in storage.keys() if k.startswith("pychat:")] == [] and storage.get("theme") == "dark"


def test_another_tabs_write_is_adopted_when_nothing_is_pending_here() -> None:
    storage = MemoryStorage()
    here, there = tab(storage), tab(storage)
    here.get("A")
    say(there, "from there")
    here.stored_elsewhere("A")
    assert [m.text for m in here.get("A")] == ["from there"]


def test_two_tabs_storing_at_once_keep_both_tabs_messages() -> None:
    storage, timers_1, timers_2 = MemoryStorage(), Timers(), Timers()
    tab_1, tab_2 = tab(storage, timers_1), tab(storage, timers_2)
    say(tab_1, "from tab 1")
    say(tab_2, "from tab 2")  # neither has stored yet
    timers_1.run()  # tab 1 stores first; tab 2 hears of it before its own write
    tab_2.stored_elsewhere("A")
    tab_1.stored_elsewhere("A")
    assert stored(storage) == ["from tab 1", "from tab 2"]
    assert [m.text for m in tab_1.get("A")] == [m.text for m in tab_2.get("A")] == ["from tab 1", "from tab 2"]


def test_a_conversation_removed_in_another_tab_counts_as_lost_only_if_shown_here() -> None:
    storage = MemoryStorage()
    conversations = tab(storage)
    say(conversations, "hi")
    assert conversations.lost_elsewhere("A") is False
    storage.remove("pychat:transcript:A")
    assert conversations.lost_elsewhere("A") is True
    assert conversations.lost_elsewhere("B") is False  # nothing of B is shown here


def test_dropping_the_pending_write_keeps_another_tabs_removal() -> None:
    storage, timers = MemoryStorage(), Timers()
    conversations = tab(storage, timers)
    say(conversations, "first")
    timers.run()
    say(conversations, "second")
    storage.remove("pychat:transcript:A")  # another tab started over
    conversations.drop_pending("A")
    conversations.stored_elsewhere("A")
    conversations.flush()
    assert storage.get("pychat:transcript:A") is None and conversations.get("A") == []


def test_sending_a_failed_text_again_replaces_the_failure_and_its_message() -> None:
    storage = MemoryStorage()
    conversations = tab(storage)
    for message in (Message("user", "ok"), Message("assistant", "fine"), Message("user", "again"),
                    Message("error", "No connection", retry="again"), Message("error", "setup", transient=True)):
        conversations.add("A", message)
    assert conversations.drop_superseded("A", "again") is True
    assert [m.text for m in conversations.get("A")] == ["ok", "fine"]
    assert stored(storage) == ["ok", "fine"]
    assert conversations.drop_superseded("A", "something else") is False
