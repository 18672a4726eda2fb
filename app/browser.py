"""The only module that touches browser APIs for the logic: localStorage, fetch, the URL.

Everything here is a thin binding; the decisions live in the pure modules.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import JsException, create_proxy, jsnull
from pyscript import window

from .api import HttpResponse
from .errors import NetworkError
from .storage import Storage


class LocalStorage:
    """:class:`~app.storage.Storage` over ``window.localStorage`` (values stay raw strings)."""

    def __init__(self, local_storage: Any) -> None:
        self._ls = local_storage

    def get(self, key: str) -> str | None:
        value = self._ls.getItem(key)
        return value if isinstance(value, str) else None  # a missing key is JavaScript null

    def set(self, key: str, value: str) -> None:
        self._ls.setItem(key, value)

    def remove(self, key: str) -> None:
        self._ls.removeItem(key)

    def keys(self) -> list[str]:
        found = (self._ls.key(i) for i in range(int(self._ls.length)))
        return [key for key in found if isinstance(key, str)]  # a key removed meanwhile reads as null


def local_storage() -> Storage | None:
    """The page's localStorage, or None when the browser blocks it."""
    try:
        ls = window.localStorage
        if ls is None or ls is jsnull or not hasattr(ls, "getItem"):
            return None
        return LocalStorage(ls)
    except Exception:  # noqa: BLE001 - SecurityError and friends: storage is blocked
        return None


async def post_json(url: str, body: dict[str, str]) -> HttpResponse:
    """POST ``body`` as JSON; raise :class:`NetworkError` when no HTTP answer arrives.

    Cancelling the awaiting task aborts the browser request too. The status
    and the body are read in one JavaScript promise chain, so Python wakes
    up once per request (each wake-up is a browser task).
    """
    controller = js.AbortController.new()
    try:
        status, text = await _POST_JSON(url, json.dumps(body), controller.signal)
    except JsException as exc:  # TypeError "Failed to fetch", or the abort below
        raise NetworkError(str(exc)) from exc
    except BaseException:
        controller.abort()
        raise
    return HttpResponse(int(status), str(text))


# Posts, then reads the status and body, all in JavaScript: Python is entered once, when both
# are in, and gets two strings and a signal rather than a request object to convert. (Not
# ``js.fetch(...).then(...)``: on a JavaScript promise, Pyodide's ``then`` is a Python method,
# which chains through the event loop, one browser task per step.)
_POST_JSON = js.Function.new(
    "url",
    "body",
    "signal",
    "return fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'}, body, signal})"
    ".then((response) => response.text().then((text) => [response.status, text]));",
)


_listeners: list[Any] = []


def on_storage_change(callback: Callable[[str | None], None]) -> None:
    """Call ``callback(key)`` when another tab changes localStorage (``None``: it was cleared)."""

    def handler(event: Any) -> None:
        if event.storageArea != window.localStorage:
            return  # sessionStorage changes are not ours
        key = event.key
        callback(key if isinstance(key, str) else None)

    proxy = create_proxy(handler)
    _listeners.append(proxy)  # keep the proxy alive for the page's lifetime
    window.addEventListener("storage", proxy)


def on_connectivity_change(callback: Callable[[bool], None]) -> None:
    """Call ``callback(online)`` now and whenever the browser goes offline or back online."""
    for name, online in (("online", True), ("offline", False)):
        proxy = create_proxy(lambda _event, online=online: callback(online))
        _listeners.append(proxy)
        window.addEventListener(name, proxy)
    if not window.navigator.onLine:
        callback(False)


def page_query() -> dict[str, str]:
    """The page URL's query parameters (first value of each)."""
    params = js.URLSearchParams.new(window.location.search)
    result: dict[str, str] = {}
    for name in ("api", "character"):
        if params.has(name):
            result[name] = str(params.get(name))
    return result


def page_origin() -> str:
    return str(window.location.origin)
