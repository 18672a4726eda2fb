"""Choosing the page's language, and its words from a compiled catalogue (app/i18n.py)."""

from __future__ import annotations

import gettext
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import i18n
from app.errors import BadResponse, HttpError, NetworkError, StreamTooLarge
from app.export import conversation_json, conversation_markdown
from app.i18n import LANGUAGES, N_, _, choose_language, load_translations, ngettext, text_direction, use_language
from app.settings import Character, load_settings, resolve_api_base
from app.storage import GuardedStorage, MemoryStorage
from app.stream import SseParser
from app.transcript import Message
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


# ----- words said later: phrases (N_ with values), and what they reach ------------------------------------

ARABIC_DIGITS = str.maketrans("0123456789,", "٠١٢٣٤٥٦٧٨٩٬")


@pytest.fixture
def arabic_numbers(localedir: Path) -> Iterator[None]:
    """Arabic shown, with numbers and dates as Intl writes them for ar-u-nu-arab (faked: no browser here)."""
    use_language("ar", load_translations("ar", localedir), number_format=lambda n: f"{n:,}".translate(ARABIC_DIGITS),
                 date_format=lambda ms: "٢٤‏/١١‏/٢٠٢٦، ١٢:٠٠ م")
    yield
    use_language("en", gettext.NullTranslations(), number_format=lambda n: f"{n:,}", date_format=i18n._date_time)


def test_a_phrase_is_its_english_text_until_it_is_said_in_the_page_s_language(speaking) -> None:  # type: ignore[no-untyped-def]
    problem = N_("A config ID can be at most {limit} characters long.", limit=128)
    assert problem == "A config ID can be at most 128 characters long."
    speaking("de")
    assert _(problem) == "Eine Konfigurations-ID darf höchstens 128 Zeichen lang sein."
    assert problem == "A config ID can be at most 128 characters long."  # made once, said anew each time


def test_numbers_in_errors_are_written_with_the_language_s_digits(arabic_numbers: None) -> None:
    assert describe_error(HttpError(403, "nope")) == "فشل الطلب (٤٠٣): nope"
    too_big = StreamTooLarge(N_("a line of the stream is longer than {limit} characters", limit=1_000_000))
    assert describe_error(too_big) == "رد غير متوقع من الخادم: سطر في البث أطول من ١٬٠٠٠٬٠٠٠ حرف"


def test_a_stream_that_breaks_a_limit_says_so_in_the_language(speaking) -> None:  # type: ignore[no-untyped-def]
    parser = SseParser(max_line_chars=10)
    with pytest.raises(StreamTooLarge) as raised:
        parser.feed("data: " + "x" * 20)
    speaking("de")
    said = describe_error(raised.value)
    assert said == "Unerwartete Antwort vom Server: eine Zeile des Streams ist länger als 10 Zeichen"


def test_the_page_s_configuration_warnings_are_said_in_the_language(speaking) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings({"request_timeout_seconds": 0, "characters": [
        {"config_id": "CHAR_x", "description": 5}, {"config_id": "x" * 200}]})
    speaking("de")
    assert [_(p) for p in settings.problems] == [
        "pyscript.toml: chat.request_timeout_seconds muss zwischen 1 und 300 liegen; 20 wird verwendet.",
        "pyscript.toml: Figur 'CHAR_x': Feld description (eine Beschreibung muss Text sein) ignoriert.",
        "pyscript.toml: eine Figur übersprungen (Eine Konfigurations-ID darf höchstens 128 Zeichen lang sein.)",
    ]


def test_a_refused_api_override_is_said_in_the_language(speaking) -> None:  # type: ignore[no-untyped-def]
    _base, warning = resolve_api_base("http://localhost:3000", "https://evil.example", "http://127.0.0.1:8000", [])
    speaking("es")
    assert _(warning or "").startswith("Se ignoró ?api=https://evil.example: solo se permiten este sitio")


def test_a_storage_failure_is_said_in_the_language(speaking) -> None:  # type: ignore[no-untyped-def]
    class Refusing(MemoryStorage):
        def set(self, key: str, value: str) -> None:
            raise OSError("QuotaExceededError: full")

    storage = GuardedStorage(Refusing())
    storage.set("session_x", "s")
    speaking("de")
    assert _(storage.problem or "") == "Der Browserspeicher versagte beim Speichern: QuotaExceededError: full."


def test_the_markdown_export_is_written_in_the_page_s_language(arabic_numbers: None) -> None:
    messages = [Message("user", "مرحبا"), Message("assistant", "أهلًا", incomplete=True), Message("error", "x")]
    name, text = conversation_markdown(Character("CHAR_luna", "Luna"), messages, "2026-11-24T12:00:00Z")
    assert name == "chat-CHAR_luna-2026-11-24.md"  # the file name stays sortable, in every language
    assert text.startswith("# محادثة مع Luna\n\nالشخصية `CHAR_luna`، صُدِّرت في ٢٤‏/١١‏/٢٠٢٦، ١٢:٠٠ م\\.\n")
    assert "**أنت**\n" in text and "**Luna** *(غير مكتمل)*\n" in text and "**خطأ**\n" in text
    data = json.loads(conversation_json(Character("CHAR_luna", "Luna"), messages, "2026-11-24T12:00:00Z")[1])
    assert [m["role"] for m in data["messages"]] == ["user", "assistant", "error"]  # what the import reads
    assert data["exported_at"] == "2026-11-24T12:00:00Z"
