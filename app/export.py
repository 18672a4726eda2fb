"""A conversation as a file people can keep: Markdown to read, JSON to process.

The Markdown is written in the page's language (its headings, who spoke, the date); the JSON's
keys and roles stay as they are, for :func:`app.importing.parse_export` and other programs.

Example::

    name, text = conversation_markdown(Character("CHAR_luna", "Luna"), messages, "2026-11-24T12:00:00Z")
"""

from __future__ import annotations

import json
import re

from .i18n import N_, _, date_time
from .importing import iso_time
from .settings import Character
from .transcript import Message

SPEAKERS = {"user": N_("You"), "error": N_("Error")}  # said in the page's language, on the page and in Markdown


def speaker(role: str, character_name: str) -> str:
    """Who said a message, in the page's language: "You", "Error", or the character's name."""
    return _(SPEAKERS[role]) if role in SPEAKERS else character_name


def _shown_time(iso: str) -> str:
    """An ISO 8601 time as the page's language writes a date and time (as written, if it is not one)."""
    from datetime import datetime  # here: nothing at start-up needs it (as in app.importing)

    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return date_time(moment.timestamp() * 1000)


def _file_stem(character: Character, exported_at: str) -> str:
    safe_id = re.sub(r"[^A-Za-z0-9_.-]+", "-", character.config_id).strip("-.")[:60] or "character"
    return f"chat-{safe_id}-{exported_at[:10]}"


# Every ASCII punctuation character that can start or shape Markdown (``=`` and ``-`` underline setext headings).
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-=.!|<>~&])")
# What CommonMark ends a line at; each becomes a line of the block quote.
_LINE_END = re.compile(r"\r\n|\r|\n")
# What other readers (editors, viewers) may break a line at although CommonMark does not: kept as character
# references. (Control characters such as U+000B and U+0085 cannot be: CommonMark reads those as U+FFFD.)
_OTHER_BREAKS = re.compile("[\x0c\u2028\u2029]")


def _referable(char: str) -> bool:
    """Whether CommonMark reads ``&#N;`` as this character (not the C0 and C1 controls but tab, LF, FF, CR)."""
    code = ord(char)
    return not (code <= 0x1F and char not in "\t\n\x0c\r" or 0x7F <= code <= 0x9F)


def _references(text: str) -> str:
    return "".join(f"&#{ord(char)};" if _referable(char) else char for char in text)


def _reference(match: re.Match[str]) -> str:
    return _references(match.group(0))


def _literal_line(line: str) -> str:
    """One line of someone's text as Markdown that renders exactly as written: markup escaped, and the white
    space at its ends (which Markdown strips, or reads as indentation: four spaces make code) kept as references."""
    core = line.strip()
    if not core:
        return _references(line)
    start = len(line) - len(line.lstrip())
    end = start + len(core)
    escaped = _OTHER_BREAKS.sub(_reference, _MARKUP.sub(r"\\\1", core))
    return _references(line[:start]) + escaped + _references(line[end:])


def _markdown_text(text: str) -> str:
    """Text as a Markdown block quote that renders literally: no markup, headings, code blocks or HTML,
    and no line that ends the quote (every line ending, ``\\r`` and U+2028 included)."""
    return _quoted("\n".join(_literal_line(line) for line in _LINE_END.split(text)))


def _inline(text: str) -> str:
    """A name on one line, escaped: white space of any kind (line breaks too) becomes one space."""
    return _MARKUP.sub(r"\\\1", " ".join(text.split()))


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _words(translated: str, **markdown: str) -> str:
    """A translated line as Markdown: its own words escaped, its ``{placeholders}`` filled with ``markdown`` as given.

    >>> print(_words("Chat with {name}.", name="**Luna**"))
    Chat with **Luna**\\.
    """
    parts = _PLACEHOLDER.split(translated)  # words, name, words, name, ..., words
    return "".join(markdown.get(part, "") if odd else _MARKUP.sub(r"\\\1", part) for odd, part in
                   ((i % 2 == 1, p) for i, p in enumerate(parts)))


def _quoted(markdown: str) -> str:
    """Markdown as a block quote, every line kept as written: no line ending, CommonMark's or another, leaves it."""
    lines = _LINE_END.split(_OTHER_BREAKS.sub(_reference, markdown))
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def conversation_markdown(character: Character, messages: list[Message], exported_at: str) -> tuple[str, str]:
    """``(file name, Markdown)`` of a conversation, one block quote per message.

    A reply keeps its Markdown as written (``**bold**`` stays ``**bold**``),
    as the page formats it; everything else (the user's messages, errors,
    names) is escaped so that it renders literally.
    """
    config_id = f"`{character.config_id.replace('`', '')}`"
    lines = [f"# {_words(_('Conversation with {name}'), name=_inline(character.name))}", "",
             _words(_("Character {config_id}, exported {date}."), config_id=config_id,
                    date=_inline(_shown_time(exported_at))), ""]
    for message in messages:
        who = speaker(message.role, character.name)
        # What arrived of a reply stopped or cut off; the character's opening line from the page's settings.
        said = _("incomplete") if message.incomplete else _("greeting") if message.greeting else ""
        mark = f" *({_inline(said)})*" if said else ""
        body = _quoted(message.text) if message.role == "assistant" else _markdown_text(message.text)
        lines += [f"**{_inline(who)}**{mark}", "", body, ""]
    return f"{_file_stem(character, exported_at)}.md", "\n".join(lines)


def conversation_json(character: Character, messages: list[Message], exported_at: str) -> tuple[str, str]:
    """``(file name, JSON)`` of a conversation, one object per message: its role, text, and ``incomplete`` or
    ``greeting`` if so (a greeting is the character's opening line, never sent to the service), and when it was
    written (``at``, ISO 8601) if known. :func:`app.importing.parse_export` reads it back."""
    document = {
        "character": {"config_id": character.config_id, "name": character.name},
        "exported_at": exported_at,
        "messages": [{"role": m.role, "text": m.text, **({"incomplete": True} if m.incomplete else {}),
                      **({"greeting": True} if m.greeting else {}), **({"at": iso_time(m.at)} if m.at else {})}
                     for m in messages],
    }
    return f"{_file_stem(character, exported_at)}.json", json.dumps(document, ensure_ascii=False, indent=2)
