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
from .i18n import N_, _, number
from .sessions import validate_config_id
from .settings import clean_name
from .transcript import ROLES, Message

# One conversation's export: 1 MiB replies are allowed, so a long conversation can be tens of megabytes.
MAX_IMPORT_CHARS = 64 * 1024 * 1024
MAX_IMPORT_MESSAGES = 100_000
_DEPTH = 8  # {"messages": [{...}]} is three levels deep; more is not an export of this page


NOT_AN_EXPORT = N_("The file is not a conversation exported as JSON by this page.")


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
        raise ImportRefused(_("The file is larger than {size} MB.", size=number(MAX_IMPORT_CHARS // (1024 * 1024))))
    try:
        data = bounded_json.loads(text, max_depth=_DEPTH)
    except ValueError as exc:
        raise ImportRefused(_(NOT_AN_EXPORT)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("character"), dict) or "messages" not in data:
        raise ImportRefused(_(NOT_AN_EXPORT))
    character = data["character"]
    try:
        config_id = validate_config_id(character.get("config_id"))
    except InvalidConfigId as exc:
        raise ImportRefused(_("The file's character is not valid: {reason}", reason=str(exc))) from exc
    name = character.get("name", "")
    if not isinstance(name, str):
        raise ImportRefused(_("The file's character name is not text."))
    entries = data["messages"]
    if not isinstance(entries, list):
        raise ImportRefused(_("The file's messages are not a list."))
    if len(entries) > MAX_IMPORT_MESSAGES:
        raise ImportRefused(_("The file holds more than {count} messages.", count=number(MAX_IMPORT_MESSAGES)))
    messages = [m for n, entry in enumerate(entries, start=1) if (m := _message(n, entry)) is not None]
    if not messages:
        raise ImportRefused(_("The file holds no messages."))
    return Imported(config_id, clean_name(name), messages)


def _message(position: int, entry: Any) -> Message | None:
    """Entry ``position`` (from 1) as a message; None for a greeting; :class:`ImportRefused` when it is not one."""
    at = number(position)
    if not isinstance(entry, dict):
        raise ImportRefused(_("Message {position} is not a message.", position=at))
    role, text = entry.get("role"), entry.get("text")
    if role not in ROLES:
        raise ImportRefused(_("Message {position} has an unknown role ({role}).", position=at, role=_shown(role)))
    if not isinstance(text, str):
        raise ImportRefused(_("Message {position} has no text.", position=at))
    if len(text) > MAX_RECORD_TEXT:
        raise ImportRefused(_("Message {position} is longer than the page can keep ({count} characters).",
                              position=at, count=number(MAX_RECORD_TEXT)))
    for flag in ("incomplete", "greeting"):
        if entry.get(flag, False) not in (True, False):
            raise ImportRefused(_("Message {position} has a mark ({mark}) that is neither true nor false.",
                                  position=at, mark=flag))
    if entry.get("greeting") is True:
        return None
    when = entry.get("at")
    written = _time(when, position) if when is not None else 0.0
    return Message(role, text, incomplete=entry.get("incomplete") is True, at=written)


def _time(value: Any, position: int) -> float:
    """An ISO 8601 time (as the export writes it) in milliseconds since 1970."""
    from datetime import UTC, datetime  # here: nothing at start-up needs it (the page imports this module)

    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        moment = None
    at = number(position)
    if moment is None:
        raise ImportRefused(_("Message {position} has a time that is not a date ({value}).",
                              position=at, value=_shown(value)))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    millis = moment.timestamp() * 1000
    if not 0 <= millis < 1e15:
        raise ImportRefused(_("Message {position} has a time out of range ({value}).",
                              position=at, value=_shown(value)))
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
