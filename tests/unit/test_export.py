from __future__ import annotations

import json

from app.export import conversation_json, conversation_markdown
from app.settings import Character
from app.transcript import Message

LUNA = Character("CHAR_luna", "Luna")
AT = "2026-11-24T12:00:00Z"
MESSAGES = [Message("user", "Hi *there*\n<b>bold</b>"), Message("assistant", "Hello [link](javascript:x)"),
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
    assert "\\[link\\]\\(javascript:x\\)" in text
    assert "<b>" not in text


def test_file_names_are_safe_for_any_config_id() -> None:
    name, _ = conversation_json(Character("../../etc/passwd <x>", "x"), [], AT)
    assert name == "chat-etc-passwd-x-2026-11-24.json"
    assert conversation_json(Character("///", "x"), [], AT)[0] == "chat-character-2026-11-24.json"
