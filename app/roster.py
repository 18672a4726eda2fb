"""Which characters the page lists and which one was open last.

Configured characters come from ``pyscript.toml``; characters the user adds
by config ID are remembered in storage (``pychat:characters``), as is the
last open one (``pychat:open``).
"""

from __future__ import annotations

import json

from . import bounded_json
from .errors import InvalidConfigId
from .sessions import validate_config_id
from .settings import Character
from .storage import Storage

ADDED_KEY = "pychat:characters"
OPEN_KEY = "pychat:open"
MAX_ADDED = 200


class Roster:
    def __init__(self, storage: Storage, configured: list[Character]) -> None:
        self._storage = storage
        self.characters: list[Character] = list(configured)
        for config_id in self._load_added():
            if self.find(config_id) is None:
                self.characters.append(Character(config_id, config_id, added=True))

    def _load_added(self) -> list[str]:
        try:
            data = bounded_json.loads(self._storage.get(ADDED_KEY) or "[]")
        except ValueError:
            return []
        if not isinstance(data, list):
            return []
        found: list[str] = []
        for item in data[:MAX_ADDED]:
            try:
                found.append(validate_config_id(item))
            except InvalidConfigId:
                continue
        return found

    def find(self, config_id: str) -> Character | None:
        return next((c for c in self.characters if c.config_id == config_id), None)

    def add(self, raw_config_id: str) -> Character:
        """The character for ``raw_config_id``, added (and remembered) if new.

        Raises :class:`InvalidConfigId` with a message for people.
        """
        config_id = validate_config_id(raw_config_id)
        existing = self.find(config_id)
        if existing is not None:
            return existing
        character = Character(config_id, config_id, added=True)
        self.characters.append(character)
        added = self._load_added()
        if config_id not in added:
            self._storage.set(ADDED_KEY, json.dumps((added + [config_id])[-MAX_ADDED:]))
        return character

    def remove(self, config_id: str) -> bool:
        """Forget a character the user added; configured ones stay. True if it was removed."""
        character = self.find(config_id)
        if character is None or not character.added:
            return False
        self.characters.remove(character)
        self._storage.set(ADDED_KEY, json.dumps([c for c in self._load_added() if c != config_id]))
        return True

    def last_open(self) -> str | None:
        value = self._storage.get(OPEN_KEY)
        return value if value is not None and self.find(value) is not None else None

    def remember_open(self, config_id: str) -> None:
        self._storage.set(OPEN_KEY, config_id)
