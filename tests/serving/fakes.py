"""Stand-ins shared by the serving tests: a tiny fake project, a fake npm, a page client."""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from serving.static import make_static_server

ROOT = Path(__file__).resolve().parents[2]
INDEX_HTML = '<!doctype html><meta charset="utf-8"><title>Chat</title>'
PINS = {"@pyscript/core": "0.7.31", "pyodide": "314.0.7", "brotli-dec-wasm": "2.3.2"}
BROTLI_FILES = ["brotli_dec_wasm.js", "brotli_dec_wasm_bg.wasm", "LICENSE-MIT.txt", "LICENSE-Apache.txt"]
PYODIDE_FILES = [
    "pyodide.mjs",
    "pyodide.mjs.map",
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
# TOML as the page gets it: the fake app's one imported module added to the [files] it has.
SERVED_TOML = TOML.replace('[files]\n', '[files]\n"./app/storage.py" = "./app/storage.py"\n')


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
    brotli = repo / "node_modules" / "brotli-dec-wasm"
    write(brotli / "package.json", json.dumps({"version": versions["brotli-dec-wasm"]}))
    for name in BROTLI_FILES:
        write(brotli / ("pkg" if name.startswith("brotli") else "") / name, name)
    write(brotli / "pkg" / "brotli_dec_wasm.d.ts", "types, not copied")


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


def fetch_toml(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/pyscript.toml", timeout=10) as response:
        return str(response.read().decode())
