"""End-to-end tests: Chromium (Playwright) against `serve.py` and its demo proxy.

A browser is required: Playwright's own Chromium if installed, else Debian's
`/usr/bin/chromium`. When neither exists the run fails; it never skips.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from serving.browsers import CHROMIUM_ARGS, ChromiumNotFound, find_chromium
from serving.http import LocalServer, QuietHandler
from serving.runtime import PYODIDE_PACKAGE, pinned_versions, runtime_dirs

ROOT = Path(__file__).resolve().parents[2]
# The page is ready (usable) before its first session exists; most tests want both.
READY = "html[data-app-state=ready]:not([data-setting-up])"
LOCALE = "en-US"  # every context's navigator.languages, unless a test asks for another


# Pages start without Pyodide memory snapshots unless a test asks for them (see
# test_snapshot.py): hiding Cache Storage is what a page on an insecure origin
# sees, and it keeps every other test on the same, ordinary start.
NO_SNAPSHOTS = "Object.defineProperty(globalThis, 'caches', {value: undefined, configurable: true});"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """English browsers, whatever the machine's language: the page follows navigator.languages."""
    return {**browser_context_args, "locale": LOCALE}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any], playwright: Playwright) -> dict[str, Any]:
    """Playwright's own Chromium if installed, else the system's; the run fails (never skips) without one."""
    try:
        executable = find_chromium(playwright)
    except ChromiumNotFound as error:
        pytest.fail(str(error), pytrace=False)
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve.py exited early:\n{process.stdout.read() if process.stdout else ''}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@dataclass
class Server:
    """The page and the demo proxy, with the proxy's test-only fault switches."""

    url: str
    api: str

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.api}/__test__/{path}",
            data=data,
            method="GET" if data is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def fault(self, endpoint: str, kind: str, **options: Any) -> None:
        self.control("fault", {"endpoint": endpoint, "kind": kind, **options})

    def hold(self, endpoint: str, times: int = 1) -> None:
        """Hold the next ``times`` requests to ``endpoint`` until :meth:`release` (not for a fixed time)."""
        self.fault(endpoint, "hold", times=times)

    def release(self) -> None:
        self.control("release", {})

    def wait_for_requests(self, path: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        """The proxy's log of ``path`` once it holds ``count`` requests (AssertionError after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while len(found := self.requests(path)) < count:
            assert time.monotonic() < deadline, f"{len(found)} of {count} requests to {path} in {timeout} s"
            time.sleep(0.05)
        return found

    def expire(self, session_id: str | None = None, status: int = 410) -> None:
        self.control("expire", {"status": status, **({"session_id": session_id} if session_id else {})})

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        found = self.control("log")["requests"]
        return [r for r in found if path is None or r["path"] == path]

    def create_session(self, config_id: str) -> str:
        request = urllib.request.Request(f"{self.api}/api/sessions", data=json.dumps({"config_id": config_id}).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(json.loads(response.read())["session_id"])


@contextmanager
def serve() -> Iterator[Server]:
    """Run serve.py (page and demo proxy with its test switches) on free ports.

    The demo proxy streams its replies, without pauses between words: every
    test goes through the streaming path, and tests that need it slow ask a
    ``stream`` fault for their own pauses.
    """
    port, api_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "serve.py"), "--port", str(port), "--api-port", str(api_port), "--test-faults",
         "--stream-delay-ms", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        page_url, api_url = f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{api_port}"
        wait_for(page_url, process)
        wait_for(f"{api_url}/__test__/log", process)
        yield Server(page_url, api_url)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with serve() as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_proxy(request: pytest.FixtureRequest) -> None:
    if "server" in request.fixturenames:
        request.getfixturevalue("server").control("reset", {})


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught errors in the page; a test that expects some clears the list after checking them."""
    return []


@pytest.fixture
def csp_reports() -> list[str]:
    """Content-Security-Policy violations and policy errors Chromium reported, across navigations."""
    return []


def watch(page: Page, page_errors: list[str], csp_reports: list[str]) -> Page:
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    page.on("console", lambda msg: csp_reports.append(msg.text) if "Content Security Policy" in msg.text else None)
    return page


@pytest.fixture(autouse=True)
def _no_page_errors_or_csp_reports(page_errors: list[str], csp_reports: list[str]) -> Iterator[None]:
    """Every e2e test fails on an uncaught page error or any CSP report, whichever way it made its pages."""
    yield
    assert page_errors == [], f"uncaught errors in the page: {page_errors}"
    assert csp_reports == [], f"Content-Security-Policy reports: {csp_reports}"


@pytest.fixture
def context(context: BrowserContext, page_errors: list[str], csp_reports: list[str]) -> BrowserContext:
    context.set_default_timeout(15_000)
    context.add_init_script(NO_SNAPSHOTS)
    context.on("page", lambda page: watch(page, page_errors, csp_reports))
    return context


# The warm context's keeper page holds Pyodide's wasm module, compiled, so that every page of the same
# renderer process reuses its machine code (V8 shares a compiled module by its bytes within a process).
KEEP_WASM = "async (url) => { globalThis.keptPyodide = await WebAssembly.compileStreaming(fetch(url)); }"

# What a test can leave in the warm context's origins, each asked of every origin its pages talked to
# (the keeper is on the page's origin; `verify` opens nothing else): all must be empty again.
LEFT_BEHIND = """async () => ({
  localStorage: localStorage.length,
  indexedDB: (await indexedDB.databases()).map((d) => d.name),
  cacheStorage: await caches.keys(),
  serviceWorkers: (await navigator.serviceWorker.getRegistrations()).length,
  persisted: await navigator.storage.persisted(),
  cookies: document.cookie,
  httpCache: await fetch("/", {cache: "only-if-cached", mode: "same-origin"}).then(() => "index.html", () => null),
})"""
CLEAN = {"localStorage": 0, "indexedDB": [], "cacheStorage": [], "serviceWorkers": 0, "cookies": "", "httpCache": None}


# Empties localStorage; how many keys it held.
CLEAR_LOCAL_STORAGE = "() => { const held = localStorage.length; localStorage.clear(); return held; }"


def origin_of(url: str) -> str | None:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if scheme in ("http", "https") else None


class WarmContext:
    """One browser context per worker, emptied between tests, whose renderer keeps Pyodide compiled.

    A fresh context per test starts a new renderer process, which compiles
    Pyodide's 9.6 MB of wasm again and runs Python cold: about 5 CPU-seconds a
    first visit, against about 2 here. This context lives in a browser started
    with ``--process-per-site`` (one renderer for all the pages of the site),
    and an idle keeper page holds the compiled module, so each test's page
    reuses the machine code. Nothing else is kept: after each test every page
    but the keeper is closed, and cookies, permissions, routes, offline mode,
    the HTTP cache and all storage of every origin the context talked to are
    cleared (``Storage.clearDataForOrigin`` with ``all``), and :meth:`verify`
    checks that none of it is left, failing the test that left it otherwise.

    A test's page therefore still sees a first visit: empty localStorage,
    IndexedDB and Cache Storage, no cached responses (everything is fetched
    again), no granted permissions. Only start-up is quicker. Tests that open a
    second tab, or change their context (init scripts, permissions, routes on
    the context), ask for ``context`` and get a fresh one: two tabs here would
    share one process and one localStorage cache, which hides cross-tab races.
    """

    def __init__(self, browser: Browser, server: Server, context_args: dict[str, Any]) -> None:
        self.browser, self.server, self.context_args = browser, server, context_args
        self.context: BrowserContext | None = None

    def _open(self) -> BrowserContext:
        # As new_context's: English, and no service worker (tests/e2e/test_offline.py has its own contexts).
        context = self.browser.new_context(**{"locale": LOCALE, "service_workers": "block", **self.context_args})
        context.set_default_timeout(15_000)
        self.keeper = context.new_page()
        self.keeper.goto(self.server.url + "static/favicon.svg")
        pyodide = runtime_dirs(pinned_versions(ROOT))[PYODIDE_PACKAGE]
        self.keeper.evaluate(KEEP_WASM, f"/runtime/{pyodide}/pyodide.asm.wasm")
        context.add_init_script(NO_SNAPSHOTS)  # after the keeper loaded: it checks Cache Storage in `verify`
        self.cdp = context.new_cdp_session(self.keeper)
        self.origins: set[str] = set()
        context.on("request", lambda request: self.origins.add(origin_of(request.url) or ""))
        self.context = context
        return context

    def new_page(self, page_errors: list[str], csp_reports: list[str]) -> Iterator[Page]:
        if self.context is not None and self.keeper.is_closed():  # its renderer crashed
            self.close()
        context = self.context or self._open()
        opened: list[Page] = []

        def record(new: Page) -> None:
            opened.append(new)

        context.on("page", record)
        page = watch(context.new_page(), page_errors, csp_reports)
        try:
            yield page
        finally:
            context.remove_listener("page", record)
            self.empty()
        extra = [p for p in opened if p is not page]
        assert not extra, "a test that opens more than one tab must ask for the `context` fixture (a fresh one)"
        self.verify()

    def empty(self) -> None:
        assert self.context is not None
        for other in self.context.pages:
            if other is not self.keeper:
                other.close()
        # The closed pages' last localStorage writes (pagehide) go through this renderer's copy of the
        # origin's storage, which the keeper shares: clearing it here comes after them, in order.
        self.keeper.evaluate("localStorage.clear()")
        # A page closed with a reply pending notes it in localStorage on pagehide (app.sending.page_left,
        # through the archive's journal); that note can land just after the clear: clear once more after it.
        # (A draft the page was writing as it closed is noted the same way, app.drafts.KeptDrafts.) When
        # one did land late, others may still: look once more, a little later.
        self.keeper.wait_for_timeout(100)
        if self.keeper.evaluate(CLEAR_LOCAL_STORAGE):
            self.keeper.wait_for_timeout(300)
            self.keeper.evaluate(CLEAR_LOCAL_STORAGE)
        self.context.unroute_all(behavior="ignoreErrors")
        self.context.set_offline(False)
        self.context.clear_cookies()
        self.context.clear_permissions()
        self.cdp.send("Network.clearBrowserCache")
        for origin in sorted(self.origins - {""}):
            self.cdp.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})

    def verify(self) -> None:
        """Fail the test just run unless the context is as a fresh one, for every origin its pages talked to.

        One thing cannot be emptied: Chromium counts a site's engagement (every
        click and key press) per context and, past some level, grants the
        ``navigator.storage.persist()`` the page asks for. When that shows,
        the context is replaced, so each test still starts unpersisted.
        """
        assert self.context is not None
        left: dict[str, Any] = {}
        if self.context.pages != [self.keeper]:
            left["pages"] = [p.url for p in self.context.pages if p is not self.keeper]
        if self.context.cookies():
            left["cookies"] = self.context.cookies()
        found = self.keeper.evaluate(LEFT_BEHIND)
        engaged = found.pop("persisted")
        if found != CLEAN:
            left[origin_of(self.server.url) or ""] = found
        for origin in sorted(self.origins - {""}):
            usage = self.cdp.send("Storage.getUsageAndQuota", {"origin": origin})
            if kept := {b["storageType"]: b["usage"] for b in usage["usageBreakdown"] if b["usage"]}:
                left[origin] = kept
        if left or engaged:
            self.close()  # the next test starts a new one
        if left:
            pytest.fail(f"this test left state in the warm context: {left}", pytrace=False)

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None


@pytest.fixture(scope="session")
def warm_browser(playwright: Playwright, browser_type_launch_args: dict[str, Any]) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        **{**browser_type_launch_args, "args": [*browser_type_launch_args["args"], "--process-per-site"]})
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def warm_context(warm_browser: Browser, server: Server, browser_context_args: dict[str, Any]) -> Iterator[WarmContext]:
    warm = WarmContext(warm_browser, server, browser_context_args)
    yield warm
    warm.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, page_errors: list[str], csp_reports: list[str]) -> Iterator[Page]:
    """A page on a first visit: from the warm context, or from ``context`` when the test asks for that too."""
    if "context" in request.fixturenames:
        yield request.getfixturevalue("context").new_page()
        return
    yield from request.getfixturevalue("warm_context").new_page(page_errors, csp_reports)


@pytest.fixture
def new_context(
    browser: Browser, page_errors: list[str], csp_reports: list[str]
) -> Iterator[Callable[..., BrowserContext]]:
    """Make extra browser contexts (other viewports, CSP bypassed...) whose pages are watched too.

    ``snapshots=True`` shows the page Cache Storage (so it makes and uses Pyodide
    snapshots); the page's service worker is blocked unless ``offline=True`` asks
    for it too (tests/e2e/test_offline.py), so that other tests' routes see every request.
    """
    made: list[BrowserContext] = []

    def make(*, snapshots: bool = False, offline: bool = False, **options: Any) -> BrowserContext:
        if not offline:
            options.setdefault("service_workers", "block")
        context = browser.new_context(**{"locale": LOCALE, **options})
        context.set_default_timeout(15_000)
        if not (snapshots or offline):
            context.add_init_script(NO_SNAPSHOTS)
        context.on("page", lambda page: watch(page, page_errors, csp_reports))
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def open_app(page: Page, server: Server, query: str = "") -> Page:
    """Open the page and wait until it is ready and has Markdown (or knows it cannot have it).

    A first visit loads markdown-it just after ready; a reply that lands before
    it is shown as written, then formatted. Tests that compare a reply's text
    would otherwise depend on which came first (tests/e2e/test_markdown.py
    tests that path on its own).
    """
    page.goto(server.url + query)
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_selector("html:not([data-formatter=loading])", state="attached", timeout=30_000)
    return page


@dataclass
class SecondOrigin:
    """A server on another origin that answers anything (CORS allowed) and records what reached it."""

    url: str
    seen: list[str]


class _Recording(QuietHandler):
    protocol_version = "HTTP/1.0"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append(f"{self.command} {self.path} {self.rfile.read(length)!r}")  # type: ignore[attr-defined]
        body = json.dumps({"ai": "Answered by the second origin", "session_id": "sess_second_origin"}).encode()
        self.send_response(200)
        for name, value in (("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "POST"),
                            ("Access-Control-Allow-Headers", "Content-Type"),
                            ("Access-Control-Allow-Private-Network", "true"), ("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_OPTIONS = _answer


@pytest.fixture
def second_origin() -> Iterator[SecondOrigin]:
    recorder = LocalServer(("127.0.0.1", 0), _Recording)
    recorder.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=recorder.serve_forever, daemon=True)
    thread.start()
    try:
        yield SecondOrigin(f"http://127.0.0.1:{recorder.server_address[1]}", recorder.seen)  # type: ignore[attr-defined]
    finally:
        recorder.shutdown()
        recorder.server_close()
