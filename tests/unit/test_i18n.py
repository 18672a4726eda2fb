"""Choosing the page's language, and its words from a compiled catalogue (app/i18n.py)."""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import i18n
from app.errors import BadResponse, HttpError, NetworkError
from app.i18n import LANGUAGES, _, choose_language, load_translations, ngettext, text_direction, use_language
from app.wording import describe_error
from serving.catalogues import load_catalogue, write_mo


@pytest.fixture
def localedir(tmp_path: Path) -> Path:
    """The repository's catalogues compiled into a locale folder, as serve.py ships them."""
    for lang in LANGUAGES[1:]:
        target = tmp_path / lang / "LC_MESSAGES" / "pychat.mo"
        target.parent.mkdir(parents=True)
        target.write_bytes(write_mo(load_catalogue(lang)))
    return tmp_path


@pytest.fixture
def speaking(localedir: Path) -> Iterator[object]:
    """``speaking(lang)`` makes ``lang`` the page's language for this test (English again after it)."""

    def speak(lang: str) -> None:
        use_language(lang, load_translations(lang, localedir))

    yield speak
    use_language("en", gettext.NullTranslations())


def test_the_query_wins_over_the_stored_choice_and_the_browser() -> None:
    assert choose_language(query="ar", stored="de", preferred=["es"]) == "ar"


def test_the_stored_choice_wins_over_the_browser() -> None:
    assert choose_language(query=None, stored="de", preferred=["es-ES", "en"]) == "de"


def test_the_browser_s_first_shipped_language_is_used_region_or_not() -> None:
    assert choose_language(preferred=["fr-FR", "pt", "es-419", "de"]) == "es"


def test_english_when_nothing_shipped_is_asked_for() -> None:
    assert choose_language(query="fr", stored="xx", preferred=["ja-JP"]) == "en"


@pytest.mark.parametrize(
    "junk", ["", " ", "<script>", "de-<script>", "de" * 40, "../de", None, 42, ["de"], {"de": 1}, "\u0000de"]
)
def test_a_crafted_query_or_stored_value_is_ignored_never_an_error(junk: object) -> None:
    assert choose_language(query=junk, stored=junk, preferred=["es"]) == "es"


def test_tags_are_matched_case_and_separator_insensitively() -> None:
    assert [choose_language(query=tag) for tag in ("DE", "de_AT", "Ar-EG", " es ")] == ["de", "de", "ar", "es"]


def test_only_arabic_is_written_right_to_left() -> None:
    assert {lang: text_direction(lang) for lang in LANGUAGES} == {"en": "ltr", "de": "ltr", "es": "ltr", "ar": "rtl"}


def test_a_catalogue_gives_the_language_s_words(localedir: Path) -> None:
    assert load_translations("de", localedir).gettext("Send") == "Senden"
    assert load_translations("es", localedir).gettext("Send") == "Enviar"
    assert load_translations("ar", localedir).gettext("Send") == "إرسال"


def test_a_missing_catalogue_or_english_gives_the_english_ids(tmp_path: Path) -> None:
    assert load_translations("de", tmp_path).gettext("Send") == "Send"
    assert load_translations("en", tmp_path).gettext("Send") == "Send"


def test_a_damaged_catalogue_gives_english_not_an_error(tmp_path: Path) -> None:
    broken = tmp_path / "de" / "LC_MESSAGES" / "pychat.mo"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a catalogue")
    assert load_translations("de", tmp_path).gettext("Send") == "Send"


def test_placeholders_are_filled_in_the_translation_s_own_order(speaking) -> None:  # type: ignore[no-untyped-def]
    speaking("de")
    assert _("Start a new conversation with {name}?", name="Luna") == "Ein neues Gespräch mit Luna beginnen?"


def test_the_empty_id_is_not_the_catalogue_s_header(speaking) -> None:  # type: ignore[no-untyped-def]
    speaking("de")
    assert _("") == ""


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "لا رسائل"), (1, "رسالة واحدة"), (2, "رسالتان"), (3, "3 رسائل"), (11, "11 رسالة"), (100, "100 رسالة")],
)
def test_arabic_counts_take_the_six_plural_forms(speaking, n: int, expected: str) -> None:  # type: ignore[no-untyped-def]
    speaking("ar")
    assert ngettext("{count} message", "{count} messages", n) == expected


def test_counts_use_the_language_s_number_format(localedir: Path) -> None:
    use_language("de", load_translations("de", localedir), number_format=lambda n: f"{n:,}".replace(",", "."))
    try:
        assert ngettext("{count} message", "{count} messages", 1200) == "1.200 Nachrichten"
    finally:
        use_language("en", gettext.NullTranslations(), number_format=lambda n: f"{n:,}")


def test_error_messages_mean_the_same_in_every_language(speaking) -> None:  # type: ignore[no-untyped-def]
    errors = [NetworkError("refused"), HttpError(403, "forbidden"), BadResponse("the reply is not valid JSON")]
    english = [describe_error(e) for e in errors]
    speaking("es")
    assert [describe_error(e) for e in errors] == [
        "Error de red: no se puede conectar con el servidor",
        "La solicitud falló (403): forbidden",
        "Respuesta inesperada del servidor: la respuesta no es JSON válido",
    ]
    assert english[0] == "Network error: Unable to connect to server"


def test_until_a_language_is_chosen_the_page_speaks_english() -> None:
    assert i18n.current_language() == "en"
    assert _("Send") == "Send"
