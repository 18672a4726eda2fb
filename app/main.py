"""Wiring: settings, storage, client, sessions, view and controller; then the ready marker."""

# ruff: noqa: E402 - the snapshot check below must run before the app's other imports

from __future__ import annotations

from pathlib import Path

import js
from pyscript import config

# First, before any other app import: after a snapshot restore, the app's
# browser-free modules are already loaded; drop them if their files changed.
from app.snapshot import discard_stale_preloads

discard_stale_preloads(Path.cwd())

from app.api import ProxyClient
from app.archive import JournaledArchive
from app.browser import (
    browser_storage,
    defer,
    estimate_storage,
    indexed_db_archive,
    intl_formats,
    kept_drafts,
    language_preferences,
    local_storage,
    on_archive_change,
    on_connectivity_change,
    on_draft_change,
    on_page_hide,
    on_page_leave,
    on_storage_change,
    page_connect_sources,
    page_origin,
    page_query,
    post_json,
    stored_text,
    tab_prefix,
)
from app.controller import ChatController
from app.conversations import tab_ids
from app.drafts import Drafts
from app.i18n import LANGUAGE_KEY, _, choose_language, load_translations, text_direction, use_language
from app.inflight import start_task
from app.roster import Roster
from app.sessions import SessionManager
from app.settings import load_settings, resolve_api_base
from app.storage import CorruptValues, GuardedStorage
from app.transcript import TranscriptStore
from app.view import DomView
from app.wording import describe_error

_held: list[object] = []  # tasks the page keeps (the loop keeps only weak references to tasks)


async def start(view: DomView) -> None:
    """Build the page, show the open conversation, mark the page ready, then set up its session.

    Like the reference page, the chat is usable before its session exists:
    the conversation and the input are there, Send waits (disabled, with
    "Starting a session…" if it takes a while) until the proxy answers, and
    a proxy that hangs or is down shows as a message, not as a page that
    never finishes loading. Markdown is loaded after ready unless a snapshot has it.
    """
    shown = False

    def ready() -> None:
        nonlocal shown
        shown = True
        view.set_ready()

    try:
        settings = load_settings(config.get("chat"))
        query = page_query()
        api_base, api_warning = resolve_api_base(
            settings.api_base, query.get("api"), page_origin(), settings.allowed_api_bases, page_connect_sources()
        )
        storage = GuardedStorage(local_storage())
        tab = tab_prefix()
        archive, archive_problem = await indexed_db_archive()  # opened while Python started
        if archive_problem is None:  # each write noted in localStorage until committed (a reload aborts it)
            archive = JournaledArchive(archive, local_storage(), tab)
            await archive.replay()
        kept = await kept_drafts() if archive_problem is None else None  # else in localStorage, as before
        corrupt = CorruptValues()
        client = ProxyClient(
            api_base, post_json, timeout=settings.request_timeout, reply_time_limit=settings.reply_time_limit
        )
        controller = ChatController(
            view,
            SessionManager(storage, client.create_session, corrupt),
            client,
            archive,
            Roster(storage, settings.characters, corrupt),
            legacy=TranscriptStore(storage, corrupt),
            storage_problem=lambda: storage.problem or archive_problem,
            corrupt=corrupt,
            estimate_storage=estimate_storage,
            defer=defer,
            new_id=tab_ids(tab),
            drafts=Drafts(kept or storage, defer=defer),
        )
        view.bind(controller)
        _held.append(start_task(_find_storage(view)))
        _held.append(view.format_replies())  # before the conversation is shown
        on_storage_change(controller.storage_changed)
        on_archive_change(controller.archive_changed)
        on_connectivity_change(controller.set_online)
        on_page_leave(controller.page_left)  # first: a reply still coming is kept as far as it came
        on_page_hide(controller.flush_saves)  # what is not stored yet must be before the page goes
        on_page_hide(controller.flush_drafts)
        if kept is None:
            on_storage_change(controller.draft_changed_elsewhere)
        else:
            on_draft_change(kept, controller.draft_changed_elsewhere)
            on_page_hide(kept.hidden)  # after the flush: what is not committed is noted in localStorage
        if api_base != settings.api_base:
            view.show_api_base(api_base)  # ?api= changed it: say where messages go
        for warning in [*settings.problems, api_warning]:
            if warning:
                view.show_notice(_(warning), level="warning")
        await controller.start(query.get("character"), shown=ready)
    except Exception as exc:  # noqa: BLE001 - show it in the page, not only in the console
        if shown:  # a bug after ready (the proxy's failures are messages): show it, don't hide it
            view.show_notice(describe_error(exc), level="error")
        else:
            view.show_fatal(_("The page could not start. {error}", error=describe_error(exc)))
        js.console.error(f"startup failed: {exc!r}")


async def _find_storage(view: DomView) -> None:
    """Mark which browser stores work (``<html data-storage>``), for tests and for whoever debugs."""
    view.show_storage_support(await browser_storage())


# The language first: the view's widgets are built with their words (static/language.js chose
# the same one for index.html's text, by the same rule, before the page was drawn).
language = choose_language(page_query().get("lang"), stored_text(LANGUAGE_KEY), language_preferences())
use_language(language, load_translations(language, Path.cwd() / "app" / "locales"), **intl_formats(language))
page_view = DomView()
page_view.show_language(language, text_direction(language))
_held.append(start_task(start(page_view)))
