"""Conversations that are kept: the history, continuing and deleting, the archive in IndexedDB,
the move from the previous release's localStorage keys, and two tabs writing at once."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from .conftest import READY, Server, open_app
from .helpers import (
    LUNA,
    confirm_if_asked,
    messages,
    open_character,
    open_menu,
    send,
    send_and_wait,
    stored,
    stored_conversation,
    wait_until_stored,
)


def new_conversation(page: Page) -> None:
    page.get_by_test_id("new-conversation").click()
    confirm_if_asked(page)
    expect(messages(page)).to_have_count(0)


def history_items(page: Page) -> list[str]:
    page.get_by_test_id("history-button").click()
    items = page.get_by_test_id("history-item")
    expect(page.get_by_test_id("history-dialog")).to_be_visible()
    return [items.nth(n).inner_text() for n in range(items.count())]


def test_new_conversation_keeps_the_old_one_in_the_history_across_a_reload(page: Page, server: Server) -> None:
    open_app(page, server)
    first = send_and_wait(page, "Tell me about the moon")
    old_session = stored(page, f"session_{LUNA}")
    new_conversation(page)
    send_and_wait(page, "A fresh start")
    assert stored(page, f"session_{LUNA}") != old_session
    page.reload()
    page.wait_for_selector(READY)
    expect(messages(page)).to_have_count(2)
    [item] = history_items(page)
    assert "Tell me about the moon" in item and "2 messages" in item
    page.get_by_test_id("history-open").click()
    banner = page.get_by_test_id("past-banner")
    expect(banner).to_be_visible()
    expect(messages(page)).to_have_text(["Tell me about the moon", first])
    expect(page.get_by_test_id("message-input")).to_be_hidden()  # read-only
    page.get_by_test_id("back-to-current").click()
    expect(banner).to_be_hidden()
    expect(messages(page, "user")).to_have_text(["A fresh start"])


def test_continuing_an_earlier_conversation_puts_its_session_back_and_uses_it(page: Page, server: Server) -> None:
    open_app(page, server)
    send_and_wait(page, "Remember the number 7")
    old_session = stored(page, f"session_{LUNA}")
    new_conversation(page)
    send_and_wait(page, "Something else")
    history_items(page)
    page.get_by_test_id("history-open").click()
    page.get_by_test_id("continue-conversation").click()
    expect(page.get_by_test_id("past-banner")).to_be_hidden()
    expect(messages(page, "user")).to_have_text(["Remember the number 7"])
    expect(page.get_by_test_id("session-id")).to_have_text(old_session or "")
    assert stored(page, f"session_{LUNA}") == old_session  # raw, as the reference guide has it
    send_and_wait(page, "What was the number?")
    assert server.requests("/api/chat")[-1]["body"]["session_id"] == old_session
    expect(messages(page, "user")).to_have_text(["Remember the number 7", "What was the number?"])
    # The conversation it replaced is kept in the history in turn.
    assert any("Something else" in item for item in history_items(page))
    page.reload()
    page.wait_for_selector(READY)
    expect(messages(page, "user")).to_have_text(["Remember the number 7", "What was the number?"])


def test_continuing_a_conversation_whose_session_expired_recovers_and_says_so(page: Page, server: Server) -> None:
    open_app(page, server)
    send_and_wait(page, "Old times")
    old_session = stored(page, f"session_{LUNA}")
    new_conversation(page)
    send_and_wait(page, "New times")
    server.expire(old_session)
    history_items(page)
    page.get_by_test_id("history-open").click()
    page.get_by_test_id("continue-conversation").click()
    expect(page.locator("#notice")).to_contain_text("may not remember")
    send_and_wait(page, "Still there?")
    renewed = stored(page, f"session_{LUNA}")
    assert renewed and renewed != old_session
    expect(messages(page, "user")).to_have_text(["Old times", "Still there?"])
    expect(page.locator("#notice")).to_contain_text("expired")


def test_an_earlier_conversation_is_deleted_only_after_confirmation(page: Page, server: Server) -> None:
    open_app(page, server)
    send_and_wait(page, "Delete me later")
    new_conversation(page)
    history_items(page)
    page.get_by_test_id("delete-conversation").click()
    page.get_by_test_id("cancel-button").click()
    assert len(history_items(page)) == 1
    page.get_by_test_id("delete-conversation").click()
    page.get_by_test_id("confirm-button").click()
    page.reload()
    page.wait_for_selector(READY)
    assert history_items(page) == []
    expect(page.locator("#history-empty")).to_be_visible()


def test_the_previous_releases_long_conversation_comes_back_whole(page: Page, server: Server) -> None:
    """900 messages of about 1.4 million characters: the old 1M budget came back with 447 of them."""
    seeded = [{"role": "user" if n % 2 == 0 else "assistant", "text": f"message {n} " + "w" * 1550}
              for n in range(900)]
    page.add_init_script(
        "if (!sessionStorage.getItem('seeded')) { sessionStorage.setItem('seeded', '1');"
        f" localStorage.setItem('pychat:transcript:{LUNA}', {json.dumps(json.dumps(seeded))});"
        f" localStorage.setItem('pychat:transcripts', '{{\"{LUNA}\": 1}}');"
        f" localStorage.setItem('pychat:open', '{LUNA}'); }}"
    )
    open_app(page, server)
    assert sum(len(m["text"]) for m in seeded) > 1_400_000
    expect(messages(page).last).to_contain_text("message 899 ")
    assert stored_conversation(page, LUNA) == seeded
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('pychat:transcript'))") == []
    page.reload()
    page.wait_for_selector(READY)
    send_and_wait(page, "and one more")
    assert stored_conversation(page, LUNA)[:900] == seeded
    added = wait_until_stored(page, LUNA, 902)[900:]
    assert [m["role"] for m in added] == ["user", "assistant"] and added[0]["text"] == "and one more"


def test_two_tabs_sending_at_once_keep_every_message_of_both(context: BrowserContext, server: Server) -> None:
    tabs = [context.new_page(), context.new_page()]
    for tab in tabs:
        open_app(tab, server)
    rounds = 10
    for n in range(rounds):
        for name, tab in zip("ab", tabs, strict=True):
            send(tab, f"round {n} from {name}")
        for tab in tabs:
            expect(tab.get_by_test_id("send-button")).to_be_enabled()
            # The other tab's message comes through its commit, a broadcast and a read here: on a busy
            # two-CPU machine with two Pyodide tabs that took over 5 s once. Lost, it never comes.
            expect(messages(tab, "user").filter(has_text=f"round {n} from")).to_have_count(2, timeout=15_000)
    expected_sent = sorted(f"round {n} from {name}" for n in range(rounds) for name in "ab")
    tabs[0].reload()
    tabs[0].wait_for_selector(READY)
    stored_now = wait_until_stored(tabs[0], LUNA, 4 * rounds)
    assert sorted(m["text"] for m in stored_now if m["role"] == "user") == expected_sent
    assert len([m for m in stored_now if m["role"] == "assistant"]) == 2 * rounds
    for tab in tabs:
        expect(messages(tab)).to_have_count(4 * rounds)


def search_for(page: Page, text: str) -> None:
    page.get_by_test_id("search-button").click()
    page.get_by_test_id("search-input").fill(text)


def test_search_finds_every_characters_messages_and_opens_one_at_that_message(page: Page, server: Server) -> None:
    open_app(page, server)
    send_and_wait(page, "Where is the comet <b>Hale-Bopp</b> now?")
    for n in range(3):
        send_and_wait(page, f"filler {n}")
    new_conversation(page)
    page.locator('[data-testid="character"][data-config-id="CHAR_atlas"]').click()
    expect(page.get_by_test_id("send-button")).to_be_enabled()
    send_and_wait(page, "Map the comet's path")
    search_for(page, "COMET")
    results = page.get_by_test_id("search-result")
    expect(results.filter(has_text="Map the comet's path")).to_have_count(2)  # the message, and Atlas's echo
    luna = results.filter(has_text="Hale-Bopp", has_not_text="you said")  # the message, not Luna's echo of it
    expect(luna).to_have_count(1)
    expect(luna).to_contain_text("Luna")
    expect(luna.locator("mark")).to_have_text("comet")  # the match marked, the text as written
    expect(luna).to_contain_text("<b>Hale-Bopp</b>")  # HTML in a message stays text
    assert page.locator("#search-results b").count() == 0
    luna.click()
    expect(page.get_by_test_id("past-banner")).to_be_visible()
    expect(page.locator('[data-testid="character"][data-config-id="CHAR_luna"]')).to_have_attribute(
        "aria-current", "true")
    found = page.locator(".message[data-found] [data-testid=message]")
    expect(found).to_have_text("Where is the comet <b>Hale-Bopp</b> now?")
    expect(found).to_be_in_viewport()


def test_a_search_that_finds_nothing_says_so(page: Page, server: Server) -> None:
    open_app(page, server)
    send_and_wait(page, "hello")
    search_for(page, "zebra crossing")
    expect(page.locator("#search-status")).to_have_text("Nothing found.")
    expect(page.get_by_test_id("search-result")).to_have_count(0)


def test_a_write_the_browser_aborted_is_written_at_the_next_start(page: Page, server: Server) -> None:
    """A note left in localStorage by a page that went away before IndexedDB committed its write."""
    open_app(page, server)
    send_and_wait(page, "stored before")
    [conversation] = page.evaluate("async () => JSON.parse(await window.pychatArchive.catalog())")
    note = {"conversations": [{**conversation, "count": 2, "touch": True}], "deleteMessages": [],
            "deleteConversations": [],
            "messages": [{"id": f"{conversation['id']}/gone-000000001", "conversation": conversation["id"],
                          "at": conversation["updated"] + 1, "role": "user", "text": "noted, never committed"}]}
    page.evaluate("note => localStorage.setItem('pychat:journal:gone:1', JSON.stringify(note))", note)
    page.reload()
    page.wait_for_selector(READY)
    expect(messages(page, "user")).to_have_text(["stored before", "noted, never committed"])
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('pychat:journal:'))") == []


def test_storage_nearly_full_is_said_plainly_and_nothing_is_deleted(page: Page, server: Server) -> None:
    page.add_init_script("navigator.storage.estimate = async () => ({usage: 190e6, quota: 200e6});")
    open_app(page, server)
    expect(page.locator("#notice")).to_contain_text("Browser storage for this page is nearly full (95% of 200 MB")
    expect(page.locator("#notice")).to_contain_text("export the conversations you want to keep")
    send_and_wait(page, "still kept")
    page.reload()
    page.wait_for_selector(READY)
    expect(messages(page, "user")).to_have_text(["still kept"])


def test_search_keeps_up_with_new_messages_deletions_and_other_tabs(context: BrowserContext, server: Server) -> None:
    """The search cache is read once, then kept up to date by this tab's writes and the other tabs' changes."""
    first, second = context.new_page(), context.new_page()
    open_app(first, server)
    open_app(second, server)
    send_and_wait(first, "an early aardvark")
    search_for(first, "aardvark")
    expect(first.get_by_test_id("search-result")).to_have_count(2)  # the message and Luna's echo
    first.keyboard.press("Escape")
    send_and_wait(first, "a later aardvark")
    open_character(second, "CHAR_atlas")
    send_and_wait(second, "an aardvark from the other tab")
    search_for(first, "aardvark")
    expect(first.get_by_test_id("search-result")).to_have_count(6)
    expect(first.get_by_test_id("search-result").first).to_contain_text("an aardvark from the other tab")
    first.keyboard.press("Escape")
    new_conversation(first)
    history_items(first)
    first.get_by_test_id("delete-conversation").click()
    first.get_by_test_id("confirm-button").click()
    first.keyboard.press("Escape")
    search_for(first, "aardvar")
    expect(first.get_by_test_id("search-result")).to_have_count(2)  # Luna's conversation is gone from it too
    expect(first.get_by_test_id("search-result").first).to_contain_text("Atlas")


SEED_LONG = """async ([configId, count]) => {
  const id = 'seeded-long';
  const change = {conversations: [{id, config_id: configId, started: 1.7e12, ended: null, session_id: null,
    title: 'message 0', count, updated: 1.7e12 + count}], messages: [], deleteMessages: [], deleteConversations: []};
  for (let i = 0; i < count; i++) change.messages.push({id: id + '/s' + String(i).padStart(6, '0'), conversation: id,
    at: 1.7e12 + i, role: i % 2 ? 'assistant' : 'user', text: 'message ' + i});
  await window.pychatArchive.write(JSON.stringify(change));
  localStorage.setItem('pychat:open', configId);
}"""


def test_a_long_stored_conversation_opens_with_its_newest_and_every_message_stays_reachable(
    page: Page, server: Server, tmp_path: Path
) -> None:
    """2,000 messages: ready with the newest hundred shown, the rest read after; none is lost from
    "Show earlier", the export, a search, or what the next message writes."""
    open_app(page, server)
    page.evaluate(SEED_LONG, [LUNA, 2000])
    page.reload()
    page.wait_for_selector(READY)
    shown = messages(page)
    expect(shown).to_have_count(100)
    expect(shown.first).to_have_text("message 1900")
    expect(shown.last).to_have_text("message 1999")
    earlier = page.get_by_test_id("show-earlier")
    expect(earlier).to_have_text("Show 200 earlier messages (1,901 not shown)")  # and Luna's greeting
    earlier.click()
    expect(shown).to_have_count(300)
    expect(shown.first).to_have_text("message 1700")
    open_menu(page)
    with page.expect_download() as download:
        page.get_by_test_id("export-json").click()
    path = tmp_path / "export.json"
    download.value.save_as(path)
    exported = json.loads(path.read_text(encoding="utf-8"))
    assert [m["text"] for m in exported["messages"][1:]] == [f"message {i}" for i in range(2000)]
    send(page, "and one more")  # at the end of the list: the 300 shown go back to the newest 150
    conversation = wait_until_stored(page, LUNA, 2002)
    expect(messages(page, "user").last).to_have_text("and one more")
    assert shown.count() <= 200
    assert [m["text"] for m in conversation[:2000]] == [f"message {i}" for i in range(2000)]
    [record] = [r for r in page.evaluate("async () => JSON.parse(await window.pychatArchive.catalog())")
                if r["id"] == "seeded-long"]
    assert record["count"] == 2002
    page.reload()
    page.wait_for_selector(READY)
    page.get_by_test_id("search-button").click()
    page.get_by_test_id("search-input").fill("message 17")  # 17, 170-179, 1700-1799
    expect(page.get_by_test_id("search-result")).to_have_count(50)
    page.get_by_test_id("search-input").fill("message 3")  # 300-399, 30-39 and 3: older than the newest hundred
    expect(page.get_by_test_id("search-result").first).to_contain_text("message 399")
    expect(page.get_by_test_id("search-result")).to_have_count(50)
    page.get_by_test_id("search-result").last.click()  # the 50th newest: message 350
    expect(page.locator("li[data-found=true] [data-testid=message]")).to_have_text("message 350")
