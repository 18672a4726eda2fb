"""Replies formatted as Markdown (``app/markdown.py``), once markdown-it is loaded.

The page starts without it: importing markdown-it is a moment's work, and
nothing needs it before the first reply is shown. :func:`load_formatter`
takes it from a memory snapshot when one holds it (a returning visitor:
at once), and otherwise imports it when the browser is idle, a module at a
time so that no single task holds up the page. Until then replies are shown
as written, and :class:`~app.view.messages.MessageList` formats them as soon
as the formatter arrives.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from types import ModuleType
from typing import Any

import js
from pyodide.ffi import create_once_callable

from ..transcript import MAX_FORMATTED_CHARS

MODULE = "app.markdown"
# What importing app.markdown imports, in pieces: one browser task each, so that no single
# task holds the page up for long (markdown-it's own package is one piece: its __init__
# imports the rest). Each is in the page's standard library, compiled.
STEPS = ("ipaddress", "urllib.parse", "html.entities", "mdurl", "markdown_it")
IDLE_TIMEOUT_MS = 2000  # imported by then even on a page that is never idle


class Formatter:
    """Markdown for the message list: one reply's nodes, and the builder that puts them in the DOM."""

    def __init__(self, markdown: ModuleType) -> None:
        self.markdown = markdown
        self.build = js.Function.new(*markdown.JS_BUILDER_PARAMETERS, markdown.JS_BUILDER_BODY)

    def nodes(self, text: str) -> list[Any] | None:
        """A finished reply's nodes (see ``app.markdown.markdown_tree``); None for one too long to format,
        shown as written (``fill_text``)."""
        if len(text) > MAX_FORMATTED_CHARS:
            return None
        nodes: list[Any] = self.markdown.markdown_tree(text)
        return nodes

    @staticmethod
    def encode(nodes: list[Any]) -> str:
        """Nodes as JSON for :attr:`build`: one call into JavaScript builds them all."""
        return json.dumps(nodes, ensure_ascii=False, separators=(",", ":"))

    def words(self, nodes: list[Any]) -> str:
        """What the nodes say, without markup: for a screen reader."""
        return str(self.markdown.text_of(nodes))

    def live(self) -> Any:
        """A new ``app.markdown.LiveMarkdown``, for a reply still streaming."""
        return self.markdown.LiveMarkdown()


def loaded_formatter() -> Formatter | None:
    """The formatter now, if its module is already loaded (restored from a snapshot), else None."""
    module = sys.modules.get(MODULE)
    return Formatter(module) if module is not None else None


async def load_formatter() -> Formatter | None:
    """Import markdown-it in idle time, a module per task; None (and a console warning) if it cannot be."""
    try:
        for name in (*STEPS, MODULE):
            await _idle()
            importlib.import_module(name)
        return Formatter(sys.modules[MODULE])
    except Exception as error:  # noqa: BLE001 - replies stay readable as written
        js.console.warn(f"Replies are shown as written: Markdown could not be loaded ({error!r})")
        return None


async def _idle() -> None:
    """Until the browser is idle (or :data:`IDLE_TIMEOUT_MS` has passed)."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake(*_args: Any) -> None:
        if not future.done():
            future.set_result(None)

    if hasattr(js, "requestIdleCallback"):
        js.requestIdleCallback(create_once_callable(wake), js.Object.fromEntries([["timeout", IDLE_TIMEOUT_MS]]))
    else:
        js.setTimeout(create_once_callable(wake), 0)
    await future
