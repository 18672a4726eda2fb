"""Installable, and opens offline: the web app manifest, the service worker (sw.js) and its updates.

<html data-offline> reports the worker's state (static/offline.js): "ready" once it
holds everything the page needs offline, "update" when a newer version waits.
These tests need Cache Storage and the worker, so their contexts ask for both.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import re
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from playwright.sync_api import Error as PlaywrightError

from serving.export import export_site
from serving.runtime import PYODIDE_PACKAGE, pinned_versions, runtime_dirs
from serving.static import StaticHandler

from .conftest import READY, ROOT, Server
from .helpers import ECHO, messages, send, send_and_wait, wait_until_stored
from .test_snapshot import page_copy

OFFLINE_READY = "html[data-offline=ready]"
INSTALL_TIMEOUT = 60_000
RELOAD_TIMEOUT = 60_000  # "Reload to update" waits for the new worker to take over; a loaded machine is slow
CACHES = "async () => Object.fromEntries(await Promise.all((await caches.keys()).map(async (name) => "\
         "[name, (await (await caches.open(name)).keys()).map((r) => r.url)])))"


# Whether the page's worker is the active one of ``version``. It asks only a worker that is not being
# replaced (a message starts a stopped worker again, and Chromium then holds up the take-over).
CONTROLLED_BY = """async (version) => {
  const worker = navigator.serviceWorker.controller;
  const registration = await navigator.serviceWorker.getRegistration();
  if (!worker || !registration || worker !== registration.active || registration.waiting || registration.installing) {
    return false;
  }
  const channel = new MessageChannel();
  const answer = new Promise((resolve) => { channel.port1.onmessage = ({data}) => resolve(data.version); });
  worker.postMessage({type: 'version'}, [channel.port2]);
  return (await answer) === version;
}"""


def wait_until_controlled_by(page: Page, version: str, timeout: float = INSTALL_TIMEOUT / 1000) -> None:
    """Poll :data:`CONTROLLED_BY` (``wait_for_function`` would take its promise for a true value at once)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(CONTROLLED_BY, version):
        assert time.monotonic() < deadline, f"the page is not controlled by a worker of version {version}"
        page.wait_for_timeout(250)


def offline_page(new_context: Callable[..., BrowserContext]) -> Page:
    return new_context(offline=True).new_page()


def visit_once(page: Page, url: str) -> None:
    page.goto(url, timeout=60_000)
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_selector(OFFLINE_READY, state="attached", timeout=INSTALL_TIMEOUT)


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n" and body[12:16] == b"IHDR", "not a PNG"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


def worker_version(page: Page) -> str:
    return str(page.evaluate("""() => new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = ({data}) => resolve(data.version);
      navigator.serviceWorker.controller.postMessage({type: 'version'}, [channel.port2]);
    })"""))


def page_version(page: Page) -> str:
    return str(page.locator('meta[name="pychat-version"]').get_attribute("content"))


def test_the_manifest_is_valid_and_its_icons_are_served_at_their_sizes(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = offline_page(new_context)
    page.goto(server.url)
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    assert href is not None
    manifest_url = urljoin(server.url, href)
    response = page.request.get(manifest_url)
    assert response.ok and response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.body())
    assert manifest["name"] == "Character Chat" and manifest["short_name"]
    assert manifest["display"] == "standalone"
    for key in ("start_url", "scope", "id"):  # relative, so that the export works under any sub-path
        assert not re.match(r"^([a-z]+:|/)", manifest[key]), manifest[key]
        assert urljoin(manifest_url, manifest[key]) == server.url
    assert re.fullmatch("#[0-9a-f]{6}", manifest["theme_color"]) and manifest["background_color"]
    themes = page.locator('meta[name="theme-color"]')
    assert sorted(themes.evaluate_all("ms => ms.map(m => m.media)")) == [
        "(prefers-color-scheme: dark)", "(prefers-color-scheme: light)"]
    sizes = set()
    for icon in manifest["icons"]:
        got = page.request.get(urljoin(manifest_url, icon["src"]))
        assert got.ok and got.headers["content-type"] == "image/png" == icon["type"]
        width, height = png_size(got.body())
        assert icon["sizes"] == f"{width}x{height}"
        sizes.add(width)
    assert {192, 512} <= sizes
    # Chromium's own reading of it: no errors, and installable by its rules (but for the incognito profile).
    page.wait_for_selector(READY, timeout=60_000)
    cdp = page.context.new_cdp_session(page)
    read = cdp.send("Page.getAppManifest")
    assert read["url"] == manifest_url and read["errors"] == []
    assert read["manifest"]["display"] == "kStandalone" and read["manifest"]["startUrl"] == server.url
    installability = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [e["errorId"] for e in installability if e["errorId"] != "in-incognito"] == []  # test contexts are


def test_after_one_visit_the_page_opens_offline_with_its_conversation_and_sending_paused(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = offline_page(new_context)
    visit_once(page, server.url)
    reply = send_and_wait(page, "remember me offline")
    page.wait_for_timeout(300)  # the conversation's write (at most 0.25 s after the reply)

    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector("html[data-app-state=ready]", timeout=60_000)

    expect(messages(page, "user")).to_have_text(["remember me offline"])
    expect(messages(page, "assistant")).to_have_text([reply])
    expect(page.get_by_test_id("offline-indicator")).to_be_visible()
    page.get_by_test_id("message-input").fill("written offline")
    expect(page.get_by_test_id("send-button")).to_be_disabled()
    page.get_by_test_id("message-input").press("Enter")
    expect(page.get_by_test_id("message-input")).to_have_value("written offline")
    expect(messages(page, "user")).to_have_count(1)

    page.context.set_offline(False)
    expect(page.get_by_test_id("offline-indicator")).to_be_hidden()
    page.get_by_test_id("send-button").click()
    expect(messages(page, "assistant")).to_have_count(2)


def test_the_worker_caches_no_api_answer_and_leaves_the_snapshot_cache_alone(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = offline_page(new_context)
    visit_once(page, server.url)
    send_and_wait(page, "hello")
    page.wait_for_selector("html[data-snapshot=saved]", state="attached", timeout=60_000)
    # A same-origin /api/ request too (the page server answers 404): the worker never answers it.
    assert page.evaluate("fetch('./api/sessions').then((r) => r.status)") == 404

    cached = page.evaluate(CACHES)

    offline = [name for name in cached if name.startswith("pychat-offline-")]
    assert offline == [f"pychat-offline-{page_version(page)}"]
    urls = [url for name in offline for url in cached[name]]
    assert server.url in urls and urljoin(server.url, "app/main.py") in urls
    assert not [url for url in urls if "/api/" in url or url.startswith(server.api)]
    assert "pychat-pyodide-snapshot" in cached
    page.context.set_offline(True)
    assert page.evaluate("fetch('./api/sessions').then(() => 'answered', () => 'failed')") == "failed"


def test_a_new_deploy_is_offered_with_reload_to_update_and_the_reload_shows_it(
    new_context: Callable[..., BrowserContext], server: Server, tmp_path: Path
) -> None:
    with page_copy(tmp_path, server.api) as (url, site):
        page = offline_page(new_context)
        visit_once(page, url)
        old = page_version(page)
        assert worker_version(page) == old
        index = site / "index.html"
        index.write_text(index.read_text("utf-8").replace(">Character Chat</h1>", ">Character Chat, new</h1>"), "utf-8")

        # What the page does when it is shown again or comes back online: ask for a newer worker.
        page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")

        expect(page.get_by_test_id("update-reload")).to_be_visible(timeout=INSTALL_TIMEOUT)
        expect(page.locator("html")).to_have_attribute("data-offline", "update")
        expect(page.locator(".brand")).to_have_text("Character Chat")  # still the page it opened
        with page.expect_navigation():
            page.get_by_test_id("update-reload").click()
        page.wait_for_selector(READY, timeout=60_000)
        expect(page.locator(".brand")).to_have_text("Character Chat, new")
        new = page_version(page)
        assert new != old and worker_version(page) == new
        page.wait_for_selector(OFFLINE_READY, state="attached", timeout=INSTALL_TIMEOUT)
        expect(page.get_by_test_id("update-notice")).to_be_hidden()
        assert [n for n in page.evaluate(CACHES) if n.startswith("pychat-offline-")] == [f"pychat-offline-{new}"]

        page.context.set_offline(True)  # and the new version is what opens offline now
        page.reload()
        page.wait_for_selector("html[data-app-state=ready]", timeout=60_000)
        expect(page.locator(".brand")).to_have_text("Character Chat, new")


def deploy(site: Path) -> None:
    """A new version of the page copy: its heading changes (and with it the build's version)."""
    index = site / "index.html"
    index.write_text(index.read_text("utf-8").replace(">Character Chat</h1>", ">Character Chat, new</h1>"), "utf-8")


def test_with_two_tabs_a_deploy_is_offered_in_both_and_taking_it_in_one_keeps_the_other_tab_s_conversation(
    new_context: Callable[..., BrowserContext], server: Server, tmp_path: Path
) -> None:
    with page_copy(tmp_path, server.api) as (url, site):
        context = new_context(offline=True)
        first = context.new_page()
        visit_once(first, url)
        second = context.new_page()
        visit_once(second, f"{url}?character={ECHO}")
        send_and_wait(second, "before the deploy")
        old = page_version(first)
        deploy(site)
        server.hold("chat")
        send(second, "while the update comes")  # its reply is still coming when the other tab updates
        second.get_by_test_id("message-input").fill("a draft across the update")

        first.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
        for tab in (first, second):
            expect(tab.get_by_test_id("update-reload")).to_be_visible(timeout=INSTALL_TIMEOUT)
        with first.expect_navigation(wait_until="commit", timeout=RELOAD_TIMEOUT):
            first.get_by_test_id("update-reload").click()
        first.wait_for_selector(READY, timeout=60_000)
        expect(first.locator(".brand")).to_have_text("Character Chat, new")
        new = page_version(first)
        assert new != old and worker_version(first) == new

        # The other tab was not reloaded under its user: the page it opened, its reply still arriving, the
        # update still offered (its worker is now the new one, its page the old one: it must reload).
        expect(second.locator(".brand")).to_have_text("Character Chat")
        assert page_version(second) == old
        expect(second.get_by_test_id("update-reload")).to_be_visible()
        expect(second.locator("html")).to_have_attribute("data-offline", "update")
        server.release()
        expect(messages(second, "assistant")).to_have_count(2)
        expect(second.get_by_test_id("send-button")).to_be_enabled()
        wait_until_stored(second, ECHO, 4)

        with second.expect_navigation(wait_until="commit", timeout=RELOAD_TIMEOUT):
            second.get_by_test_id("update-reload").click()
        second.wait_for_selector(READY, timeout=60_000)
        expect(second.locator(".brand")).to_have_text("Character Chat, new")
        assert page_version(second) == new and worker_version(second) == new
        expect(messages(second, "user")).to_have_text(["before the deploy", "while the update comes"])
        expect(messages(second, "assistant")).to_have_count(2)
        expect(second.get_by_test_id("message-input")).to_have_value("a draft across the update")
        expect(second.get_by_test_id("update-notice")).to_be_hidden()
        expect(first.get_by_test_id("update-notice")).to_be_hidden()
        assert [n for n in second.evaluate(CACHES) if n.startswith("pychat-offline-")] == [f"pychat-offline-{new}"]


# Under the pinned Pyodide's version-named folder, so the worker's keep fetches it (it keeps no other path).
HELD = f"runtime/{runtime_dirs(pinned_versions(ROOT))[PYODIDE_PACKAGE]}/held-by-the-test"


def held_handler(asked: threading.Event, release: threading.Event) -> type:
    """The page server's handler, but a GET of :data:`HELD` sets ``asked`` and waits for ``release`` (then 404)."""
    class Held(StaticHandler):
        def do_GET(self) -> None:
            if self.path.lstrip("/") == HELD:
                asked.set()
                release.wait(60)
            super().do_GET()

    return Held


def test_reload_to_update_reaches_the_new_version_when_the_old_worker_holds_up_the_take_over(
    new_context: Callable[..., BrowserContext], server: Server, tmp_path: Path
) -> None:
    # The old worker is busy (a file it keeps is slow to come), so the new one cannot take over when asked:
    # the page must reload anyway, and the new version's page then lets its worker take over.
    asked, release = threading.Event(), threading.Event()
    with page_copy(tmp_path, server.api, held_handler(asked, release)) as (url, site):
        page = offline_page(new_context)
        visit_once(page, url)
        old = page_version(page)
        deploy(site)
        page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
        expect(page.get_by_test_id("update-reload")).to_be_visible(timeout=INSTALL_TIMEOUT)
        keep = "(url) => navigator.serviceWorker.controller.postMessage({type: 'keep', urls: [url]})"
        page.evaluate(keep, url + HELD)
        try:
            assert asked.wait(30), "the old worker never asked for the held file: the take-over is not held up"
            with page.expect_navigation(wait_until="commit", timeout=RELOAD_TIMEOUT):
                page.get_by_test_id("update-reload").click()
            page.wait_for_selector(READY, timeout=60_000)
            expect(page.locator(".brand")).to_have_text("Character Chat, new")
            new = page_version(page)
            assert new != old
        finally:
            release.set()
        wait_until_controlled_by(page, new)
        expect(page.get_by_test_id("update-notice")).to_be_hidden()


def test_a_tab_opened_after_a_deploy_takes_the_new_worker_and_the_tab_opened_before_is_offered_the_update(
    new_context: Callable[..., BrowserContext], server: Server, tmp_path: Path
) -> None:
    with page_copy(tmp_path, server.api) as (url, site):
        context = new_context(offline=True)
        first = context.new_page()
        visit_once(first, url)
        send_and_wait(first, "opened before the deploy")
        old = page_version(first)
        deploy(site)

        second = context.new_page()
        second.goto(url)
        second.wait_for_selector(READY, timeout=60_000)
        new = page_version(second)
        assert new != old
        wait_until_controlled_by(second, new)
        expect(second.get_by_test_id("update-notice")).to_be_hidden()  # it is the new version

        # The first tab now runs under the new worker with the old page: it must be told, and not mix the two.
        expect(first.get_by_test_id("update-reload")).to_be_visible(timeout=INSTALL_TIMEOUT)
        expect(first.locator(".brand")).to_have_text("Character Chat")
        expect(messages(first, "user")).to_have_text(["opened before the deploy"])
        with first.expect_navigation(wait_until="commit", timeout=RELOAD_TIMEOUT):
            first.get_by_test_id("update-reload").click()
        first.wait_for_selector(READY, timeout=60_000)
        assert page_version(first) == new and worker_version(first) == new
        expect(messages(first, "user")).to_have_text(["opened before the deploy"])
        expect(first.get_by_test_id("update-notice")).to_be_hidden()


def test_the_next_load_after_a_deploy_shows_it_at_once_and_the_worker_follows(
    new_context: Callable[..., BrowserContext], server: Server, tmp_path: Path
) -> None:
    with page_copy(tmp_path, server.api) as (url, site):
        page = offline_page(new_context)
        visit_once(page, url)
        old = page_version(page)
        index = site / "index.html"
        index.write_text(index.read_text("utf-8").replace(">Character Chat</h1>", ">Character Chat, new</h1>"), "utf-8")

        page.reload()
        page.wait_for_selector(READY, timeout=60_000)

        expect(page.locator(".brand")).to_have_text("Character Chat, new")  # never the old copy while online
        new = page_version(page)
        assert new != old
        # This page is the new version already: the new worker takes over without asking.
        wait_until_controlled_by(page, new)
        expect(page.get_by_test_id("update-notice")).to_be_hidden()


def test_an_export_under_a_sub_path_on_a_plain_static_host_opens_offline(
    new_context: Callable[..., BrowserContext], server: Server, tmp_path: Path
) -> None:
    export_site(tmp_path / "chat", api_base=server.api)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/chat/"
        page = offline_page(new_context)
        visit_once(page, url)
        reply = send_and_wait(page, "from the static host")
        page.wait_for_timeout(300)
        scope = page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.scope)")
        assert scope == url

        page.context.set_offline(True)
        page.reload()
        page.wait_for_selector("html[data-app-state=ready]", timeout=60_000)
        expect(messages(page, "assistant")).to_have_text([reply])
        expect(page.get_by_test_id("offline-indicator")).to_be_visible()
    finally:
        httpd.shutdown()
        httpd.server_close()


class NoCacheHandler(http.server.SimpleHTTPRequestHandler):
    """A host that gzips and sends ``Cache-Control: no-cache`` and no validator: every request it gets is a download.

    Counts the GETs per path in ``gets`` (a class attribute set per test). It gzips as hosts do:
    a private window's HTTP cache is in memory and keeps no entry over a few MB, so the
    uncompressed 9.6 MB wasm would not be kept at all, whatever the headers.
    """

    gets: dict[str, int]

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        self.gets[path] = self.gets.get(path, 0) + 1
        file = Path(self.translate_path(path))
        if file.is_dir():
            file = file / "index.html"
        if not file.is_file():
            self.send_error(404)
            return
        body = gzip.compress(file.read_bytes(), 6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(file)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def no_cache_host(tmp_path: Path, server: Server, gets: dict[str, int]) -> Iterator[str]:
    """The page exported into ``tmp_path``, behind a :class:`NoCacheHandler` counting into ``gets``; its URL."""
    export_site(tmp_path / "chat", api_base=server.api)
    handler = functools.partial(type("Counting", (NoCacheHandler,), {"gets": gets}), directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/chat/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def visited_with_snapshot(new_context: Callable[..., BrowserContext], url: str) -> Page:
    """A page that has visited ``url`` once: its worker installed and its snapshot saved."""
    page = offline_page(new_context)
    visit_once(page, url)
    page.wait_for_selector("html[data-snapshot=saved]", state="attached", timeout=INSTALL_TIMEOUT)
    return page


def test_behind_a_host_that_says_no_cache_a_first_visit_downloads_each_runtime_file_once(
    new_context: Callable[..., BrowserContext], server: Server, tmp_path: Path
) -> None:
    # The page, the snapshot worker and the service worker each load Pyodide; only the first may download it.
    gets: dict[str, int] = {}
    with no_cache_host(tmp_path, server, gets) as url:
        visited_with_snapshot(new_context, url)
    runtime = {path: count for path, count in gets.items() if path.startswith("/chat/runtime/")}
    # The Brotli copies, decoded in the page; the service worker keeps the decoded files, so the
    # files themselves are never downloaded (static/runtime-fetch.mjs).
    assert "/chat/runtime/pyodide-314.0.7/pyodide.asm.wasm.br" in runtime
    assert "/chat/runtime/page-stdlib-314.0.7.zip.br" in runtime
    assert "/chat/runtime/pyodide-314.0.7/pyodide.asm.wasm" not in runtime
    assert "/chat/runtime/page-stdlib-314.0.7.zip" not in runtime
    assert {path: count for path, count in runtime.items() if count > 1} == {}
    assert "/chat/runtime/pyodide-314.0.7/pyodide-lock.json" not in runtime  # Pyodide is given its package list


def test_behind_a_host_that_says_no_cache_a_reload_of_this_build_downloads_only_the_page(
    new_context: Callable[..., BrowserContext], server: Server, tmp_path: Path
) -> None:
    # The worker holds this build's files, each checked against its digest: a page of this build takes
    # them from it. Before, each reload downloaded every app file and the standard library again (1.2 MB).
    gets: dict[str, int] = {}
    with no_cache_host(tmp_path, server, gets) as url:
        page = visited_with_snapshot(new_context, url)
        gets.clear()
        page.reload()
        page.wait_for_selector(READY, state="attached", timeout=INSTALL_TIMEOUT)
        expect(page.get_by_test_id("message-input")).to_be_editable()
        page.wait_for_timeout(500)  # anything fetched after ready would show too
    assert "/chat/" in gets  # the page itself: network first, so a deploy is seen at once
    assert sorted(path for path in gets if path not in ("/chat/", "/chat/sw.js")) == []


REGISTRATIONS = "async () => (await navigator.serviceWorker.getRegistrations()).map((r) => r.scope).sort()"


def test_the_page_s_reset_also_removes_its_service_worker_and_caches_and_nothing_of_other_code(
    new_context: Callable[..., BrowserContext], server: Server, tmp_path: Path, page_errors: list[str]
) -> None:
    with page_copy(tmp_path, server.api) as (url, site):
        page = offline_page(new_context)
        visit_once(page, url)
        send_and_wait(page, "kept until the reset")
        other_worker = site / "static" / "other" / "sw.js"  # another worker of the same origin, with a scope of its own
        other_worker.parent.mkdir()
        other_worker.write_text("self.addEventListener('fetch', () => {});\n", "utf-8")
        page.evaluate("""async () => {
          localStorage.setItem('theme', 'dark');
          localStorage.setItem('other:pychat:x', 'keep');
          await caches.open('other-cache');
          await caches.open('pychat-notes');
          await caches.open('pychat-runtime-staged');  // an install cut short leaves it
          await navigator.serviceWorker.register('./static/other/sw.js', {scope: './static/other/'});
        }""")
        assert page.evaluate(REGISTRATIONS) == [url, f"{url}static/other/"]
        assert f"pychat-offline-{page_version(page)}" in page.evaluate(CACHES)
        # The page cannot start any more (its main.py is broken), so it offers the reset.
        (site / "app" / "main.py").write_text("raise RuntimeError('broken on purpose')\n", "utf-8")
        page.reload()
        page.wait_for_selector("html[data-app-state=error]", state="attached", timeout=60_000)

        with page.expect_navigation():
            page.get_by_test_id("reset-page-data").click()
        page.wait_for_selector("html[data-app-state=error]", state="attached", timeout=60_000)
        page_errors.clear()  # the broken main.py's, on purpose

        assert page.evaluate(REGISTRATIONS) == [f"{url}static/other/"]
        assert page.evaluate("navigator.serviceWorker.controller") is None  # this load came from the network
        cached = page.evaluate(CACHES)
        assert cached.pop("pychat-pyodide-snapshot", []) == []  # the reloaded page's start opens it again, empty
        assert cached == {"other-cache": [], "pychat-notes": []}
        assert page.evaluate("() => Object.fromEntries(Object.entries(localStorage))") == {
            "theme": "dark", "other:pychat:x": "keep"}
        # No old copy is left to open offline.
        page.context.set_offline(True)
        with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED"):
            page.goto(url)
