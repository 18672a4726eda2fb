"""Small fakes for the browser: a proxy behind `post_json`, and a view."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from app.api import BodyStream, HttpResponse, ProxyClient
from app.archive import MemoryArchive, Record, SearchHit, in_order, message_from_record
from app.errors import NetworkError
from app.settings import Character
from app.storage import MemoryStorage
from app.transcript import Message

Handler = Callable[[dict[str, str]], HttpResponse]


def ok(body: dict[str, Any]) -> HttpResponse:
    return HttpResponse(200, json.dumps(body))


def status(code: int, body: Any = None) -> HttpResponse:
    return HttpResponse(code, body if isinstance(body, str) else json.dumps(body or {}))


class FakeProxy:
    """Answers like the real proxy unless a scripted answer is queued.

    ``calls`` records every request as ``(path, body)``. Queue answers with
    ``script(path, HttpResponse | Exception | callable)``; ``gate`` holds
    requests until released, to test concurrency.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.scripted: dict[str, list[Any]] = {"/api/sessions": [], "/api/chat": []}
        self.created = 0
        self.gate: asyncio.Event | None = None

    def script(self, path: str, *answers: Any) -> None:
        self.scripted[path].extend(answers)

    def paths(self) -> list[str]:
        return [path for path, _ in self.calls]

    def bodies(self, path: str) -> list[dict[str, str]]:
        return [body for p, body in self.calls if p == path]

    async def post_json(self, url: str, body: dict[str, str]) -> HttpResponse:
        assert url.startswith("http://proxy.test"), url
        path = url[len("http://proxy.test") :]
        self.calls.append((path, dict(body)))
        if self.gate is not None:
            await self.gate.wait()
        else:
            await asyncio.sleep(0)
        if self.scripted[path]:
            answer = self.scripted[path].pop(0)
            if isinstance(answer, BaseException):
                raise answer
            return answer(body) if callable(answer) else answer
        if path == "/api/sessions":
            self.created += 1
            return ok({"session_id": f"sess-{self.created}", "config_id": body["config_id"], "user_id": "u",
                       "session_status": "active", "updated_at": 0})
        return ok({"ai": f"reply to {body['input']}", "session_id": body["session_id"]})

    def client(self, timeout: float = 5.0, reply_time_limit: float = 60.0) -> ProxyClient:
        return ProxyClient("http://proxy.test", self.post_json, timeout=timeout, reply_time_limit=reply_time_limit)


DROPPED = NetworkError("Failed to fetch")


def sse(*parts: dict[str, Any] | str) -> str:
    """An AI SDK UI message stream body: one ``data:`` event per part."""
    return "".join(f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n" for p in parts)


def reply_parts(*deltas: str, session_id: str | None = None, finish: bool = True) -> list[dict[str, Any] | str]:
    """The parts of a streamed reply made of ``deltas`` (with a ``data-session`` part if ``session_id``)."""
    parts: list[dict[str, Any] | str] = [{"type": "start"}]
    if session_id is not None:
        parts.append({"type": "data-session", "data": {"session_id": session_id}})
    parts += [{"type": "text-start", "id": "t"}, *({"type": "text-delta", "id": "t", "delta": d} for d in deltas)]
    if finish:
        parts += [{"type": "text-end", "id": "t"}, {"type": "finish"}, "[DONE]"]
    return parts


class Streamed:
    """A scripted streamed answer: the pieces arrive, then the end (``end``: an error, or None to never end).

    ``pieces`` are body text as the adapter hands it over; ``cancelled`` says whether the reader gave up.
    """

    def __init__(self, *pieces: str, end: BaseException | None | bool = True) -> None:
        self.pieces = pieces
        self.end = end
        self.stream: BodyStream | None = None
        self.cancelled = False

    def __call__(self, _body: dict[str, str]) -> HttpResponse:
        def cancel() -> None:
            self.cancelled = True

        self.stream = BodyStream(cancel)
        for piece in self.pieces:
            self.stream.push(piece)
        if self.end is True:
            self.stream.end()
        elif isinstance(self.end, BaseException):
            self.stream.end(self.end)
        return HttpResponse(200, "", self.stream)



@dataclass
class FakeView:
    """Records what the controller shows, like the page would."""

    characters: list[Character] = field(default_factory=list)
    current: str | None = None
    title: str = ""
    messages: list[Message] = field(default_factory=list)
    session: str | None = None
    sending: bool = False
    setting_up: bool = False
    input: str = ""
    info: str | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)
    add_error: str | None = None
    add_input_cleared: bool = False
    offline: bool = False
    streaming: str | None = None  # the reply streaming in, as shown
    streamed: list[str] = field(default_factory=list)  # every text it was shown with
    unread: set[str] = field(default_factory=set)  # the characters marked as having a reply not seen yet
    history: list[Record] = field(default_factory=list)  # the open character's earlier conversations, as listed
    past: tuple[Record, list[Message]] | None = None  # an earlier conversation shown read-only
    search: tuple[str, list[SearchHit]] | None = None  # the last search's text and what it found
    revealed: int | None = None  # the message brought into view (a search result chosen)
    on_input: Callable[[str], object] | None = None  # told every change of the input, as the page tells the controller

    def show_characters(self, characters: list[Character], current: str | None, unread: Collection[str]) -> None:
        self.characters, self.current, self.unread = list(characters), current, set(unread)

    def show_unread(self, config_id: str, unread: bool) -> None:
        assert any(c.config_id == config_id for c in self.characters), "marked a character not listed"
        (self.unread.add if unread else self.unread.discard)(config_id)

    def show_conversation(self, character: Character, messages: list[Message]) -> None:
        self.title, self.messages = character.name, list(messages)
        self.streaming = None  # like the page: the list is drawn anew

    def insert_older(self, position: int, messages: list[Message]) -> bool:
        self.messages[position:position] = messages
        return True

    def append_message(self, message: Message, index: int) -> None:
        assert index == len(self.messages), "appended at the wrong index"
        assert self.streaming is None, "a message appended below a reply still streaming"
        self.messages.append(message)

    def show_streaming(self, text: str | None) -> None:
        self.streaming = text
        if text is not None:
            self.streamed.append(text)

    def show_session(self, session_id: str | None) -> None:
        self.session = session_id

    def show_activity(self, *, sending: bool, setting_up: bool) -> None:
        self.sending, self.setting_up = sending, setting_up

    def read_input(self) -> str:
        return self.input

    def write_input(self, text: str) -> None:
        self.input = text
        if self.on_input is not None:  # the page reports what it writes, too
            self.on_input(text)

    def type(self, text: str) -> None:
        """The user makes the input hold ``text``."""
        self.write_input(text)

    def show_notice(self, text: str | None, *, level: str = "info") -> None:
        # Like the page: info replaces info (None clears it); warnings and errors stay.
        if level == "info" or text is None:
            self.info = text
        else:
            self.warnings.append((level, text))

    @property
    def notice(self) -> str | None:
        """The newest line shown: the info line, else the last warning."""
        return self.info or (self.warnings[-1][1] if self.warnings else None)

    @property
    def notice_level(self) -> str:
        return "info" if self.info else (self.warnings[-1][0] if self.warnings else "")

    def show_add_character_error(self, text: str | None) -> None:
        self.add_error = text
        self.add_input_cleared = text is None

    def show_offline(self, offline: bool) -> None:
        self.offline = offline

    def show_history(self, conversations: list[Record]) -> None:
        self.history = list(conversations)

    def show_past(self, character: Character, record: Record, messages: list[Message]) -> None:
        self.past = (record, list(messages))

    def show_search_results(self, query: str, hits: list[SearchHit]) -> None:
        self.search = (query, list(hits))

    def reveal_message(self, index: int) -> None:
        self.revealed = index

    def texts(self) -> list[tuple[str, str]]:
        return [(m.role, m.text) for m in self.messages]


class Timers:
    """Stands in for the browser's ``setTimeout`` (a controller's ``defer``): callbacks run when a test says so."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, seconds: float, callback: Callable[[], None]) -> None:
        self.pending.append((seconds, callback))

    def run(self, within: float = 0.0) -> None:
        """Run, soonest first, the callbacks asked for at most ``within`` seconds from when they were asked."""
        due = sorted((entry for entry in self.pending if entry[0] <= within), key=lambda entry: entry[0])
        self.pending = [entry for entry in self.pending if entry[0] > within]
        for _, callback in due:
            callback()


class BrokenStorage:
    """localStorage that throws on reads and/or writes (blocked, or full); the flags can change at any time."""

    def __init__(self, fail_reads: bool = True, fail_writes: bool = True) -> None:
        self.items: dict[str, str] = {}
        self.fail_reads = fail_reads
        self.fail_writes = fail_writes

    def get(self, key: str) -> str | None:
        if self.fail_reads:
            raise RuntimeError("SecurityError")
        return self.items.get(key)

    def set(self, key: str, value: str) -> None:
        if self.fail_writes:
            raise RuntimeError("QuotaExceededError")
        self.items[key] = value

    def remove(self, key: str) -> None:
        if self.fail_writes:
            raise RuntimeError("SecurityError")
        self.items.pop(key, None)

    def keys(self) -> list[str]:
        if self.fail_reads:
            raise RuntimeError("SecurityError")
        return list(self.items)


class CountingStorage(MemoryStorage):
    """Memory storage that records the key of every write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def set(self, key: str, value: str) -> None:
        self.writes.append(key)
        super().set(key, value)


# ----- the archive (IndexedDB) beside a storage (localStorage) ------------------------------------

_ARCHIVES: weakref.WeakKeyDictionary[object, MemoryArchive] = weakref.WeakKeyDictionary()


def archive_of(storage: object) -> MemoryArchive:
    """The browser's IndexedDB beside ``storage``: one per storage, so a reload on the same storage finds it."""
    if storage not in _ARCHIVES:
        _ARCHIVES[storage] = MemoryArchive()
    return _ARCHIVES[storage]


def stored_conversation(archive: MemoryArchive, config_id: str) -> list[Message]:
    """``config_id``'s current conversation as stored (what a reload shows, after the greeting)."""
    current = [r for r in archive.conversations.values() if r["config_id"] == config_id and r["ended"] is None]
    if not current:
        return []
    record = max(current, key=lambda r: r["started"])
    found = (message_from_record(r) for k, r in archive.records.items() if k.startswith(f"{record['id']}/"))
    return in_order([m for m in found if m is not None])


def stored_messages(storage: object, config_id: str) -> list[Message]:
    """:func:`stored_conversation` of the archive beside ``storage``."""
    return stored_conversation(archive_of(storage), config_id)
