"""A first visit's runtime as Brotli copies decoded in the page (static/runtime-fetch.mjs), and each fallback.

serve.py writes ``pyodide.asm.wasm.br`` and ``page-stdlib-<version>.zip.br`` beside the files; a
page no service worker answers for fetches those and decodes them. Whatever a host does with them
(decodes them itself, cuts them short, serves something else, has none), the page starts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Route

from serving.builds import stdlib_name
from serving.runtime import PYODIDE_PACKAGE, pinned_versions, pyodide_dir, pyodide_stdlib_zip

from .conftest import ROOT, Server, open_app
from .helpers import send_and_wait
from .test_offline import offline_page, page_version, visit_once

PYODIDE = pyodide_dir(ROOT / "runtime")
STDLIB = ROOT / "runtime" / stdlib_name(pinned_versions(ROOT)[PYODIDE_PACKAGE])
WASM_PATH = "/" + (PYODIDE / "pyodide.asm.wasm").relative_to(ROOT).as_posix()
STDLIB_PATH = "/" + STDLIB.relative_to(ROOT).as_posix()
COPIES = re.compile(r".*/runtime/.*\.(wasm|zip)\.br$")


def watched(page: Page, *, workers: bool = False) -> tuple[list[str], list[str]]:
    """The paths the page (with ``workers``, its service worker too) requests, and its console warnings."""
    seen: list[str] = []
    warnings: list[str] = []
    (page.context if workers else page).on("request", lambda request: seen.append(urlsplit(request.url).path))
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    return seen, warnings


def test_the_copies_exist_and_a_first_visit_fetches_them_instead_of_the_files(page: Page, server: Server) -> None:
    for path in (PYODIDE / "pyodide.asm.wasm", STDLIB):
        copy = path.with_name(path.name + ".br")
        assert copy.is_file() and copy.stat().st_size < path.stat().st_size * 0.35, copy
    seen, warnings = watched(page)
    open_app(page, server)
    send_and_wait(page, "works")
    assert f"{WASM_PATH}.br" in seen and f"{STDLIB_PATH}.br" in seen
    assert WASM_PATH not in seen and STDLIB_PATH not in seen
    assert "/runtime/brotli-dec-wasm-2.3.2/brotli_dec_wasm_bg.wasm" in seen  # the decoder, from this origin
    assert not [w for w in warnings if "Brotli" in w], warnings


def host_copy(how: str) -> Callable[[Route], None]:
    """What a host sends for a ``.br`` copy: ``how`` it has gone wrong."""
    def fulfil(route: Route) -> None:
        path = urlsplit(route.request.url).path.lstrip("/")
        plain = ROOT / path.removesuffix(".br")
        if how == "decoded by the host":  # Content-Encoding: br, which the browser has undone
            route.fulfill(body=plain.read_bytes(), content_type="application/octet-stream")
        elif how == "cut short":
            copy = (ROOT / path).read_bytes()
            route.fulfill(body=copy[: len(copy) // 2], content_type="application/octet-stream")
        elif how == "not brotli":
            route.fulfill(body=bytes(range(256)) * 64, content_type="application/octet-stream")
        else:
            route.fulfill(status=404, body="Not found")
    return fulfil


@pytest.mark.parametrize("how", ["decoded by the host", "cut short", "not brotli", "missing"])
def test_the_page_starts_whatever_a_host_does_with_the_copies(page: Page, server: Server, how: str) -> None:
    page.route(COPIES, host_copy(how))
    seen, warnings = watched(page)
    open_app(page, server)
    send_and_wait(page, "works")
    fetched_files = WASM_PATH in seen and STDLIB_PATH in seen
    assert fetched_files == (how != "decoded by the host"), seen
    broken = [w for w in warnings if "Brotli copy did not decode" in w]
    assert len(broken) == (2 if how in ("cut short", "not brotli") else 0), warnings


CACHED = """async ([name, urls]) => {
  const cache = await caches.open(name);
  const out = {};
  for (const url of urls) {
    const response = await cache.match(url);
    if (!response) { out[url] = null; continue; }
    const digest = await crypto.subtle.digest("SHA-256", await response.arrayBuffer());
    out[url] = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  return out;
}"""


def worker_copies(page: Page, url: str) -> dict[str, str | None]:
    """The service worker's cached wasm and standard library, as SHA-256 digests, by path."""
    urls = [url + WASM_PATH.lstrip("/"), url + STDLIB_PATH.lstrip("/")]
    found = page.evaluate(CACHED, [f"pychat-offline-{page_version(page)}", urls])
    return {urlsplit(key).path: value for key, value in found.items()}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_service_worker_keeps_the_decoded_files_without_downloading_them(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = offline_page(new_context)
    seen, _ = watched(page, workers=True)
    visit_once(page, server.url)
    assert worker_copies(page, server.url) == {WASM_PATH: digest(PYODIDE / "pyodide.asm.wasm"),
                                               STDLIB_PATH: digest(STDLIB)}
    assert WASM_PATH not in seen and STDLIB_PATH not in seen  # neither the page nor the worker fetched them
    assert "pychat-runtime-staged" not in page.evaluate("caches.keys()")  # emptied once kept
    page.reload()  # under the worker now: the files themselves, from its cache; no copies, no decoder
    seen.clear()
    page.reload()
    page.wait_for_selector("html[data-app-state=ready]", timeout=60_000)
    assert not [path for path in seen if path.endswith(".br") or "brotli-dec-wasm" in path], seen


def test_a_decoded_file_that_is_not_this_builds_is_not_kept(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    # A host that sends another standard library as the copy: the page starts on it (it is a standard
    # library), but the worker checks what the page staged against this build's digest, and keeps
    # the real file instead.
    page = offline_page(new_context)
    other = pyodide_stdlib_zip(ROOT / "runtime").read_bytes()
    page.route(re.compile(r".*/page-stdlib-[^/]*\.zip\.br$"),
               lambda route: route.fulfill(body=other, content_type="application/octet-stream"))
    visit_once(page, server.url)
    assert worker_copies(page, server.url)[STDLIB_PATH] == digest(STDLIB)
