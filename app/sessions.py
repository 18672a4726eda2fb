"""One session ID per character per browser: keys, get-or-create, single-flight.

Session IDs are created by the character service (through the proxy) and kept
in storage under ``session_<config_id>`` as the raw ID string, exactly as the
JavaScript reference guide stores them, so both implementations share them.

Example::

    manager = SessionManager(GuardedStorage(local_storage), client.create_session)
    session_id = await manager.get_session("CHAR_luna")   # cache, storage, then POST
    manager.clear_session("CHAR_luna")                     # next call creates a new one
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .errors import BadResponse, InvalidConfigId
from .i18n import N_
from .storage import CorruptValues, Storage

SESSION_KEY_PREFIX = "session_"
MAX_CONFIG_ID_LENGTH = 128
MAX_SESSION_ID_LENGTH = 512

# Values other code is known to have written by mistake; never a real session.
_PLACEHOLDER_VALUES = {"undefined", "null", "none", "nan", "[object object]"}

CreateSession = Callable[[str], Awaitable[str]]


def _has_control_chars(text: str) -> bool:
    return any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text)


def validate_config_id(raw: object) -> str:
    """Return the trimmed config ID, or raise :class:`InvalidConfigId` saying why.

    >>> validate_config_id("  CHAR_luna ")
    'CHAR_luna'
    """
    if not isinstance(raw, str):
        raise InvalidConfigId(N_("A character config ID must be text."))
    config_id = raw.strip()
    if not config_id:
        raise InvalidConfigId(N_("Enter a character config ID."))
    if len(config_id) > MAX_CONFIG_ID_LENGTH:
        raise InvalidConfigId(N_("A config ID can be at most {limit} characters long.", limit=MAX_CONFIG_ID_LENGTH))
    if _has_control_chars(config_id):
        raise InvalidConfigId(N_("A config ID cannot contain control characters or line breaks."))
    return config_id


def session_key(config_id: str) -> str:
    """The storage key of a character's session: ``session_<config_id>``.

    >>> session_key("CHAR_luna")
    'session_CHAR_luna'
    """
    return f"{SESSION_KEY_PREFIX}{config_id}"


def is_valid_session_id(value: object) -> bool:
    """True for a usable session ID: a non-blank string of sane length, no placeholders."""
    if not isinstance(value, str):
        return False
    if not value.strip() or value != value.strip() or len(value) > MAX_SESSION_ID_LENGTH:
        return False
    return value.lower() not in _PLACEHOLDER_VALUES and not _has_control_chars(value)


def read_session(storage: Storage, config_id: str) -> str | None:
    """The stored session ID for ``config_id``; corrupt values count as absent."""
    value = storage.get(session_key(config_id))
    return value if is_valid_session_id(value) else None


async def get_or_create_session(
    config_id: str,
    storage: Storage,
    create: CreateSession,
    *,
    still_wanted: Callable[[], bool] = lambda: True,
) -> str:
    """Return the stored session ID, or create one and store it immediately.

    ``create`` asks the proxy for a new session and returns its ID. A reply
    without a usable ID raises :class:`BadResponse` and nothing is stored.
    ``still_wanted`` is asked before storing: a session created while the
    user cleared that character is used once but not stored over the cleared slot.
    """
    existing = read_session(storage, config_id)
    if existing is not None:
        return existing
    session_id = await create(config_id)
    if not is_valid_session_id(session_id):
        raise BadResponse(N_("the server did not return a session ID"))
    if not still_wanted():
        return session_id
    # Another tab may have stored one while we waited: the first writer wins, so tabs converge.
    meanwhile = read_session(storage, config_id)
    if meanwhile is not None:
        return meanwhile
    storage.set(session_key(config_id), session_id)
    return session_id


class SessionManager:
    """Sessions for many characters: in-memory cache, then storage, then the proxy.

    Concurrent :meth:`get_session` calls for one character share a single
    request (a double click never creates two sessions).
    """

    def __init__(self, storage: Storage, create: CreateSession, corrupt: CorruptValues | None = None) -> None:
        """``corrupt`` hears of a ``session_<id>`` value that is not a session ID (junk from other code)."""
        self._storage = storage
        self._create = create
        self._corrupt = corrupt or CorruptValues()
        self._cache: dict[str, str] = {}
        self._pending: dict[str, asyncio.Future[str]] = {}
        # Bumped by every clear, so a request started before a clear never stores its result.
        self._epoch = 0
        self._generation: dict[str, int] = {}

    def peek(self, config_id: str) -> str | None:
        """The session ID already known for ``config_id`` (cache or storage), without creating one.

        A valid stored ID found here is also cached, as :meth:`get_session` would.
        """
        cached = self._cache.get(config_id)
        if cached is not None:
            return cached
        stored = read_session(self._storage, config_id)
        if stored is not None:
            self._cache[config_id] = stored
        elif not self.cleared_in_storage(config_id):
            self._corrupt.found(session_key(config_id))  # junk: a new session will be written over it
        return stored

    async def get_session(self, config_id: str) -> str:
        """The session ID for ``config_id``, creating (and storing) one if there is none."""
        known = self.peek(config_id)
        if known is not None:
            return known
        pending = self._pending.get(config_id)
        if pending is None:
            # The token is taken now, not when the task first runs: a clear in between must win.
            pending = asyncio.ensure_future(self._load_or_create(config_id, self.token(config_id)))
            self._pending[config_id] = pending
            pending.add_done_callback(lambda done: self._forget_pending(config_id, done))
        # shield: one caller giving up (cancelled) must not cancel the others' request.
        return await asyncio.shield(pending)

    def token(self, config_id: str) -> tuple[int, int]:
        """Changes whenever ``config_id``'s session is cleared (alone, by clear-all, or in another tab).

        Work that started before a clear compares tokens so it never stores
        anything for the conversation the user just threw away.
        """
        return (self._epoch, self._generation.get(config_id, 0))

    async def _load_or_create(self, config_id: str, token: tuple[int, int]) -> str:
        def still_wanted() -> bool:
            return self.token(config_id) == token

        session_id = await get_or_create_session(config_id, self._storage, self._create, still_wanted=still_wanted)
        if still_wanted():
            self._cache[config_id] = session_id
        return session_id

    def _forget_pending(self, config_id: str, done: asyncio.Future[str]) -> None:
        if self._pending.get(config_id) is done:
            del self._pending[config_id]
        if not done.cancelled():
            done.exception()  # mark retrieved: a failure is reported to the awaiting callers

    def replace_session(self, config_id: str, session_id: str) -> None:
        """Adopt a session ID the server handed back (e.g. a chat reply naming a new one)."""
        if is_valid_session_id(session_id):
            self._cache[config_id] = session_id
            self._storage.set(session_key(config_id), session_id)

    def expire_session(self, config_id: str, session_id: str) -> None:
        """The service said ``session_id`` expired: forget it, if it is still the current one.

        Unlike :meth:`clear_session` this is no fresh start: the conversation
        goes on in a new session, so work in flight keeps its :meth:`token`,
        and a session being created meanwhile is kept for it.
        """
        if self.peek(config_id) not in (None, session_id):
            return  # another request renewed it already
        self._cache.pop(config_id, None)
        self._storage.remove(session_key(config_id))

    def clear_session(self, config_id: str, *, only_if: str | None = None) -> None:
        """Forget ``config_id``'s session (cache and storage); the next use creates one.

        With ``only_if``, clear only while that ID is still the current one, so
        a stale failure never removes a session another request already renewed.
        """
        if only_if is not None and self.peek(config_id) not in (None, only_if):
            return
        self._generation[config_id] = self._generation.get(config_id, 0) + 1
        self._pending.pop(config_id, None)
        self._cache.pop(config_id, None)
        self._storage.remove(session_key(config_id))

    def clear_all_sessions(self) -> None:
        """Forget every session: all ``session_*`` keys and nothing else in storage."""
        self._epoch += 1
        self._cache.clear()
        self._pending.clear()
        for key in self._storage.keys():
            if key.startswith(SESSION_KEY_PREFIX):
                self._storage.remove(key)

    def forget_cached(self, config_id: str | None = None, *, cleared: bool = False) -> None:
        """Drop the in-memory copy (of every character when None) so the next read sees storage.

        Called when another tab created, replaced or cleared a session; ``cleared``
        also invalidates work in flight, as :meth:`clear_session` does here.
        """
        if config_id is None:
            self._cache.clear()
            if cleared:
                self._epoch += 1
            return
        self._cache.pop(config_id, None)
        if cleared:
            self._generation[config_id] = self._generation.get(config_id, 0) + 1
            self._pending.pop(config_id, None)

    def peek_stored(self, config_id: str) -> str | None:
        """The session ID in storage right now, ignoring the cache."""
        return read_session(self._storage, config_id)

    def cleared_in_storage(self, config_id: str) -> bool:
        """Whether ``config_id``'s key is absent (cleared), not merely holding junk."""
        return self._storage.get(session_key(config_id)) is None

    def repair_stored(self, config_id: str) -> bool:
        """Write this tab's session back over junk in ``config_id``'s key (or remove the junk); True if it was junk.

        Called when another tab (or other code) wrote the key: junk there is
        corruption, reported once, never a session cleared over there.
        """
        if self.cleared_in_storage(config_id) or self.peek_stored(config_id) is not None:
            return False
        held = self._cache.get(config_id)
        if held is not None:
            self._storage.set(session_key(config_id), held)
        else:
            self._storage.remove(session_key(config_id))
        self._corrupt.found(session_key(config_id))
        return True
