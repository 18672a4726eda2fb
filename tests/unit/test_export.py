from __future__ import annotations

import json

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
