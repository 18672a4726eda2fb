"""Small DOM helpers the widgets share: building elements, null checks, bidi isolation, listeners."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyodide.ffi import create_proxy, jsnull
from pyscript import document

FSI, PDI = "\u2068", "\u2069"  # first-strong isolate: a name's RTL overrides cannot flip our sentence


def isolated(text: str) -> str:
    """Outside text placed inside one of our sentences, isolated for bidi."""
    return f"{FSI}{text}{PDI}"


def found(node: Any) -> bool:
    """True for a DOM node; DOM lookups return JavaScript null (``jsnull``), not ``None``."""
    return node is not None and node is not jsnull


def el(tag: str, *, cls: str | None = None, text: str | None = None, **attrs: str) -> Any:
    """A new element; ``data_testid="x"`` sets ``data-testid``. Text goes in as text, never as HTML."""
    node = document.createElement(tag)
    if cls:
        node.className = cls
    if text is not None:
        node.textContent = text
    for name, value in attrs.items():
        node.setAttribute(name.replace("_", "-"), value)
    return node


class Announcer:
    """The page's polite live region (``#announcer``): what screen readers hear of new replies."""

    def __init__(self, node: Any) -> None:
        self.node = node

    def say(self, text: str) -> None:
        self.node.textContent = text


class Listeners:
    """Adds event listeners whose failures show in the page, and keeps their proxies alive.

    ``report`` is given every exception a handler raises (before it is raised
    on): an exception in a listener would otherwise reach only the console.
    """

    def __init__(self, report: Callable[[Exception], None]) -> None:
        self._report = report
        self._proxies: list[Any] = []

    def keep(self, proxy: Any) -> Any:
        """Keep ``proxy`` alive for the page's lifetime; returns it."""
        self._proxies.append(proxy)
        return proxy

    def on(self, element: Any, event: str, handler: Callable[[Any], object], *, only: Any = None) -> None:
        """Call ``handler`` for ``event``s on ``element`` (those ``only`` passes on, when given)."""
        report = self._report

        def guarded(event: Any) -> None:
            try:
                handler(event)
            except Exception as exc:  # a failing handler must show in the page, not vanish
                report(exc)
                raise

        listener = self.keep(create_proxy(guarded))
        element.addEventListener(event, listener if only is None else only(listener))
