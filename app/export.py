"""A conversation as a file people can keep: Markdown to read, JSON to process.

Example::

    name, text = conversation_markdown(Character("CHAR_luna", "Luna"), messages, "2026-11-24T12:00:00Z")
"""

from __future__ import annotations

import json
import re

from .settings import Character
from .transcript import Message

SPEAKERS = {"user": "You", "error": "Error"}


def speaker(role: str, character_name: str) -> str:
    """Who said a message: "You", "Error", or the character's name."""
    return SPEAKERS.get(role, character_name)


def _file_stem(character: Character, exported_at: str) -> str:
    safe_id = re.sub(r"[^A-Za-z0-9_.-]+", "-", character.config_id).strip("-.")[:60] or "character"
    return f"chat-{safe_id}-{exported_at[:10]}"


def _markdown_text(text: str) -> str:
    """Text as a Markdown block quote that renders literally (no HTML, links or emphasis)."""
    return _quoted(re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~&])", r"\\\1", text))


def _quoted(markdown: str) -> str:
    """Markdown as a block quote, every line kept as written."""
    return "\n".join(f"> {line}" if line else ">" for line in markdown.split("\n"))


def conversation_markdown(character: Character, messages: list[Message], exported_at: str) -> tuple[str, str]:
    """``(file name, Markdown)`` of a conversation, one block quote per message.

    A reply keeps its Markdown as written (``**bold**`` stays ``**bold**``),
    as the page formats it; everything else (the user's messages, errors,
    names) is escaped so that it renders literally.
    """
    lines = [f"# Conversation with {_markdown_text(character.name)[2:]}", "",
             f"Character `{character.config_id.replace('`', '')}`, exported {exported_at}.", ""]
    for message in messages:
        who = speaker(message.role, character.name)
        # What arrived of a reply stopped or cut off; the character's opening line from the page's settings.
        mark = " *(incomplete)*" if message.incomplete else " *(greeting)*" if message.greeting else ""
        body = _quoted(message.text) if message.role == "assistant" else _markdown_text(message.text)
        lines += [f"**{_markdown_text(who)[2:]}**{mark}", "", body, ""]
    return f"{_file_stem(character, exported_at)}.md", "\n".join(lines)


def conversation_json(character: Character, messages: list[Message], exported_at: str) -> tuple[str, str]:
    """``(file name, JSON)`` of a conversation, one object per message: its role, text, and ``incomplete`` or
    ``greeting`` if so (a greeting is the character's opening line, never sent to the service)."""
    document = {
        "character": {"config_id": character.config_id, "name": character.name},
        "exported_at": exported_at,
        "messages": [{"role": m.role, "text": m.text, **({"incomplete": True} if m.incomplete else {}),
                      **({"greeting": True} if m.greeting else {})}
                     for m in messages],
    }
    return f"{_file_stem(character, exported_at)}.json", json.dumps(document, ensure_ascii=False, indent=2)
