"""Which key press is which shortcut, and stepping through the characters."""

from __future__ import annotations

import pytest

from app.settings import Character
from app.shortcuts import OTHER_KEYS, SHORTCUTS, adjacent, match_shortcut

from .test_controller import Page


@pytest.mark.parametrize(
    ("key", "code", "modifiers", "action"),
    [
        ("N", "KeyN", {"alt": True, "shift": True}, "new-conversation"),
        ("\u02dc", "KeyN", {"alt": True, "shift": True}, "new-conversation"),  # what a Mac types for Alt+Shift+N
        ("/", "Slash", {}, "focus-search"),
        ("ArrowDown", "ArrowDown", {"alt": True}, "next-character"),
        ("ArrowUp", "ArrowUp", {"alt": True}, "previous-character"),
        ("?", "Slash", {"shift": True}, "help"),
        ("?", "Minus", {}, "help"),  # layouts with "?" unshifted
    ],
)
def test_each_shortcut_is_recognised(key: str, code: str, modifiers: dict[str, bool], action: str) -> None:
    assert match_shortcut(key, code, **modifiers) == action


@pytest.mark.parametrize(
    ("key", "code", "modifiers"),
    [
        ("n", "KeyN", {"alt": True}),  # Alt+N alone is not it
        ("N", "KeyN", {"alt": True, "shift": True, "ctrl": True}),  # nor with Ctrl as well
        ("ArrowDown", "ArrowDown", {}),  # a plain arrow moves the cursor or scrolls
        ("ArrowUp", "ArrowUp", {"alt": True, "meta": True}),
        ("/", "Slash", {"ctrl": True}),
        ("a", "KeyA", {}),
    ],
)
def test_other_key_presses_are_no_shortcut(key: str, code: str, modifiers: dict[str, bool]) -> None:
    assert match_shortcut(key, code, **modifiers) is None


def test_one_key_shortcuts_type_their_character_in_a_text_field_but_modifier_ones_still_work() -> None:
    assert match_shortcut("?", "Slash", shift=True, in_field=True) is None
    assert match_shortcut("/", "Slash", in_field=True) is None
    assert match_shortcut("ArrowDown", "ArrowDown", alt=True, in_field=True) == "next-character"
    assert match_shortcut("N", "KeyN", alt=True, shift=True, in_field=True) == "new-conversation"


def test_the_help_lists_every_shortcut_once_with_its_keys() -> None:
    listed = [s.keys for s in SHORTCUTS] + [keys for keys, _ in OTHER_KEYS]
    assert len(set(listed)) == len(listed) and all(listed)
    assert len({s.action for s in SHORTCUTS}) == len(SHORTCUTS)


def test_adjacent_steps_through_the_list_and_wraps_around() -> None:
    ids = ["a", "b", "c"]
    assert [adjacent(ids, "a", 1), adjacent(ids, "c", 1), adjacent(ids, "a", -1)] == ["b", "a", "c"]
    assert adjacent(ids, None, 1) == "a" and adjacent([], None, 1) is None


async def test_next_and_previous_character_open_the_neighbours_in_list_order() -> None:
    page = Page(characters=[Character("A", "Alice"), Character("B", "Bob"), Character("C", "Cleo")])
    await page.controller.start()
    opened = []
    for step in (1, 1, 1, -1):
        task = page.controller.select_adjacent_character(step)
        assert task is not None
        await task
        opened.append(page.view.current)
    assert opened == ["B", "C", "A", "C"]


async def test_next_character_with_a_single_character_does_nothing() -> None:
    page = Page(characters=[Character("A", "Alice")])
    await page.controller.start()
    assert page.controller.select_adjacent_character(1) is None
