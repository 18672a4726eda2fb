"""What a Pyodide memory snapshot of this app may hold, and whether it is still current.

``static/pyodide-snapshot.mjs`` restores Python from a memory snapshot when one
is cached. The snapshot is made in a worker, which writes the app's files and
calls :func:`preload`: it imports every module of the package that does not
touch the browser (no ``js``, ``pyodide`` or ``pyscript`` import), and records
the SHA-256 of each one's source in a module named :data:`RECORD`.

On the next visit those modules are already in ``sys.modules``. ``main.py``
calls :func:`discard_stale_preloads` before importing anything from the app:
if any recorded source differs from the file PyScript just wrote, every
preloaded app module is dropped (so the current code is imported), and so is
the record, which tells the page to make a new snapshot. Nothing here imports
from the browser, so it all runs under CPython too.

The modules a snapshot cannot import (the app's view, PyScript's own
``pyscript`` package) are compiled into it instead, by
:func:`cache_compiled`: after a restore, importing one skips the compiler
when its file has exactly the bytes that were compiled.

    >>> import tempfile, pathlib, sys
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "demo_pkg").mkdir()
    >>> _ = (root / "demo_pkg" / "__init__.py").write_text("ANSWER = 42\\n")
    >>> sys.path.insert(0, str(root))
    >>> preload("demo_pkg", root)
    ['demo_pkg']
    >>> discard_stale_preloads(root)
    False
    >>> _ = (root / "demo_pkg" / "__init__.py").write_text("ANSWER = 43\\n")
    >>> discard_stale_preloads(root)
    True
    >>> "demo_pkg" in sys.modules, RECORD in sys.modules
    (False, False)
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

# The module that holds {module name: source digest} inside a snapshot. The
# page's snapshot wrapper looks for this name to tell a current snapshot from a
# stale or absent one; keep the two in step.
RECORD = "_pychat_snapshot"

# Top-level modules that mean "talks to the browser": never put in a snapshot,
# whose JavaScript references belong to the worker that made it.
BROWSER_MODULES = frozenset({"js", "pyodide", "pyodide_js", "pyscript", "_pyscript", "polyscript"})

# The top-level packages of requirements-page.txt (a test keeps them in step): they come
# with the app, so a stale app drops them too, and a version bump reaches the page.
PAGE_PACKAGES = frozenset({"markdown_it", "mdurl"})


def imports_browser(source: str | bytes) -> bool:
    """Whether Python ``source`` imports a browser module anywhere (or does not parse).

    >>> imports_browser("import json\\nfrom .api import ProxyClient")
    False
    >>> imports_browser("def f():\\n    from pyodide.ffi import create_proxy")
    True
    """
    import ast  # here and in digest(): a visit without a snapshot never needs them

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name.split(".")[0] in BROWSER_MODULES for name in names):
            return True
    return False


def digest(source: bytes) -> str:
    import hashlib

    return hashlib.sha256(source).hexdigest()


def _module_name(package: str, path: Path, package_dir: Path) -> str:
    parts = [package, *path.relative_to(package_dir).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# Where the page's _page_stdlib_fallback puts Pyodide's whole standard library (WHOLE in
# scripts/page_stdlib_fallback.py) when the page imports something its own zip left out.
WHOLE_STDLIB = "/lib/python-stdlib-whole.zip"


def standard_modules(modules: dict[str, object] | None = None) -> list[str]:
    """The standard-library modules loaded now (``sys.modules`` by default), browser ones left out.

    Not those imported from Pyodide's whole library (a path the page seldom takes): the worker
    would fetch all of it again, and its memory, in the snapshot, could outgrow what a restore allows.

    The page passes these to the snapshot's worker, so that what PyScript
    and the app import at start-up (``html.entities`` for one) is already
    loaded on the next visit.
    """
    found = []
    for name, module in (sys.modules if modules is None else modules).items():
        file = getattr(module, "__file__", None)
        if name.split(".")[0] in BROWSER_MODULES or name.startswith("_pyodide") or name == "__main__":
            continue
        if isinstance(file, str) and "/lib/python" in file and "-packages/" not in file and WHOLE_STDLIB not in file:
            found.append(name)
    return sorted(found)


def preload(package: str, root: Path, standard: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Import the ``standard`` modules, then those of ``package`` (under ``root``) that do not touch the browser.

    Records each app module's source digest in :data:`RECORD` and returns
    their names, sorted. A module that fails to import is left out, and so
    is anything that would import a browser module along the way.
    """
    for name in standard:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - not loadable here (a worker has no DOM): loaded later as usual
            continue
    package_dir = root / package
    wanted: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        if "__pycache__" not in path.parts and not imports_browser(path.read_bytes()):
            wanted[_module_name(package, path, package_dir)] = path
    already = {n for n in sys.modules if _in_package(n, package)}
    if package not in wanted or already - wanted.keys():
        # Its __init__ touches the browser, or something imported before we looked reached a
        # browser module: nothing of the package may stay in the snapshot, unchecked.
        for name in already:
            del sys.modules[name]
        return []
    loaded: dict[str, tuple[str, str]] = {}
    for name, path in wanted.items():
        before = set(sys.modules)
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that cannot be preloaded is imported later as usual
            continue
        pulled = {n for n in set(sys.modules) - before if _in_package(n, package)}
        if pulled - wanted.keys():
            # It reached a browser module through the package (a relative import): neither may stay,
            # or the snapshot would keep code that is never checked against its file.
            for module in pulled | {name}:
                sys.modules.pop(module, None)
            loaded = {n: v for n, v in loaded.items() if n not in pulled}
            continue
        loaded[name] = (path.relative_to(root).as_posix(), digest(path.read_bytes()))
    if package not in loaded:
        loaded = {}  # without its package, no submodule can be used from the snapshot
    for name in [n for n in sys.modules if _in_package(n, package) and n not in loaded]:
        del sys.modules[name]  # pulled in indirectly and not checked: leave it to a normal import
    if not loaded:
        return []
    record = types.ModuleType(RECORD, "Source digests of the modules preloaded into this snapshot.")
    record.package = package  # type: ignore[attr-defined]
    record.sources = loaded  # type: ignore[attr-defined]
    sys.modules[RECORD] = record
    return sorted(loaded)


def cache_compiled(sources: dict[str, bytes]) -> int:
    """Compile ``sources`` ({absolute path: file bytes}) now, for imports after a restore; the count.

    The snapshot cannot import the modules that touch the browser (PyScript's
    own ``pyscript`` package, the app's view), so every start compiled them
    again. The worker passes every Python file the page wrote; those no
    loaded module came from are compiled here and their code kept in the
    snapshot. The source loader uses that code only when the file it reads
    has exactly the bytes compiled here; any other file, or the same file
    changed, is compiled as usual (and :func:`discard_stale_preloads` asks
    for a new snapshot). Sources that do not compile are left to the import
    to report.
    """
    from importlib.machinery import SourceFileLoader

    cache = _compiled_cache()
    imported = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
    for path, data in sources.items():
        if path in imported:
            continue  # in the snapshot as a module already, checked by its digest
        try:
            cache[path] = (bytes(data), compile(data, path, "exec", dont_inherit=True))
        except (SyntaxError, ValueError):
            cache.pop(path, None)
    if not hasattr(SourceFileLoader.source_to_code, "_pychat_cache"):
        compile_source = SourceFileLoader.source_to_code

        def source_to_code(self: SourceFileLoader, data: bytes, path: str, *, _optimize: int = -1) -> types.CodeType:
            hit = cache.get(path)
            if hit is not None and _optimize == -1 and hit[0] == data:
                return hit[1]
            return compile_source(self, data, path, _optimize=_optimize)

        source_to_code._pychat_cache = cache  # type: ignore[attr-defined]
        SourceFileLoader.source_to_code = source_to_code  # type: ignore[assignment,method-assign]
    return len(cache)


def _compiled_cache() -> dict[str, tuple[bytes, types.CodeType]]:
    """The code :func:`cache_compiled` keeps, by path (empty before it first ran)."""
    from importlib.machinery import SourceFileLoader

    return getattr(SourceFileLoader.source_to_code, "_pychat_cache", {})


def _in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def discard_stale_preloads(root: Path) -> bool:
    """Drop what a snapshot holds that no longer matches the files under ``root``; True if anything did.

    Without a snapshot (no :data:`RECORD`) there is nothing to check. When a
    preloaded module's source changed, every preloaded app module is dropped;
    (and so are the page's packages, :data:`PAGE_PACKAGES`: app/markdown.py
    names the version it was written for); when a compiled file changed (the
    view, PyScript's own package after an upgrade), only its code is. Either way the record goes too, which asks
    for a new snapshot. After a restore, reseeds ``random``, whose state
    would otherwise repeat on every visit.
    """
    record = sys.modules.get(RECORD)
    if record is None:
        return False
    if "random" in sys.modules:
        sys.modules["random"].seed()
    package: str = getattr(record, "package", "")
    sources: dict[str, tuple[str, str]] = getattr(record, "sources", {})
    compiled_stale = _drop_stale_compiled()
    if package and all(_source_matches(root, relative, want) for relative, want in sources.values()):
        if compiled_stale:
            del sys.modules[RECORD]
        return compiled_stale
    stale = [n for n in sys.modules if package and _in_package(n, package)]
    stale += [n for n in sys.modules if n.split(".")[0] in PAGE_PACKAGES]
    for name in stale:
        del sys.modules[name]
    del sys.modules[RECORD]
    _forget_directory_listings()
    return True


def _forget_directory_listings() -> None:
    """Make the path finders list the app's folders again, as ``importlib.invalidate_caches()`` would.

    Not that function itself: it also imports ``importlib.metadata`` (and ``email`` and more
    with it), which the page's standard library leaves out, and re-reads the standard library's zip.
    """
    from importlib.machinery import FileFinder

    for finder in list(sys.path_importer_cache.values()):
        if isinstance(finder, FileFinder):
            finder.invalidate_caches()


def _drop_stale_compiled() -> bool:
    """Forget the code :func:`cache_compiled` kept for files that changed or went; True if any did."""
    cache = _compiled_cache()
    stale = False
    for path, (data, _code) in list(cache.items()):
        try:
            current = Path(path).read_bytes()
        except OSError:
            current = None
        if current != data:
            del cache[path]
            stale = True
    return stale


def _source_matches(root: Path, relative: str, want: str) -> bool:
    try:
        return digest((root / relative).read_bytes()) == want
    except OSError:
        return False
