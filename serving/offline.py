"""The installable, offline page: the service worker's file list and version, and the page's version tag.

``sw.js`` (at the page's root, so that its scope is the page's folder on any
host) is a template: its ``const BUILD = ...;`` line is replaced, when the page
is served or exported, with what this module computes:

- ``files``: what the page needs to start with no network, relative to the
  worker: the page itself (``./``), ``pyscript.toml``, the app's modules, every
  file under ``static/``, the runtime's zips and the Pyodide files it loads.
  PyScript's own chunks are not listed one by one (which of them PyScript
  imports is its business): the page reports what it fetched, and the worker
  keeps those that are under a version-named runtime folder.
- ``immutable``: the version-named runtime folders (``runtime/pyodide-<version>/``),
  whose URLs name their content; the worker answers them from its cache first.
- ``version``: a digest of every listed file as served (the version-named
  folders by name only). A deploy that changes any byte changes ``sw.js``, so the
  browser installs the new worker; the page carries the same value in its
  ``<meta name="pychat-version">``, to tell whether a waiting worker is its own.

Nothing here lists ``/api/`` or any other origin: the worker answers only for the
files named here (and the version-named folders), and leaves every other request
to the network, uncached.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from serving.builds import BYTECODE, stdlib_name
from serving.runtime import PYODIDE_PACKAGE, PYSCRIPT_PACKAGE, RUNTIME_STAMP, runtime_dirs

WORKER = "sw.js"
PAGE = "./"  # the page's own entry in the worker's cache: its folder, as links and start_url name it
# Pyodide's files the page loads (python_stdlib.zip is not: the page loads its own standard library;
# nor pyodide-lock.json: static/pyodide-snapshot.mjs gives Pyodide an empty package list).
PYODIDE_LOADED = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm")
PYSCRIPT_ENTRY = "core.js"  # index.html's script; the chunks it imports are reported by the page

_BUILD_LINE = re.compile(r"^const BUILD = .*;$", re.MULTILINE)
_VERSION_META = re.compile(r'(<meta\b[^>]*\bname="pychat-version"[^>]*\bcontent=")[^"]*(")', re.IGNORECASE)


def page_sources(modules: Sequence[str], catalogues: Iterable[str]) -> list[str]:
    """The app's modules and compiled catalogues (``./``-relative in ``pyscript.toml``), as the worker lists them.

    Every language's catalogue, so that the page opens offline in whichever one it is shown.

    >>> page_sources(["app/main.py"], ["./runtime/locales/de/LC_MESSAGES/pychat.mo"])
    ['app/main.py', 'runtime/locales/de/LC_MESSAGES/pychat.mo']
    """
    return [*modules, *(source.removeprefix("./") for source in catalogues)]


def offline_files(
    modules: Sequence[str], static_files: Iterable[str], pins: dict[str, str] | None
) -> list[str]:
    """What the worker caches at install, relative to the page's folder: page, config, app, static, runtime.

    ``modules`` are the app's (``app/...py``), ``static_files`` the paths under
    ``static/`` (``static/style.css``), ``pins`` the runtime's versions (None:
    no runtime built, so none listed).

    >>> offline_files(["app/main.py"], ["static/boot.js"], {"@pyscript/core": "0.7.31", "pyodide": "314.0.7"})[:4]
    ['./', 'pyscript.toml', 'app/main.py', 'static/boot.js']
    """
    files = [PAGE, "pyscript.toml", *sorted(modules), *sorted(static_files)]
    if pins is not None:
        dirs = runtime_dirs(pins)
        files += [
            f"runtime/{BYTECODE}",
            f"runtime/{stdlib_name(pins[PYODIDE_PACKAGE])}",
            f"runtime/{dirs[PYSCRIPT_PACKAGE]}/{PYSCRIPT_ENTRY}",
            *(f"runtime/{dirs[PYODIDE_PACKAGE]}/{name}" for name in PYODIDE_LOADED),
        ]
    return files


def present(files: Sequence[str], root: Path) -> list[str]:
    """``files`` that exist under ``root`` (the page always does): a build that made no bytecode zip lists none.

    An install that asked for a missing file would fail as a whole, and the page would never open offline.
    """
    return [path for path in files if path == PAGE or (root / path).is_file()]


def immutable_prefixes(pins: dict[str, str] | None) -> list[str]:
    """The version-named runtime folders, as path prefixes relative to the page's folder.

    >>> immutable_prefixes({"@pyscript/core": "0.7.31", "pyodide": "314.0.7"})
    ['runtime/pyodide-314.0.7/', 'runtime/pyscript-0.7.31/']
    """
    return sorted(f"runtime/{name}/" for name in runtime_dirs(pins).values()) if pins else []


def site_version(files: Sequence[str], immutable: Sequence[str], digest: Callable[[str], str]) -> str:
    """A short digest naming this build of the site: every file's digest, the version-named ones by path only.

    ``digest(path)`` is the hex digest of a file as served (``"./"``: the page
    before its version is filled in); files under ``immutable`` are not read.
    """
    whole = hashlib.sha256()
    for path in sorted(files):
        fixed = any(path.startswith(prefix) for prefix in immutable)
        whole.update(f"{path}\0{'' if fixed else digest(path)}\n".encode())
    return whole.hexdigest()[:16]


def bytes_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def integrity(files: Sequence[str], immutable: Sequence[str], digest: Callable[[str], str]) -> dict[str, str]:
    """Each listed file's Subresource Integrity value (``sha256-<base64>``), from its hex ``digest``.

    The worker uses it to take a file from the browser's HTTP cache only if it is this
    build's. Not for the page itself (its bytes carry the version, made from these digests)
    nor the version-named files (their path names their content).

    >>> integrity(["./", "app/a.py", "runtime/pyodide-1/x"], ["runtime/pyodide-1/"], lambda p: "00" * 32)
    {'app/a.py': 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='}
    """
    return {
        path: "sha256-" + base64.b64encode(bytes.fromhex(digest(path))).decode("ascii")
        for path in files
        if path != PAGE and not any(path.startswith(prefix) for prefix in immutable)
        and re.fullmatch(r"[0-9a-f]{64}", digest(path))
    }


def with_build(
    worker_source: str, version: str, files: Sequence[str], immutable: Sequence[str],
    digests: dict[str, str] | None = None,
) -> str:
    """``sw.js`` with its ``const BUILD = ...;`` line holding this build; ValueError if it has none.

    ``digests`` are the files' :func:`integrity` values.

    >>> with_build('const BUILD = {};\\n', "abc", ["./"], [])
    'const BUILD = {"version": "abc", "files": ["./"], "immutable": [], "integrity": {}};\\n'
    """
    build = json.dumps({"version": version, "files": list(files), "immutable": list(immutable),
                        "integrity": digests or {}})
    build = build.replace("</", "<\\/")
    replaced, count = _BUILD_LINE.subn(lambda _: f"const BUILD = {build};", worker_source, count=1)
    if count != 1:
        raise ValueError(f"{WORKER} has no `const BUILD = ...;` line to fill in")
    return replaced


def with_version(html: str, version: str) -> str:
    """``index.html`` with its ``<meta name="pychat-version">`` naming ``version`` (unchanged without one).

    >>> with_version('<meta name="pychat-version" content="">', "abc")
    '<meta name="pychat-version" content="abc">'
    """
    return _VERSION_META.sub(lambda m: f"{m[1]}{version}{m[2]}", html, count=1)


def static_files(static: Path) -> list[str]:
    """Every file under ``static/`` that the page server serves (no dot-files or ``__pycache__``), as ``static/...``."""
    if not static.is_dir():
        return []
    found = []
    for path in static.rglob("*"):
        parts = path.relative_to(static).parts
        if path.is_file() and not any(p.startswith(".") or p == "__pycache__" for p in parts):
            found.append(f"static/{path.relative_to(static).as_posix()}")
    return sorted(found)


def built_pins(runtime: Path) -> dict[str, str] | None:
    """The versions ``runtime/`` was built from, or None if it is not built."""
    try:
        stamp = json.loads((runtime / RUNTIME_STAMP).read_text(encoding="utf-8"))
        return {name: str(stamp[name]) for name in (PYSCRIPT_PACKAGE, PYODIDE_PACKAGE)}
    except (OSError, ValueError, KeyError, TypeError):
        return None
