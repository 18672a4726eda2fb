"""Which characters the page lists and which one was open last.

Configured characters come from ``pyscript.toml``; characters the user adds
by config ID, with a display name if they give one, are remembered in
storage (``pychat:characters``: a JSON list of ``{"config_id", "name"}``
objects; plain config ID strings, as earlier releases stored them, are read
too), as is the last open one (``pychat:open``).

A stored value that is not what this module writes (junk from other code or
a broken tab, too long, nested too deep) is corruption, not "nothing added":
the characters this tab holds are kept and written back as a good copy, and
the key is reported to ``corrupt`` (:class:`~app.storage.CorruptValues`).
"""

from __future__ import annotations

import json

from . import bounded_json
from .errors import InvalidConfigId
from .sessions import validate_config_id
from .settings import Character, clean_name
from .storage import CorruptValues, Storage

ADDED_KEY = "pychat:characters"
OPEN_KEY = "pychat:open"
MAX_ADDED = 200
MAX_ADDED_CHARS = 64 * 1024
"""The longest ``pychat:characters`` value read: 200 characters with long IDs and names fit well within it."""


class Roster:
    def __init__(self, storage: Storage, configured: list[Character], corrupt: CorruptValues | None = None) -> None:
        self._storage = storage
        self._corrupt = corrupt or CorruptValues()
        self.characters: list[Character] = list(configured)
        for config_id, name in self._load_added().items():
            if self.find(config_id) is None:
                self.characters.append(Character(config_id, name or config_id, added=True))

    def _load_added(self) -> dict[str, str]:
        """The added characters' config IDs and display names ("" for none), in the order added.

        A corrupt value gives the ones this tab holds, written back over it.
        """
        raw = self._storage.get(ADDED_KEY)
        if raw is None:
            return {}
        try:
            data = bounded_json.loads(raw, max_chars=MAX_ADDED_CHARS)
        except ValueError:
            data = None
        if not isinstance(data, list):
            return self._repair_added()
        found: dict[str, str] = {}
        for item in data[:MAX_ADDED]:
            raw_id, name = (item.get("config_id"), item.get("name")) if isinstance(item, dict) else (item, "")
            try:
                found[validate_config_id(raw_id)] = clean_name(name) if isinstance(name, str) else ""
            except InvalidConfigId:
                continue  # one entry that is not a character: the others still are
        return found

    def _repair_added(self) -> dict[str, str]:
        held = {c.config_id: "" if c.name == c.config_id else c.name for c in self.characters if c.added}
        self._store_added(held)
        self._corrupt.found(ADDED_KEY)
        return held

    def added(self) -> dict[str, str]:
        """The added characters as stored now (config ID to display name, "" for none), a corrupt value repaired."""
        return self._load_added()

    def _store_added(self, added: dict[str, str]) -> None:
        entries = [{"config_id": c, **({"name": n} if n else {})} for c, n in added.items()]
        self._storage.set(ADDED_KEY, json.dumps(entries[-MAX_ADDED:], ensure_ascii=False))

    def find(self, config_id: str) -> Character | None:
        return next((c for c in self.characters if c.config_id == config_id), None)

    def add(self, raw_config_id: str, raw_name: str = "") -> Character:
        """The character for ``raw_config_id``, added (and remembered) if new, shown as ``raw_name`` if given.

        A name given for a character the user added earlier renames it; a
        configured character keeps the name ``pyscript.toml`` gives it.
        Raises :class:`InvalidConfigId` with a message for people.
        """
        config_id = validate_config_id(raw_config_id)
        name = clean_name(raw_name)
        existing = self.find(config_id)
        if existing is not None and (not existing.added or not name or name == existing.name):
            return existing
        character = Character(config_id, name or config_id, added=True)
        if existing is not None:
            self.characters[self.characters.index(existing)] = character
        else:
            self.characters.append(character)
        added = self._load_added()
        added[config_id] = name  # a new one goes last; a renamed one keeps its place
        self._store_added(added)
        return character

    def remove(self, config_id: str) -> bool:
        """Forget a character the user added; configured ones stay. True if it was removed."""
        character = self.find(config_id)
        if character is None or not character.added:
            return False
        self.characters.remove(character)
        added = self._load_added()
        added.pop(config_id, None)
        self._store_added(added)
        return True

    def last_open(self) -> str | None:
        value = self._storage.get(OPEN_KEY)
        if value is None:
            return None
        try:
            validate_config_id(value)
        except InvalidConfigId:  # not a config ID at all: junk (a removed character's ID is not)
            self._storage.remove(OPEN_KEY)
            self._corrupt.found(OPEN_KEY)
            return None
        return value if self.find(value) is not None else None

    def remember_open(self, config_id: str) -> None:
        self._storage.set(OPEN_KEY, config_id)
