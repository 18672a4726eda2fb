from __future__ import annotations

import json
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from app.export import conversation_json, conversation_markdown
from app.settings import Character
from app.transcript import Message

LUNA = Character("CHAR_luna", "Luna")
AT = "2026-11-24T12:00:00Z"
MESSAGES = [Message("user", "Hi *there*\n<b>bold</b>"), Message("assistant", "Hello [link](https://x.y)"),
            Message("error", "Network error", retry="Hi")]


def test_json_export_holds_every_message_with_its_role() -> None:
    name, text = conversation_json(LUNA, MESSAGES, AT)
    assert name == "chat-CHAR_luna-2026-11-24.json"
    data = json.loads(text)
    assert data["character"] == {"config_id": "CHAR_luna", "name": "Luna"}
    assert data["messages"] == [{"role": m.role, "text": m.text} for m in MESSAGES]


def test_markdown_export_names_speakers_and_escapes_markup() -> None:
    name, text = conversation_markdown(LUNA, MESSAGES, AT)
    assert name == "chat-CHAR_luna-2026-11-24.md"
    assert text.startswith("# Conversation with Luna\n")
    assert "**You**" in text and "**Luna**" in text and "**Error**" in text
    assert "> Hi \\*there\\*\n> \\<b\\>bold\\</b\\>" in text
    assert "<b>" not in text


def test_markdown_export_keeps_a_replys_markdown_as_written() -> None:
    reply = "*smiles* **Hello**\n\n```py\nprint('hi')\n```\n- [link](https://example.com)"
    text = conversation_markdown(LUNA, [Message("user", "**me**"), Message("assistant", reply)], AT)[1]
    assert "> *smiles* **Hello**\n>\n> ```py\n> print('hi')\n> ```\n> - [link](https://example.com)\n" in text
    assert "> \\*\\*me\\*\\*" in text  # the user's own words still show literally


def test_file_names_are_safe_for_any_config_id() -> None:
    name, _ = conversation_json(Character("../../etc/passwd <x>", "x"), [], AT)
    assert name == "chat-etc-passwd-x-2026-11-24.json"
    assert conversation_json(Character("///", "x"), [], AT)[0] == "chat-character-2026-11-24.json"


def test_a_reply_that_only_partly_arrived_is_exported_as_incomplete() -> None:
    partial = [Message("user", "Hi"), Message("assistant", "Half of", incomplete=True)]
    data = json.loads(conversation_json(LUNA, partial, AT)[1])
    assert data["messages"] == [{"role": "user", "text": "Hi"},
                                {"role": "assistant", "text": "Half of", "incomplete": True}]
    text = conversation_markdown(LUNA, partial, AT)[1]
    assert "**Luna** *(incomplete)*\n\n> Half of" in text and "**You**\n" in text


def test_a_greeting_is_exported_marked_as_the_characters_greeting() -> None:
    greeted = [Message("assistant", "Good evening.", greeting=True), Message("user", "Hi")]
    data = json.loads(conversation_json(LUNA, greeted, AT)[1])
    assert data["messages"] == [{"role": "assistant", "text": "Good evening.", "greeting": True},
                                {"role": "user", "text": "Hi"}]
    assert "**Luna** *(greeting)*\n\n> Good evening." in conversation_markdown(LUNA, greeted, AT)[1]  # as a reply


# ----- rendered by a CommonMark library: the user's words and names stay in their message, as written -----

COMMONMARK = MarkdownIt("commonmark")  # HTML on: the strictest reader of the export
NASTY = ["**You**", "**Luna**", "Title", "===", "---", "    indented", "\t", "\r", "\r\n", "\n", "\n\n", "\u2028",
         "\u2029", "\x0c", ">", "> quote", "# h", "1. item", "- item", "```", "~~~", "<b>", "</blockquote>",
         "<!--", "&amp;", "&#10;", "\\", "  ", "[x](https://e.x)", "<https://e.x>", "|a|b|", "\u00a0", " "]
TEXTS = st.lists(st.sampled_from(NASTY) | st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=8),
                 max_size=12).map("".join)


def inline_text(token: Token) -> str:
    """An inline token's text as a reader sees it: a soft break is a line break; anything else but text fails."""
    parts = []
    for child in token.children or []:
        assert child.type in ("text", "softbreak"), f"{child.type} in {token.content!r}"
        parts.append("\n" if child.type == "softbreak" else child.content)
    return "".join(parts)


def as_written(text: str) -> str:
    """What a block quote of ``text`` reads as: its paragraphs (lines between empty lines), CommonMark's line ends."""
    lines = re.split(r"\r\n|\r|\n", text)
    paragraphs, current = [], []
    for line in [*lines, ""]:
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    return "\n\n".join(paragraphs)


def rendered_turns(markdown: str) -> tuple[str, list[tuple[str, str]]]:
    """The export's title and its turns, ``(speaker line, quoted text)``; fails on any other top-level block."""
    tokens = COMMONMARK.parse(markdown)
    assert [t.type for t in tokens[:6]] == ["heading_open", "inline", "heading_close",
                                             "paragraph_open", "inline", "paragraph_close"]
    title, turns, i = inline_text(tokens[1]), [], 6
    while i < len(tokens):
        assert [t.type for t in tokens[i:i + 4]] == ["paragraph_open", "inline", "paragraph_close",
                                                     "blockquote_open"], tokens[i:i + 4]
        speaker_line = "".join(c.content for c in tokens[i + 1].children or [] if c.type == "text")
        depth, j, paragraphs = 1, i + 4, []
        while depth:
            token = tokens[j]
            depth += token.nesting if token.type.startswith("blockquote") else 0
            if depth:
                assert token.type in ("paragraph_open", "inline", "paragraph_close"), token.type
                if token.type == "inline":
                    paragraphs.append(inline_text(token))
            j += 1
        turns.append((speaker_line, "\n\n".join(paragraphs)))
        i = j
    return title, turns


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=4), TEXTS)
@example(["Title\n===", "    code?", "one\rtwo\r\r**You**", "a\r\nb\u2028**You**\u2029c"], "Lu\rna")
def test_the_users_words_render_as_written_inside_their_own_message(texts: list[str], name: str) -> None:
    character = Character("CHAR_x", name)
    markdown = conversation_markdown(character, [Message("user", text) for text in texts], AT)[1]
    title, turns = rendered_turns(markdown)
    shown_name = " ".join(name.split())
    assert title == f"Conversation with {shown_name}".rstrip()
    assert turns == [("You", as_written(text)) for text in texts]


@settings(max_examples=100, deadline=None)
@given(TEXTS)
def test_a_reply_never_ends_its_own_block_quote(reply: str) -> None:
    markdown = conversation_markdown(LUNA, [Message("assistant", reply), Message("user", "after")], AT)[1]
    blocks = [t for t in COMMONMARK.parse(markdown) if t.level == 0 and t.nesting == 1]
    assert [t.type for t in blocks] == ["heading_open", "paragraph_open", "paragraph_open", "blockquote_open",
                                        "paragraph_open", "blockquote_open"]
