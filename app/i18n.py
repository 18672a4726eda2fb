"""The page's languages: which one is shown, and its words from a gettext catalogue.

Every word the page shows goes through :func:`_` (or :func:`ngettext` for a
count), with the English text as the message id, as gettext has it. The
catalogues are ``locales/<lang>/LC_MESSAGES/pychat.po`` in the repository;
``serve.py`` compiles them to ``.mo`` files that reach Pyodide's file system
under ``app/locales/`` (see ``serving/catalogues.py``). English is the source
language: its catalogue is the message ids themselves.

A language is chosen once per page load (a change in the menu reloads the
page), from, in this order: ``?lang=``, the stored choice (``pychat:lang``),
the browser's ``navigator.languages``, else English. Nothing of it is
trusted: only a shipped language is ever used::

    lang = choose_language(query="de", stored=None, preferred=["es-ES"])   # "de"
    use_language(lang, load_translations(lang, Path("app/locales")))
    _("Send")                                                              # "Senden"

Placeholders are named (``{name}``) and filled by :func:`_` itself, so a
translation may put them in any order; numbers and dates take the shown
language's format through :func:`number` and :func:`date_time`, which the
browser adapter points at ``Intl``.
"""

from __future__ import annotations

import gettext
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path

LANGUAGES = ("en", "de", "es", "ar")
"""The shipped languages, as BCP 47 primary subtags; the first is the default and the source."""
RTL_LANGUAGES = frozenset({"ar"})
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "es": "Español", "ar": "العربية"}
"""Each language in its own words (not translated: a reader looks for their own language's name)."""
LANGUAGE_KEY = "pychat:lang"
"""Where the menu's choice is kept (localStorage); the page's reset removes it with its other keys."""
DOMAIN = "pychat"
INTL_LOCALES = {"ar": "ar-u-nu-arab"}
"""The locale ``Intl`` formats a language's numbers and dates in, where it is not the language itself.

Arabic's digits are the Arabic-Indic ones (``١٬٢٠٠``), named outright: a bare ``ar`` gives
Latin digits in Chromium 156 (``ar-EG`` and ``ar-SA`` give Arabic-Indic ones), so the digits
would depend on the browser's locale data."""
_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")  # a BCP 47 tag's shape; static/language.js has it too

_translations: gettext.NullTranslations = gettext.NullTranslations()
_language = LANGUAGES[0]
_number: Callable[[float], str] = lambda n: f"{n:,}"  # noqa: E731 - replaced by the browser's Intl
_date_time: Callable[[float], str] = lambda ms: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ms / 1000))  # noqa: E731


def shipped_language(tag: object) -> str | None:
    """The shipped language a language tag names (``"de-AT"`` -> ``"de"``), else None.

    Anything that is not a short, well-formed tag (from a link, storage or the
    browser) is None, never an error.

    >>> shipped_language("es-419"), shipped_language("AR"), shipped_language("fr"), shipped_language("de-<x>")
    ('es', 'ar', None, None)
    """
    if not isinstance(tag, str) or len(tag) > 35 or not _TAG.fullmatch(tag.strip()):
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def choose_language(query: object = None, stored: object = None, preferred: Iterable[object] = ()) -> str:
    """The language to show: ``?lang=``'s, else the stored one, else the browser's first shipped one, else English.

    >>> choose_language(query="xx", stored="es", preferred=["de-DE", "en"])
    'es'
    >>> choose_language(preferred=["fr-FR", "de-CH"])
    'de'
    """
    for candidate in (query, stored, *preferred):
        found = shipped_language(candidate)
        if found is not None:
            return found
    return LANGUAGES[0]


def text_direction(lang: str) -> str:
    """``"rtl"`` or ``"ltr"``: what ``<html dir>`` says for ``lang``."""
    return "rtl" if lang in RTL_LANGUAGES else "ltr"


def intl_locale(lang: str) -> str:
    """The locale ``Intl`` formats ``lang``'s numbers and dates in.

    >>> intl_locale("ar"), intl_locale("de")
    ('ar-u-nu-arab', 'de')
    """
    return INTL_LOCALES.get(lang, lang)


def load_translations(lang: str, localedir: Path) -> gettext.NullTranslations:
    """The catalogue of ``lang`` from ``localedir/<lang>/LC_MESSAGES/pychat.mo``.

    English, or a catalogue that is missing or unreadable, gives the message ids
    themselves (English): the page still says everything, never a raw key.
    """
    if lang == LANGUAGES[0] or lang not in LANGUAGES:
        return gettext.NullTranslations()
    try:
        return gettext.translation(DOMAIN, localedir, [lang])
    except (OSError, ValueError):
        return gettext.NullTranslations()


def use_language(
    lang: str,
    translations: gettext.NullTranslations,
    *,
    number_format: Callable[[float], str] | None = None,
    date_format: Callable[[float], str] | None = None,
) -> None:
    """Make ``lang`` the page's language: its catalogue, and its number and date formats if given."""
    global _translations, _language, _number, _date_time
    _translations, _language = translations, lang
    if number_format is not None:
        _number = number_format
    if date_format is not None:
        _date_time = date_format


def current_language() -> str:
    """The language :func:`use_language` set (English until then)."""
    return _language


class Phrase(str):
    """Words said later, in the language shown then: a message id and its values, made by :func:`N_`.

    It is a ``str`` (the English text, for logs, exceptions and comparisons), so
    it goes wherever text goes; :func:`_` says it in the page's language, and
    the numbers among its values the language's way. Modules that decide things
    make phrases without knowing the language; only the view says them::

        problem = N_("A config ID can be at most {limit} characters long.", limit=128)
        str(problem)   # 'A config ID can be at most 128 characters long.'
        _(problem)     # 'Eine Konfigurations-ID darf höchstens 128 Zeichen lang sein.' (German shown)
    """

    message: str
    values: dict[str, object]

    def __new__(cls, message: str, values: dict[str, object] | None = None) -> Phrase:
        message, values = str(message), dict(values or {})
        text = message.format(**{k: _english(v) for k, v in values.items()}) if values else message
        phrase = super().__new__(cls, text)
        phrase.message, phrase.values = message, values
        return phrase

    def __reduce__(self) -> tuple[object, ...]:
        return (Phrase, (self.message, self.values))


def _whole(n: float) -> float:
    """``300.0`` as ``300``: written without a fraction, as Intl writes it."""
    return int(n) if isinstance(n, float) and n.is_integer() else n


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _english(value: object) -> object:
    return f"{_whole(value):,}" if _is_number(value) else value  # type: ignore[arg-type]


def _said(value: object) -> object:
    """A placeholder's value as shown: a number the language's way, a phrase in the language, the rest as is."""
    if _is_number(value):
        return _number(_whole(value))  # type: ignore[arg-type]
    if isinstance(value, Phrase):
        return _(value)
    return value


def _(message: str, /, **values: object) -> str:
    """``message`` in the page's language, with its ``{named}`` placeholders filled from ``values``.

    A number among the values is written the language's way, a :class:`Phrase`
    in the language; other values (names, IDs, what a server said) stay as they are.
    ``message`` may be a :class:`Phrase` (its own values then fill it).

    >>> _("Say hello to {name}.", name="Luna"), _("{count} left", count=1200)
    ('Say hello to Luna.', '1,200 left')
    """
    if isinstance(message, Phrase):
        values = {**message.values, **values}
        message = message.message
    if not message:
        return message  # gettext's "" is the catalogue's header
    text = _translations.gettext(message)
    return text.format(**{k: _said(v) for k, v in values.items()}) if values else text


def ngettext(singular: str, plural: str, n: int, /, **values: object) -> str:
    """The form of a counted message for ``n`` in the page's language (Arabic has six).

    ``{count}`` is ``n`` as the language writes it; other placeholders come from ``values``.

    >>> ngettext("{count} message", "{count} messages", 1200)
    '1,200 messages'
    """
    said = {k: _said(v) for k, v in values.items()}
    return _translations.ngettext(singular, plural, n).format(count=_number(n), **said)


def N_(message: str, /, **values: object) -> Phrase:
    """Mark ``message`` for the catalogue where it is made; :func:`_` translates it where it is shown.

    With ``values``, the phrase carries them to where it is said (see :class:`Phrase`).
    """
    return Phrase(message, values)


def phrase_of(error: BaseException) -> str:
    """What an error says: its :class:`Phrase` when it was raised with one (``raise X(N_("..."))``), else its text."""
    return error.args[0] if len(error.args) == 1 and isinstance(error.args[0], Phrase) else str(error)


def number(n: float) -> str:
    """``n`` as the page's language writes numbers (``1.200`` in German, ``١٬٢٠٠`` in Arabic)."""
    return _number(n)


def date_time(ms: float) -> str:
    """A time (milliseconds since the epoch) as the page's language writes a date and time."""
    return _date_time(ms)
