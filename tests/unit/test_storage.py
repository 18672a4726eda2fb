from __future__ import annotations

from app.storage import GuardedStorage, MemoryStorage

from .fakes import BrokenStorage


def test_healthy_backend_is_used_directly() -> None:
    backend = MemoryStorage()
    storage = GuardedStorage(backend)
    storage.set("k", "v")
    assert backend.items == {"k": "v"}
    assert storage.problem is None


def test_missing_storage_works_in_memory_and_reports_it() -> None:
    storage = GuardedStorage(None)
    storage.set("session_A", "s")
    assert storage.get("session_A") == "s"
    assert storage.keys() == ["session_A"]
    assert storage.problem == "Browser storage is not available."


def test_throwing_storage_never_raises_and_keeps_values_in_memory() -> None:
    storage = GuardedStorage(BrokenStorage())
    storage.set("k", "v")
    assert storage.get("k") == "v"
    storage.remove("k")
    assert storage.get("k") is None
    assert storage.problem and "QuotaExceededError" in storage.problem


def test_quota_exceeded_on_write_keeps_reads_from_the_backend() -> None:
    backend = BrokenStorage(fail_reads=False, fail_writes=True)
    backend.items["session_A"] = "stored-earlier"
    storage = GuardedStorage(backend)
    storage.set("session_B", "new")
    assert storage.get("session_A") == "stored-earlier"
    assert storage.get("session_B") == "new"
    assert sorted(storage.keys()) == ["session_A", "session_B"]


def test_a_failed_remove_hides_the_key_from_reads() -> None:
    backend = BrokenStorage(fail_reads=False, fail_writes=True)
    backend.items["session_A"] = "old"
    storage = GuardedStorage(backend)
    storage.remove("session_A")
    assert storage.get("session_A") is None
    assert "session_A" not in storage.keys()
