"""What Node builds into ``runtime/`` with the pinned Pyodide: the app's bytecode and the page's standard library.

Both only make a first visit faster; the page works the same without them,
so a failed build is a warning and the page is served anyway.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from serving import REPO, SetupError, say
from serving.config import APP_PACKAGE, app_modules, imported_modules
from serving.packages import page_wheels
from serving.runtime import (
    PYODIDE_HOME,
    PYODIDE_PACKAGE,
    RUNTIME_STAMP,
    Runner,
    pyodide_dir,
    pyodide_stdlib_zip,
)

BYTECODE = "app-bytecode.zip"  # in runtime/; static/pyodide-snapshot.mjs unpacks it into <home>/app
BYTECODE_STAMP = "app-bytecode.json"
BYTECODE_SCRIPT = Path("scripts") / "app-bytecode.mjs"
STDLIB_STAMP = "page-stdlib.json"  # the zip itself: stdlib_name(); static/pyodide-snapshot.mjs gives it to Pyodide
STDLIB_SCRIPT = Path("scripts") / "stdlib-bytecode.mjs"
STDLIB_MODULES = Path("scripts") / "startup-modules.txt"
PAGE_COMPILER = Path("scripts") / "page_compile.py"  # how both builds compile (docstrings dropped)
STDLIB_FALLBACK = Path("scripts") / "page_stdlib_fallback.py"  # into the zip, as _page_stdlib_fallback
NODE_BUILD_TIMEOUT_S = 300


def bytecode_sources(repo: Path) -> list[Path]:
    """The app modules a page imports, sub-packages included (``main.py`` is run as a script, so it is not)."""
    return [repo / module for module in imported_modules(app_modules(repo))]


def ensure_bytecode(repo: Path = REPO, run: Runner = subprocess.run) -> bool:
    """Make ``runtime/app-bytecode.zip`` hold the app's modules compiled by the pinned Pyodide; True if rebuilt.

    The zip's entries are paths under ``app/`` (``__pycache__/api.cpython-314.pyc``,
    ``view/__pycache__/...``). It is built again only when an app file, the
    script or the runtime changed; on failure the stale zip is removed and a
    first visit compiles the modules itself, as it would without the zip.
    """
    sources = bytecode_sources(repo)
    app = repo / APP_PACKAGE
    return _build_with_node(
        repo,
        BYTECODE,
        BYTECODE_STAMP,
        inputs=[BYTECODE_SCRIPT, PAGE_COMPILER, *(s.relative_to(repo) for s in sources)] if sources else [],
        arguments=lambda pyodide, out: [
            repo / BYTECODE_SCRIPT, pyodide, PYODIDE_HOME, out, app, *(s.relative_to(app).as_posix() for s in sources)
        ],
        failure="the app's bytecode was not built, so a first visit compiles it",
        label=f"Compiling the app's modules into runtime/{BYTECODE}",
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

    Pyodide ships the standard library as source; ``scripts/stdlib-bytecode.mjs``
    compiles the modules the page imports at start-up (``scripts/startup-modules.txt``),
    leaves out packages a page cannot use, and adds the page's own packages
    (the wheels in ``page-packages/``, see ``serving.packages``), compiled too.
    Without Node, when the build fails (with a warning) or when the script is
    not there, the page gets Pyodide's own zip with the packages' sources
    added, under the same name: slower to start, otherwise the same. The page
    cannot start without this file, so it is replaced, never removed.
    """
    runtime = repo / "runtime"
    try:
        version = str(json.loads((runtime / RUNTIME_STAMP).read_text(encoding="utf-8"))[PYODIDE_PACKAGE])
        pyodide_zip = pyodide_stdlib_zip(runtime)
    except (OSError, ValueError, KeyError):
        return False  # no runtime built: nothing to serve yet
    try:
        wheels = page_wheels(repo)
    except SetupError as error:
        print(f"warning: {error}; replies are shown as plain text (run serve.py to fetch them)", file=sys.stderr)
        wheels = []
    return _build_with_node(
        repo,
        stdlib_name(version),
        STDLIB_STAMP,
        inputs=[STDLIB_SCRIPT, STDLIB_MODULES, STDLIB_FALLBACK, PAGE_COMPILER,
                *(wheel.relative_to(repo) for wheel in wheels)],
        arguments=lambda pyodide, out: [repo / STDLIB_SCRIPT, pyodide, repo / STDLIB_MODULES, repo / STDLIB_FALLBACK,
                                        out, *wheels],
        failure="the standard library was not compiled, so a first visit compiles what it imports",
        fallback=lambda out: _stdlib_with_packages(pyodide_zip, wheels, out),
        label=f"Building the page's standard library, runtime/{stdlib_name(version)}",
        run=run,
    )


def ensure_some_stdlib(repo: Path = REPO) -> bool:
    """Make sure ``runtime/`` has a page standard library to serve, if only Pyodide's own; True if one was written.

    Quick (a copy and the packages' files): serve.py calls it before it serves,
    and leaves the compiled one (:func:`ensure_stdlib`, seconds of Node) to the
    background. The copy has no stamp, so that build replaces it.
    """
    runtime = repo / "runtime"
    try:
        version = str(json.loads((runtime / RUNTIME_STAMP).read_text(encoding="utf-8"))[PYODIDE_PACKAGE])
        pyodide_zip = pyodide_stdlib_zip(runtime)
    except (OSError, ValueError, KeyError):
        return False
    target = runtime / stdlib_name(version)
    if target.is_file():
        return False
    try:
        wheels = page_wheels(repo)
    except SetupError:
        wheels = []
    partial = runtime / f".{target.name}.{os.getpid()}.copy"
    try:
        _stdlib_with_packages(pyodide_zip, wheels, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return True


def _stdlib_with_packages(stdlib: Path, wheels: Sequence[Path], out: Path) -> None:
    """Pyodide's own standard library with the wheels' files added as they are (the build's fallback)."""
    shutil.copy2(stdlib, out)  # its date too: an unchanged fallback keeps its validator
    if not wheels:
        return
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as built:
        present = set(built.namelist())
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as package:
                for info in package.infolist():
                    if not info.is_dir() and info.filename not in present:
                        built.writestr(info, package.read(info), zipfile.ZIP_DEFLATED)
    newest = max(path.stat().st_mtime for path in (stdlib, *wheels))
    os.utime(out, (newest, newest))


IDLE_MARK = "# Not at start-up"  # in STDLIB_MODULES: the modules listed after it are imported later


def startup_modules(repo: Path = REPO) -> list[str]:
    """The modules ``scripts/startup-modules.txt`` lists (``#`` starts a comment), compiled into the zip."""
    lines = (repo / STDLIB_MODULES).read_text(encoding="utf-8").splitlines()
    return [name for name in (line.split("#")[0].strip() for line in lines) if name]


def idle_modules(repo: Path = REPO) -> list[str]:
    """Those of :func:`startup_modules` listed after :data:`IDLE_MARK`: imported once the page is idle."""
    lines = (repo / STDLIB_MODULES).read_text(encoding="utf-8").splitlines()
    marks = [n for n, line in enumerate(lines) if line.startswith(IDLE_MARK)]
    later = lines[marks[0] + 1:] if marks else []
    return [name for name in (line.split("#")[0].strip() for line in later) if name]


def _node_build_stamp(repo: Path, inputs: Sequence[Path]) -> dict[str, str]:
    """The pinned Pyodide version and a digest of the inputs' paths and bytes."""
    digest = hashlib.sha256()
    for source in inputs:
        digest.update(source.as_posix().encode() + b"\0" + (repo / source).read_bytes() + b"\0")
    stamp = json.loads((repo / "runtime" / RUNTIME_STAMP).read_text(encoding="utf-8"))
    return {"pyodide": str(stamp[PYODIDE_PACKAGE]), "sources": digest.hexdigest()}


def _build_with_node(
    repo: Path,
    name: str,
    stamp_name: str,
    *,
    inputs: Sequence[Path],
    arguments: Callable[[Path, Path], list[Path | str]],
    failure: str,
    fallback: Callable[[Path], None] | None = None,
    label: str = "",
    run: Runner = subprocess.run,
) -> bool:
    """Build ``runtime/<name>`` with a Node script unless its stamp says it is current; True if rebuilt.

    The stamp holds the pinned Pyodide version and a digest of ``inputs``
    (paths relative to ``repo``; none, or one missing: nothing to build). A
    failed build is a warning (``failure`` says what the page does without it).
    Nothing stale is left: the file is replaced by what ``fallback(path)``
    writes if there is one (OSError: removed), else removed. Each replacement is atomic, so a server serving
    the file meanwhile sends the old one or the new one, never half of one. A build that runs says so
    (``label``), and how long it took.
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
        started = time.monotonic()
        if stamp is not None:
            say(f"{label or name}...")
        if stamp is not None and _run_node(repo, arguments(pyodide_dir(runtime), partial), partial, failure, run):
            os.replace(partial, zipped)
            stamp_file.write_text(json.dumps(stamp) + "\n", encoding="utf-8")
            say(f"  runtime/{name}: built in {time.monotonic() - started:.1f} s")
            return True
        if fallback is not None:
            try:
                fallback(partial)
                os.replace(partial, zipped)
                return False
            except (OSError, zipfile.BadZipFile) as error:
                print(f"warning: {error}", file=sys.stderr)
        zipped.unlink(missing_ok=True)
        return False
    finally:
        partial.unlink(missing_ok=True)


def _run_node(repo: Path, arguments: Sequence[Path | str], out: Path, failure: str, run: Runner) -> bool:
    """Run ``node`` with ``arguments`` to write ``out``; False, after a warning saying ``failure``, if it did not."""
    command = ["node", *map(str, arguments)]
    try:
        result = run(command, cwd=repo, check=False, capture_output=True, text=True, timeout=NODE_BUILD_TIMEOUT_S)
        if result.returncode != 0 or not out.is_file():
            raise SetupError(f"exit code {result.returncode}: {(result.stderr or '').strip()[-500:]}")
        return True
    except (OSError, SetupError, subprocess.TimeoutExpired) as error:
        print(f"warning: {failure} ({error})", file=sys.stderr)
        return False

