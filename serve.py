"""Serve the chat page locally, or export it as a static site.

Usage::

    python3 serve.py                      # page on :8000, demo proxy on :3000
    python3 serve.py --port 8080 --api-port 3001
    python3 serve.py --api https://chat.example.test   # use a real proxy
    python3 serve.py --export ./export    # static site for any web server

The page runs Python in the browser (PyScript on Pyodide). Both runtimes are
pinned in ``package.json``; on first run this script fetches them with
``npm ci`` and copies the files the page needs into ``runtime/pyscript-<version>/``
and ``runtime/pyodide-<version>/`` (stamped with ``runtime/VERSIONS.json``).
Nothing is ever loaded from a CDN. A versioned URL never changes its content,
so those files are served as ``immutable``: a returning visitor's browser
takes them from its cache without asking again.

The development server only serves the page's own files: ``/`` and
``/index.html``, ``/pyscript.toml`` and anything under ``/app/``, ``/static/``
and ``/runtime/``; everything else is 404. The served ``pyscript.toml`` has
the ``api_base`` line of its ``[chat]`` table pointed at the proxy in use:

- by default the demo proxy (``demo_proxy.py``), started on ``--api-port``;
- if something already listens on ``--api-port``, that is used instead;
- with ``--api URL``, that URL (no demo proxy is started).

``--test-faults`` turns on the demo proxy's ``/__test__/`` control API for
browser tests. Ctrl-C or SIGTERM stops everything.
"""

from __future__ import annotations

import argparse
import email.utils
import gzip
import hashlib
import json
import mimetypes
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape as html_escape
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from demo_proxy import (
    LocalServer,
    ProxyServer,
    QuietHandler,
    http_url,
    is_address_in_use,
    make_proxy_server,
    wait_for_stop_signal,
)

REPO = Path(__file__).resolve().parent

PYSCRIPT_PACKAGE = "@pyscript/core"
PYODIDE_PACKAGE = "pyodide"
PINNED_PACKAGES = (PYSCRIPT_PACKAGE, PYODIDE_PACKAGE)
RUNTIME_NAMES = {PYSCRIPT_PACKAGE: "pyscript", PYODIDE_PACKAGE: "pyodide"}
NPM_COMMAND = ("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
PYODIDE_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
RUNTIME_STAMP = "VERSIONS.json"
# Runtime files live under a directory named for their version (see runtime_dirs), so
# their URLs change whenever their content does and browsers may keep them for a year.
IMMUTABLE = "public, max-age=31536000, immutable"

PAGE_FILES = ("index.html", "pyscript.toml")
SERVED_DIRS = ("app", "static", "runtime")

MIME_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".toml": "application/toml",
    ".py": "text/x-python",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".txt": "text/plain",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
TEXTUAL_APPLICATION_TYPES = ("application/json", "application/toml", "image/svg+xml")

Runner = Callable[..., Any]


class SetupError(Exception):
    """Something the user has to fix before the page can be served."""


# -- runtime -------------------------------------------------------------------
def pinned_versions(repo: Path = REPO) -> dict[str, str]:
    """The versions of PyScript and Pyodide pinned in ``package.json``."""
    try:
        deps = json.loads((repo / "package.json").read_text(encoding="utf-8"))["dependencies"]
        return {name: str(deps[name]) for name in PINNED_PACKAGES}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SetupError(f"package.json must pin {' and '.join(PINNED_PACKAGES)} ({error})") from None


def runtime_dirs(pins: dict[str, str]) -> dict[str, str]:
    """``runtime/``'s directory for each pinned package, named for its version.

    index.html, the snapshot modules and the benchmark's stock page name these
    paths; a test keeps them in step with ``package.json``.

    >>> runtime_dirs({"@pyscript/core": "0.7.31", "pyodide": "314.0.7"})
    {'@pyscript/core': 'pyscript-0.7.31', 'pyodide': 'pyodide-314.0.7'}
    """
    return {name: f"{RUNTIME_NAMES[name]}-{version}" for name, version in pins.items()}


def installed_version(repo: Path, package: str) -> str | None:
    """The version of ``package`` in ``node_modules``, or None if absent."""
    try:
        manifest = repo / "node_modules" / package / "package.json"
        return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _stale_packages(repo: Path, pins: dict[str, str]) -> list[str]:
    return [name for name, version in pins.items() if installed_version(repo, name) != version]


def _runtime_is_current(runtime: Path, pins: dict[str, str]) -> bool:
    try:
        stamp = json.loads((runtime / RUNTIME_STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    dirs = runtime_dirs(pins)
    needed = [
        runtime / dirs[PYSCRIPT_PACKAGE] / "core.js",
        *(runtime / dirs[PYODIDE_PACKAGE] / n for n in PYODIDE_FILES),
    ]
    return stamp == pins and all(path.is_file() for path in needed)


def versioned_runtime_dirs(runtime: Path) -> frozenset[str]:
    """The version-named directories of the runtime built in ``runtime`` (none if unbuilt)."""
    try:
        stamp = json.loads((runtime / RUNTIME_STAMP).read_text(encoding="utf-8"))
        return frozenset(runtime_dirs({name: str(stamp[name]) for name in PINNED_PACKAGES}).values())
    except (OSError, ValueError, KeyError, TypeError):
        return frozenset()


def cache_control(url_path: str, versioned: frozenset[str]) -> str:
    """``Cache-Control`` for a request path: immutable under a version-named runtime directory.

    >>> cache_control("/runtime/pyodide-314.0.7/pyodide.mjs", frozenset({"pyodide-314.0.7"}))
    'public, max-age=31536000, immutable'
    >>> cache_control("/app/main.py", frozenset({"pyodide-314.0.7"}))
    'no-cache'
    """
    segments = unquote(url_path.split("?", 1)[0].split("#", 1)[0]).split("/")
    versioned_file = len(segments) > 3 and segments[1] == "runtime" and segments[2] in versioned
    return IMMUTABLE if versioned_file else "no-cache"


def _install_packages(repo: Path, run: Runner) -> None:
    print(
        "Fetching the pinned PyScript/Pyodide runtime with npm (first run only)...",
        flush=True,
    )
    try:
        result = run(list(NPM_COMMAND), cwd=repo, check=False)
    except FileNotFoundError:
        raise SetupError("npm was not found. Install Node.js (it includes npm), then run serve.py again.") from None
    if result.returncode != 0:
        raise SetupError(f"`{' '.join(NPM_COMMAND)}` failed with exit code {result.returncode}.")


def _build_runtime(repo: Path, pins: dict[str, str]) -> None:
    """Copy the files the page loads into a fresh ``runtime/``, atomically."""
    dist = repo / "node_modules" / PYSCRIPT_PACKAGE / "dist"
    pyodide = repo / "node_modules" / PYODIDE_PACKAGE
    pyscript_files = sorted(p for p in dist.rglob("*") if p.is_file() and p.suffix in (".js", ".css"))
    if not any(p.name == "core.js" for p in pyscript_files):
        raise SetupError(f"{dist} has no core.js; delete node_modules/ and run serve.py again.")
    missing = [name for name in PYODIDE_FILES if not (pyodide / name).is_file()]
    if missing:
        raise SetupError(f"{pyodide} lacks {', '.join(missing)}; delete node_modules/ and retry.")

    runtime = repo / "runtime"
    dirs = runtime_dirs(pins)
    build = Path(tempfile.mkdtemp(prefix=".runtime-build-", dir=repo))
    old = repo / f".runtime-old-{os.getpid()}"
    try:
        for source in pyscript_files:
            target = build / dirs[PYSCRIPT_PACKAGE] / source.relative_to(dist)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        (build / dirs[PYODIDE_PACKAGE]).mkdir()
        for name in PYODIDE_FILES:
            shutil.copy2(pyodide / name, build / dirs[PYODIDE_PACKAGE] / name)
        (build / RUNTIME_STAMP).write_text(json.dumps(pins, indent=2) + "\n", encoding="utf-8")
        if runtime.exists():
            runtime.rename(old)
        build.rename(runtime)
    finally:
        shutil.rmtree(build, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def ensure_runtime(repo: Path = REPO, run: Runner = subprocess.run) -> bool:
    """Make ``runtime/`` hold the pinned PyScript and Pyodide; True if rebuilt.

    Runs ``npm ci`` (through ``run``) only when ``node_modules`` lacks the
    pinned versions, and rebuilds ``runtime/`` only when its stamp differs.

    >>> ensure_runtime(Path("."))   # doctest: +SKIP
    False
    """
    pins = pinned_versions(repo)
    if _stale_packages(repo, pins):
        _install_packages(repo, run)
        still_stale = _stale_packages(repo, pins)
        if still_stale:
            found = {name: installed_version(repo, name) for name in still_stale}
            raise SetupError(
                f"npm ci finished but node_modules has {found}, expected {pins}; "
                "is package-lock.json in step with package.json?"
            )
    if _runtime_is_current(repo / "runtime", pins):
        return False
    _build_runtime(repo, pins)
    return True


# -- bytecode: the app's and the standard library's ----------------------------
BYTECODE = "app-bytecode.zip"  # in runtime/; static/pyodide-snapshot.mjs unpacks it
BYTECODE_STAMP = "app-bytecode.json"
BYTECODE_SCRIPT = Path("scripts") / "app-bytecode.mjs"
PYODIDE_HOME = "/home/pyodide"  # where PyScript writes the page's [files]
STDLIB_STAMP = "page-stdlib.json"  # the zip itself: stdlib_name(); static/pyodide-snapshot.mjs gives it to Pyodide
STDLIB_SCRIPT = Path("scripts") / "stdlib-bytecode.mjs"
STDLIB_MODULES = Path("scripts") / "startup-modules.txt"


def bytecode_sources(repo: Path) -> list[Path]:
    """The app modules a page imports (``main.py`` is run as a script, so it is not among them)."""
    app = repo / "app"
    return sorted(p for p in app.glob("*.py") if p.name != "main.py") if app.is_dir() else []


def _node_build_stamp(repo: Path, inputs: Sequence[Path]) -> dict[str, str]:
    digest = hashlib.sha256()
    for source in inputs:
        digest.update(source.name.encode() + b"\0" + (repo / source).read_bytes() + b"\0")
    stamp = json.loads((repo / "runtime" / RUNTIME_STAMP).read_text(encoding="utf-8"))
    return {"pyodide": str(stamp[PYODIDE_PACKAGE]), "sources": digest.hexdigest()}


def ensure_bytecode(repo: Path = REPO, run: Runner = subprocess.run) -> bool:
    """Make ``runtime/app-bytecode.zip`` hold the app's modules compiled by the pinned Pyodide; True if rebuilt.

    Compiling takes Node and about two seconds, so it is done again only when an
    app file, the script or the runtime changed. The page works the same without
    the zip (it compiles the modules itself, as on any first visit), so a failure
    here is a warning, not an error: the stale zip is removed and the page is served.
    """
    sources = bytecode_sources(repo)
    return _build_with_node(
        repo,
        BYTECODE,
        BYTECODE_STAMP,
        inputs=[BYTECODE_SCRIPT, *sources] if sources else [],
        arguments=lambda pyodide, out: [repo / BYTECODE_SCRIPT, pyodide, PYODIDE_HOME, out, *sources],
        failure="the app's bytecode was not built, so a first visit compiles it",
        run=run,
    )


def stdlib_name(pyodide_version: str) -> str:
    """The page's standard library in ``runtime/``, named for the Pyodide it was built from.

    Not immutable (a new start-up list rebuilds it), but a host that caches it
    anyway still never pairs it with another Pyodide's wasm after an upgrade.

    >>> stdlib_name("314.0.7")
    'page-stdlib-314.0.7.zip'
    """
    return f"page-stdlib-{pyodide_version}.zip"


def ensure_stdlib(repo: Path = REPO, run: Runner = subprocess.run) -> bool:
    """Make ``runtime/page-stdlib-<pyodide version>.zip`` the page's standard library; True if rebuilt.

    Pyodide ships the standard library as source, and compiling what the page
    imports was most of a first visit's start-up. ``scripts/stdlib-bytecode.mjs``
    compiles those modules (listed in ``scripts/startup-modules.txt``) and
    leaves out packages a page cannot use. Without Node, when the build fails
    (with a warning) or when the script is not there, the page gets Pyodide's
    own zip under the same name: it works as before, only slower to start.
    The page cannot start without this file, so it is replaced, never removed.
    """
    runtime = repo / "runtime"
    try:
        version = str(json.loads((runtime / RUNTIME_STAMP).read_text(encoding="utf-8"))[PYODIDE_PACKAGE])
        fallback = pyodide_stdlib_zip(runtime)
    except (OSError, ValueError, KeyError):
        return False  # no runtime built: nothing to serve yet
    return _build_with_node(
        repo,
        stdlib_name(version),
        STDLIB_STAMP,
        inputs=[STDLIB_SCRIPT, STDLIB_MODULES],
        arguments=lambda pyodide, out: [repo / STDLIB_SCRIPT, pyodide, repo / STDLIB_MODULES, out],
        failure="the standard library was not compiled, so a first visit compiles what it imports",
        fallback=fallback,
        run=run,
    )


def startup_modules(repo: Path = REPO) -> list[str]:
    """The modules ``scripts/startup-modules.txt`` lists (``#`` starts a comment)."""
    lines = (repo / STDLIB_MODULES).read_text(encoding="utf-8").splitlines()
    return [name for name in (line.split("#")[0].strip() for line in lines) if name]


def pyodide_stdlib_zip(runtime: Path) -> Path:
    """Pyodide's own standard-library zip, as the pinned npm package ships it."""
    return _pyodide_dir(runtime) / "python_stdlib.zip"


def _pyodide_dir(runtime: Path) -> Path:
    """The built runtime's Pyodide directory (``runtime/pyodide-<version>``)."""
    stamp = json.loads((runtime / RUNTIME_STAMP).read_text(encoding="utf-8"))
    return runtime / runtime_dirs({PYODIDE_PACKAGE: stamp[PYODIDE_PACKAGE]})[PYODIDE_PACKAGE]


NODE_BUILD_TIMEOUT_S = 300


def _build_with_node(
    repo: Path,
    name: str,
    stamp_name: str,
    *,
    inputs: Sequence[Path],
    arguments: Callable[[Path, Path], list[Path | str]],
    failure: str,
    fallback: Path | None = None,
    run: Runner = subprocess.run,
) -> bool:
    """Build ``runtime/<name>`` with a Node script unless its stamp says it is current; True if rebuilt.

    The stamp holds the pinned Pyodide version and a digest of ``inputs``
    (paths relative to ``repo``; none, or one missing: nothing to build). A
    failed build is a warning (``failure`` says what the page does without it).
    Nothing stale is left: the file is replaced by a copy of ``fallback`` if
    there is one, else removed. Each replacement is atomic, so a server serving
    the file meanwhile sends the old one or the new one, never half of one.
    """
    runtime = repo / "runtime"
    zipped, stamp_file = runtime / name, runtime / stamp_name
    try:
        stamp: dict[str, str] | None = _node_build_stamp(repo, inputs) if inputs else None
    except (OSError, ValueError, KeyError):
        stamp = None  # no runtime built, or an input is missing
    try:
        if stamp and zipped.is_file() and json.loads(stamp_file.read_text(encoding="utf-8")) == stamp:
            return False
    except (OSError, ValueError):
        pass  # no stamp or a broken one: build again
    stamp_file.unlink(missing_ok=True)  # first: interrupted from here on, the next start builds again
    partial = runtime / f".{name}.{os.getpid()}"
    try:
        if stamp is not None:
            command = ["node", *map(str, arguments(_pyodide_dir(runtime), partial))]
            try:
                result = run(command, cwd=repo, check=False, capture_output=True, text=True,
                             timeout=NODE_BUILD_TIMEOUT_S)
                if result.returncode != 0 or not partial.is_file():
                    raise SetupError(f"exit code {result.returncode}: {(result.stderr or '').strip()[-500:]}")
                os.replace(partial, zipped)
                stamp_file.write_text(json.dumps(stamp) + "\n", encoding="utf-8")
                return True
            except (OSError, SetupError, subprocess.TimeoutExpired) as error:
                print(f"warning: {failure} ({error})", file=sys.stderr)
        if fallback is not None and fallback.is_file():
            shutil.copy2(fallback, partial)  # its date too: an unchanged fallback keeps its validator
            os.replace(partial, zipped)
        else:
            zipped.unlink(missing_ok=True)
        return False
    finally:
        partial.unlink(missing_ok=True)


# -- pyscript.toml ---------------------------------------------------------------
_TABLE_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]#]+?)\s*\]\]?\s*(?:#.*)?$")
_API_BASE_LINE = re.compile(
    r"""^(?P<lead>\s*api_base\s*=\s*)(?P<value>"(?:[^"\\]|\\.)*"|'[^']*')(?P<trail>\s*(?:\#.*)?)$"""
)


def rewrite_api_base(toml_text: str, api_base: str) -> str:
    """Point the ``api_base`` line of the ``[chat]`` table at ``api_base``.

    Only that one line changes; every other byte is kept.

    >>> rewrite_api_base('[chat]\\napi_base = "http://localhost:3000"\\n', "http://127.0.0.1:9")
    '[chat]\\napi_base = "http://127.0.0.1:9"\\n'
    """
    quoted = '"' + api_base.replace("\\", "\\\\").replace('"', '\\"') + '"'
    lines = toml_text.splitlines(keepends=True)
    in_chat = False
    for index, line in enumerate(lines):
        content = line.rstrip("\r\n")
        header = _TABLE_HEADER.match(content)
        if header:
            in_chat = header.group(1) == "[" and header.group(2) == "chat"
            continue
        match = _API_BASE_LINE.match(content) if in_chat else None
        if match:
            lines[index] = match["lead"] + quoted + match["trail"] + line[len(content) :]
            return "".join(lines)
    raise ValueError('pyscript.toml has no api_base = "..." line in its [chat] table')


def configured_api_base(toml_text: str) -> str | None:
    """The ``[chat] api_base`` value of a pyscript.toml, if it has one."""
    try:
        chat = tomllib.loads(toml_text).get("chat", {})
    except tomllib.TOMLDecodeError:
        return None
    value = chat.get("api_base") if isinstance(chat, dict) else None
    return value if isinstance(value, str) else None


# Loopback proxies the page's ?api= rule accepts. CSP host sources cannot name IPv6 literals or
# an address range, so [::1] and 127.0.0.2-127.255.255.255 stay blocked by the policy.
LOOPBACK_SOURCES = (
    "http://localhost:*",
    "https://localhost:*",
    "http://*.localhost:*",
    "http://127.0.0.1:*",
    "https://127.0.0.1:*",
)


def _origin_source(url: object) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, as a CSP source; None if it is not one."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c in parts.netloc for c in " ;,'\""):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(toml_text: str, *, allow_loopback: bool = True, for_meta: bool = False) -> str:
    """The page's Content-Security-Policy, from its (served) ``pyscript.toml``.

    Scripts only from the page's origin, no inline script or style, and
    requests only to the page's origin and the configured API bases.
    ``'unsafe-eval'`` is there because PyScript 0.7 builds its plugin hooks
    with ``Function(...)`` at every start (the page does not boot without it;
    ``app/browser.py`` then compiles one constant helper the same way);
    Pyodide itself only needs ``'wasm-unsafe-eval'``.
    ``allow_loopback`` adds the loopback hosts that the page's ``?api=`` rule
    accepts (a proxy on the user's own machine). ``for_meta`` leaves out what a
    ``<meta>`` policy cannot carry.
    """
    try:
        chat = tomllib.loads(toml_text).get("chat", {})
    except tomllib.TOMLDecodeError:
        chat = {}
    chat = chat if isinstance(chat, dict) else {}
    bases = [chat.get("api_base"), *(chat.get("allowed_api_bases") or [])]
    connect = ["'self'", *sorted({s for s in map(_origin_source, bases) if s})]
    if allow_loopback:
        connect += [s for s in LOOPBACK_SOURCES if s not in connect]
    directives = [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src " + " ".join(connect),
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
    if not for_meta:
        directives.append("frame-ancestors 'none'")
    return "; ".join(directives)


def add_csp_meta(html: str, policy: str) -> str:
    """``index.html`` with the policy as a ``<meta http-equiv>`` right after ``<meta charset>``."""
    tag = f'<meta http-equiv="Content-Security-Policy" content="{html_escape(policy)}">'
    head = re.search(r"<meta charset=[^>]*>", html, re.IGNORECASE)
    if head is None:
        raise ValueError("index.html has no <meta charset> to put the policy after")
    return f"{html[: head.end()]}\n  {tag}{html[head.end():]}"


def validate_api_url(url: str) -> str:
    """Normalise a ``--api`` URL to ``scheme://host[:port]``; ValueError if unusable."""
    hint = "expected an http:// or https:// URL with no path, e.g. http://localhost:3000"
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"invalid --api URL {url!r}: {hint}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid --api URL {url!r}: {hint}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"invalid --api URL {url!r}: {hint}")
    return f"{parts.scheme.lower()}://{parts.netloc}"


# -- static files ----------------------------------------------------------------
def resolve_static_path(url_path: str, repo: Path = REPO) -> Path | None:
    """The file a request path maps to, or None when it must be a 404.

    Only the page files and files under ``app/``, ``static/`` and ``runtime/``
    are reachable; dot-files, ``__pycache__``, ``..`` (also percent-encoded)
    and directories are not.
    """
    try:
        path = unquote(url_path.split("?", 1)[0].split("#", 1)[0], errors="strict")
    except UnicodeDecodeError:
        return None
    if not path.startswith("/") or "\\" in path or "\x00" in path:
        return None
    if path == "/":
        path = "/index.html"
    segments = path[1:].split("/")
    if any(not s or s.startswith(".") or s == "__pycache__" for s in segments):
        return None
    if len(segments) == 1 and segments[0] in PAGE_FILES:
        allowed_root = repo
    elif len(segments) > 1 and segments[0] in SERVED_DIRS:
        allowed_root = repo / segments[0]
    else:
        return None
    candidate = repo.joinpath(*segments)
    try:
        resolved = candidate.resolve(strict=True)
        inside = resolved.is_relative_to(allowed_root.resolve(strict=True))
    except (OSError, RuntimeError):
        return None
    return resolved if inside and resolved.is_file() else None


def content_type(path: Path) -> str:
    """The Content-Type header for a served file (charset on text types)."""
    mime = MIME_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    mime = mime or "application/octet-stream"
    if mime.startswith("text/") or mime in TEXTUAL_APPLICATION_TYPES:
        mime += "; charset=utf-8"
    return mime


# Text and WebAssembly shrink well (the 9 MB wasm to about a third); zips and images do not.
COMPRESSIBLE = {".wasm", ".mjs", ".js", ".css", ".json", ".html", ".py", ".toml", ".svg", ".map"}
MIN_COMPRESS_BYTES = 1024


class StaticServer(LocalServer):
    """Serves the page's files from ``repo`` with a rewritten pyscript.toml."""

    daemon_threads = True

    def __init__(self, host: str, port: int, api_base: str | None, repo: Path, verbose: bool):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.repo = repo
        self.api_base = api_base
        self.verbose = verbose
        self.started = time.time()
        self.policy_cache: tuple[object, str] = (None, "")
        self._gzip_cache: dict[Path, tuple[int, bytes]] = {}
        self._gzip_lock = threading.Lock()
        self.immutable_dirs = versioned_runtime_dirs(repo / "runtime")
        super().__init__((host, port), StaticHandler)

    def warm_gzip(self) -> None:
        """Compress the runtime ahead of the first visit, so no visitor waits for it."""
        for path in sorted((self.repo / "runtime").rglob("*")):
            if path.suffix in COMPRESSIBLE and path.is_file() and path.stat().st_size >= MIN_COMPRESS_BYTES:
                self.gzipped(path, path.stat().st_mtime_ns)

    def gzipped(self, path: Path, mtime_ns: int) -> bytes:
        """``path`` gzip-compressed, computed once per file version (the wasm takes a moment)."""
        with self._gzip_lock:
            cached = self._gzip_cache.get(path)
            if cached is None or cached[0] != mtime_ns:
                cached = (mtime_ns, gzip.compress(path.read_bytes(), compresslevel=6, mtime=0))
                self._gzip_cache[path] = cached
            return cached[1]


class StaticHandler(QuietHandler):
    server: StaticServer
    protocol_version = "HTTP/1.1"
    server_version = "ChatPageServer/1.0"
    timeout = 60

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _serve(self) -> None:
        path = resolve_static_path(self.path, self.server.repo)
        if path is None:
            self._send_plain(404, b"Not found\n")
            return
        stat = path.stat()
        body: bytes | None = None
        last_modified = stat.st_mtime
        etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
        if path.name == "pyscript.toml" and path.parent == self.server.repo:
            body = self._served_toml(path)
            last_modified = max(last_modified, self.server.started)
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {
            "Cache-Control": cache_control(self.path, self.server.immutable_dirs),
            "ETag": etag,
            "Last-Modified": email.utils.formatdate(last_modified, usegmt=True),
        }
        if path.suffix in COMPRESSIBLE:
            headers["Vary"] = "Accept-Encoding"
            if body is None and stat.st_size >= MIN_COMPRESS_BYTES and self._accepts_gzip():
                body = self.server.gzipped(path, stat.st_mtime_ns)
                headers["Content-Encoding"] = "gzip"
                etag = headers["ETag"] = etag[:-1] + '-gz"'  # a different representation, a different tag
        if self._not_modified(etag, last_modified):
            self._send_headers(304, headers)
            return
        length = len(body) if body is not None else stat.st_size
        self._send_headers(
            200,
            {
                **headers,
                "Content-Type": content_type(path),
                "Content-Length": str(length),
            },
        )
        if self.command == "HEAD":
            return
        if body is not None:
            self.wfile.write(body)
        else:
            with path.open("rb") as source:
                shutil.copyfileobj(source, self.wfile)

    def _accepts_gzip(self) -> bool:
        offered = self.headers.get("Accept-Encoding", "")
        for item in offered.split(","):
            name, _, params = item.strip().partition(";")
            if name.strip().lower() == "gzip":
                return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
        return False

    def _served_toml(self, path: Path) -> bytes:
        raw = path.read_bytes()
        if self.server.api_base is None:
            return raw
        try:
            return rewrite_api_base(raw.decode("utf-8"), self.server.api_base).encode("utf-8")
        except (UnicodeDecodeError, ValueError) as error:
            self.log_error("serving pyscript.toml unchanged: %s", error)
            return raw

    def _policy(self) -> str:
        toml_path = self.server.repo / "pyscript.toml"
        key = (toml_path.stat().st_mtime_ns, self.server.api_base)
        if self.server.policy_cache[0] != key:  # re-read only when the config or the proxy changed
            toml = self._served_toml(toml_path).decode("utf-8", "replace")
            self.server.policy_cache = (key, content_security_policy(toml))
        return self.server.policy_cache[1]

    def _not_modified(self, etag: str, last_modified: float) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
            return "*" in tags or etag in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since is None:
            return False
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        return int(last_modified) <= since

    def _send_headers(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", self._policy())
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_plain(self, status: int, body: bytes) -> None:
        headers = {
            "Content-Type": "text/plain; charset=utf-8",
            "Content-Length": str(len(body)),
        }
        self._send_headers(status, headers)
        if self.command != "HEAD":
            self.wfile.write(body)


def make_static_server(
    host: str,
    port: int,
    api_base: str | None,
    *,
    repo: Path = REPO,
    verbose: bool = False,
) -> StaticServer:
    """Bind the page server on ``host:port`` (0 picks a free port).

    ``api_base`` replaces the ``[chat] api_base`` of the served pyscript.toml
    (None serves it unchanged). Call ``serve_forever()`` to run it. The
    runtime's gzip versions are prepared in the background meanwhile.
    """
    server = StaticServer(host, port, api_base, repo, verbose)
    threading.Thread(target=server.warm_gzip, name="warm-gzip", daemon=True).start()
    return server


# -- export ------------------------------------------------------------------------
def _check_export_destination(dest: Path, repo: Path) -> None:
    if dest == repo or dest in repo.parents:
        raise SetupError(f"refusing to export into {dest}: it would overwrite the project itself")
    for name in SERVED_DIRS:
        if dest.is_relative_to(repo / name):
            raise SetupError(f"refusing to export into {dest}: it is inside the project's {name}/")
    if dest.exists() and not dest.is_dir():
        raise SetupError(f"cannot export into {dest}: it is not a folder")


def _ignore_junk(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n.startswith(".") or n == "__pycache__" or n.endswith(".pyc")}


def _copy_tree(source: Path, target: Path, only: Iterable[Path] | None = None) -> None:
    if target.exists():
        shutil.rmtree(target)
    if only is None:
        shutil.copytree(source, target, ignore=_ignore_junk)
        return
    target.mkdir(parents=True)
    for file in only:
        destination = target / file.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, destination)


def export_site(
    dest: Path | str,
    api_base: str | None = None,
    *,
    repo: Path = REPO,
    run: Runner = subprocess.run,
) -> list[Path]:
    """Write the page as a self-contained static site into ``dest``.

    Writes ``index.html``, ``pyscript.toml`` (``api_base`` rewritten only if
    given), ``app/`` (its .py files), ``static/`` and ``runtime/``, replacing
    earlier exports of those; other files in ``dest`` are left alone.
    Returns the paths written.
    """
    repo = repo.resolve()
    dest = Path(dest).resolve()
    _check_export_destination(dest, repo)
    for name in PAGE_FILES:
        if not (repo / name).is_file():
            raise SetupError(f"{repo / name} is missing; nothing to export")
    ensure_runtime(repo, run)
    ensure_bytecode(repo)
    ensure_stdlib(repo)
    dest.mkdir(parents=True, exist_ok=True)

    toml_bytes = (repo / "pyscript.toml").read_bytes()
    if api_base is not None:
        toml_bytes = rewrite_api_base(toml_bytes.decode("utf-8"), api_base).encode("utf-8")
    (dest / "pyscript.toml").write_bytes(toml_bytes)
    # A static host sends no CSP header of ours, so the page carries the same policy itself.
    toml_text = toml_bytes.decode("utf-8")
    base = configured_api_base(toml_text) or ""
    # A deployed page talks to its own origin and its proxy only; loopback only if the proxy is local.
    local = (urlsplit(base).hostname or "") in ("localhost", "127.0.0.1")
    policy = content_security_policy(toml_text, allow_loopback=local, for_meta=True)
    page = add_csp_meta((repo / "index.html").read_text(encoding="utf-8"), policy)
    (dest / "index.html").write_text(page, encoding="utf-8")

    app = repo / "app"
    app_files = sorted(p for p in app.rglob("*.py") if "__pycache__" not in p.parts) if app.is_dir() else []
    _copy_tree(app, dest / "app", app_files)
    if (repo / "static").is_dir():
        _copy_tree(repo / "static", dest / "static")
    _copy_tree(repo / "runtime", dest / "runtime")
    return [dest / name for name in (*PAGE_FILES, *SERVED_DIRS) if (dest / name).exists()]


def _print_export_summary(dest: Path, written: Sequence[Path]) -> None:
    print(f"Exported the chat page to {dest}:")
    for path in written:
        if path.is_dir():
            count = sum(1 for p in path.rglob("*") if p.is_file())
            print(f"  {path.name}/  ({count} files)")
        else:
            print(f"  {path.name}")
    api_base = configured_api_base((dest / "pyscript.toml").read_text(encoding="utf-8"))
    if api_base:
        print(f"The page will call the chat proxy at {api_base} (change it with --api URL).")
    print("Serve it from any static web server (a sub-path works too), for example:")
    print(f"  cd {shlex.quote(str(dest))} && python3 -m http.server")


# -- running both servers ----------------------------------------------------------
class PagePortInUse(SetupError):
    pass


@dataclass
class Servers:
    """The page server and, when ``proxy_source == "demo"``, the demo proxy.

    ``proxy_source`` says where ``api_base`` came from: ``"demo"`` (started
    here), ``"api"`` (the --api URL) or ``"existing"`` (the API port was
    already taken, so whatever listens there is used).
    """

    page: StaticServer
    proxy: ProxyServer | None
    api_base: str
    proxy_source: str

    @property
    def page_url(self) -> str:
        host, port = self.page.server_address[:2]
        return http_url(str(host), int(port)) + "/"

    def start(self) -> None:
        for server in (self.page, self.proxy):
            if server is not None:
                threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        for server in (self.page, self.proxy):
            if server is not None:
                server.shutdown()
                server.server_close()


def start_servers(
    host: str,
    port: int,
    api_port: int,
    *,
    api_url: str | None = None,
    test_faults: bool = False,
    verbose: bool = False,
    repo: Path = REPO,
) -> Servers:
    """Bind the page server and pick (or start) the proxy; not yet serving.

    Raises :class:`PagePortInUse` if ``port`` is taken. If ``api_port`` is
    taken, whatever listens there is used as the proxy.
    """
    try:
        page = make_static_server(host, port, None, repo=repo, verbose=verbose)
    except OSError as error:
        if is_address_in_use(error):
            raise PagePortInUse(
                f"Port {port} is already in use on {host or '0.0.0.0'}; "
                "stop whatever uses it or pick another with --port."
            ) from None
        raise SetupError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    if api_url is not None:
        page.api_base = api_url
        return Servers(page, None, api_url, "api")
    try:
        proxy = make_proxy_server(host, api_port, test_faults, verbose=verbose)
    except OSError as error:
        if not is_address_in_use(error):
            page.server_close()
            raise SetupError(f"cannot listen on {host}:{api_port}: {error.strerror}") from None
        page.api_base = f"http://localhost:{api_port}"
        return Servers(page, None, page.api_base, "existing")
    page.api_base = http_url(host, proxy.server_address[1])
    return Servers(page, proxy, page.api_base, "demo")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="serve.py",
        description="Serve the chat page and a demo proxy, or export a static site.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=8000, help="page port (default 8000)")
    parser.add_argument("--api-port", type=port_number, default=3000, help="demo proxy port (default 3000)")
    parser.add_argument("--api", metavar="URL", help="use the chat proxy at URL instead of the demo")
    parser.add_argument("--export", metavar="DIR", help="write a static site into DIR and exit")
    parser.add_argument(
        "--test-faults",
        action="store_true",
        help="enable the demo proxy's /__test__/ API (tests)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def port_number(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError(text)
    return value


def _error(message: str, code: int) -> int:
    print(f"serve.py: error: {message}", file=sys.stderr, flush=True)
    return code


def main(
    argv: Sequence[str] | None = None,
    *,
    repo: Path = REPO,
    run: Runner = subprocess.run,
) -> int:
    """Run the command line; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    api_url = None
    if args.api is not None:
        try:
            api_url = validate_api_url(args.api)
        except ValueError as error:
            return _error(str(error), 2)
    if api_url is None and args.port == args.api_port and args.port != 0:
        return _error("--port and --api-port must differ", 2)
    try:
        if args.export is not None:
            dest = Path(args.export)
            try:
                _check_export_destination(dest.resolve(), repo.resolve())
            except SetupError as error:
                return _error(str(error), 2)
            written = export_site(dest, api_url, repo=repo, run=run)
            _print_export_summary(dest.resolve(), written)
            return 0
        ensure_runtime(repo, run)
        ensure_bytecode(repo)
        ensure_stdlib(repo)
        servers = start_servers(
            args.host,
            args.port,
            args.api_port,
            api_url=api_url,
            test_faults=args.test_faults,
            verbose=args.verbose,
            repo=repo,
        )
    except SetupError as error:
        return _error(str(error), 1)
    except KeyboardInterrupt:
        print("\nStopped.", flush=True)
        return 130
    return _serve(servers, args.test_faults)


def _serve(servers: Servers, test_faults: bool) -> int:
    servers.start()
    try:
        print(f"Chat page:  {servers.page_url}", flush=True)
        if servers.proxy_source == "demo":
            print(f"Demo proxy: {servers.api_base}", flush=True)
            if test_faults:
                print(
                    "Test control API enabled under /__test__/ (for tests only).",
                    flush=True,
                )
        elif servers.proxy_source == "api":
            print(f"Chat proxy: {servers.api_base} (from --api)", flush=True)
        else:
            port = servers.api_base.rsplit(":", 1)[1]
            print(
                f"Something already listens on port {port}; using it as the proxy.",
                flush=True,
            )
            print(f"Chat proxy: {servers.api_base}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        wait_for_stop_signal()
    except KeyboardInterrupt:
        pass
    finally:
        servers.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
