"""Starting from a Pyodide memory snapshot (static/pyodide-snapshot.mjs), and every way it can fail.

<html data-snapshot> reports what the page did: "off", "fresh", "restored",
"failed", then "saving" and "saved" (or "unsaved") for the next visit.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, Route, expect

from serving import PAGE_FILES
from serving.static import make_static_server

from .conftest import ROOT, Server, open_app
from .helpers import messages, send, send_and_wait, serve_pyodides_own_stdlib, stored

SAVED = "html[data-snapshot=saved]"
SAVE_TIMEOUT = 60_000


def snapshot_page(new_context: Callable[..., BrowserContext]) -> Page:
    return new_context(snapshots=True).new_page()


def first_visit_saves_a_snapshot(page: Page, server: Server, query: str = "") -> None:
    open_app(page, server, query)
    expect(page.locator("html")).to_have_attribute("data-snapshot", re.compile("^(fresh|saving|saved)$"))
    page.wait_for_selector(SAVED, state="attached", timeout=SAVE_TIMEOUT)


def replace_snapshot(page: Page, *, body: str, headers: str) -> None:
    """Overwrite the cached snapshot; ``body`` and ``headers`` are JavaScript over the ``stored`` response."""
    page.evaluate(
        f"""async () => {{
          const cache = await caches.open('pychat-pyodide-snapshot');
          const [request] = await cache.keys();
          const stored = await cache.match(request);
          await cache.put(request, new Response({body}, {{headers: {headers}}}));
        }}"""
    )


def test_a_returning_visitor_starts_from_the_snapshot_with_everything_working(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = snapshot_page(new_context)
    first_visit_saves_a_snapshot(page, server)
    reply = send_and_wait(page, "before the snapshot")
    session = stored(page, "session_CHAR_luna")

    open_app(page, server)

    expect(page.locator("html")).to_have_attribute("data-snapshot", "restored")
    expect(page.get_by_test_id("session-id")).to_have_text(session or "")
    expect(messages(page, "assistant")).to_have_text([reply])
    send_and_wait(page, "after the snapshot")
    assert stored(page, "session_CHAR_luna") == session  # the same session, no new one
    assert len(server.requests("/api/sessions")) == 1


def test_a_corrupt_snapshot_means_an_ordinary_start_and_a_new_snapshot(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = snapshot_page(new_context)
    first_visit_saves_a_snapshot(page, server)
    replace_snapshot(page, body="new Uint8Array(4096).fill(7)", headers="stored.headers")

    open_app(page, server)

    expect(page.locator("html")).to_have_attribute("data-snapshot", re.compile("^(failed|saving|saved)$"))
    assert page.evaluate("performance.getEntriesByName('pyodide-snapshot:failed').length") == 1
    send_and_wait(page, "still works")
    page.wait_for_selector(SAVED, state="attached", timeout=SAVE_TIMEOUT)
    open_app(page, server)
    expect(page.locator("html")).to_have_attribute("data-snapshot", "restored")


def test_a_snapshot_from_another_pyodide_build_is_dropped(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = snapshot_page(new_context)
    first_visit_saves_a_snapshot(page, server)
    replace_snapshot(page, body="await stored.arrayBuffer()", headers="{'X-Snapshot-Key': 'pyodide 0.0.1; format 2'}")

    open_app(page, server)

    expect(page.locator("html")).to_have_attribute("data-snapshot", re.compile("^(fresh|saving|saved)$"))
    send_and_wait(page, "still works")


def test_without_cache_storage_the_page_starts_normally_and_saves_nothing(page: Page, server: Server) -> None:
    open_app(page, server)  # the default test context hides Cache Storage, as an insecure origin would
    expect(page.locator("html")).to_have_attribute("data-snapshot", "off")
    send_and_wait(page, "hello")
    page.wait_for_timeout(1500)
    expect(page.locator("html")).to_have_attribute("data-snapshot", "off")


@contextmanager
def page_copy(tmp_path: Path, api: str, handler: type | None = None) -> Iterator[tuple[str, Path]]:
    """The page served from a copy of its files, so a test can change the app's code.

    ``handler`` replaces the server's request handler (a subclass of its own, for a test's faults).
    """
    site = tmp_path / "site"
    site.mkdir()
    for name in PAGE_FILES:
        shutil.copy(ROOT / name, site / name)
    for name in ("app", "static"):
        shutil.copytree(ROOT / name, site / name, ignore=shutil.ignore_patterns("__pycache__"))
    (site / "runtime").symlink_to(ROOT / "runtime")
    server = make_static_server("127.0.0.1", 0, api, repo=site, verbose=False)
    if handler is not None:
        server.RequestHandlerClass = handler
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", site
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def restored_after_editing(
    new_context: Callable[..., BrowserContext], server: Server, tmp_path: Path, relative: str, old: str, new: str
) -> Iterator[tuple[Page, str]]:
    """A returning visitor's page, restored from a snapshot made before ``relative`` had ``old`` replaced by ``new``."""
    with page_copy(tmp_path, server.api) as (url, site):
        page = snapshot_page(new_context)
        page.goto(url)
        page.wait_for_selector(SAVED, state="attached", timeout=SAVE_TIMEOUT)
        path = site / relative
        source = path.read_text(encoding="utf-8")
        assert old in source
        path.write_text(source.replace(old, new), "utf-8")

        page.goto(url)
        page.wait_for_selector("html[data-app-state=ready]")
        assert page.evaluate("performance.getEntriesByName('pyodide-snapshot:restored').length") == 1
        yield page, url


def test_changed_app_code_is_imported_fresh_and_a_new_snapshot_made(
    new_context: Callable[..., BrowserContext], server: Server, tmp_path: Path
) -> None:
    # wording.py is preloaded into the snapshot.
    edit = ("app/wording.py", "Server error: Please try again later", "Changed wording")
    with restored_after_editing(new_context, server, tmp_path, *edit) as (page, url):
        server.fault("chat", "status", status=500)
        send(page, "show me the new wording")

        expect(messages(page, "error")).to_contain_text(["Changed wording"])
        page.wait_for_selector(SAVED, state="attached", timeout=SAVE_TIMEOUT)  # renewed for the new code
        page.goto(url)
        page.wait_for_selector("html[data-app-state=ready]")
        expect(page.locator("html")).to_have_attribute("data-snapshot", "restored")


def test_changed_code_that_the_snapshot_only_compiled_is_compiled_fresh_and_a_new_snapshot_made(
    new_context: Callable[..., BrowserContext], server: Server, tmp_path: Path
) -> None:
    """The view touches the browser: the snapshot holds its compiled code, used only for the same bytes."""
    edit = ("app/view/messages.py", 'text=_("Copy")', 'text=_("Copy it")')
    with restored_after_editing(new_context, server, tmp_path, *edit) as (page, _url):
        send_and_wait(page, "hello")

        expect(page.get_by_test_id("copy-button").first).to_have_text("Copy it")
        page.wait_for_selector(SAVED, state="attached", timeout=SAVE_TIMEOUT)  # renewed for the new code


def test_a_snapshot_restored_beside_a_rebuilt_standard_library_imports_from_the_new_zip(
    new_context: Callable[..., BrowserContext], server: Server, tmp_path: Path
) -> None:
    """The snapshot holds zipimport's listing of the zip it was made with; a rebuilt zip has other offsets."""
    with page_copy(tmp_path, server.api) as (url, site):
        page = snapshot_page(new_context)
        page.goto(url)
        page.wait_for_selector(SAVED, state="attached", timeout=SAVE_TIMEOUT)
        # As after serve.py rebuilt the page's standard library (another list of start-up modules).
        serve_pyodides_own_stdlib(page)
        main = site / "app" / "main.py"
        probe = "import difflib  # not in the snapshot: read from the zip now\n"
        probe += "js.document.body.dataset.found = difflib.__name__\n"
        main.write_text(main.read_text(encoding="utf-8") + probe, encoding="utf-8")

        page.goto(url)
        page.wait_for_selector("html[data-app-state=ready]")
        assert page.evaluate("performance.getEntriesByName('pyodide-snapshot:restored').length") == 1
        expect(page.locator("body")).to_have_attribute("data-found", "difflib")
        send_and_wait(page, "hello")


def test_a_page_that_fails_after_a_restore_drops_the_snapshot_and_starts_normally_next_time(
    new_context: Callable[..., BrowserContext], server: Server, tmp_path: Path, page_errors: list[str]
) -> None:
    with page_copy(tmp_path, server.api) as (url, site):
        page = snapshot_page(new_context)
        page.goto(url)
        page.wait_for_selector(SAVED, state="attached", timeout=SAVE_TIMEOUT)
        main = site / "app" / "main.py"
        good = main.read_text(encoding="utf-8")
        broken = good.replace("_held.append(start_task(start(page_view)))", "raise RuntimeError('broken on purpose')")
        assert broken != good
        main.write_text(broken, encoding="utf-8")

        page.goto(url)
        page.wait_for_selector("html[data-app-state=error]", state="attached")
        page.wait_for_selector("html[data-snapshot=dropped]", state="attached")
        assert page.evaluate("caches.open('pychat-pyodide-snapshot').then(c => c.keys()).then(k => k.length)") == 0
        page_errors.clear()  # the failure was the point

        main.write_text(good, encoding="utf-8")
        page.goto(url)
        page.wait_for_selector("html[data-app-state=ready]", state="attached")
        assert page.evaluate("performance.getEntriesByName('pyodide-snapshot:restored').length") == 0
        send_and_wait(page, "works again")


def test_a_restore_that_never_got_ready_is_not_tried_again(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = snapshot_page(new_context)
    first_visit_saves_a_snapshot(page, server)
    page.evaluate("sessionStorage.setItem('pychat:snapshot-restoring', '1')")  # as left by a start that hung

    open_app(page, server)

    assert page.evaluate("performance.getEntriesByName('pyodide-snapshot:restored').length") == 0
    expect(page.locator("html")).to_have_attribute("data-snapshot", re.compile("^(fresh|saving|saved)$"))
    send_and_wait(page, "still works")


# Reloads the moment the page is ready, on a page that never goes idle (requestIdleCallback never
# calls back): whatever the wrapper defers to idle time has not happened when the next load starts.
RELOAD_AT_READY = """window.requestIdleCallback = () => 0;
new MutationObserver(() => {
  const left = Number(sessionStorage.getItem('reloads-left') || 0);
  if (document.documentElement.dataset.appState === 'ready' && left > 0) {
    sessionStorage.setItem('reloads-left', String(left - 1));
    location.reload();
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-app-state']});"""


def test_reloading_the_moment_the_page_is_ready_keeps_starting_from_the_snapshot(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = snapshot_page(new_context)
    first_visit_saves_a_snapshot(page, server)
    page.add_init_script(RELOAD_AT_READY)
    page.evaluate("sessionStorage.setItem('reloads-left', '3')")

    page.reload()
    page.wait_for_function("sessionStorage.getItem('reloads-left') === '0'", timeout=60_000)
    page.wait_for_selector("html[data-app-state=ready]", state="attached")

    assert page.evaluate("performance.getEntriesByName('pyodide-snapshot:restored').length") == 1


def test_a_returning_visitor_gets_markdown_from_the_snapshot_with_the_replies_formatted_at_ready(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = snapshot_page(new_context)
    open_app(page, server)
    expect(page.locator("html")).to_have_attribute("data-formatter", re.compile("^(loading|loaded)$"))
    send_and_wait(page, "**bold** before the snapshot")
    page.wait_for_selector(SAVED, state="attached", timeout=SAVE_TIMEOUT)

    open_app(page, server)

    expect(page.locator("html")).to_have_attribute("data-snapshot", "restored")
    expect(page.locator("html")).to_have_attribute("data-formatter", "preloaded")  # no import after ready
    assert page.evaluate("document.querySelectorAll('[data-markdown=pending]').length") == 0
    expect(messages(page, "assistant").locator("em")).to_have_text("The stars agree.")


def test_behind_a_host_that_forbids_caching_a_first_visit_fetches_the_wasm_and_stdlib_once(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    # "Cache-Control: no-cache" and no validator: every request downloads again, so the
    # snapshot worker must take the compiled wasm and the standard library from the page.
    context = new_context(snapshots=True)
    fetched: list[str] = []

    def no_cache(route: Route) -> None:
        response = route.fetch()
        headers = {k: v for k, v in response.headers.items()
                   if k.lower() not in ("cache-control", "etag", "last-modified", "expires")}
        fetched.append(route.request.url.rsplit("/", 1)[-1])
        route.fulfill(response=response, headers={**headers, "Cache-Control": "no-cache"})

    context.route(re.compile(r".*/runtime/.*\.(wasm|zip)(\.br)?$"), no_cache)
    page = context.new_page()
    first_visit_saves_a_snapshot(page, server)
    # Their Brotli copies, once each; the files themselves not at all.
    assert [name for name in fetched if name.startswith("pyodide.asm.wasm")] == ["pyodide.asm.wasm.br"], fetched
    assert [name for name in fetched if name.startswith("page-stdlib-")] == ["page-stdlib-314.0.7.zip.br"], fetched
    open_app(page, server)
    expect(page.locator("html")).to_have_attribute("data-snapshot", "restored")  # the snapshot it made works


def test_neither_a_first_visit_nor_a_restore_makes_a_shared_array_buffer_without_isolation(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    # Pyodide makes a shared WebAssembly.Memory as it starts; without COOP/COEP Chromium reports
    # it as a deprecated SharedArrayBuffer (DevTools' Issues, Lighthouse's "deprecations").
    # static/pyodide-runtime.mjs has it made unshared, on the page and in the snapshot worker.
    page = snapshot_page(new_context)
    cdp = page.context.new_cdp_session(page)
    issues: list[dict[str, Any]] = []
    cdp.on("Audits.issueAdded", lambda event: issues.append(event["issue"]))
    cdp.send("Audits.enable")

    workers: list[str] = []  # the URL of each worker watched

    def attached(event: dict[str, Any]) -> None:  # a worker: its issues too, then let it run
        workers.append(event["targetInfo"]["url"])
        for number, method in enumerate(("Audits.enable", "Runtime.runIfWaitingForDebugger")):
            message = json.dumps({"id": number + 1, "method": method})
            cdp.send("Target.sendMessageToTarget", {"sessionId": event["sessionId"], "message": message})

    def from_worker(event: dict[str, Any]) -> None:
        message = json.loads(event["message"])
        if message.get("method") == "Audits.issueAdded":
            issues.append({**message["params"]["issue"], "worker": event["targetId"]})

    cdp.on("Target.attachedToTarget", attached)
    cdp.on("Target.receivedMessageFromTarget", from_worker)
    cdp.send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": False})

    first_visit_saves_a_snapshot(page, server)
    assert page.evaluate("crossOriginIsolated") is False  # what a static host gives
    open_app(page, server)
    expect(page.locator("html")).to_have_attribute("data-snapshot", "restored")
    send_and_wait(page, "after the restore")
    page.wait_for_timeout(500)  # issues are reported shortly after the call that raised them

    assert any(url.endswith("/static/pyodide-snapshot-worker.mjs") for url in workers), workers
    shared = [issue for issue in issues
              if issue["code"] in ("SharedArrayBufferIssue", "DeprecationIssue")]
    assert shared == []
