from __future__ import annotations

import json

import pytest

from app.errors import InvalidConfigId
from app.roster import ADDED_KEY, Roster
from app.settings import Character
from app.storage import MemoryStorage

CONFIGURED = [Character("A", "Alice")]


def test_added_characters_are_remembered_across_loads() -> None:
    storage = MemoryStorage()
    Roster(storage, CONFIGURED).add("CHAR_new")
    assert [c.config_id for c in Roster(storage, CONFIGURED).characters] == ["A", "CHAR_new"]


def test_adding_a_known_character_returns_it_without_duplicating() -> None:
    roster = Roster(MemoryStorage(), CONFIGURED)
    assert roster.add(" A ") == Character("A", "Alice")
    assert len(roster.characters) == 1


def test_invalid_ids_are_refused() -> None:
    with pytest.raises(InvalidConfigId):
        Roster(MemoryStorage(), CONFIGURED).add("")


@pytest.mark.parametrize("raw", ["not json", '{"a": 1}', '["ok", "", 5, "' + "x" * 200 + '"]'])
def test_corrupt_added_list_keeps_only_valid_ids(raw: str) -> None:
    roster = Roster(MemoryStorage({ADDED_KEY: raw}), CONFIGURED)
    assert [c.config_id for c in roster.characters] in (["A"], ["A", "ok"])


def test_last_open_must_be_a_known_character() -> None:
    storage = MemoryStorage({"pychat:open": "ghost"})
    assert Roster(storage, CONFIGURED).last_open() is None
    Roster(storage, CONFIGURED).remember_open("A")
    assert Roster(storage, CONFIGURED).last_open() == "A"


def test_added_characters_can_be_removed_and_stay_removed() -> None:
    storage = MemoryStorage()
    roster = Roster(storage, CONFIGURED)
    roster.add("CHAR_x")
    roster.add("CHAR_y")
    assert roster.remove("CHAR_x")
    assert [c.config_id for c in Roster(storage, CONFIGURED).characters] == ["A", "CHAR_y"]


def test_configured_characters_cannot_be_removed() -> None:
    roster = Roster(MemoryStorage(), CONFIGURED)
    assert not roster.remove("A") and not roster.remove("ghost")
    assert [c.config_id for c in roster.characters] == ["A"]


def test_an_added_character_keeps_its_display_name_across_loads() -> None:
    storage = MemoryStorage()
    added = Roster(storage, CONFIGURED).add(" CHAR_qq ", "  Quiet   Quill ")
    assert added == Character("CHAR_qq", "Quiet Quill", added=True)
    assert json.loads(storage.get(ADDED_KEY) or "") == [{"config_id": "CHAR_qq", "name": "Quiet Quill"}]
    assert Roster(storage, CONFIGURED).find("CHAR_qq") == added


def test_without_a_display_name_an_added_character_is_shown_by_its_config_id() -> None:
    storage = MemoryStorage()
    Roster(storage, CONFIGURED).add("CHAR_plain")
    assert Roster(storage, CONFIGURED).find("CHAR_plain") == Character("CHAR_plain", "CHAR_plain", added=True)


def test_config_ids_stored_as_plain_strings_by_earlier_releases_are_still_read() -> None:
    storage = MemoryStorage({ADDED_KEY: json.dumps(["CHAR_old", {"config_id": "CHAR_new", "name": "New"}, {"x": 1}])})
    assert [(c.config_id, c.name) for c in Roster(storage, CONFIGURED).characters] == [
        ("A", "Alice"), ("CHAR_old", "CHAR_old"), ("CHAR_new", "New")]


def test_adding_an_added_character_again_with_a_name_renames_it_in_place() -> None:
    storage = MemoryStorage()
    roster = Roster(storage, CONFIGURED)
    roster.add("CHAR_x")
    roster.add("CHAR_y")
    assert roster.add("CHAR_x", "Xena").name == "Xena"
    assert [(c.config_id, c.name) for c in Roster(storage, CONFIGURED).characters] == [
        ("A", "Alice"), ("CHAR_x", "Xena"), ("CHAR_y", "CHAR_y")]
    assert roster.add("CHAR_x").name == "Xena"  # no name given: it keeps the one it has


def test_a_configured_character_keeps_its_configured_name() -> None:
    roster = Roster(MemoryStorage(), CONFIGURED)
    assert roster.add("A", "Someone else") == Character("A", "Alice")
