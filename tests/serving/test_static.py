"""The page server: what it serves, with which headers, and how."""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import os
import re
import socket
import threading
import time
import tomllib
from pathlib import Path

import pytest

from serving.catalogues import catalogue_files
from serving.config import rewrite_api_base
from serving.static import StaticHandler, make_static_server, resolve_static_path
from tests.serving.fakes import INDEX_HTML, ROOT, SERVED_TOML, TOML, Page, run_page, write


@pytest.mark.parametrize(
    ("url_path", "relative"),
    [
        ("/", "index.html"),
        ("/index.html", "index.html"),
        ("/pyscript.toml", "pyscript.toml"),
        ("/pyscript.toml?v=2", "pyscript.toml"),
        ("/app/main.py", "app/main.py"),
        ("/static/style.css", "static/style.css"),
        ("/static/%73tyle.css", "static/style.css"),
    ],
)
def test_resolve_static_path_allows_page_files(repo: Path, url_path: str, relative: str) -> None:
    assert resolve_static_path(url_path, repo) == repo / relative


@pytest.mark.parametrize(
    "url_path",
    [
        "/serve.py",
        "/package.json",
        "/.git/config",
        "/tests/test_x.py",
        "/node_modules/pyodide/pyodide.mjs",
        "/app/../serve.py",
        "/app/%2e%2e/serve.py",
        "/app/%2E%2E/%2e%2e/etc/passwd",
        "/static/..%2fserve.py",
        "/static/.hidden",
        "/app/",
        "/app",
        "//app/main.py",
        "/app//main.py",
        "/app/main.py%00",
        "/app\\..\\serve.py",
        "/app/%ff.py",
        "app/main.py",
    ],
)
def test_resolve_static_path_denies_everything_else(repo: Path, url_path: str) -> None:
    assert resolve_static_path(url_path, repo) is None


def test_resolve_static_path_denies_symlinks_out_of_served_folders(repo: Path) -> None:
    (repo / "static" / "leak.py").symlink_to(repo / "serve.py")
    assert resolve_static_path("/static/leak.py", repo) is None


def test_page_server_serves_index_at_root(page: Page) -> None:
    status, headers, body = page.get("/")
    assert (status, body) == (200, INDEX_HTML.encode())
    assert headers["Content-Type"] == "text/html; charset=utf-8"


def test_page_server_sends_without_waiting_for_acks(built_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Headers and body are separate writes: with Nagle's algorithm on, each response on a
    kept-alive connection waited ~40 ms for the browser's delayed ACK (every file of the page)."""
    nodelay: list[int] = []
    setup = StaticHandler.setup

    def recording_setup(handler: StaticHandler) -> None:
        setup(handler)
        nodelay.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(StaticHandler, "setup", recording_setup)
    for page in run_page(built_repo, None):
        assert page.get("/")[0] == 200
    assert nodelay and all(nodelay)


def test_page_server_serves_pyscript_toml_with_the_chosen_api_base(page: Page) -> None:
    status, headers, body = page.get("/pyscript.toml")
    assert status == 200
    assert headers["Content-Type"] == "application/toml; charset=utf-8"
    assert body.decode() == rewrite_api_base(SERVED_TOML, "http://127.0.0.1:4567")


def test_page_server_without_api_base_keeps_the_configured_one(built_repo: Path) -> None:
    for page in run_page(built_repo, None):
        assert page.get("/pyscript.toml")[2].decode() == SERVED_TOML


@pytest.mark.parametrize(
    ("path", "mime"),
    [
        ("/runtime/pyodide-314.0.7/pyodide.asm.wasm", "application/wasm"),
        ("/runtime/pyodide-314.0.7/pyodide.mjs", "text/javascript; charset=utf-8"),
        ("/runtime/pyscript-0.7.31/core.js", "text/javascript; charset=utf-8"),
        ("/runtime/pyscript-0.7.31/core.css", "text/css; charset=utf-8"),
        ("/runtime/pyodide-314.0.7/pyodide-lock.json", "application/json; charset=utf-8"),
        ("/runtime/pyodide-314.0.7/python_stdlib.zip", "application/zip"),
        ("/app/main.py", "text/x-python; charset=utf-8"),
        ("/static/data.json", "application/json; charset=utf-8"),
    ],
)
def test_page_server_sends_the_right_content_type(page: Page, path: str, mime: str) -> None:
    status, headers, _ = page.get(path)
    assert (status, headers["Content-Type"]) == (200, mime)


@pytest.mark.parametrize("path", ["/", "/app/main.py", "/serve.py"])
def test_page_server_sends_nosniff_on_every_response(page: Page, path: str) -> None:
    assert page.get(path)[1]["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/pyscript.toml",
        "/app/main.py",
        "/static/boot.js",
        "/runtime/VERSIONS.json",
        "/runtime/page-stdlib-314.0.7.zip",  # named for the Pyodide, but rebuilt when the start-up list changes
    ],
)
def test_page_server_asks_browsers_to_revalidate_the_pages_own_files(page: Page, path: str) -> None:
    _, headers, _ = page.get(path)
    assert headers["Cache-Control"] == "no-cache"
    assert headers["ETag"] and headers["Last-Modified"]


@pytest.mark.parametrize("path", ["/runtime/pyodide-314.0.7/pyodide.asm.wasm", "/runtime/pyscript-0.7.31/core.js"])
def test_page_server_lets_browsers_keep_the_version_named_runtime(page: Page, path: str) -> None:
    # The URL names the version, so its content never changes: a reload need not ask again.
    _, headers, _ = page.get(path)
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["ETag"]


def test_page_server_revalidates_a_runtime_directory_that_is_not_the_built_version(built_repo: Path) -> None:
    write(built_repo / "runtime" / "pyodide-0.1" / "pyodide.mjs", "old")
    for page in run_page(built_repo, None):
        assert page.get("/runtime/pyodide-0.1/pyodide.mjs")[1]["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/serve.py",
        "/.git/config",
        "/tests/test_x.py",
        "/node_modules/pyodide/package.json",
        "/app/../serve.py",
        "/app/%2e%2e/serve.py",
        "/app/",
        "/runtime/",
    ],
)
def test_page_server_answers_404_outside_the_page(page: Page, path: str) -> None:
    status, _, body = page.get(path)
    assert status == 404
    assert b"SECRET" not in body and b"<a href" not in body


def test_page_server_answers_304_to_a_matching_etag(page: Page) -> None:
    etag = page.get("/app/main.py")[1]["ETag"]
    status, _, body = page.get("/app/main.py", headers={"If-None-Match": etag})
    assert (status, body) == (304, b"")


def test_page_server_answers_200_to_a_stale_etag(page: Page) -> None:
    assert page.get("/app/main.py", headers={"If-None-Match": '"old"'})[0] == 200


def test_page_server_answers_304_when_not_modified_since(page: Page) -> None:
    last_modified = page.get("/static/style.css")[1]["Last-Modified"]
    status, _, _ = page.get("/static/style.css", headers={"If-Modified-Since": last_modified})
    assert status == 304


def test_page_server_answers_200_when_modified_since(page: Page) -> None:
    long_ago = email.utils.formatdate(0, usegmt=True)
    assert page.get("/static/style.css", headers={"If-Modified-Since": long_ago})[0] == 200


def test_toml_etag_changes_with_the_api_base(built_repo: Path) -> None:
    tags = []
    for api_base in ("http://127.0.0.1:1111", "http://127.0.0.1:2222"):
        for page in run_page(built_repo, api_base):
            tags.append(page.get("/pyscript.toml")[1]["ETag"])
    assert tags[0] != tags[1]


def test_page_server_answers_head_without_a_body(page: Page) -> None:
    status, headers, body = page.get("/app/main.py", method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == str(len("print('hi')\n"))


def test_page_server_gzips_text_and_wasm_for_clients_that_accept_it(built_repo: Path) -> None:
    import gzip as gz

    server = make_static_server("127.0.0.1", 0, None, repo=built_repo, verbose=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        wasm = built_repo / "runtime" / "pyodide-314.0.7" / "pyodide.asm.wasm"
        wasm.write_bytes(b"\0asm" + b"\1" * 50_000)
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
        conn.request("GET", "/runtime/pyodide-314.0.7/pyodide.asm.wasm", headers={"Accept-Encoding": "gzip, br"})
        response = conn.getresponse()
        body = response.read()
        assert response.getheader("Content-Encoding") == "gzip"
        assert response.getheader("Vary") == "Accept-Encoding"
        assert gz.decompress(body) == wasm.read_bytes() and len(body) < 1000
        etag = response.getheader("ETag")
        assert etag and etag.endswith('-gz"')
        conn.request("GET", "/runtime/pyodide-314.0.7/pyodide.asm.wasm", headers={"Accept-Encoding": "gzip",
                                                                           "If-None-Match": etag})
        revalidated = conn.getresponse()
        revalidated.read()
        assert revalidated.status == 304
        conn.request("GET", "/runtime/pyodide-314.0.7/pyodide.asm.wasm", headers={"Accept-Encoding": "identity"})
        plain = conn.getresponse()
        assert plain.getheader("Content-Encoding") is None and plain.read() == wasm.read_bytes()
        assert plain.getheader("ETag") != etag
        conn.close()
    finally:
        server.shutdown()
        server.server_close()


# -- the generated page files -----------------------------------------------------------
PAGE_WITH_LIST = '<!doctype html><meta charset="utf-8"><script type="application/json" id="python-files">[]</script>'


def preload_of(body: bytes) -> list[str]:
    block = re.search(rb'id="python-files">(.*?)</script>', body, re.S)
    assert block is not None
    return list(json.loads(block.group(1)))


def test_the_served_page_preloads_every_app_module_sub_packages_included(built_repo: Path) -> None:
    write(built_repo / "index.html", PAGE_WITH_LIST)
    write(built_repo / "app" / "view" / "__init__.py", "X = 1\n")
    for page in run_page(built_repo, None):
        status, headers, body = page.get("/")
        files = tomllib.loads(page.get("/pyscript.toml")[2].decode())["files"]
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert preload_of(body) == ["./app/storage.py", "./app/view/__init__.py", "./app/main.py"]
    assert {"./app/storage.py", "./app/view/__init__.py"} <= files.keys()


def test_a_module_added_while_serving_is_served_with_new_validators(built_repo: Path) -> None:
    write(built_repo / "index.html", PAGE_WITH_LIST)
    for page in run_page(built_repo, None):
        before = {path: page.get(path)[1] for path in ("/", "/pyscript.toml")}
        time.sleep(0.01)
        write(built_repo / "app" / "added.py", "Y = 2\n")
        for path, headers in before.items():
            status, now, body = page.get(path, headers={"If-None-Match": headers["ETag"]})
            assert status == 200 and b"./app/added.py" in body, path
            assert now["ETag"] != headers["ETag"]
            assert email.utils.parsedate_to_datetime(now["Last-Modified"]) >= email.utils.parsedate_to_datetime(
                headers["Last-Modified"])
            assert page.get(path, headers={"If-None-Match": now["ETag"]})[0] == 304


def test_the_generated_page_is_gzipped_like_any_other(built_repo: Path) -> None:
    write(built_repo / "index.html", PAGE_WITH_LIST + "<!-- padding -->" * 100)
    for page in run_page(built_repo, None):
        status, headers, body = page.get("/", headers={"Accept-Encoding": "gzip"})
        plain = page.get("/")[2]
    assert (status, headers["Content-Encoding"]) == (200, "gzip")
    assert gzip.decompress(body) == plain and headers["ETag"].endswith('-gz"')


def test_a_config_whose_files_cannot_be_merged_is_served_unchanged_with_a_message(
    built_repo: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    broken = TOML.replace('"./app/main.py" = "./app/main.py"', '"./app/storage.py" = "./elsewhere.py"')
    write(built_repo / "pyscript.toml", broken)
    for page in run_page(built_repo, None):
        assert page.get("/pyscript.toml")[2].decode() == broken
    assert "serving pyscript.toml unchanged" in capfd.readouterr().err


def test_the_real_page_preloads_exactly_the_python_pyscript_fetches() -> None:
    """pyodide-snapshot.mjs preloads index.html's list: the [files] and main.py, which PyScript fetches late."""
    for page in run_page(ROOT, "http://127.0.0.1:9"):
        files = tomllib.loads(page.get("/pyscript.toml")[2].decode())["files"]
        listed = preload_of(page.get("/")[2])
    assert sorted(listed) == sorted([*files, "./app/main.py"])
    on_disk = {f"./{p.relative_to(ROOT).as_posix()}" for p in (ROOT / "app").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert set(listed) == on_disk | set(catalogue_files(ROOT))  # and the compiled translations


def test_the_page_is_served_when_the_page_cannot_read_its_characters(built_repo: Path) -> None:
    # index.html lists the configured characters as stand-ins; a config the page cannot read (it says
    # why when it starts) must not cost the page itself.
    write(built_repo / "index.html", INDEX_HTML + '<ul id="character-list" class="character-list"></ul>')
    write(built_repo / "pyscript.toml", TOML.replace("[[chat.characters]]", "characters = 5\n[other2]"))
    for page in run_page(built_repo, None):
        status, _headers, body = page.get("/")
        assert status == 200
        assert b'<ul id="character-list" class="character-list"></ul>' in body


def test_page_server_sends_a_brotli_copy_only_while_it_is_its_file_s(built_repo: Path) -> None:
    # The page decodes it (static/runtime-fetch.mjs): sent as it is, never compressed again. Once its
    # file is rebuilt (another modification time), the copy is a 404 and the page fetches the file.
    stdlib = built_repo / "runtime" / "page-stdlib-314.0.7.zip"
    copy = write(built_repo / "runtime" / "page-stdlib-314.0.7.zip.br", "brotli bytes " * 200)
    os.utime(copy, ns=(stdlib.stat().st_atime_ns, stdlib.stat().st_mtime_ns))
    for page in run_page(built_repo, None):
        status, headers, body = page.get("/runtime/page-stdlib-314.0.7.zip.br", headers={"Accept-Encoding": "gzip, br"})
        assert (status, body) == (200, copy.read_bytes())
        assert headers["Content-Type"] == "application/octet-stream"
        assert "Content-Encoding" not in headers
        os.utime(stdlib, ns=(stdlib.stat().st_atime_ns, stdlib.stat().st_mtime_ns + 1_000_000))
        assert page.get("/runtime/page-stdlib-314.0.7.zip.br")[0] == 404
        assert page.get("/runtime/app-bytecode.zip.br")[0] == 404  # no copy at all
