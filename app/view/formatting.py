"""Replies formatted as Markdown (``app/markdown.py``), once markdown-it is loaded.

The page starts without it: importing markdown-it is a moment's work, and
nothing needs it before the first reply is shown. :func:`load_formatter`
takes it from a memory snapshot when one holds it (a returning visitor:
at once), and otherwise imports it when the browser is idle, a few modules
per task (``app/stepwise.py``) so that no single task holds up the page.
Until then replies are shown as written, and :class:`~app.view.messages.MessageList` formats them as soon
as the formatter arrives.
"""

from __future__ import annotations

import asyncio
import json
import sys
from types import ModuleType
from typing import Any

import js
from pyodide.ffi import create_once_callable

from ..stepwise import StepwiseImport
from ..transcript import MAX_FORMATTED_CHARS

MODULE = "app.markdown"
# markdown-it's modules in the order a plain `import markdown_it` finishes them, each after the
# ones it imports (tests/unit/test_stepwise.py checks the list against the pinned markdown-it-py):
# imported one at a time (app/stepwise.py), no step holds the page up for long. Its one import
# took 195 ms in a first visit's idle time, the longest task after ready.
MARKDOWN_IT = (
    "markdown_it.common", "markdown_it.common.entities", "markdown_it.common.utils",
    "markdown_it.helpers.parse_link_destination", "markdown_it.utils", "markdown_it.ruler", "markdown_it.token",
    "markdown_it.rules_inline.state_inline", "markdown_it.rules_inline.emphasis",
    "markdown_it.rules_inline.strikethrough", "markdown_it.rules_inline.autolink",
    "markdown_it.rules_inline.backticks", "markdown_it.rules_inline.balance_pairs", "markdown_it.rules_inline.entity",
    "markdown_it.rules_inline.escape", "markdown_it.rules_inline.fragments_join", "markdown_it.common.html_re",
    "markdown_it.rules_inline.html_inline", "markdown_it.rules_inline.image", "markdown_it.rules_inline.link",
    "markdown_it.rules_inline.linkify", "markdown_it.rules_inline.newline", "markdown_it.rules_inline.text",
    "markdown_it.rules_inline", "markdown_it.helpers.parse_link_label", "markdown_it.helpers.parse_link_title",
    "markdown_it.helpers", "markdown_it.presets.commonmark", "markdown_it.presets.default",
    "markdown_it.presets.zero", "markdown_it.presets", "markdown_it._punycode", "markdown_it.common.normalize_url",
    "markdown_it.rules_block.state_block", "markdown_it.rules_block.blockquote", "markdown_it.rules_block.code",
    "markdown_it.rules_block.fence", "markdown_it.rules_block.heading", "markdown_it.rules_block.hr",
    "markdown_it.common.html_blocks", "markdown_it.rules_block.html_block", "markdown_it.rules_block.lheading",
    "markdown_it.rules_block.list", "markdown_it.rules_block.paragraph", "markdown_it.rules_block.reference",
    "markdown_it.rules_block.table", "markdown_it.rules_block", "markdown_it.parser_block",
    "markdown_it.rules_core.state_core", "markdown_it.rules_core.block", "markdown_it.rules_core.inline",
    "markdown_it.rules_core.linkify", "markdown_it.rules_core.normalize", "markdown_it.rules_core.replacements",
    "markdown_it.rules_core.smartquotes", "markdown_it.rules_core.text_join", "markdown_it.rules_core",
    "markdown_it.parser_core", "markdown_it.parser_inline", "markdown_it.renderer", "markdown_it.main", "markdown_it",
)
# What importing app.markdown imports, in that order, then app.markdown itself. Each is in the
# page's standard library, compiled.
STEPS = ("ipaddress", "urllib.parse", "html.entities", "mdurl", *MARKDOWN_IT, MODULE)
SLICE_MS = 12  # steps run in one idle callback until this much time has passed
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
    """Import markdown-it in idle time, a few modules per task; None (and a console warning) if it cannot be."""
    steps = StepwiseImport(STEPS)
    try:
        while not steps.done:
            await _idle()
            started = js.performance.now()
            while not steps.done and js.performance.now() - started < SLICE_MS:
                steps.step()
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
