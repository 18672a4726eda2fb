"""A conversation file (the page's JSON export) read back: checked whole, or refused with a reason.

The file comes from outside (the user's disk, maybe edited, maybe not ours),
so nothing in it is trusted: its size and nesting are bounded before it is
parsed, the character's config ID is checked as the add form checks it, and
every message must be one the page could have written. The first problem
found refuses the whole file, with a message that says what and where;
nothing is stored until the whole file is known to be good.

    >>> imported = parse_export('{"character": {"config_id": "CHAR_x", "name": "X"},'
    ...                         ' "messages": [{"role": "user", "text": "hi"}]}')
    >>> imported.config_id, imported.name, [m.text for m in imported.messages]
    ('CHAR_x', 'X', ['hi'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import bounded_json
from .archive import MAX_RECORD_TEXT
from .errors import ChatError, InvalidConfigId
from .sessions import validate_config_id
from .settings import clean_name
from .transcript import ROLES, Message

# One conversation's export: 1 MiB replies are allowed, so a long conversation can be tens of megabytes.
MAX_IMPORT_CHARS = 64 * 1024 * 1024
MAX_IMPORT_MESSAGES = 100_000
_DEPTH = 8  # {"messages": [{...}]} is three levels deep; more is not an export of this page


class ImportRefused(ChatError):
    """The file is not a conversation this page can import; the message says why, for people."""


@dataclass(frozen=True)
class Imported:
    """A checked conversation file: whose it is, and its messages in order (greetings left out)."""

    config_id: str
    name: str
    messages: list[Message]


def parse_export(text: str) -> Imported:
    """The conversation in ``text`` (a JSON export), or :class:`ImportRefused` naming the first problem.

    A message's ``at`` (ISO 8601, as the export writes it) is kept when
    present; a greeting is left out (each conversation shows the character's
    greeting from the page's settings).
    """
    if len(text) > MAX_IMPORT_CHARS:
        raise ImportRefused(f"The file is larger than {MAX_IMPORT_CHARS // (1024 * 1024)} MB.")
    try:
        data = bounded_json.loads(text, max_depth=_DEPTH)
    except ValueError as exc:
        raise ImportRefused("The file is not a conversation exported as JSON by this page.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("character"), dict) or "messages" not in data:
        raise ImportRefused("The file is not a conversation exported as JSON by this page.")
    character = data["character"]
    try:
        config_id = validate_config_id(character.get("config_id"))
    except InvalidConfigId as exc:
        raise ImportRefused(f"The file's character is not valid: {exc}") from exc
    name = character.get("name", "")
    if not isinstance(name, str):
        raise ImportRefused("The file's character name is not text.")
    entries = data["messages"]
    if not isinstance(entries, list):
        raise ImportRefused("The file's messages are not a list.")
    if len(entries) > MAX_IMPORT_MESSAGES:
        raise ImportRefused(f"The file holds more than {MAX_IMPORT_MESSAGES:,} messages.")
    messages = [m for n, entry in enumerate(entries, start=1) if (m := _message(n, entry)) is not None]
    if not messages:
        raise ImportRefused("The file holds no messages.")
    return Imported(config_id, clean_name(name), messages)


def _message(number: int, entry: Any) -> Message | None:
    """Entry ``number`` (from 1) as a message; None for a greeting; :class:`ImportRefused` when it is not one."""
    where = f"Message {number:,}"
    if not isinstance(entry, dict):
        raise ImportRefused(f"{where} is not a message.")
    role, text = entry.get("role"), entry.get("text")
    if role not in ROLES:
        raise ImportRefused(f"{where} has an unknown role ({_shown(role)}).")
    if not isinstance(text, str):
        raise ImportRefused(f"{where} has no text.")
    if len(text) > MAX_RECORD_TEXT:
        raise ImportRefused(f"{where} is longer than the page can keep ({MAX_RECORD_TEXT:,} characters).")
    for flag in ("incomplete", "greeting"):
        if entry.get(flag, False) not in (True, False):
            raise ImportRefused(f"{where} has a {flag} mark that is neither true nor false.")
    if entry.get("greeting") is True:
        return None
    at = entry.get("at")
    written = _time(where, at) if at is not None else 0.0
    return Message(role, text, incomplete=entry.get("incomplete") is True, at=written)


def _time(where: str, value: Any) -> float:
    """An ISO 8601 time (as the export writes it) in milliseconds since 1970."""
    from datetime import UTC, datetime  # here: nothing at start-up needs it (the page imports this module)

    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        moment = None
    if moment is None:
        raise ImportRefused(f"{where} has a time that is not a date ({_shown(value)}).")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    millis = moment.timestamp() * 1000
    if not 0 <= millis < 1e15:
        raise ImportRefused(f"{where} has a time out of range ({_shown(value)}).")
    return millis


def iso_time(millis: float) -> str:
    """A stored time (ms) as the export writes it: ``2026-12-02T19:00:00.000Z``."""
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _shown(value: Any) -> str:
    """A value from the file, short, for a message (shown as text by the view)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "\u2026"
