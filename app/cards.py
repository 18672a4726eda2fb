"""A character's card: its avatar (an image, or initials on a colour), description and greeting.

These come from ``[[chat.characters]]`` in ``pyscript.toml``, which whoever
deploys the page writes, but they are still outside text: each is checked
here, and :func:`read_card` says plainly what it refused. The view shows
them as text, and an avatar image only from the page's own site.

Example::

    card, problems = read_card({"avatar": "static/avatars/luna.svg", "description": "A stargazer."})
    face = avatar("CHAR_luna", "Luna", card.avatar)   # Avatar(image='static/avatars/luna.svg', ...)
    initials("Quiet Quill")                            # 'QQ'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .i18n import N_, phrase_of

HUES = 12  # avatar colours, ``avatar-hue-0`` to ``avatar-hue-11`` in static/style.css
MAX_AVATAR_PATH = 200
MAX_DESCRIPTION = 200
MAX_DESCRIPTION_LINES = 2
MAX_GREETING = 4000  # what a message may hold (app.transcript.MAX_MESSAGE_CHARS)
IMAGE_EXTENSIONS = (".svg", ".png", ".jpg", ".jpeg", ".webp", ".gif", ".avif")
# A relative path of plain segments: letters, digits, "_", "-", "." (none starting with a dot).
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
_WORD_BREAKS = re.compile(r"[\s_\-.]+")


class BadCardField(ValueError):
    """A card field that cannot be used; the message says why, for people."""


@dataclass(frozen=True)
class Card:
    """The optional parts of a character, checked: ``avatar`` a same-site image path or None."""

    avatar: str | None = None
    description: str = ""
    greeting: str = ""


@dataclass(frozen=True)
class Avatar:
    """What the page shows as a character's face: ``image`` (a path) if set, else ``initials`` on colour ``hue``."""

    image: str | None
    initials: str
    hue: int


def clean_avatar_path(raw: object) -> str:
    """A same-site image path relative to the page, such as ``static/avatars/luna.svg``.

    Refused (:class:`BadCardField`): anything with a scheme or host
    (``https:``, ``data:``, ``//``), an absolute path, ``..``, a backslash, a
    query or fragment, or an extension other than an image's.

    >>> clean_avatar_path(" static/avatars/luna.svg ")
    'static/avatars/luna.svg'
    """
    if not isinstance(raw, str):
        raise BadCardField(N_("an avatar must be a path, as text"))
    path = raw.strip()
    if not path:
        raise BadCardField(N_("the avatar path is empty"))
    if len(path) > MAX_AVATAR_PATH:
        raise BadCardField(N_("an avatar path can be at most {limit} characters long", limit=MAX_AVATAR_PATH))
    if ":" in path or path.startswith("/") or "\\" in path:
        raise BadCardField(N_("an avatar must be a path on this site relative to the page, like {example}",
                               example="static/avatars/luna.svg"))
    segments = path.split("/")
    if not all(_SEGMENT.fullmatch(s) for s in segments):  # "..", "//", "?", "#", "%", spaces...
        raise BadCardField(N_("an avatar path may hold only letters, digits, '_', '-', '.' and '/' (no '..' or '//')"))
    if not path.lower().endswith(IMAGE_EXTENSIONS):
        raise BadCardField(N_("an avatar must be an image: {extensions}", extensions=", ".join(IMAGE_EXTENSIONS)))
    return path


def clean_description(raw: object) -> str:
    """One or two lines of text, spaces collapsed; :class:`BadCardField` if not text or too long.

    >>> clean_description("  A gentle   stargazer.\\n\\n Speaks softly. ")
    'A gentle stargazer.\\nSpeaks softly.'
    """
    if not isinstance(raw, str):
        raise BadCardField(N_("a description must be text"))
    lines = [" ".join(line.split()) for line in raw.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) > MAX_DESCRIPTION_LINES:
        raise BadCardField(N_("a description can have at most {limit} lines", limit=MAX_DESCRIPTION_LINES))
    text = "\n".join(lines)
    if len(text) > MAX_DESCRIPTION:
        raise BadCardField(N_("a description can be at most {limit} characters long", limit=MAX_DESCRIPTION))
    return text


def clean_greeting(raw: object) -> str:
    """The character's opening line, trimmed; :class:`BadCardField` if not text or too long."""
    if not isinstance(raw, str):
        raise BadCardField(N_("a greeting must be text"))
    text = raw.strip()
    if _has_controls(text):
        raise BadCardField(N_("a greeting cannot contain control characters (line breaks are fine)"))
    if len(text) > MAX_GREETING:
        raise BadCardField(N_("a greeting can be at most {limit} characters long", limit=MAX_GREETING))
    return text


def _has_controls(text: str) -> bool:
    return any((ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0 for c in text)


_CLEANERS = {"avatar": clean_avatar_path, "description": clean_description, "greeting": clean_greeting}


def read_card(entry: Mapping[str, Any]) -> tuple[Card, list[str]]:
    """The card fields of one ``[[chat.characters]]`` entry, and why any was ignored.

    A field that is wrong is left out (the rest of the character stays) and
    named in the problems: ``["avatar (an avatar must be an image: ...)"]``.
    """
    fields: dict[str, str] = {}
    problems: list[str] = []
    for key, clean in _CLEANERS.items():
        if key not in entry:
            continue
        try:
            fields[key] = clean(entry[key])
        except BadCardField as exc:
            problems.append(N_("{field} ({reason})", field=key, reason=phrase_of(exc)))
    return Card(**fields), problems


def initials(name: str) -> str:
    """Two letters for a name: the first letters of its first and last words, else its first two.

    Words are split at spaces, ``_``, ``-`` and ``.``; words with no letter or
    digit (an emoji) are passed over, and a letter keeps its accents and vowel
    signs. A name with no letter at all shows its first symbol (an emoji).

    >>> [initials(n) for n in ("Quiet Quill", "luna", "Jean-Luc Picard", "🌙 Moon", "李小龙", "🌙")]
    ['QQ', 'LU', 'JP', 'MO', '李小', '🌙']
    """
    words = [w for w in _WORD_BREAKS.split(name) if any(c.isalnum() for c in w)]
    if len(words) >= 2:
        letters = [_clusters(words[0])[0], _clusters(words[-1])[0]]
    elif words:
        letters = _clusters(words[0])[:2]
    else:
        return _first_symbol(name)
    return "".join(_upper(c) for c in letters)


def _clusters(word: str) -> list[str]:
    """The word's letters and digits, each with the marks that follow it (for ``"ki"`` in Devanagari: one)."""
    found: list[str] = []
    for char in word:
        if unicodedata.category(char).startswith("M") and found:
            found[-1] += char
        elif char.isalnum():
            found.append(char)
    return found


def _upper(cluster: str) -> str:
    upper = cluster.upper()
    return upper if len(upper) == len(cluster) else cluster  # "ß" stays one letter, not "SS"


def _first_symbol(name: str) -> str:
    """The first visible symbol, with what joins it (variation selectors, ZWJ sequences, skin tones)."""
    text = name.strip()
    if not text:
        return "?"
    symbol = text[0]
    for char in text[1:]:
        joins = char in "\u200d\ufe0f" or unicodedata.category(char).startswith("M") or symbol.endswith("\u200d")
        if not joins and not 0x1F3FB <= ord(char) <= 0x1F3FF:
            break
        symbol += char
    return symbol


def hue_of(config_id: str) -> int:
    """A colour, 0 to :data:`HUES` - 1, from the config ID: the same on every page load and browser (FNV-1a).

    >>> hue_of("CHAR_luna") == hue_of("CHAR_luna")
    True
    """
    value = 0x811C9DC5
    for byte in config_id.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value % HUES


def avatar(config_id: str, name: str, image: str | None) -> Avatar:
    """The face the page shows for a character."""
    return Avatar(image, initials(name), hue_of(config_id))
