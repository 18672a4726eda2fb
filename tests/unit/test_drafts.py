"""Drafts: what is typed in the composer is kept per character, stored soon after typing and across reloads."""

from __future__ import annotations

import asyncio

from app.drafts import DRAFT_PREFIX, MAX_DRAFT_CHARS, SAVE_DELAY, Drafts, KeptDrafts, draft_key
from app.storage import MemoryStorage
from app.wording import NETWORK

from .fakes import DROPPED, CountingStorage, Timers
from .test_controller import Page


def drafts_of(storage: MemoryStorage) -> dict[str, str]:
    return {k: v for k, v in storage.items.items() if k.startswith(DRAFT_PREFIX)}


# ----- the store ----------------------------------------------------------------------------------


def test_a_draft_is_stored_raw_under_its_characters_key() -> None:
    storage = MemoryStorage()
    Drafts(storage).typed("CHAR_luna", 'Hello "there"\n')
    assert storage.items == {"pychat:draft:CHAR_luna": 'Hello "there"\n'}
    assert draft_key("CHAR_luna") == "pychat:draft:CHAR_luna"


def test_typing_is_stored_once_within_the_save_delay_not_per_keystroke() -> None:
    storage, timers = CountingStorage(), Timers()
    drafts = Drafts(storage, defer=timers)
    for text in ("H", "He", "Hel"):
        drafts.typed("A", text)
    assert storage.writes == []
    assert [seconds for seconds, _ in timers.pending] == [SAVE_DELAY]
    assert SAVE_DELAY <= 0.5
    timers.run(within=SAVE_DELAY)
    assert storage.writes == ["pychat:draft:A"] and storage.get("pychat:draft:A") == "Hel"


def test_flush_stores_what_is_pending_at_once() -> None:
    storage, timers = MemoryStorage(), Timers()
    drafts = Drafts(storage, defer=timers)
    drafts.typed("A", "before the page hides")
    drafts.flush()
    assert storage.get("pychat:draft:A") == "before the page hides"


def test_an_empty_draft_removes_the_key() -> None:
    storage = MemoryStorage({"pychat:draft:A": "old", "pychat:draft:B": "kept"})
    drafts = Drafts(storage)
    drafts.get("A")
    drafts.typed("A", "")
    assert drafts_of(storage) == {"pychat:draft:B": "kept"}


def test_writing_back_what_is_stored_writes_nothing() -> None:
    storage, timers = CountingStorage(), Timers()
    storage.items["pychat:draft:A"] = "stored"
    drafts = Drafts(storage, defer=timers)
    assert drafts.get("A") == "stored"
    drafts.typed("A", "stored")
    timers.run(within=1)
    assert storage.writes == [] and timers.pending == []


def test_a_long_draft_is_kept_whole_and_one_too_long_to_keep_is_never_shown_cut() -> None:
    storage = MemoryStorage()
    drafts = Drafts(storage)
    whole = "x" * MAX_DRAFT_CHARS
    drafts.typed("A", whole)
    assert Drafts(storage).get("A") == whole
    drafts.typed("A", whole + "y")
    assert storage.get("pychat:draft:A") is None  # not kept rather than kept cut
    storage.set("pychat:draft:B", "z" * (MAX_DRAFT_CHARS + 1))  # written by other code
    assert Drafts(storage).get("B") == ""


def test_junk_in_storage_reads_as_no_draft() -> None:
    class Junk(MemoryStorage):
        def get(self, key: str) -> str | None:
            return 42  # type: ignore[return-value]  # what a broken store could hand over

    assert Drafts(Junk({"pychat:draft:A": "x"})).get("A") == ""


def test_clear_all_removes_every_draft_and_nothing_else() -> None:
    storage = MemoryStorage({"pychat:draft:A": "a", "pychat:draft:Z": "z", "session_A": "sess", "other": "x"})
    timers = Timers()
    drafts = Drafts(storage, defer=timers)
    drafts.typed("B", "pending")
    drafts.clear_all()
    timers.run(within=1)
    assert storage.items == {"session_A": "sess", "other": "x"}


# ----- the page -----------------------------------------------------------------------------------


async def test_switching_characters_shows_each_ones_own_draft() -> None:
    page = Page()
    await page.controller.start()
    page.view.type("for Alice")
    await page.controller.open_character("B")
    assert page.view.input == ""
    page.view.type("for Bob")
    await page.controller.open_character("A")
    assert page.view.input == "for Alice"
    await page.controller.open_character("B")
    assert page.view.input == "for Bob"


async def test_drafts_survive_a_reload() -> None:
    first = Page(timers=Timers())
    await first.controller.start()
    first.view.type("for Alice")
    await first.controller.open_character("B")
    first.view.type("for Bob")
    first.controller.flush_drafts()  # the page is hidden as it reloads
    second = Page(first.storage, first.proxy)
    await second.controller.start()
    assert second.view.current == "B" and second.view.input == "for Bob"
    await second.controller.open_character("A")
    assert second.view.input == "for Alice"


async def test_a_draft_typed_is_stored_within_the_save_delay() -> None:
    timers = Timers()
    page = Page(timers=timers)
    await page.controller.start()
    timers.run()
    page.view.type("almost")
    assert page.storage.get("pychat:draft:A") is None
    timers.run(within=SAVE_DELAY)
    assert page.storage.get("pychat:draft:A") == "almost"


async def test_text_typed_before_the_page_was_ready_stays_and_becomes_the_draft() -> None:
    storage = MemoryStorage({"pychat:draft:A": "older draft"})
    page = Page(storage)
    page.view.input = "typed while loading"  # no input event reached Python yet
    await page.controller.start()
    assert page.view.input == "typed while loading"
    assert storage.get("pychat:draft:A") == "typed while loading"


async def test_sending_clears_the_draft() -> None:
    page = Page()
    await page.controller.start()
    page.view.type("hello")
    assert page.storage.get("pychat:draft:A") == "hello"
    task = page.controller.submit()
    assert task is not None
    await task
    assert page.storage.get("pychat:draft:A") is None
    assert page.view.texts()[-1] == ("assistant", "reply to hello")


async def test_a_failed_send_is_the_draft_again() -> None:
    page = Page()
    await page.controller.start()
    page.proxy.script("/api/chat", DROPPED)
    page.view.type("do not lose me")
    task = page.controller.submit()
    assert task is not None
    await task
    assert page.view.texts()[-1] == ("error", NETWORK)
    assert page.view.input == "do not lose me"
    assert page.storage.get("pychat:draft:A") == "do not lose me"


async def test_a_failed_send_to_a_character_not_open_becomes_its_empty_draft() -> None:
    page = Page()
    await page.controller.start()
    page.proxy.script("/api/chat", DROPPED)
    task = page.submit_held("for Alice")
    await page.controller.open_character("B")
    page.view.type("for Bob")
    assert page.proxy.gate is not None
    page.proxy.gate.set()
    await task
    assert page.view.input == "for Bob"
    assert page.storage.get("pychat:draft:A") == "for Alice"
    await page.controller.open_character("A")
    assert page.view.input == "for Alice"


async def test_removing_a_character_removes_its_draft() -> None:
    page = Page()
    await page.controller.start()
    added = page.controller.add_character("C")
    assert added is not None
    await added
    page.view.type("for C")
    await page.controller.open_character("B")
    page.view.type("for Bob")
    assert page.storage.get("pychat:draft:C") == "for C"
    page.controller.remove_character("C")
    assert page.storage.get("pychat:draft:C") is None
    assert page.view.input == "for Bob"


async def test_removing_the_open_character_empties_the_input_and_shows_the_next_ones_draft() -> None:
    page = Page()
    await page.controller.start()
    page.view.type("for Alice")
    added = page.controller.add_character("C")
    assert added is not None
    await added
    page.view.type("for C")
    opened = page.controller.remove_character("C")
    assert opened is not None
    await opened
    assert page.view.current == "A" and page.view.input == "for Alice"
    assert page.storage.get("pychat:draft:C") is None


async def test_clear_all_sessions_removes_every_draft() -> None:
    page = Page()
    page.storage.set("pychat:other", "not a draft")
    await page.controller.start()
    page.view.type("for Alice")
    await page.controller.open_character("B")
    page.view.type("for Bob")
    page.controller.clear_all_sessions()
    assert drafts_of(page.storage) == {}
    assert page.view.input == ""
    assert page.storage.get("pychat:other") == "not a draft"
    await page.controller.open_character("A")
    assert page.view.input == ""


# ----- another tab --------------------------------------------------------------------------------


def written_elsewhere(page: Page, config_id: str, text: str) -> None:
    """Another tab stores ``text`` as ``config_id``'s draft; the storage event tells this page."""
    page.storage.set(f"pychat:draft:{config_id}", text)
    page.controller.draft_changed_elsewhere(f"pychat:draft:{config_id}")


async def test_a_draft_from_another_tab_for_another_character_is_shown_when_it_opens() -> None:
    page = Page()
    await page.controller.start()
    await page.controller.open_character("B")
    await page.controller.open_character("A")
    written_elsewhere(page, "B", "from the other tab")
    assert page.view.input == ""
    await page.controller.open_character("B")
    assert page.view.input == "from the other tab"


async def test_a_draft_from_another_tab_is_adopted_while_nothing_is_typed_here() -> None:
    page = Page()
    await page.controller.start()
    written_elsewhere(page, "A", "typed over there")
    assert page.view.input == "typed over there"
    written_elsewhere(page, "A", "typed over there, more")
    assert page.view.input == "typed over there, more"


async def test_a_draft_from_another_tab_never_overwrites_what_is_typed_here() -> None:
    timers = Timers()
    page = Page(timers=timers)
    await page.controller.start()
    timers.run()
    page.view.type("mine, not stored yet")
    written_elsewhere(page, "A", "theirs")
    assert page.view.input == "mine, not stored yet"
    timers.run(within=SAVE_DELAY)
    assert page.storage.get("pychat:draft:A") == "mine, not stored yet"


async def test_other_keys_changed_elsewhere_leave_the_input_alone() -> None:
    page = Page()
    await page.controller.start()
    page.storage.set("pychat:draft:A", "not announced")
    page.controller.draft_changed_elsewhere("session_A")
    page.controller.draft_changed_elsewhere("pychat:draft:B")
    assert page.view.input == ""


async def test_storage_cleared_elsewhere_empties_an_untouched_input() -> None:
    page = Page()
    await page.controller.start()
    page.view.type("stored")
    page.storage.items.clear()
    page.controller.draft_changed_elsewhere(None)
    assert page.view.input == ""



# ----- kept in IndexedDB (KeptDrafts), noted in localStorage only while not committed ---------------


class Backend:
    """A DraftBackend whose writes commit when the test says (or fail)."""

    def __init__(self) -> None:
        self.stored: dict[str, str] = {}
        self.waiting: list[tuple[str, str | None, asyncio.Future[None]]] = []
        self.refuse = False

    def put(self, config_id: str, text: str | None) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((config_id, text, done))
        return done

    async def commit(self, count: int | None = None) -> None:
        """Commit (or, when refusing, fail) the oldest ``count`` writes (all), in order."""
        take = self.waiting[: len(self.waiting) if count is None else count]
        del self.waiting[: len(take)]
        for config_id, text, done in take:
            if self.refuse:
                done.set_exception(RuntimeError("QuotaExceededError"))
                continue
            if text:
                self.stored[config_id] = text
            else:
                self.stored.pop(config_id, None)
            done.set_result(None)
        for _ in range(3):
            await asyncio.sleep(0)  # the commits' callbacks run


def kept(backend: Backend, journal: MemoryStorage, records: list[object] | None = None) -> KeptDrafts:
    return KeptDrafts(backend, records or [], journal)


async def test_kept_drafts_are_read_from_the_records_given_and_junk_records_are_none() -> None:
    records: list[object] = [{"id": "A", "text": "for A"}, {"id": "B", "text": ""}, {"id": 3, "text": "x"}, "junk",
                             {"id": "C"}, {"id": "D", "text": ["x"]}]
    drafts = Drafts(kept(Backend(), MemoryStorage(), records))
    assert [drafts.get(c) for c in "ABCD"] == ["for A", "", "", ""]


async def test_a_change_goes_to_the_backend_and_not_to_localstorage() -> None:
    backend, journal = Backend(), MemoryStorage()
    drafts = Drafts(kept(backend, journal))
    drafts.typed("A", "Hel")
    assert [(c, t) for c, t, _ in backend.waiting] == [("A", "Hel")]
    await backend.commit()
    assert backend.stored == {"A": "Hel"} and journal.items == {}
    drafts.typed("A", "")
    await backend.commit()
    assert backend.stored == {} and journal.items == {}


async def test_what_is_not_committed_as_the_page_hides_is_noted_until_it_is() -> None:
    backend, journal = Backend(), MemoryStorage()
    store = kept(backend, journal)
    drafts = Drafts(store)
    drafts.typed("B", "committed before")
    await backend.commit()
    store.hidden()
    assert journal.items == {}  # nothing on its way: nothing noted
    drafts.typed("A", "typed as the tab hides")
    drafts.typed("B", "")
    store.hidden()
    assert journal.items == {"pychat:draft:A": "typed as the tab hides", "pychat:draft:B": ""}
    await backend.commit()
    assert journal.items == {} and backend.stored == {"A": "typed as the tab hides"}
    assert store.settled


async def test_an_older_commit_leaves_the_note_of_a_newer_change_alone() -> None:
    backend, journal = Backend(), MemoryStorage()
    store = kept(backend, journal)
    store.set(draft_key("A"), "one")
    store.set(draft_key("A"), "two")
    store.hidden()
    await backend.commit(1)
    assert journal.items == {"pychat:draft:A": "two"}  # "two" is not committed yet
    await backend.commit()
    assert journal.items == {} and backend.stored == {"A": "two"}


async def test_a_change_the_backend_refuses_is_noted_and_taken_over_at_the_next_start() -> None:
    backend, journal = Backend(), MemoryStorage()
    backend.refuse = True
    Drafts(kept(backend, journal)).typed("A", "not lost")
    await backend.commit()
    assert journal.items == {"pychat:draft:A": "not lost"} and backend.stored == {}
    again = Backend()
    drafts = Drafts(kept(again, journal))  # the next start
    assert drafts.get("A") == "not lost"
    await again.commit()
    assert again.stored == {"A": "not lost"} and journal.items == {}


async def test_notes_left_behind_and_the_release_befores_drafts_win_over_what_the_backend_holds() -> None:
    backend, journal = Backend(), MemoryStorage()
    journal.set("pychat:draft:A", "newer, as noted")
    journal.set("pychat:draft:B", "")  # noted: emptied
    journal.set("other-app:draft", "not ours")
    records: list[object] = [{"id": "A", "text": "older"}, {"id": "B", "text": "gone"}, {"id": "C", "text": "c"}]
    store = kept(backend, journal, records)
    drafts = Drafts(store)
    assert [drafts.get(c) for c in "ABC"] == ["newer, as noted", "", "c"]
    assert sorted((c, t) for c, t, _ in backend.waiting) == [("A", "newer, as noted"), ("B", None)]
    await backend.commit()
    assert journal.items == {"other-app:draft": "not ours"}
    assert sorted(store.keys()) == ["pychat:draft:A", "pychat:draft:C"]


async def test_another_tabs_commit_is_adopted_unless_a_change_of_this_tab_is_on_its_way() -> None:
    backend, journal = Backend(), MemoryStorage()
    store = kept(backend, journal, [{"id": "A", "text": "stored"}])
    drafts = Drafts(store)
    assert drafts.get("A") == "stored"
    key = store.changed_elsewhere("A", "from the other tab")
    assert drafts.changed_elsewhere(key, "A", "stored") == "from the other tab"
    drafts.typed("A", "typed here")  # on its way
    key = store.changed_elsewhere("A", "the other tab again")
    assert drafts.changed_elsewhere(key, "A", "typed here") is None
    assert store.get(key) == "typed here"
    store.changed_elsewhere("B", None)
    assert store.get(draft_key("B")) is None


async def test_clear_all_removes_every_kept_draft_and_nothing_else() -> None:
    backend, journal = Backend(), MemoryStorage()
    journal.set("other-app:draft", "not ours")
    drafts = Drafts(kept(backend, journal, [{"id": "A", "text": "a"}, {"id": "B", "text": "b"}]))
    drafts.clear_all()
    await backend.commit()
    assert backend.stored == {} and journal.items == {"other-app:draft": "not ours"}
    assert drafts.get("A") == ""


async def test_a_change_aborted_after_the_page_hid_is_not_noted_again() -> None:
    # As the page goes: noted at once as it hides, then its transaction is aborted. A second note,
    # written late, could outlive the page's other last writes; it would say nothing new.
    backend, journal = Backend(), MemoryStorage()
    store = kept(backend, journal)
    store.set(draft_key("A"), "as the page goes")
    store.hidden()
    journal.items.clear()  # (a note made afterwards would show here)
    backend.refuse = True
    await backend.commit()
    assert journal.items == {}
