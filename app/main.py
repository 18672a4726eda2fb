"""Wiring: settings, storage, client, sessions, view and controller; then the ready marker."""

# ruff: noqa: E402 - the snapshot check below must run before the app's other imports

from __future__ import annotations

import asyncio
from pathlib import Path

import js
from pyscript import config

# First, before any other app import: after a snapshot restore, the app's
# browser-free modules are already loaded; drop them if their files changed.
from app.snapshot import discard_stale_preloads

discard_stale_preloads(Path.cwd())

from app.api import ProxyClient
from app.browser import (
    defer,
    local_storage,
    on_connectivity_change,
    on_page_hide,
    on_storage_change,
    page_origin,
    page_query,
    post_json,
)
from app.controller import ChatController
from app.drafts import Drafts
from app.inflight import start_task
from app.roster import Roster
from app.sessions import SessionManager
from app.settings import load_settings, resolve_api_base
from app.storage import GuardedStorage
from app.transcript import TranscriptStore
from app.view import DomView
from app.wording import describe_error


def start() -> tuple[asyncio.Task[None], object] | None:
    """Build the page and mark it ready; the first session is set up meanwhile (the task returned).

    Also returns the task loading Markdown, if it is not in a snapshot.
    Like the reference page, the chat is usable before its session exists:
    the conversation and the input are there, Send waits (disabled, with
    "Starting a session…" if it takes a while) until the proxy answers, and
    a proxy that hangs or is down shows as a message, not as a page that
    never finishes loading.
    """
    view = DomView()
    try:
        settings = load_settings(config.get("chat"))
        query = page_query()
        api_base, api_warning = resolve_api_base(
            settings.api_base, query.get("api"), page_origin(), settings.allowed_api_bases
        )
        storage = GuardedStorage(local_storage())
        client = ProxyClient(
            api_base, post_json, timeout=settings.request_timeout, reply_time_limit=settings.reply_time_limit
        )
        controller = ChatController(
            view,
            SessionManager(storage, client.create_session),
            client,
            TranscriptStore(storage),
            Roster(storage, settings.characters),
            storage_problem=lambda: storage.problem,
            defer=defer,
            drafts=Drafts(storage, defer=defer),
        )
        view.bind(controller)
        formatting = view.format_replies()  # before the conversation is shown
        on_storage_change(controller.storage_changed)
        on_connectivity_change(controller.set_online)
        on_page_hide(controller.flush_saves)  # what is not stored yet must be before the page goes
        on_storage_change(controller.draft_changed_elsewhere)
        on_page_hide(controller.flush_drafts)
        for warning in [*settings.problems, api_warning]:
            if warning:
                view.show_notice(warning, level="warning")
        # Eager: the conversation is on screen when this returns, the session request on its way.
        opening = start_task(controller.start(query.get("character")))
        if opening.done() and not opening.cancelled() and opening.exception() is not None:
            raise opening.exception() or Exception()
    except Exception as exc:  # noqa: BLE001 - show it in the page, not only in the console
        view.show_fatal(f"The page could not start. {describe_error(exc)}")
        js.console.error(f"startup failed: {exc!r}")
        return None
    opening.add_done_callback(lambda task: _report_late_failure(view, task))
    view.set_ready()
    return opening, formatting


def _report_late_failure(view: DomView, task: asyncio.Task[None]) -> None:
    """A failure after ready is a bug (the proxy's failures are messages): show it, don't hide it."""
    if not task.cancelled() and task.exception() is not None:
        view.show_notice(describe_error(task.exception() or Exception()), level="error")
        js.console.error(f"opening the first character failed: {task.exception()!r}")


_tasks = start()  # held: the loop keeps only weak references to tasks
