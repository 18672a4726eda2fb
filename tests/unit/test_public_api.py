"""The `app` package as a library for other PyScript pages: what the README shows works under CPython."""

from __future__ import annotations

import inspect

import app
from app import GuardedStorage, MemoryStorage, ProxyClient, SessionManager, send_chat_message

from .fakes import FakeProxy


async def test_the_readme_example_runs_with_injected_storage_and_fetch() -> None:
    proxy = FakeProxy()  # stands in for app.browser.post_json (pyfetch)
    storage = MemoryStorage()  # stands in for app.browser.local_storage()
    client = ProxyClient("http://proxy.test", proxy.post_json)
    manager = SessionManager(GuardedStorage(storage), client.create_session)
    reply = await send_chat_message(manager, client, "CHAR_luna", "Hello!")
    assert reply.text == "reply to Hello!"
    assert await manager.get_session("CHAR_luna") == storage.items["session_CHAR_luna"] == reply.session_id
    manager.clear_session("CHAR_luna")
    assert "session_CHAR_luna" not in storage.items
    await manager.get_session("CHAR_luna")
    await manager.get_session("CHAR_atlas")
    manager.clear_all_sessions()
    assert storage.items == {}


def test_every_public_name_is_documented() -> None:
    for name in app.__all__:
        obj = getattr(app, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"app.{name} has no docstring"


def test_the_reference_guide_names_exist() -> None:
    for method in ("get_session", "clear_session", "clear_all_sessions"):
        assert callable(getattr(SessionManager, method))
    assert {"get_or_create_session", "send_chat_message", "session_key"} <= set(app.__all__)
