"""The only module that touches browser APIs for the logic: localStorage, fetch, the URL.

Everything here is a thin binding; the decisions live in the pure modules.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any, cast

import js
from pyodide.ffi import JsException, create_once_callable, create_proxy, jsnull, to_js
from pyscript import window

from . import bounded_json
from .api import MAX_ERROR_BODY, MAX_REPLY_SIZE, BodyStream, HttpResponse
from .archive import Archive, Change, MemoryArchive
from .drafts import KeptDrafts
from .errors import BodyCutShort, NetworkError, RedirectRefused
from .i18n import N_, intl_locale
from .resume import CallbackFuture
from .storage import Storage, StorageSupport


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


PROBE_KEY = "pychat:probe"
"""The localStorage key and IndexedDB database :func:`browser_storage` writes to test them (removed after)."""

# Resolves true if an IndexedDB database opens within `ms` (then closes and deletes it), else false.
# A refused open's error is handled here (preventDefault), so nothing reaches the page's error handlers.
_INDEXED_DB_WORKS = js.Function.new(
    "name",
    "ms",
    """return new Promise((resolve) => {
      let timer = 0;
      const done = (works) => { clearTimeout(timer); resolve(works); };
      timer = setTimeout(() => done(false), ms);
      try {
        const request = indexedDB.open(name);
        request.onsuccess = () => {
          try { request.result.close(); indexedDB.deleteDatabase(name); } catch {}
          done(true);
        };
        request.onerror = (event) => { event.preventDefault(); done(false); };
      } catch {
        done(false);
      }
    });""",
)


def local_storage_works() -> bool:
    """Whether localStorage can be read and written now (a key is written and removed to find out)."""
    try:
        ls = window.localStorage
        ls.setItem(PROBE_KEY, "1")
        ls.removeItem(PROBE_KEY)
        return True
    except Exception:  # noqa: BLE001 - SecurityError (blocked), QuotaExceededError (full), no storage at all
        return False


async def browser_storage(timeout: float = 3.0) -> StorageSupport:
    """Which of localStorage and IndexedDB work for this page, found by using them.

    With site data blocked, both are false; IndexedDB counts as not working
    if a database does not open within ``timeout`` seconds.

        support = await browser_storage()
        store = IndexedStore() if support.indexed_db else MemoryStore()
    """
    try:
        indexed = bool(await _INDEXED_DB_WORKS(PROBE_KEY, timeout * 1000))
    except JsException:
        indexed = False
    return StorageSupport(local_storage=local_storage_works(), indexed_db=indexed)


async def post_json(url: str, body: dict[str, str]) -> HttpResponse:
    """POST ``body`` as JSON; raise :class:`NetworkError` when no HTTP answer arrives.

    A redirect is never followed (nothing is sent where it points): it raises
    :class:`~app.errors.RedirectRefused`. A body over
    :data:`~app.api.MAX_REPLY_SIZE` bytes is not read past the limit (nor at
    all when its ``Content-Length`` says so): it comes back ``too_large``. Of an
    error's body only the first :data:`~app.api.MAX_ERROR_BODY` bytes are read.

    It accepts a streamed answer too: a 2xx ``text/event-stream`` response
    comes back as soon as its headers are in, with its body as a
    :class:`~app.api.BodyStream` that the text fills as it arrives.

    Cancelling the awaiting task aborts the browser request too. The status
    and the body are read in one JavaScript promise chain, whose last callback
    resumes the awaiting task then and there (:mod:`app.resume`): the reply is
    handled in the browser task that received it, with no trip through the
    event loop.
    """
    controller = js.AbortController.new()
    request = next(_request_ids)
    future = _pending[request] = CallbackFuture[HttpResponse]()
    _aborts[request] = controller
    try:
        try:
            _POST_JSON(url, json.dumps(body), controller.signal, request)
        except JsException as exc:  # failures come through _settle; this is only in case
            raise NetworkError(str(exc)) from exc
        return await future
    except BaseException:  # cancelled (Stop, a timeout, a new conversation)
        _pending.pop(request, None)
        _aborts.pop(request, None)
        controller.abort()
        raise


def _settle(request: int, status: int, text: str, error: str | None = None) -> None:
    """The end of ``_POST_JSON``'s promise chain, called from JavaScript (``error`` left out when it worked)."""
    future = _pending.pop(request, None)
    _aborts.pop(request, None)
    if future is None:
        return  # given up on meanwhile
    if error is not None and status:  # the answer began, then its body stopped short
        future.fail(BodyCutShort(f"the answer ({status}) stopped before its body was complete: {error}"))
    elif error is not None:  # TypeError "Failed to fetch", the abort above
        future.fail(NetworkError(error))
    else:
        future.settle(HttpResponse(int(status), str(text)))


def _refused(request: int, status: int, why: str) -> None:
    """The answer is not read: ``why`` is ``"redirect"`` (not followed) or ``"too-large"`` (over the limit)."""
    future = _pending.pop(request, None)
    _aborts.pop(request, None)
    if future is None:
        return
    if why == "redirect":
        future.fail(RedirectRefused(N_("the server answered with a redirect, which the page does not follow")))
    else:
        future.settle(HttpResponse(int(status), "", too_large=True))


def _opened(request: int, status: int) -> None:
    """A streamed answer's headers are in: the awaiting task gets it now, its body as it comes."""
    future = _pending.pop(request, None)
    controller = _aborts.pop(request, None)
    if future is None or controller is None:
        return
    stream = _streams[request] = BodyStream(controller.abort, loop=future.get_loop())
    future.settle(HttpResponse(int(status), "", stream))


def _chunk(request: int, text: str) -> None:
    stream = _streams.get(request)
    if stream is not None:
        stream.push(str(text))


def _finished(request: int, error: str | None = None) -> None:
    """The streamed body is complete, or was cut short (``error`` left out when it was not)."""
    stream = _streams.pop(request, None)
    if stream is not None:
        stream.end(None if error is None else NetworkError(error))


_pending: dict[int, CallbackFuture[HttpResponse]] = {}
_aborts: dict[int, Any] = {}
_streams: dict[int, BodyStream] = {}
_request_ids = itertools.count()

# Posts, then reads the status and body, all in JavaScript: Python is entered once, when both
# are in, with two strings rather than a response object to convert. (Not a Pyodide future:
# awaiting a JavaScript promise resumes the task two browser tasks after the promise settles.)
# A streamed body is decoded here and handed over piece by piece; any other body is read whole, but
# never past `limit` bytes. Redirects are not followed ('manual': the browser sends nothing to where
# they point and hands over an opaque answer, which is refused). When the benchmark sets
# globalThis.__chatStreamMarks, each piece's arrival is marked first (`python3 -m bench`).
_POST_JSON = js.Function.new(
    "settle",
    "opened",
    "chunk",
    "finished",
    "refused",
    "limit",
    "errorLimit",
    """const streamed = (response) => response.ok && response.body
      && /^\\s*text\\/event-stream\\s*(;|$)/i.test(response.headers.get('Content-Type') || '');
    const pump = async (request, body) => {
      try {
        const reader = body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (!value) continue;
          if (globalThis.__chatStreamMarks) performance.mark('chat:stream-chunk', {detail: value});
          chunk(request, value);
        }
        finished(request);
      } catch (error) {
        finished(request, String(error));
      }
    };
    const bounded = async (request, response) => {
      if (!response.body) return settle(request, response.status, '');
      const cap = response.ok ? limit : errorLimit;  // an error's body: only its start is read
      if (response.ok && Number(response.headers.get('Content-Length')) > limit) {  // not read at all
        response.body.cancel().catch(() => {});
        return refused(request, response.status, 'too-large');
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const parts = [];
      for (let size = 0; ;) {
        let read;
        try {
          read = await reader.read();
        } catch (error) {  // the body stopped short (a Content-Length it never met, a dropped connection)
          return settle(request, response.status, '', String(error));
        }
        const { value, done } = read;
        if (done) break;
        size += value.byteLength;
        if (size > cap) {
          reader.cancel().catch(() => {});
          if (response.ok) return refused(request, response.status, 'too-large');
          parts.push(decoder.decode(value.subarray(0, value.byteLength - (size - cap))));
          break;
        }
        parts.push(decoder.decode(value, {stream: true}));
      }
      parts.push(decoder.decode());
      settle(request, response.status, parts.join(''));
    };
    return (url, body, signal, request) => {
      fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json',
                                            'Accept': 'text/event-stream, application/json'},
                  body, signal, redirect: 'manual'})
        .then((response) => {
          if (response.type === 'opaqueredirect') return refused(request, 0, 'redirect');
          if (!streamed(response)) return bounded(request, response);
          opened(request, response.status);
          return pump(request, response.body);
        })
        .catch((error) => settle(request, 0, '', String(error)));
    };""",
)(create_proxy(_settle), create_proxy(_opened), create_proxy(_chunk), create_proxy(_finished),
  create_proxy(_refused), MAX_REPLY_SIZE, MAX_ERROR_BODY)


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


def defer(seconds: float, callback: Callable[[], None]) -> None:
    """Call ``callback`` in a browser task of its own, ``seconds`` from now (0: once the current work is done).

    In a hidden page it is called at once: browsers hold back a hidden page's
    timers (a second or more) and never run them once they freeze it.
    """
    if window.document.visibilityState == "hidden":
        callback()
        return
    js.setTimeout(create_once_callable(callback), seconds * 1000)


def on_page_hide(callback: Callable[[], None]) -> None:
    """Call ``callback`` when the page is hidden or unloaded: the last moment its work is sure to run."""

    def handler(event: Any) -> None:
        if event.type == "pagehide" or window.document.visibilityState == "hidden":
            callback()

    proxy = create_proxy(handler)
    _listeners.append(proxy)
    window.addEventListener("pagehide", proxy)
    window.document.addEventListener("visibilitychange", proxy)


def on_page_leave(callback: Callable[[], None]) -> None:
    """Call ``callback`` on ``pagehide``: the page is being unloaded (or put in the back/forward cache)."""
    proxy = create_proxy(lambda _event: callback())
    _listeners.append(proxy)
    window.addEventListener("pagehide", proxy)


def page_query() -> dict[str, str]:
    """The page URL's query parameters (first value of each)."""
    params = js.URLSearchParams.new(window.location.search)
    result: dict[str, str] = {}
    for name in ("api", "character", "lang"):
        if params.has(name):
            result[name] = str(params.get(name))
    return result


def language_preferences() -> list[str]:
    """The browser's languages, most preferred first (``navigator.languages``)."""
    languages = getattr(window.navigator, "languages", None)
    if languages is None or languages is jsnull:
        language = getattr(window.navigator, "language", None)
        return [str(language)] if isinstance(language, str) else []
    return [str(tag) for tag in languages if isinstance(tag, str)]


def stored_text(key: str) -> str | None:
    """``localStorage``'s value under ``key``, or None (absent, or storage blocked); untrusted, like all of it."""
    storage = local_storage()
    try:
        value = storage.get(key) if storage is not None else None
    except Exception:  # noqa: BLE001 - blocked between the two calls: nothing stored
        return None
    return value if isinstance(value, str) else None


_DATE_TIME = to_js({"dateStyle": "medium", "timeStyle": "short"}, dict_converter=js.Object.fromEntries)


def intl_formats(lang: str) -> dict[str, Callable[[float], str]]:
    """Number and date formats of ``lang`` from the browser's ``Intl``: ``use_language(..., **intl_formats(lang))``."""
    locale = intl_locale(lang)
    numbers = js.Intl.NumberFormat.new(locale)
    dates = js.Intl.DateTimeFormat.new(locale, _DATE_TIME)
    return {
        "number_format": lambda n: str(numbers.format(n)),
        "date_format": lambda ms: str(dates.format(js.Date.new(ms))),
    }


def page_connect_sources() -> list[str] | None:
    """The ``connect-src`` sources of the page's ``<meta>`` CSP (an exported page's), or None if it has none.

    A policy sent as a header (serve.py's) cannot be read by the page; serve.py's allows every
    loopback base the ``?api=`` rule accepts.
    """
    meta = window.document.querySelector('meta[http-equiv="Content-Security-Policy" i]')
    if meta is None or meta is jsnull:
        return None
    directives = {words[0].lower(): words[1:] for words in map(str.split, str(meta.content or "").split(";")) if words}
    return directives.get("connect-src", directives.get("default-src"))


def page_origin() -> str:
    return str(window.location.origin)


# ----- the archive: conversations in IndexedDB (static/archive.mjs) ------------------------------


class IndexedDbArchive:
    """:class:`~app.archive.Archive` over ``static/archive.mjs``: reads come back as one JSON string each."""

    def __init__(self, binding: Any) -> None:
        self._js = binding

    async def catalog(self) -> list[Any]:
        return _records(await self._js.catalog())

    async def messages(self, conversation_id: str) -> list[Any]:
        return _records(await self._js.messages(conversation_id))

    async def newest(self, conversation_id: str, count: int) -> tuple[list[Any], int]:
        text = await self._js.newest(conversation_id, count)
        try:
            data = bounded_json.loads(text) if isinstance(text, str) else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return [], 0
        found, total = data.get("messages"), data.get("total")
        found = found if isinstance(found, list) else []
        total = total if isinstance(total, int) and not isinstance(total, bool) else len(found)
        return found, max(total, len(found))

    def write(self, change: Change) -> Awaitable[None]:
        # Called now, so the transaction starts now: writes land in the order they were made.
        return cast(Awaitable[None], self._js.write(json.dumps(change.to_dict(), ensure_ascii=False)))

    async def search(self, text: str, limit: int) -> list[Any]:
        return _records(await self._js.search(text, limit))

    def prepare_search(self) -> None:
        # Every message is read once for searching; started when the dialog opens, while the query is typed.
        self._js.prepareSearch().catch(_ignore_failure)

    def clear(self) -> Awaitable[None]:
        return cast(Awaitable[None], self._js.clear())


def _records(text: Any) -> list[Any]:
    """What the archive read: a JSON list (junk another script stored reads as nothing)."""
    try:
        data = bounded_json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return []
    return data if isinstance(data, list) else []


async def estimate_storage() -> tuple[float, float] | None:
    """``(usage, quota)`` in bytes as the browser reports them for this origin, or None where it does not."""
    storage = getattr(window.navigator, "storage", None)
    if storage is None or storage is jsnull or not hasattr(storage, "estimate"):
        return None
    try:
        found = await storage.estimate()
        usage, quota = float(found.usage or 0), float(found.quota or 0)
    except Exception:  # noqa: BLE001 - blocked site data, an old browser: nothing to report
        return None
    return (usage, quota) if quota > 0 else None


_ignore_failure = create_proxy(lambda _error: None)  # a failed read ahead: the search itself reports it

ARCHIVE_OPEN_LIMIT = 10.0  # seconds: an open that never settles must not keep the page from starting


async def _awaited(promise: Any) -> Any:
    return await promise


async def indexed_db_archive() -> tuple[Archive, str | None]:
    """The page's archive, and None; or, when IndexedDB is blocked or broken, one in memory and why."""
    binding = getattr(js, "pychatArchive", None)
    if binding is None or binding is jsnull:
        return MemoryArchive(), N_("The conversation store did not load.")
    try:
        await asyncio.wait_for(_awaited(binding.open()), ARCHIVE_OPEN_LIMIT)
    except TimeoutError:
        return MemoryArchive(), N_("IndexedDB did not open within {limit} seconds.", limit=ARCHIVE_OPEN_LIMIT)
    except Exception as exc:  # noqa: BLE001 - SecurityError, InvalidStateError, blocked: keep nothing
        detail = " ".join(str(exc).split())[:120] or type(exc).__name__
        return MemoryArchive(), N_("IndexedDB is not available: {detail}.", detail=detail)
    return IndexedDbArchive(binding), None


class IndexedDbDrafts:
    """:class:`~app.drafts.DraftBackend` over ``static/archive.mjs``'s drafts store."""

    def __init__(self, binding: Any) -> None:
        self._js = binding

    def put(self, config_id: str, text: str | None) -> Awaitable[None]:
        # Called now, so the transaction starts now: a character's changes land in the order made.
        return cast(Awaitable[None], self._js.putDraft(config_id, text))


async def kept_drafts() -> KeptDrafts | None:
    """The drafts as IndexedDB keeps them (read ahead while Python started); None where it cannot keep them."""
    binding = getattr(js, "pychatArchive", None)
    if binding is None or binding is jsnull:
        return None
    try:
        text = await asyncio.wait_for(_awaited(binding.drafts()), ARCHIVE_OPEN_LIMIT)
    except Exception:  # noqa: BLE001 - blocked, broken, too slow: drafts stay in localStorage, as before
        return None
    return KeptDrafts(IndexedDbDrafts(binding), _records(text), local_storage())


def on_draft_change(drafts: KeptDrafts, callback: Callable[[str], object]) -> None:
    """Call ``callback(key)`` when another tab committed a draft, once ``drafts`` holds it."""
    binding = getattr(js, "pychatArchive", None)
    if binding is None or binding is jsnull:
        return

    def changed(config_id: Any, text: Any = None) -> None:
        if isinstance(config_id, str):
            callback(drafts.changed_elsewhere(config_id, text if isinstance(text, str) else None))

    proxy = create_proxy(changed)
    _listeners.append(proxy)
    binding.onDraft(proxy)


def on_archive_change(callback: Callable[[], object]) -> None:
    """Call ``callback()`` when another tab of this page wrote conversations."""
    binding = getattr(js, "pychatArchive", None)
    if binding is None or binding is jsnull:
        return
    proxy = create_proxy(lambda *_args: callback())
    _listeners.append(proxy)
    binding.onChange(proxy)


def tab_prefix() -> str:
    """A random id for this tab's records (Python's own random state is the same in every tab after a snapshot)."""
    return str(js.crypto.randomUUID()).replace("-", "")[:12]
