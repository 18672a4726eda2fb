"""Key-value storage as the session logic sees it, and a guard for broken storage.

The logic never touches ``window.localStorage`` directly: it takes any object
with ``get/set/remove/keys`` (see :class:`Storage`). :class:`MemoryStorage` is
the in-memory implementation (used by tests and as the fallback), and
:class:`GuardedStorage` wraps a real store so that a browser with storage
blocked, full or throwing keeps working on memory and says so once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .i18n import N_, Phrase


class Storage(Protocol):
    """The four operations of ``localStorage`` the app uses; values are strings."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...

    def remove(self, key: str) -> None: ...

    def keys(self) -> list[str]: ...


@dataclass(frozen=True)
class StorageSupport:
    """Which of the browser's stores work for this page (see ``app.browser.browser_storage``).

    Both false when the browser blocks site data ("Block all cookies and site
    data", some cross-site frames): then nothing the page holds outlives it.

    >>> StorageSupport(local_storage=False, indexed_db=False).nothing_kept
    True
    """

    local_storage: bool
    indexed_db: bool

    @property
    def nothing_kept(self) -> bool:
        return not (self.local_storage or self.indexed_db)

    def describe(self) -> str:
        """For ``<html data-storage>``: ``"localstorage indexeddb"``, either one, or ``"none"``."""
        stores = (("localstorage", self.local_storage), ("indexeddb", self.indexed_db))
        found = [name for name, works in stores if works]
        return " ".join(found) or "none"


class CorruptValues:
    """Stored values found corrupt (junk, too large, nested too deep), each key once, for one notice.

    The stores that read them report here (:meth:`found`) and repair them
    themselves: they keep what this tab holds and write a good copy. The page
    listens (:meth:`listen`), and hears of those found before it did too.

    >>> log = CorruptValues(); log.found("pychat:characters"); log.found("pychat:characters"); log.keys
    ['pychat:characters']
    """

    def __init__(self) -> None:
        self.keys: list[str] = []
        self._listener: Callable[[str], None] | None = None

    def found(self, key: str) -> None:
        if key in self.keys:
            return
        self.keys.append(key)
        if self._listener is not None:
            self._listener(key)

    def listen(self, listener: Callable[[str], None]) -> None:
        self._listener = listener
        for key in self.keys:
            listener(key)


class MemoryStorage:
    """A dict-backed :class:`Storage`.

    >>> s = MemoryStorage(); s.set("a", "1"); s.get("a")
    '1'
    """

    def __init__(self, items: dict[str, str] | None = None) -> None:
        self.items: dict[str, str] = dict(items or {})

    def get(self, key: str) -> str | None:
        return self.items.get(key)

    def set(self, key: str, value: str) -> None:
        self.items[key] = value

    def remove(self, key: str) -> None:
        self.items.pop(key, None)

    def keys(self) -> list[str]:
        return list(self.items)


ACTIONS = {
    "reading": N_("Browser storage failed while reading: {detail}."),
    "saving": N_("Browser storage failed while saving: {detail}."),
    "removing": N_("Browser storage failed while removing: {detail}."),
    "listing keys": N_("Browser storage failed while listing keys: {detail}."),
}
"""What :attr:`GuardedStorage.problem` says for each action that failed; ``detail`` is the browser's words."""


class GuardedStorage:
    """A :class:`Storage` that never raises.

    Every operation goes to ``backend`` first. When the backend is missing or
    raises (storage disabled, quota exceeded, security error), the value is
    kept in memory instead, and :attr:`problem` describes what went wrong so
    the page can say so once. Reads prefer values that only memory holds.
    """

    def __init__(self, backend: Storage | None) -> None:
        self._backend = backend
        self._memory = MemoryStorage()
        self._removed: set[str] = set()
        self.problem: str | None = None if backend is not None else N_("Browser storage is not available.")

    def _failed(self, action: str, exc: BaseException) -> None:
        """Note the first failure; ``action`` is one of :data:`ACTIONS`."""
        if self.problem is None:
            # In the browser the useful name (QuotaExceededError, SecurityError) is in the text.
            detail = " ".join(str(exc).split())[:120] or type(exc).__name__
            self.problem = Phrase(ACTIONS[action], {"detail": detail})

    def get(self, key: str) -> str | None:
        if key in self._memory.items:
            return self._memory.items[key]
        if key in self._removed or self._backend is None:
            return None
        try:
            value = self._backend.get(key)
        except Exception as exc:  # noqa: BLE001 - any storage failure means "absent"
            self._failed("reading", exc)
            return None
        return value if isinstance(value, str) else None

    def set(self, key: str, value: str) -> None:
        self._removed.discard(key)
        if self._backend is not None:
            try:
                self._backend.set(key, value)
            except Exception as exc:  # noqa: BLE001
                self._failed("saving", exc)
            else:
                self._memory.remove(key)
                return
        self._memory.set(key, value)

    def remove(self, key: str) -> None:
        self._memory.remove(key)
        if self._backend is None:
            return
        try:
            self._backend.remove(key)
        except Exception as exc:  # noqa: BLE001
            self._failed("removing", exc)
            self._removed.add(key)
        else:
            self._removed.discard(key)

    def keys(self) -> list[str]:
        found: list[str] = []
        if self._backend is not None:
            try:
                found = [k for k in self._backend.keys() if isinstance(k, str)]
            except Exception as exc:  # noqa: BLE001
                self._failed("listing keys", exc)
        merged = [k for k in found if k not in self._removed]
        merged += [k for k in self._memory.keys() if k not in merged]
        return merged
