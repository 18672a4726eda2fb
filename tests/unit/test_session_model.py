"""Stateful property test: random interleavings of everything a user, the server and the
browser can do, checked against invariants after every step.

Drives the real controller, session manager, client and stores; only the proxy
(a small model of the character service) and the storage backend are fakes.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from app.api import HttpResponse, ProxyClient
from app.controller import ChatController
from app.errors import NetworkError
from app.roster import Roster
from app.sessions import SessionManager, is_valid_session_id
from app.settings import Character
from app.storage import GuardedStorage

from .fakes import BrokenStorage, FakeView, archive_of

CHARACTERS = ["A", "B", "C"]
FOREIGN = {"theme": "dark", "sessionless": "keep", "session": "not ours either"}
JUNK = ["", "undefined", "null", "   ", '"quoted"', "x" * 600]


class ModelService:
    """The character service behind the proxy: owns sessions, expires them, fails on request."""

    def __init__(self) -> None:
        self.sessions: dict[str, str] = {}  # session ID -> config ID
        self.expired: set[str] = set()
        self.next_failure: str | None = None
        self.chats: list[dict[str, str]] = []

    async def post_json(self, url: str, body: dict[str, str]) -> HttpResponse:
        await asyncio.sleep(0)
        failure, self.next_failure = self.next_failure, None
        if failure == "drop":
            raise NetworkError("Failed to fetch")
        if failure in ("500", "401"):
            return HttpResponse(int(failure), '{"error": "no"}')
        if failure == "malformed":
            return HttpResponse(200, '{"ai": ')
        if url.endswith("/api/sessions"):
            session_id = f"sess-{len(self.sessions) + 1}"
            self.sessions[session_id] = body["config_id"]
            return HttpResponse(200, json.dumps({"session_id": session_id, "config_id": body["config_id"]}))
        self.chats.append(dict(body))
        session_id = body["session_id"]
        if session_id not in self.sessions:
            return HttpResponse(404, '{"error": "Session not found"}')
        if session_id in self.expired:
            return HttpResponse(410, '{"error": "Session expired"}')
        assert self.sessions[session_id] == body["config_id"], "a session was used for another character"
        return HttpResponse(200, json.dumps({"ai": f"re: {body['input']}", "session_id": session_id}))


class ChatMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)  # submit() schedules its request synchronously, as in the page
        # localStorage whose reads and writes the storage_faults rule switches to throwing.
        self.backend = BrokenStorage(fail_reads=False, fail_writes=False)
        self.backend.items.update(FOREIGN)
        self.service = ModelService()
        self.planted: set[str] = set()  # junk the test wrote itself, allowed until replaced
        self.sent: list[tuple[str, str, int]] = []  # (config ID, text, reset count when sent)
        self.resets = dict.fromkeys(CHARACTERS, 0)
        self.deleted: set[tuple[str, str]] = set()  # (config ID, text) of messages deleted with their conversation
        self.counter = 0
        self.degraded = False
        self.faulty_since_reload = False
        self.reload()

    def reload(self) -> None:
        self.storage = GuardedStorage(self.backend)
        self.view = FakeView()
        client = ProxyClient("http://model.test", self.service.post_json)
        self.controller = ChatController(
            self.view,
            SessionManager(self.storage, client.create_session),
            client,
            archive_of(self.backend),
            Roster(self.storage, [Character(c, c) for c in CHARACTERS]),
            storage_problem=lambda: self.storage.problem,
        )
        self.run(self.controller.start())

    def run(self, awaitable: Any) -> None:
        self.loop.run_until_complete(awaitable)
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending))

    def teardown(self) -> None:
        asyncio.set_event_loop(None)
        self.loop.close()

    # ----- what users do -------------------------------------------------------------------

    @rule(config_id=st.sampled_from(CHARACTERS))
    def send(self, config_id: str) -> None:
        self.run(self.controller.open_character(config_id))
        self.counter += 1
        text = f"message {self.counter}"
        self.view.input = text
        task = self.controller.submit()
        if task is None:  # refused (setting up): the text must still be in the input
            assert self.view.input == text
            return
        self.sent.append((config_id, text, self.resets[config_id]))
        self.run(task)

    @rule(config_id=st.sampled_from(CHARACTERS))
    def send_twice_quickly(self, config_id: str) -> None:
        self.run(self.controller.open_character(config_id))
        self.counter += 1
        first, second = f"message {self.counter}a", f"message {self.counter}b"
        self.view.input = first
        task = self.controller.submit()
        self.view.input = second
        assert self.controller.submit() is None, "a second message was sent while one was in flight"
        assert self.view.input == second, "the refused message was dropped"
        if task is not None:
            self.sent.append((config_id, first, self.resets[config_id]))
            self.run(task)

    @rule(config_id=st.sampled_from(CHARACTERS))
    def switch(self, config_id: str) -> None:
        self.run(self.controller.open_character(config_id))

    @rule()
    def new_conversation(self) -> None:
        # Not a reset: the conversation is kept in the history, every message of it still findable.
        if self.controller.current is not None:
            self.controller.new_conversation()

    @rule(pick=st.integers(0, 3))
    def continue_earlier(self, pick: int) -> None:
        current = self.controller.current
        earlier = self.controller.conversations.history(current) if current else []
        if earlier:
            task = self.controller.continue_conversation(earlier[pick % len(earlier)].id)
            if task is not None:
                self.run(task)

    @rule(pick=st.integers(0, 3))
    def delete_earlier(self, pick: int) -> None:
        current = self.controller.current
        earlier = self.controller.conversations.history(current) if current else []
        if earlier:
            record = earlier[pick % len(earlier)]
            gone = self.past(record.id)
            if self.controller.delete_past(record.id):
                self.deleted |= {(record.config_id, m.text) for m in gone}

    @rule()
    def clear_all(self) -> None:
        for config_id in CHARACTERS:
            self.resets[config_id] += 1
        self.controller.clear_all_sessions()

    @rule()
    def reload_page(self) -> None:
        if self.faulty_since_reload:
            # The page said storage was unavailable: what lived only in memory may go with a reload.
            self.sent.clear()
            self.faulty_since_reload = self.backend.fail_reads or self.backend.fail_writes
        self.reload()

    # ----- what the server and the browser do ----------------------------------------------

    @rule(config_id=st.sampled_from(CHARACTERS))
    def server_expires_session(self, config_id: str) -> None:
        self.service.expired |= {s for s, c in self.service.sessions.items() if c == config_id}

    @rule(kind=st.sampled_from(["drop", "500", "401", "malformed"]))
    def next_request_fails(self, kind: str) -> None:
        self.service.next_failure = kind

    @rule(reads=st.booleans(), writes=st.booleans())
    def storage_faults(self, reads: bool, writes: bool) -> None:
        self.backend.fail_reads, self.backend.fail_writes = reads, writes
        self.degraded = self.degraded or reads or writes
        self.faulty_since_reload = self.faulty_since_reload or reads or writes

    @rule(config_id=st.sampled_from(CHARACTERS), junk=st.sampled_from(JUNK))
    def other_code_writes_junk(self, config_id: str, junk: str) -> None:
        if not self.backend.fail_writes:
            self.backend.items[f"session_{config_id}"] = junk
            self.planted.add(junk)
            self.controller.storage_changed(f"session_{config_id}")  # as the storage event would

    # ----- invariants ----------------------------------------------------------------------

    @invariant()
    def foreign_keys_are_untouched(self) -> None:
        for key, value in FOREIGN.items():
            assert self.backend.items.get(key) == value

    @invariant()
    def only_raw_server_ids_are_stored(self) -> None:
        for key, value in self.backend.items.items():
            if key.startswith("session_") and key not in FOREIGN:
                assert value in self.planted or (is_valid_session_id(value) and value in self.service.sessions), value

    @invariant()
    def at_most_one_session_per_character_and_it_is_the_one_used(self) -> None:
        if self.degraded or self.service.chats == []:
            return
        last = self.service.chats[-1]
        stored = self.backend.items.get(f"session_{last['config_id']}")
        if stored is not None and stored not in self.planted:
            in_use = self.controller.sessions.peek(last["config_id"])
            assert in_use == stored

    def past(self, conversation_id: str) -> list[Any]:
        found: list[Any] = []

        async def read() -> None:
            found.extend(await self.controller.conversations.past(conversation_id))

        self.run(read())
        return found

    def conversation_of(self, config_id: str) -> list[Any]:
        """``config_id``'s current conversation, read from the archive if this page has not opened it yet."""
        conversations = self.controller.conversations
        if not conversations.is_loaded(config_id):
            self.run(conversations.load(config_id))
        return conversations.get(config_id)

    @invariant()
    def no_user_message_is_lost(self) -> None:
        for config_id, text, reset_count in self.sent:
            if reset_count != self.resets[config_id] or (config_id, text) in self.deleted:
                continue  # the user discarded that conversation on purpose
            messages = self.conversation_of(config_id)
            outcomes = [
                (m.role, m.retry) for i, m in enumerate(messages)
                if i > 0 and messages[i - 1].role == "user" and messages[i - 1].text == text
            ]
            in_input = self.controller.current == config_id and self.view.input == text
            if not (outcomes or in_input) and (config_id, text) not in self.deleted:
                earlier = self.controller.conversations.history(config_id)
                kept = [m.text for r in earlier for m in self.past(r.id) if m.role == "user"]
                assert text in kept, f"{text!r} for {config_id} vanished"
                continue
            assert all(role == "assistant" or retry == text for role, retry in outcomes), outcomes


def test_sessions_and_messages_survive_any_interleaving() -> None:
    # Its own thread: an end-to-end test in the same run leaves Playwright's loop running here.
    config = settings(max_examples=150, stateful_step_count=30, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(run_state_machine_as_test, ChatMachine, settings=config).result()
