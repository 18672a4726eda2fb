from __future__ import annotations

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
