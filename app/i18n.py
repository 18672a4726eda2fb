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
_date_time: Callable[[float], str] = lambda ms: str(ms)  # noqa: E731


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


def _(message: str, /, **values: object) -> str:
    """``message`` in the page's language, with its ``{named}`` placeholders filled from ``values``.

    >>> _("Say hello to {name}.", name="Luna")
    'Say hello to Luna.'
    """
    if not message:
        return message  # gettext's "" is the catalogue's header
    text = _translations.gettext(message)
    return text.format(**values) if values else text


def ngettext(singular: str, plural: str, n: int, /, **values: object) -> str:
    """The form of a counted message for ``n`` in the page's language (Arabic has six).

    ``{count}`` is ``n`` as the language writes it; other placeholders come from ``values``.

    >>> ngettext("{count} message", "{count} messages", 1200)
    '1,200 messages'
    """
    return _translations.ngettext(singular, plural, n).format(count=_number(n), **values)


def N_(message: str, /) -> str:
    """Mark ``message`` for the catalogue where it is defined; :func:`_` translates it where it is shown."""
    return message


def number(n: float) -> str:
    """``n`` as the page's language writes numbers (``1.200`` in German, ``١٬٢٠٠`` in Arabic)."""
    return _number(n)


def date_time(ms: float) -> str:
    """A time (milliseconds since the epoch) as the page's language writes a date and time."""
    return _date_time(ms)
