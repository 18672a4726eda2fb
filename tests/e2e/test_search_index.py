"""The archive's search index (static/archive.mjs): kept in step with every write, built once for a
database of the release before, and what search finds is what a plain scan of the messages finds.

The writes go through the page's own archive functions (``window.pychatArchive``), as the page's
Python makes them; a model in Python keeps what should be stored, and every search is compared with
a scan of it.
"""

from __future__ import annotations

import random
from typing import Any

from playwright.sync_api import Page, expect

from .conftest import Server, open_app
from .helpers import LUNA

WRITE = "async (change) => { await window.pychatArchive.write(JSON.stringify(change)); }"
SEARCH = "async ([text, limit]) => JSON.parse(await window.pychatArchive.search(text, limit))"
CLEAR = "async () => { await window.pychatArchive.clear(); }"

# Every block of the index and every message, read straight from the database (a second connection).
READ_STORES = """async () => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open('pychat');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const all = (name) => new Promise((resolve, reject) => {
    const request = db.transaction(name).objectStore(name).getAll();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const blocks = (await all('search')).map((b) => ({id: b.id, conversation: b.conversation, count: b.count,
    ids: b.count ? b.ids.split('\\u0000') : [], folded: b.count ? b.folded.split('\\u0000') : [],
    at: Array.from(b.at)}));
  const messages = (await all('messages')).map((m) => ({id: m.id, text: m.text, at: m.at}));
  const meta = await all('meta');
  const conversations = (await all('conversations')).map((c) => ({id: c.id}));
  db.close();
  return {blocks, messages, meta, conversations};
}"""

WORDS = ["comet", "Nebula", "orbit", "STARS", "moon", "telescope", "aurora", "Ünïcode", "a\u0000b", "tide"]
NEEDLES = ["comet", "NEBULA", "orbit stars", "moon", "ünïcode", "a b", "tide", "e", "zzz never", "7"]


class Model:
    """What the archive should hold: message records by id."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.conversations: set[str] = set()
        self.clock = 1_000_000.0
        self.serial = 0

    def text(self, rng: random.Random, size: int = 0) -> str:
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 8))] + [str(rng.randint(0, 99))]
        text = " ".join(words)
        return text + " x" * size if size else text

    def new_record(self, conversation: str, text: str) -> dict[str, Any]:
        self.serial += 1
        self.clock += 1
        mid = f"{conversation}/m{self.serial:07d}"
        return {"id": mid, "conversation": conversation, "at": self.clock, "role": "user", "text": text}

    def expected(self, needle: str, limit: int) -> list[str]:
        folded = needle.lower().replace("\u0000", " ")
        found = [r for r in self.records.values() if folded in r["text"].lower().replace("\u0000", " ")]
        found.sort(key=lambda r: r["at"], reverse=True)  # every time is different
        return [r["id"] for r in found[:limit]]


def empty_change() -> dict[str, list[Any]]:
    return {"conversations": [], "messages": [], "deleteMessages": [], "deleteConversations": []}


def check_searches(page: Page, model: Model) -> None:
    for needle in NEEDLES:
        for limit in (5, 500):
            found = page.evaluate(SEARCH, [needle, limit])
            assert [r["id"] for r in found] == model.expected(needle, limit), (needle, limit)
            for record in found:
                assert record == model.records[record["id"]]


def check_index(page: Page, model: Model) -> None:
    """Every stored message is in exactly one block of its conversation, with its text folded and its time."""
    stores = page.evaluate(READ_STORES)
    assert {c["id"] for c in stores["conversations"]} == model.conversations
    assert {m["id"] for m in stores["messages"]} == set(model.records)
    entries: dict[str, tuple[str, float]] = {}
    for block in stores["blocks"]:
        assert 0 < block["count"] <= 256 and len(block["ids"]) == len(block["folded"]) == len(block["at"])
        assert block["id"].startswith(block["conversation"] + "/")
        for mid, folded, at in zip(block["ids"], block["folded"], block["at"], strict=True):
            assert mid not in entries, f"{mid} is in two blocks"
            assert mid.startswith(block["conversation"] + "/")
            entries[mid] = (folded, at)
    assert entries == {mid: (r["text"].lower().replace("\u0000", " "), r["at"]) for mid, r in model.records.items()}
    assert {"id": "search-index", "complete": True} in stores["meta"]


def test_search_finds_what_a_scan_of_the_messages_finds_through_any_writes(page: Page, server: Server) -> None:
    """Random writes of the kinds the page makes: new messages, one at a time and hundreds at once
    (blocks fill up), rewritten messages (a reply completed), deletions, whole conversations deleted,
    a clear, replies large enough to fill a block alone; searches in between, with the tab's index
    cache loaded, and after a reload."""
    open_app(page, server)
    rng = random.Random(20261203)
    model = Model()
    conversations = ["ca", "cb", "cc", "cd"]
    check_searches(page, model)  # the cache is loaded, empty, and then kept up to date
    for step in range(120):
        change = empty_change()
        kind = rng.choices(["add", "batch", "rewrite", "delete", "drop", "big", "clear", "reload"],
                           [50, 4, 15, 12, 3, 3, 1, 2])[0]
        if kind == "add":
            for _ in range(rng.randint(1, 3)):
                record = model.new_record(rng.choice(conversations), model.text(rng))
                change["messages"].append(record)
        elif kind == "batch":  # an import or a migration: more than a block's worth at once
            conversation = rng.choice(conversations)
            change["messages"] += [model.new_record(conversation, model.text(rng)) for _ in range(300)]
        elif kind == "rewrite" and model.records:
            old = model.records[rng.choice(sorted(model.records))]
            change["messages"].append({**old, "text": model.text(rng), "incomplete": True})
        elif kind == "delete" and model.records:
            change["deleteMessages"] += rng.sample(sorted(model.records), min(len(model.records), rng.randint(1, 4)))
        elif kind == "drop":
            change["deleteConversations"].append(rng.choice(conversations))
        elif kind == "big":  # past the block's 256 KiB of text: a block of its own
            change["messages"].append(model.new_record(rng.choice(conversations), model.text(rng, 150_000)))
        elif kind == "clear":
            page.evaluate(CLEAR)
            model.records.clear()
            model.conversations.clear()
            continue
        elif kind == "reload":
            page.reload()
            page.wait_for_selector("html[data-app-state=ready]")
            continue
        for conversation in sorted({r["conversation"] for r in change["messages"]}):  # as the page writes them
            change["conversations"].append({"id": conversation, "config_id": LUNA, "started": 1.0, "ended": 2.0,
                                            "session_id": None, "title": conversation, "count": 1, "updated": 2.0})
            model.conversations.add(conversation)
        if rng.random() < 0.3 and change["messages"]:  # a put and a delete of the same message in one write
            change["deleteMessages"].append(change["messages"][0]["id"])
        page.evaluate(WRITE, change)
        for record in change["messages"]:
            model.records[record["id"]] = record
        for mid in change["deleteMessages"]:
            model.records.pop(mid, None)
        for conversation in change["deleteConversations"]:
            for mid in [m for m in model.records if m.startswith(conversation + "/")]:
                del model.records[mid]
            model.conversations.discard(conversation)
        if step % 10 == 9:
            check_searches(page, model)
        if kind == "drop" or step % 30 == 29:
            check_index(page, model)
    check_searches(page, model)
    check_index(page, model)
    assert len(model.records) > 300  # the run wrote blocks' worth, and kept them
    page.reload()
    page.wait_for_selector("html[data-app-state=ready]")
    check_searches(page, model)  # read from the database, not this tab's cache


SEED_VERSION_1 = """async ([records, configId]) => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open('pychat', 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore('conversations', {keyPath: 'id'});
      request.result.createObjectStore('messages', {keyPath: 'id'});
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  await new Promise((resolve, reject) => {
    const tx = db.transaction(['conversations', 'messages'], 'readwrite');
    tx.objectStore('conversations').put({id: 'old1', config_id: configId, started: 1000, ended: 2000,
      session_id: null, title: 'An old one', count: records.length, updated: 2000});
    for (const record of records) tx.objectStore('messages').put(record);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}"""


def test_a_database_of_the_release_before_is_indexed_once_and_searched_whole(page: Page, server: Server) -> None:
    """Messages stored by the release before the index (database version 1) are all found; a message
    written before the index is built is found too; the index is built once."""
    records = [{"id": f"old1/{n:09d}", "conversation": "old1", "at": 1000 + n,
                "role": "user" if n % 2 == 0 else "assistant", "text": f"Old message {n} about a comet"}
               for n in range(600)]
    page.goto(server.url + "static/favicon.svg")  # the page's origin, without the page
    page.evaluate(SEED_VERSION_1, [records, LUNA])
    open_app(page, server)
    model = Model()
    model.records = {r["id"]: r for r in records}
    model.conversations = {"old1"}
    late = model.new_record("old1", "written before the index was built: a comet too")
    late["at"] = 5000.0
    page.evaluate(WRITE, {**empty_change(), "messages": [late]})
    model.records[late["id"]] = late
    check_searches(page, model)
    check_index(page, model)
    # And through the page: the search dialog finds the old conversation's messages.
    page.get_by_test_id("search-button").click()
    page.get_by_test_id("search-input").fill("old message 59")
    results = page.get_by_test_id("search-result")
    expect(results).to_have_count(11)  # 59 and 590 to 599
