"""Import: an export comes back into its character's history; a bad file changes nothing; Clear all keeps history."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import READY, Server, open_app
from .helpers import LUNA, messages, open_character, open_menu, send_and_wait, stored
from .test_history import history_items, new_conversation

PAST = '[data-testid="past-banner"]'


def export_json(page: Page, tmp_path: Path) -> Path:
    open_menu(page)
    with page.expect_download() as info:
        page.get_by_test_id("export-json").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def import_file(page: Page, path: Path) -> None:
    open_menu(page)
    page.get_by_test_id("import-file").set_input_files(str(path))


def test_an_exported_conversation_imports_into_the_history_and_survives_a_reload(
        page: Page, server: Server, tmp_path: Path) -> None:
    open_app(page, server)
    send_and_wait(page, "Keep this <b>exchange</b>")
    path = export_json(page, tmp_path)
    new_conversation(page)
    open_character(page, "CHAR_echo")
    import_file(page, path)
    # Opened read-only in Luna's history, with the way to continue it.
    expect(page.locator(PAST)).to_be_visible()
    expect(page.locator("#chat-title")).to_have_text("Luna")
    expect(messages(page, "user")).to_have_text(["Keep this <b>exchange</b>"])  # as text, never as HTML
    expect(page.locator("#notice")).to_contain_text("Imported 2 messages into Luna's history.")
    page.reload()
    page.wait_for_selector(READY)
    open_character(page, LUNA)
    items = history_items(page)
    assert len(items) == 2 and all("Keep this <b>exchange</b>" in item for item in items)


def test_a_conversation_of_an_unknown_character_adds_it_with_its_name(
        page: Page, server: Server, tmp_path: Path) -> None:
    open_app(page, server)
    path = tmp_path / "from-elsewhere.json"
    path.write_text(json.dumps({"character": {"config_id": "CHAR_visitor", "name": "The Visitor"},
                                "messages": [{"role": "user", "text": "hello from afar"},
                                             {"role": "assistant", "text": "and **hello** back"}]}), encoding="utf-8")
    import_file(page, path)
    visitor = page.locator('[data-testid="character"][data-config-id="CHAR_visitor"]')
    expect(visitor).to_contain_text("The Visitor")
    expect(visitor).to_have_attribute("aria-current", "true")
    expect(messages(page, "user")).to_have_text(["hello from afar"])
    expect(page.locator(PAST)).to_be_visible()
    page.get_by_test_id("continue-conversation").click()
    send_and_wait(page, "still there?")
    assert stored(page, "session_CHAR_visitor")  # continuing an import starts a session of its own
    expect(messages(page, "user")).to_have_text(["hello from afar", "still there?"])


def test_a_bad_file_is_refused_with_the_reason_and_changes_nothing(
        page: Page, server: Server, tmp_path: Path) -> None:
    open_app(page, server)
    send_and_wait(page, "before the bad file")
    snapshot = ("() => JSON.stringify(Object.entries(localStorage)"
                ".filter(([k]) => !k.startsWith('pychat:journal')).sort())")
    before = page.evaluate(snapshot)
    for name, content in [("junk.json", "not json at all"),
                          ("deep.json", "[" * 30_000 + "]" * 30_000),
                          ("wrong.json", json.dumps({"character": {"config_id": "CHAR_x"},
                                                     "messages": [{"role": "user", "text": "ok"},
                                                                  {"role": "system", "text": "<img src=x>"}]}))]:
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        import_file(page, path)
        expect(page.locator("#notice .notice-line", has_text=f"{name} was not imported.")).to_have_count(1)
    expect(page.locator("#notice")).to_contain_text("Message 2 has an unknown role ('system').")
    expect(page.locator("#notice img")).to_have_count(0)
    assert page.evaluate(snapshot) == before
    expect(page.locator('[data-testid="character"][data-config-id="CHAR_x"]')).to_have_count(0)
    assert history_items(page) == []
    page.keyboard.press("Escape")
    expect(messages(page, "user")).to_have_text(["before the bad file"])


def test_clear_all_can_keep_the_history_and_clears_only_the_sessions(page: Page, server: Server) -> None:
    open_app(page, server)
    send_and_wait(page, "worth keeping")
    open_menu(page)
    page.get_by_test_id("clear-all-sessions").click()
    expect(page.locator("#confirm-dialog")).to_contain_text("history")
    page.get_by_test_id("keep-history").check()
    page.get_by_test_id("confirm-button").click()
    expect(messages(page)).to_have_count(0)
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('session_'))") == []
    page.reload()
    page.wait_for_selector(READY)
    [item] = history_items(page)
    assert "worth keeping" in item
    page.get_by_test_id("history-open").click()
    expect(messages(page, "user")).to_have_text(["worth keeping"])
