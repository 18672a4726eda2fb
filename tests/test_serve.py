"""serve.py: runtime setup, the locked-down page server, export and the CLI."""

from __future__ import annotations

import _imp
import email.utils
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import serve
from demo_proxy import http_url
from serve import (
    NPM_COMMAND,
    SetupError,
    ensure_runtime,
    export_site,
    main,
    make_static_server,
    resolve_static_path,
    rewrite_api_base,
    start_servers,
    validate_api_url,
)

ROOT = Path(__file__).resolve().parent.parent
INDEX_HTML = '<!doctype html><meta charset="utf-8"><title>Chat</title>'
PINS = {"@pyscript/core": "0.7.31", "pyodide": "314.0.7"}
PYODIDE_FILES = [
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
]
TOML = """\
# Chat page configuration
interpreter = "./runtime/pyodide-314.0.7/pyodide.mjs"

[files]
"./app/main.py" = "./app/main.py"

[other]
api_base = "http://other.invalid:1"

[chat]
title = "Characters"
api_base = "http://localhost:3000"   # rewritten by serve.py
timeout_ms = 20000

[[chat.characters]]
config_id = "CHAR_luna"
name = "Luna"
"""


# -- fake repository -------------------------------------------------------------
def write(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def install_fake_packages(repo: Path, versions: dict[str, str] = PINS) -> None:
    core = repo / "node_modules" / "@pyscript" / "core"
    write(core / "package.json", json.dumps({"version": versions["@pyscript/core"]}))
    for name in (
        "core.js",
        "core.css",
        "core-abc123.js",
        "py-editor-x.js",
        "xterm.css",
    ):
        write(core / "dist" / name, f"/* {name} */")
    write(core / "dist" / "core.js.map", "{}")
    pyodide = repo / "node_modules" / "pyodide"
    write(pyodide / "package.json", json.dumps({"version": versions["pyodide"]}))
    for name in [*PYODIDE_FILES, "pyodide.js", "console.html"]:
        write(pyodide / name, name)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A tiny stand-in for the project with node_modules but no runtime/."""
    root = tmp_path / "repo"
    write(root / "package.json", json.dumps({"dependencies": PINS}))
    install_fake_packages(root)
    write(root / "index.html", INDEX_HTML)
    write(root / "pyscript.toml", TOML)
    write(root / "app" / "main.py", "print('hi')\n")
    write(root / "app" / "storage.py", "KEY = 1\n")
    write(root / "app" / "__pycache__" / "main.cpython-311.pyc", "junk")
    write(root / "static" / "style.css", "body {}")
    write(root / "static" / "boot.js", "export {};")
    write(root / "static" / "data.json", "{}")
    write(root / "static" / ".hidden", "secret")
    write(root / "serve.py", "SECRET = 1")
    write(root / ".git" / "config", "[core]")
    write(root / "tests" / "test_x.py", "")
    return root


@pytest.fixture
def built_repo(repo: Path) -> Path:
    ensure_runtime(repo, run=refuse_to_run)
    serve.ensure_stdlib(repo, run=refuse_to_run)  # no build script here: Pyodide's own zip, as serve.py serves it
    return repo


def refuse_to_run(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("npm must not run")


class FakeNpm:
    """Stands in for subprocess.run: records calls, 'installs' the pins."""

    def __init__(self, returncode: int = 0) -> None:
        self.calls: list[tuple[list[str], Path]] = []
        self.returncode = returncode

    def __call__(self, command: list[str], *, cwd: Path, check: bool) -> Any:
        self.calls.append((command, cwd))
        if self.returncode == 0:
            install_fake_packages(cwd)
        return subprocess.CompletedProcess(command, self.returncode)


# -- rewrite_api_base --------------------------------------------------------------
def test_rewrite_api_base_changes_only_the_chat_api_base_line() -> None:
    rewritten = rewrite_api_base(TOML, "http://127.0.0.1:4567")
    before, after = TOML.splitlines(keepends=True), rewritten.splitlines(keepends=True)
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert changed == [
        (
            'api_base = "http://localhost:3000"   # rewritten by serve.py\n',
            'api_base = "http://127.0.0.1:4567"   # rewritten by serve.py\n',
        )
    ]


def test_rewrite_api_base_keeps_crlf_line_endings() -> None:
    text = '[chat]\r\napi_base = "http://localhost:3000"\r\nx = 1\r\n'
    assert rewrite_api_base(text, "https://api.test") == '[chat]\r\napi_base = "https://api.test"\r\nx = 1\r\n'


def test_rewrite_api_base_ignores_api_base_outside_the_chat_table() -> None:
    text = '[chat.characters]\napi_base = "a"\n[chat]\napi_base = "b"\n'
    assert rewrite_api_base(text, "http://c") == '[chat.characters]\napi_base = "a"\n[chat]\napi_base = "http://c"\n'


def test_rewrite_api_base_fails_loudly_without_the_line() -> None:
    with pytest.raises(ValueError, match="api_base"):
        rewrite_api_base('[chat]\ntitle = "x"\n', "http://c")


# -- validate_api_url --------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://localhost:3000", "http://localhost:3000"),
        ("https://chat.example.test/", "https://chat.example.test"),
        ("HTTP://[::1]:3000", "http://[::1]:3000"),
    ],
)
def test_validate_api_url_normalises_good_urls(url: str, expected: str) -> None:
    assert validate_api_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "localhost:3000",
        "ftp://host",
        "http://",
        "http://host/api",
        "http://host?x=1",
        "http://host#frag",
        "http://user:pw@host",
        "http://host:99999",
    ],
)
def test_validate_api_url_rejects_unusable_urls(url: str) -> None:
    with pytest.raises(ValueError, match="--api"):
        validate_api_url(url)


# -- resolve_static_path -----------------------------------------------------------
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


# -- page server over real sockets ---------------------------------------------------
class Page:
    def __init__(self, port: int) -> None:
        self.port = port

    def get(self, path: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()


def run_page(repo: Path, api_base: str | None) -> Iterator[Page]:
    server = make_static_server("127.0.0.1", 0, api_base, repo=repo)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield Page(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page(built_repo: Path) -> Iterator[Page]:
    yield from run_page(built_repo, "http://127.0.0.1:4567")


def test_page_server_serves_index_at_root(page: Page) -> None:
    status, headers, body = page.get("/")
    assert (status, body) == (200, INDEX_HTML.encode())
    assert headers["Content-Type"] == "text/html; charset=utf-8"


def test_page_server_sends_without_waiting_for_acks(built_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Headers and body are separate writes: with Nagle's algorithm on, each response on a
    kept-alive connection waited ~40 ms for the browser's delayed ACK (every file of the page)."""
    nodelay: list[int] = []
    setup = serve.StaticHandler.setup

    def recording_setup(handler: serve.StaticHandler) -> None:
        setup(handler)
        nodelay.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(serve.StaticHandler, "setup", recording_setup)
    for page in run_page(built_repo, None):
        assert page.get("/")[0] == 200
    assert nodelay and all(nodelay)


def test_page_server_serves_pyscript_toml_with_the_chosen_api_base(page: Page) -> None:
    status, headers, body = page.get("/pyscript.toml")
    assert status == 200
    assert headers["Content-Type"] == "application/toml; charset=utf-8"
    assert body.decode() == rewrite_api_base(TOML, "http://127.0.0.1:4567")


def test_page_server_without_api_base_serves_toml_unchanged(built_repo: Path) -> None:
    for page in run_page(built_repo, None):
        assert page.get("/pyscript.toml")[2].decode() == TOML


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


# -- ensure_runtime --------------------------------------------------------------------
def test_ensure_runtime_builds_runtime_from_node_modules(repo: Path) -> None:
    assert ensure_runtime(repo, run=refuse_to_run) is True
    runtime = repo / "runtime"
    assert sorted(p.name for p in (runtime / "pyscript-0.7.31").iterdir()) == [
        "core-abc123.js",
        "core.css",
        "core.js",
        "py-editor-x.js",
        "xterm.css",
    ]
    assert sorted(p.name for p in (runtime / "pyodide-314.0.7").iterdir()) == sorted(PYODIDE_FILES)
    assert json.loads((runtime / "VERSIONS.json").read_text()) == PINS


def test_every_runtime_url_names_the_pinned_versions() -> None:
    # The runtime is served as immutable, so a version bump must change every URL that names it.
    pinned = set(serve.runtime_dirs(serve.pinned_versions(ROOT)).values())
    pages = [p for p in (ROOT / "bench" / "pages").rglob("*") if p.suffix in (".html", ".toml", ".js", ".py")]
    sources = [ROOT / "index.html", ROOT / "pyscript.toml", *(ROOT / "static").glob("*.*js"), *pages]
    named = {(path.relative_to(ROOT).as_posix(), d) for path in sources
             for d in re.findall(r"runtime/([^/\s\"']+)/", path.read_text(encoding="utf-8"))}
    assert {d for _, d in named} == pinned, sorted(named)


def test_ensure_runtime_leaves_no_temporary_folders(repo: Path) -> None:
    ensure_runtime(repo, run=refuse_to_run)
    ensure_runtime(repo, run=refuse_to_run)
    assert not [p.name for p in repo.iterdir() if p.name.startswith(".runtime")]


def test_ensure_runtime_keeps_a_current_runtime(built_repo: Path) -> None:
    marker = write(built_repo / "runtime" / "pyodide-314.0.7" / "marker", "kept")
    assert ensure_runtime(built_repo, run=refuse_to_run) is False
    assert marker.read_text() == "kept"


def test_ensure_runtime_rebuilds_when_the_stamp_differs(built_repo: Path) -> None:
    write(built_repo / "runtime" / "VERSIONS.json", json.dumps({"pyodide": "0.1"}))
    write(built_repo / "runtime" / "pyodide-314.0.7" / "marker", "stale")
    assert ensure_runtime(built_repo, run=refuse_to_run) is True
    assert not (built_repo / "runtime" / "pyodide-314.0.7" / "marker").exists()
    assert json.loads((built_repo / "runtime" / "VERSIONS.json").read_text()) == PINS


def test_ensure_runtime_runs_npm_ci_when_packages_are_missing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(repo / "node_modules")
    npm = FakeNpm()
    ensure_runtime(repo, run=npm)
    assert npm.calls == [(list(NPM_COMMAND), repo)]
    assert NPM_COMMAND == ("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
    assert "Fetching the pinned PyScript/Pyodide runtime with npm" in capsys.readouterr().out
    assert (repo / "runtime" / "pyodide-314.0.7" / "pyodide.asm.wasm").is_file()


def test_ensure_runtime_runs_npm_ci_when_a_version_differs(repo: Path) -> None:
    install_fake_packages(repo, {"@pyscript/core": "0.7.31", "pyodide": "0.27.0"})
    npm = FakeNpm()
    ensure_runtime(repo, run=npm)
    assert len(npm.calls) == 1


def test_ensure_runtime_explains_a_missing_npm(repo: Path) -> None:
    def no_npm(*args: Any, **kwargs: Any) -> Any:
        raise FileNotFoundError("npm")

    (repo / "node_modules" / "pyodide" / "package.json").unlink()
    with pytest.raises(SetupError, match="npm was not found"):
        ensure_runtime(repo, run=no_npm)


def test_ensure_runtime_reports_a_failing_npm(repo: Path) -> None:
    (repo / "node_modules" / "pyodide" / "package.json").unlink()
    with pytest.raises(SetupError, match="exit code 1"):
        ensure_runtime(repo, run=FakeNpm(returncode=1))
    assert not (repo / "runtime").exists()


# -- export ---------------------------------------------------------------------------
def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_export_site_writes_a_self_contained_site(repo: Path, tmp_path: Path) -> None:
    dest = tmp_path / "site"
    export_site(dest, repo=repo, run=refuse_to_run)
    assert tree(dest) == {
        "index.html",
        "pyscript.toml",
        "app/main.py",
        "app/storage.py",
        "static/style.css",
        "static/boot.js",
        "static/data.json",
        "runtime/VERSIONS.json",
        "runtime/page-stdlib-314.0.7.zip",  # Pyodide's own here: this repository has no script to build it
        *(
            f"runtime/pyscript-0.7.31/{n}"
            for n in (
                "core.js",
                "core.css",
                "core-abc123.js",
                "py-editor-x.js",
                "xterm.css",
            )
        ),
        *(f"runtime/pyodide-314.0.7/{n}" for n in PYODIDE_FILES),
    }


def test_export_site_keeps_pyscript_toml_without_api(repo: Path, tmp_path: Path) -> None:
    export_site(tmp_path / "site", repo=repo, run=refuse_to_run)
    assert (tmp_path / "site" / "pyscript.toml").read_text() == TOML


def test_export_site_rewrites_api_base_when_given(repo: Path, tmp_path: Path) -> None:
    export_site(tmp_path / "site", "https://chat.example.test", repo=repo, run=refuse_to_run)
    exported = (tmp_path / "site" / "pyscript.toml").read_text()
    assert exported == rewrite_api_base(TOML, "https://chat.example.test")


def test_export_site_replaces_a_previous_export(repo: Path, tmp_path: Path) -> None:
    dest = tmp_path / "site"
    write(dest / "app" / "removed.py")
    write(dest / "README.txt", "mine")
    export_site(dest, repo=repo, run=refuse_to_run)
    assert not (dest / "app" / "removed.py").exists()
    assert (dest / "README.txt").read_text() == "mine"


@pytest.mark.parametrize("relative", [".", "app", "static/sub", "runtime", ".."])
def test_export_site_refuses_to_write_over_the_project(repo: Path, relative: str) -> None:
    with pytest.raises(SetupError, match="refusing"):
        export_site(repo / relative, repo=repo, run=refuse_to_run)
    assert (repo / "index.html").read_text() == INDEX_HTML


def test_cli_export_into_the_project_exits_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--export", str(repo)], repo=repo, run=refuse_to_run) == 2
    assert "refusing" in capsys.readouterr().err


def test_cli_export_explains_how_to_serve_the_site(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "site"
    assert main(["--export", str(dest)], repo=repo, run=refuse_to_run) == 0
    out = capsys.readouterr().out
    assert f"cd {dest} && python3 -m http.server" in out
    assert "http://localhost:3000" in out


# -- command line ---------------------------------------------------------------
def test_cli_exits_1_when_the_page_port_is_taken(built_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["--port", str(port), "--api-port", "0"], repo=built_repo, run=refuse_to_run)
    captured = capsys.readouterr()
    assert code == 1
    assert f"Port {port} is already in use" in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("url", ["ftp://x", "http://host/path"])
def test_cli_rejects_a_bad_api_url_with_exit_2(built_repo: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--api", url], repo=built_repo, run=refuse_to_run) == 2
    assert "invalid --api URL" in capsys.readouterr().err


def fetch_toml(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/pyscript.toml", timeout=10) as response:
        return str(response.read().decode())


def test_start_servers_points_the_page_at_the_demo_proxy(built_repo: Path) -> None:
    servers = start_servers("127.0.0.1", 0, 0, repo=built_repo)
    servers.start()
    try:
        assert servers.proxy is not None
        api_port = servers.proxy.server_address[1]
        assert servers.api_base == f"http://127.0.0.1:{api_port}"
        assert f'api_base = "http://127.0.0.1:{api_port}"' in fetch_toml(servers.page.server_address[1])
    finally:
        servers.stop()


def test_start_servers_uses_whatever_already_listens_on_the_api_port(
    built_repo: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        api_port = taken.getsockname()[1]
        servers = start_servers("127.0.0.1", 0, api_port, repo=built_repo)
    servers.start()
    try:
        assert servers.proxy is None
        assert servers.api_base == f"http://localhost:{api_port}"
        assert f'api_base = "http://localhost:{api_port}"' in fetch_toml(servers.page.server_address[1])
    finally:
        servers.stop()


def test_start_servers_with_an_api_url_starts_no_proxy(built_repo: Path) -> None:
    servers = start_servers("127.0.0.1", 0, 0, api_url="https://chat.example.test", repo=built_repo)
    servers.start()
    try:
        assert servers.proxy is None
        assert 'api_base = "https://chat.example.test"' in fetch_toml(servers.page.server_address[1])
    finally:
        servers.stop()


def test_demo_proxy_url_uses_loopback_when_bound_to_all_interfaces() -> None:
    assert http_url("0.0.0.0", 3000) == "http://127.0.0.1:3000"
    assert http_url("", 3000) == "http://127.0.0.1:3000"
    assert http_url("::1", 3000) == "http://[::1]:3000"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve.py exited early: {process.communicate()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("serve.py did not start listening")


@pytest.mark.skipif(
    not all((ROOT / name).is_file() for name in ("index.html", "pyscript.toml")),
    reason="the real page (index.html, pyscript.toml) is not in the repo yet",
)
def test_serve_py_serves_the_real_page_and_proxy_until_sigterm() -> None:
    page_port, api_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "serve.py"),
            "--port",
            str(page_port),
            "--api-port",
            str(api_port),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(page_port, process)
        with urllib.request.urlopen(f"http://127.0.0.1:{page_port}/", timeout=10) as response:
            assert response.status == 200 and b"<html" in response.read().lower()
        toml = fetch_toml(page_port)
        assert re.search(rf'^api_base = "http://127\.0\.0\.1:{api_port}"', toml, re.MULTILINE)
        request = urllib.request.Request(
            f"http://127.0.0.1:{api_port}/api/sessions",
            data=json.dumps({"config_id": "CHAR_luna"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["session_status"] == "active"
        os.kill(process.pid, signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert f"Chat page:  http://127.0.0.1:{page_port}/" in out
    assert f"Demo proxy: http://127.0.0.1:{api_port}" in out
    assert out.rstrip().endswith("Stopped.")
    assert "Traceback" not in err


# -- Content-Security-Policy ---------------------------------------------------------
CSP_TOML = '[chat]\napi_base = "https://proxy.example.org/v1"\nallowed_api_bases = ["https://other.example.org"]\n'


def test_csp_limits_connections_to_self_and_the_configured_bases() -> None:
    policy = serve.content_security_policy(CSP_TOML, allow_loopback=False)
    assert "connect-src 'self' https://other.example.org https://proxy.example.org;" in policy
    assert "localhost" not in policy


def test_csp_forbids_inline_script_plugins_and_base_changes() -> None:
    directives = dict(d.split(" ", 1) for d in serve.content_security_policy(CSP_TOML).split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-inline'" not in directives["style-src"]
    assert "'wasm-unsafe-eval'" in directives["script-src"]


def test_csp_allows_the_loopback_proxies_the_api_rule_accepts_by_default() -> None:
    policy = serve.content_security_policy(CSP_TOML)
    assert "http://localhost:*" in policy and "http://127.0.0.1:*" in policy


def test_csp_meta_variant_leaves_out_frame_ancestors() -> None:
    assert "frame-ancestors" in serve.content_security_policy(CSP_TOML)
    assert "frame-ancestors" not in serve.content_security_policy(CSP_TOML, for_meta=True)


def test_csp_ignores_api_bases_that_are_not_http_urls() -> None:
    toml = '[chat]\napi_base = "javascript:alert(1)"\nallowed_api_bases = ["https://x.test\' \'unsafe-inline"]\n'
    assert "connect-src 'self';" in serve.content_security_policy(toml, allow_loopback=False)


def test_csp_meta_is_placed_after_the_charset_and_escaped() -> None:
    html = '<!doctype html><html><head><meta charset="utf-8"><title>t</title></head></html>'
    out = serve.add_csp_meta(html, "default-src 'none'; x \"y\"")
    assert out.index('<meta charset="utf-8">') < out.index("Content-Security-Policy") < out.index("<title>")
    assert 'content="default-src &#x27;none&#x27;; x &quot;y&quot;"' in out


def test_export_writes_the_policy_into_index_html(built_repo: Path, tmp_path: Path) -> None:
    dest = tmp_path / "site"
    serve.export_site(dest, "https://proxy.example.org", repo=built_repo, run=refuse_to_run)
    page = (dest / "index.html").read_text(encoding="utf-8")
    assert 'http-equiv="Content-Security-Policy"' in page
    assert "https://proxy.example.org" in page


# -- compression ---------------------------------------------------------------------
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


# -- app bytecode ------------------------------------------------------------------
@pytest.fixture
def app_copy(tmp_path: Path) -> Path:
    """The project's app and bytecode scripts, beside the real pinned runtime (built first)."""
    serve.ensure_runtime(ROOT)
    root = tmp_path / "copy"
    shutil.copytree(ROOT / "app", root / "app", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "scripts").mkdir()
    for script in (serve.BYTECODE_SCRIPT, serve.STDLIB_SCRIPT, serve.STDLIB_MODULES):
        shutil.copy(ROOT / script, root / script)
    (root / "runtime").mkdir()
    shutil.copy(ROOT / "runtime" / serve.RUNTIME_STAMP, root / "runtime" / serve.RUNTIME_STAMP)
    for name in serve.versioned_runtime_dirs(ROOT / "runtime"):
        (root / "runtime" / name).symlink_to(ROOT / "runtime" / name)
    return root


def compiled_modules(root: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(root / "runtime" / serve.BYTECODE) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def test_bytecode_holds_every_imported_app_module_checked_against_its_source(app_copy: Path) -> None:
    assert serve.ensure_bytecode(app_copy) is True
    compiled = compiled_modules(app_copy)
    imported = [p for p in sorted((app_copy / "app").glob("*.py")) if p.name != "main.py"]
    assert sorted(compiled) == sorted(f"{p.stem}.cpython-314.pyc" for p in imported)
    for source in imported:
        pyc = compiled[f"{source.stem}.cpython-314.pyc"]
        assert int.from_bytes(pyc[4:8], "little") == 0b11  # hash-based, checked: a stale one is ignored
        # The hash Python compares with the source it finds, keyed by the .pyc's own magic number.
        assert pyc[8:16] == _imp.source_hash(int.from_bytes(pyc[:4], "little"), source.read_bytes())
    assert serve.ensure_bytecode(app_copy) is False  # current: Node is not run again
    (app_copy / "runtime" / serve.BYTECODE_STAMP).unlink()
    assert serve.ensure_bytecode(app_copy) is True  # unsure what the zip holds: built again


def test_bytecode_is_built_again_when_an_app_file_changes(app_copy: Path) -> None:
    serve.ensure_bytecode(app_copy)
    wording = app_copy / "app" / "wording.py"
    wording.write_text(wording.read_text(encoding="utf-8") + "\nEXTRA = 1\n", encoding="utf-8")
    assert serve.ensure_bytecode(app_copy) is True
    pyc = compiled_modules(app_copy)["wording.cpython-314.pyc"]
    assert pyc[8:16] == _imp.source_hash(int.from_bytes(pyc[:4], "little"), wording.read_bytes())


def test_a_failed_bytecode_build_serves_the_page_without_it(
    app_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve.ensure_bytecode(app_copy)
    (app_copy / "app" / "wording.py").write_text("CHANGED = 1\n", encoding="utf-8")

    def node_fails(command: list[str], **_kwargs: Any) -> Any:
        return subprocess.CompletedProcess(command, 1, "", "SyntaxError: boom")

    assert serve.ensure_bytecode(app_copy, run=node_fails) is False
    assert not (app_copy / "runtime" / serve.BYTECODE).exists()  # no stale bytecode left behind
    assert "boom" in capsys.readouterr().err

    def no_node(command: list[str], **_kwargs: Any) -> Any:
        raise FileNotFoundError("node")

    assert serve.ensure_bytecode(app_copy, run=no_node) is False
    assert list((app_copy / "runtime").glob(".app-bytecode*")) == []


# -- the page's standard library --------------------------------------------------------
def stdlib_entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as bundle:
        return {entry: bundle.read(entry) for entry in bundle.namelist()}


def page_stdlib(root: Path) -> Path:
    return root / "runtime" / serve.stdlib_name(serve.pinned_versions(ROOT)[serve.PYODIDE_PACKAGE])


def build_stdlib_of(root: Path, listed: str) -> dict[str, bytes]:
    (root / serve.STDLIB_MODULES).write_text(listed, encoding="utf-8")
    assert serve.ensure_stdlib(root) is True
    return stdlib_entries(page_stdlib(root))


def top_level(entry: str) -> str:
    return entry.split("/")[0].removesuffix(".py")


def test_the_listed_start_up_modules_are_stored_compiled_in_place_of_their_source(app_copy: Path) -> None:
    built = build_stdlib_of(app_copy, "# comment\njson\njson.decoder  # trailing\n")
    shipped = stdlib_entries(serve.pyodide_stdlib_zip(app_copy / "runtime"))
    for module in ("json/__init__", "json/decoder"):
        assert f"{module}.py" not in built
        pyc = built[f"{module}.pyc"]
        assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, unchecked: built with the zip
        assert pyc[8:16] == _imp.source_hash(int.from_bytes(pyc[:4], "little"), shipped[f"{module}.py"])
    assert built["json/encoder.py"] == shipped["json/encoder.py"]  # not listed: as Pyodide shipped it


def test_the_page_stdlib_leaves_frozen_modules_alone_and_prunes_what_a_page_cannot_use(app_copy: Path) -> None:
    built = build_stdlib_of(app_copy, "os\n")
    shipped = stdlib_entries(serve.pyodide_stdlib_zip(app_copy / "runtime"))
    assert "os.py" in built and "os.pyc" not in built  # frozen into Python: never read from the zip
    removed = {top_level(e) for e in shipped} - {top_level(e) for e in built}
    assert {"unittest", "pdb", "multiprocessing", "_pyrepl"} <= removed
    assert built == {e: d for e, d in shipped.items() if top_level(e) not in removed}  # and nothing else changed
    assert not removed & {m.split(".")[0] for m in serve.startup_modules(ROOT)}  # nothing the page imports


def test_the_page_stdlib_is_built_once_and_always_to_the_same_bytes(app_copy: Path) -> None:
    build_stdlib_of(app_copy, "json\n")
    first = page_stdlib(app_copy).read_bytes()
    assert serve.ensure_stdlib(app_copy) is False  # current: Node is not run again
    (app_copy / "runtime" / serve.STDLIB_STAMP).unlink()
    assert serve.ensure_stdlib(app_copy) is True  # unsure what the zip holds: built again
    assert page_stdlib(app_copy).read_bytes() == first


def test_every_listed_start_up_module_is_in_pyodides_stdlib(app_copy: Path) -> None:
    # A misspelt or removed module fails the build (the page then gets Pyodide's own zip)
    # rather than being skipped unnoticed.
    assert serve.ensure_stdlib(app_copy) is True
    built = stdlib_entries(page_stdlib(app_copy))
    for module in serve.startup_modules(ROOT):
        path = module.replace(".", "/")
        assert {f"{path}.pyc", f"{path}/__init__.pyc"} & built.keys(), module


def test_a_failed_stdlib_build_replaces_the_stale_one_with_pyodides_own(
    app_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "json/__init__.pyc" in build_stdlib_of(app_copy, "json\n")
    (app_copy / serve.STDLIB_MODULES).write_text("no_such_module\n", encoding="utf-8")
    assert serve.ensure_stdlib(app_copy) is False
    assert "no_such_module" in capsys.readouterr().err  # Python's error, not Node's dump of Pyodide
    assert page_stdlib(app_copy).read_bytes() == serve.pyodide_stdlib_zip(app_copy / "runtime").read_bytes()
    assert not (app_copy / "runtime" / serve.STDLIB_STAMP).exists()  # the next start tries again


def test_without_node_the_page_gets_pyodides_own_stdlib(app_copy: Path) -> None:
    assert "json/__init__.pyc" in build_stdlib_of(app_copy, "json\n")
    (app_copy / serve.STDLIB_MODULES).write_text("json\njson.decoder\n", encoding="utf-8")

    def no_node(command: list[str], **_kwargs: Any) -> Any:
        raise FileNotFoundError("node")

    assert serve.ensure_stdlib(app_copy, run=no_node) is False
    assert page_stdlib(app_copy).read_bytes() == serve.pyodide_stdlib_zip(app_copy / "runtime").read_bytes()
    assert list((app_copy / "runtime").glob(".page-stdlib*")) == []


def test_index_html_preloads_the_page_stdlib_of_the_pinned_pyodide() -> None:
    # static/pyodide-snapshot.mjs names it from the Pyodide it imports; index.html cannot.
    name = serve.stdlib_name(serve.pinned_versions(ROOT)[serve.PYODIDE_PACKAGE])
    assert f'<link rel="preload" href="./runtime/{name}" as="fetch" crossorigin>' in (ROOT / "index.html").read_text()
