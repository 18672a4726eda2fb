"""The pinned PyScript, Pyodide and Brotli decoder: fetched with ``npm ci``, copied into version-named folders.

A versioned URL never changes its content, so those folders are served as
``immutable``: a returning visitor's browser takes them from its cache without asking.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from serving import REPO, SetupError, say

PYSCRIPT_PACKAGE = "@pyscript/core"
PYODIDE_PACKAGE = "pyodide"
# A Brotli decoder (wasm), for a first visit from a host that only gzips: the page fetches the
# runtime's two big files as their Brotli copies and decodes them itself (static/runtime-fetch.mjs).
BROTLI_PACKAGE = "brotli-dec-wasm"
PINNED_PACKAGES = (PYSCRIPT_PACKAGE, PYODIDE_PACKAGE, BROTLI_PACKAGE)
RUNTIME_NAMES = {PYSCRIPT_PACKAGE: "pyscript", PYODIDE_PACKAGE: "pyodide", BROTLI_PACKAGE: "brotli-dec-wasm"}
# Only the runtime: the devDependencies are the tests' and the benchmark's (scripts/test.sh installs them).
NPM_COMMAND = ("npm", "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund")
PYODIDE_FILES = (
    "pyodide.mjs",
    "pyodide.mjs.map",  # for a browser's developer tools (and Lighthouse), which fetch it; the page never does
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
# The decoder's module and its wasm (which the module fetches from beside itself), with its licences.
BROTLI_FILES = ("pkg/brotli_dec_wasm.js", "pkg/brotli_dec_wasm_bg.wasm", "LICENSE-MIT.txt", "LICENSE-Apache.txt")
RUNTIME_STAMP = "VERSIONS.json"
# Runtime files live under a directory named for their version (see runtime_dirs), so
# their URLs change whenever their content does and browsers may keep them for a year.
IMMUTABLE = "public, max-age=31536000, immutable"
PYODIDE_HOME = "/home/pyodide"  # Pyodide's working directory, where PyScript writes the page's [files]

Runner = Callable[..., Any]


def pinned_versions(repo: Path = REPO) -> dict[str, str]:
    """The versions of PyScript, Pyodide and the Brotli decoder pinned in ``package.json``."""
    try:
        deps = json.loads((repo / "package.json").read_text(encoding="utf-8"))["dependencies"]
        return {name: str(deps[name]) for name in PINNED_PACKAGES}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SetupError(f"package.json must pin {', '.join(PINNED_PACKAGES)} ({error})") from None


def runtime_dirs(pins: dict[str, str]) -> dict[str, str]:
    """``runtime/``'s directory for each pinned package, named for its version.

    index.html, the snapshot modules and the benchmark's stock page name these
    paths; a test keeps them in step with ``package.json``.

    >>> runtime_dirs({"@pyscript/core": "0.7.31", "pyodide": "314.0.7", "brotli-dec-wasm": "2.3.2"})
    {'@pyscript/core': 'pyscript-0.7.31', 'pyodide': 'pyodide-314.0.7', 'brotli-dec-wasm': 'brotli-dec-wasm-2.3.2'}
    """
    return {name: f"{RUNTIME_NAMES[name]}-{version}" for name, version in pins.items()}


def installed_version(repo: Path, package: str) -> str | None:
    """The version of ``package`` in ``node_modules``, or None if absent."""
    try:
        manifest = repo / "node_modules" / package / "package.json"
        return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def built_versions(runtime: Path) -> dict[str, str]:
    """The versions ``runtime/``'s stamp says it was built from; OSError, ValueError or KeyError if unbuilt."""
    stamp = json.loads((runtime / RUNTIME_STAMP).read_text(encoding="utf-8"))
    return {name: str(stamp[name]) for name in PINNED_PACKAGES}


def versioned_runtime_dirs(runtime: Path) -> frozenset[str]:
    """The version-named directories of the runtime built in ``runtime`` (none if unbuilt)."""
    try:
        return frozenset(runtime_dirs(built_versions(runtime)).values())
    except (OSError, ValueError, KeyError, TypeError):
        return frozenset()


def pyodide_dir(runtime: Path) -> Path:
    """The built runtime's Pyodide directory (``runtime/pyodide-<version>``)."""
    version = json.loads((runtime / RUNTIME_STAMP).read_text(encoding="utf-8"))[PYODIDE_PACKAGE]
    return runtime / runtime_dirs({PYODIDE_PACKAGE: version})[PYODIDE_PACKAGE]


def pyodide_stdlib_zip(runtime: Path) -> Path:
    """Pyodide's own standard-library zip, as the pinned npm package ships it."""
    return pyodide_dir(runtime) / "python_stdlib.zip"


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
    say("Copying the runtime into runtime/...")
    _build_runtime(repo, pins)
    return True


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
        runtime / dirs[PYSCRIPT_PACKAGE] / "core.js.map",  # a runtime copied before the maps were
        *(runtime / dirs[PYODIDE_PACKAGE] / n for n in PYODIDE_FILES),
        *(runtime / dirs[BROTLI_PACKAGE] / Path(n).name for n in BROTLI_FILES),
    ]
    return stamp == pins and all(path.is_file() for path in needed)


def _install_packages(repo: Path, run: Runner) -> None:
    say("Fetching the pinned PyScript/Pyodide runtime with npm (first run only)...")
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
    # With their source maps, which only developer tools (and Lighthouse) fetch: without them each
    # chunk's sourceMappingURL is a 404 in the console.
    pyscript_files = sorted(p for p in dist.rglob("*") if p.is_file() and p.suffix in (".js", ".css", ".map"))
    if not any(p.name == "core.js" for p in pyscript_files):
        raise SetupError(f"{dist} has no core.js; delete node_modules/ and run serve.py again.")
    missing = [name for name in PYODIDE_FILES if not (pyodide / name).is_file()]
    if missing:
        raise SetupError(f"{pyodide} lacks {', '.join(missing)}; delete node_modules/ and retry.")
    brotli = repo / "node_modules" / BROTLI_PACKAGE
    missing = [name for name in BROTLI_FILES if not (brotli / name).is_file()]
    if missing:
        raise SetupError(f"{brotli} lacks {', '.join(missing)}; delete node_modules/ and retry.")

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
        (build / dirs[BROTLI_PACKAGE]).mkdir()
        for name in BROTLI_FILES:  # flat: the module fetches its wasm from beside itself
            shutil.copy2(brotli / name, build / dirs[BROTLI_PACKAGE] / Path(name).name)
        (build / RUNTIME_STAMP).write_text(json.dumps(pins, indent=2) + "\n", encoding="utf-8")
        if runtime.exists():
            runtime.rename(old)
        build.rename(runtime)
    finally:
        shutil.rmtree(build, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
