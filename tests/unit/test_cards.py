"""Character cards: avatar paths, descriptions and greetings checked; initials and colours for a face."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.cards import (
    HUES,
    MAX_DESCRIPTION,
    MAX_GREETING,
    BadCardField,
    Card,
    avatar,
    clean_avatar_path,
    clean_description,
    clean_greeting,
    hue_of,
    initials,
    read_card,
)

STYLE = Path(__file__).resolve().parents[2] / "static" / "style.css"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Quiet Quill", "QQ"),
        ("quiet   quill", "QQ"),
        ("Luna", "LU"),
        ("Jean-Luc Picard", "JP"),
        ("Ana María de la Cruz", "AC"),
        ("CHAR_new_friend", "CF"),  # a config ID shown as the name
        ("élodie", "ÉL"),
        ("🌙 Moon", "MO"),  # a word with no letter is passed over
        ("Луна", "ЛУ"),
        ("ليلى", "لي"),
        ("李小龙", "李小"),
        ("किरण", "किर"),  # a letter keeps its vowel sign
        ("ß", "ß"),  # upper-casing would make it two letters
        ("R2 D2", "RD"),
        ("🌙✨", "🌙"),
        ("👩\u200d🚀 ", "👩\u200d🚀"),  # a ZWJ sequence stays whole
        ("👍🏽!", "👍🏽"),  # with its skin tone
        ("   ", "?"),
    ],
)
def test_initials_are_two_letters_of_the_name_or_its_first_symbol(name: str, expected: str) -> None:
    assert initials(name) == expected


def test_the_colour_comes_from_the_config_id_stable_and_spread_over_the_palette() -> None:
    assert hue_of("CHAR_luna") == hue_of("CHAR_luna") == avatar("CHAR_luna", "Other name", None).hue
    assert hue_of("CHAR_luna") == 8  # the same in every browser and on every load (FNV-1a, not hash())
    assert {hue_of(f"CHAR_{i}") for i in range(200)} == set(range(HUES))


def test_an_avatar_is_the_image_when_set_else_initials() -> None:
    assert avatar("CHAR_q", "Quiet Quill", "static/q.svg").image == "static/q.svg"
    face = avatar("CHAR_q", "Quiet Quill", None)
    assert (face.image, face.initials) == (None, "QQ")


@pytest.mark.parametrize(
    "path", ["static/avatars/luna.svg", "avatars/x.PNG", "a/b-c_d.1.webp", "face.jpeg", "static/avatars/v2.avif"]
)
def test_same_site_relative_image_paths_are_accepted(path: str) -> None:
    assert clean_avatar_path(f" {path} ") == path


@pytest.mark.parametrize(
    "path",
    [
        "https://evil.example/x.png",
        "//evil.example/x.png",
        "data:image/svg+xml,<svg/>",
        "javascript:alert(1)//.png",
        "/static/avatars/luna.svg",
        "static/../secret.svg",
        "../luna.svg",
        "static//luna.svg",
        "static\\luna.svg",
        "static/luna.svg?x=1",
        "static/luna.svg#f",
        "static/.hidden/luna.svg",
        "static/lu na.svg",
        "static/%2e%2e/luna.svg",
        "static/avatars/luna.html",
        "static/avatars/luna",
        "static/avatars/",
        "",
        "x" * 200 + ".svg",
    ],
)
def test_paths_off_the_site_up_the_tree_or_not_images_are_refused(path: str) -> None:
    with pytest.raises(BadCardField):
        clean_avatar_path(path)


def test_an_avatar_that_is_not_text_is_refused() -> None:
    with pytest.raises(BadCardField, match="text"):
        clean_avatar_path(["static/a.svg"])


def test_a_description_keeps_two_lines_with_spaces_collapsed() -> None:
    assert clean_description("  A   stargazer.\n\n  Speaks\tsoftly.  ") == "A stargazer.\nSpeaks softly."


@pytest.mark.parametrize(
    ("raw", "why"),
    [("one\ntwo\nthree", "2 lines"), ("x" * (MAX_DESCRIPTION + 1), f"{MAX_DESCRIPTION} characters"), (3, "text")],
)
def test_a_description_too_long_or_not_text_is_refused(raw: object, why: str) -> None:
    with pytest.raises(BadCardField, match=why):
        clean_description(raw)


def test_a_greeting_is_trimmed_and_keeps_its_line_breaks() -> None:
    assert clean_greeting("  Hello.\nWhat shall we look for?  ") == "Hello.\nWhat shall we look for?"


@pytest.mark.parametrize("raw", ["x" * (MAX_GREETING + 1), "bell\x07", None])
def test_a_greeting_too_long_with_controls_or_not_text_is_refused(raw: object) -> None:
    with pytest.raises(BadCardField):
        clean_greeting(raw)


def test_a_card_keeps_its_good_fields_and_names_each_bad_one() -> None:
    card, problems = read_card({"avatar": "https://x.example/a.png", "description": "Kind.", "greeting": 5})
    assert card == Card(avatar=None, description="Kind.", greeting="")
    assert len(problems) == 2
    assert problems[0].startswith("avatar (an avatar must be a path on this site")
    assert problems[1] == "greeting (a greeting must be text)"


def test_a_card_with_no_fields_is_empty() -> None:
    assert read_card({"config_id": "x", "name": "y"}) == (Card(), [])


# ----- the palette in static/style.css ----------------------------------------------------------


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """The WCAG 2 contrast ratio of two ``#rrggbb`` colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _palette(css: str, theme: str) -> tuple[str, dict[int, str]]:
    """The initials' colour and each hue's background in ``theme`` (each is ``light-dark(light, dark)``)."""
    side = 0 if theme == "light" else 1
    colour = r"light-dark\((#[0-9a-f]{6}), (#[0-9a-f]{6})\)"
    text = re.search(r"\.avatar \{[^}]*?[;\s]color: " + colour, css)
    assert text is not None, "no text colour for .avatar"
    hues = re.findall(r"\.avatar-hue-(\d+) \{ background: " + colour + r"; \}", css)
    backgrounds = {int(m[0]): m[1 + side] for m in hues}
    return text[1 + side], backgrounds


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_avatar_colour_keeps_its_initials_at_aa_contrast(theme: str) -> None:
    css = STYLE.read_text(encoding="utf-8")
    text, backgrounds = _palette(css[css.index("/* A character's face") :], theme)
    assert sorted(backgrounds) == list(range(HUES))
    ratios = {hue: round(contrast(text, colour), 2) for hue, colour in backgrounds.items()}
    assert all(ratio >= 4.5 for ratio in ratios.values()), ratios
