"""Compressed copies of an exported site, for hosts that serve precompressed files.

Beside each file worth compressing, the export writes ``<file>.gz`` (gzip at
level 9) and ``<file>.br`` (Brotli at its highest quality, by Node's own zlib:
``scripts/precompress.mjs``). A host that serves them (nginx's ``gzip_static``
and ``brotli_static``, Caddy's ``file_server { precompressed br gzip }``, and
most static hosting) sends the smaller one the browser accepts, compressed
harder than a host compressing on the fly would: the first visit's runtime
comes to about 4.1 MB with Brotli against 5.3 MB with on-the-fly gzip.

Brotli at that quality takes a minute or two for the 9.6 MB wasm, so each
result is kept in ``.precompressed/`` (git-ignored), named by the digest of
what it compresses, and made again only for a file that changed. Without Node
(or its script) the export has its ``.gz`` copies only, and says so.

The runtime's two big files also get their ``.br`` beside them in ``runtime/``
(:func:`ensure_runtime_copies`), for every host, serve.py's too: a first visit
fetches those and decodes them in the page (``static/runtime-fetch.mjs``), which
saves about 1.1 MB against a host that only gzips. Each copy has its file's
modification time, and serve.py sends a copy only while the two agree, so a file
rebuilt since is never paired with its old copy.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from serving import REPO, say
from serving.builds import stdlib_name
from serving.runtime import RUNTIME_STAMP, Runner, pyodide_dir
from serving.static import COMPRESSIBLE, MIN_COMPRESS_BYTES, copy_is_current

SCRIPT = Path("scripts") / "precompress.mjs"
CACHE = ".precompressed"
SUFFIXES = (".gz", ".br")
TIMEOUT_S = 1200  # the wasm alone took 115 s at a load average of 10 on two CPUs
WORKERS = 2


@dataclass
class Compressed:
    """What :func:`precompress` wrote: bytes of the files, and of their ``.gz`` and ``.br`` copies."""

    files: int = 0
    original: int = 0
    gzip: int = 0
    brotli: int = 0
    brotli_missing: list[str] = field(default_factory=list)


def worth_compressing(path: Path) -> bool:
    return path.suffix in COMPRESSIBLE and path.is_file() and path.stat().st_size >= MIN_COMPRESS_BYTES


def remove_copies(paths: Iterable[Path]) -> None:
    """Remove the ``.gz`` and ``.br`` copies of ``paths``, so that none outlives the file it was made from."""
    for path in paths:
        for suffix in SUFFIXES:
            path.with_name(path.name + suffix).unlink(missing_ok=True)


def precompress(site: Path, repo: Path, run: Runner = subprocess.run) -> Compressed:
    """Write ``.gz`` and ``.br`` beside each compressible file under ``site``; what was written.

    A copy is written only where it is smaller than the file. Cached Brotli
    results not used by this site are removed, so the cache holds one export's.
    """
    every = sorted(p for p in site.rglob("*") if p.suffix not in SUFFIXES and p.is_file())
    remove_copies(every)  # also of a file that has become too small to compress
    files = [p for p in every if worth_compressing(p)]
    cache = repo / CACHE
    cache.mkdir(parents=True, exist_ok=True)
    digests = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in files}
    missing = sorted({digest: path for path, digest in digests.items()
                      if not (cache / f"{digest}.br").is_file()}.items(), key=lambda item: -item[1].stat().st_size)
    if missing and (repo / SCRIPT).is_file():
        started = time.monotonic()
        say(f"Compressing {len(missing)} files with Brotli for hosts that serve precompressed files "
            "(once per file version; the wasm takes a minute or two)...")
        if _brotli(repo, [(path, cache / f"{digest}.br") for digest, path in missing], run):
            say(f"  compressed in {time.monotonic() - started:.1f} s")
    result = Compressed()
    for path in files:
        data = path.read_bytes()
        result.files += 1
        result.original += len(data)
        zipped = gzip.compress(data, 9, mtime=0)
        result.gzip += _keep_if_smaller(path, ".gz", zipped, len(data))
        cached = cache / f"{digests[path]}.br"
        if cached.is_file():
            result.brotli += _keep_if_smaller(path, ".br", cached.read_bytes(), len(data))
        else:
            result.brotli_missing.append(path.relative_to(site).as_posix())
            result.brotli += len(zipped) if len(zipped) < len(data) else len(data)
    used = {f"{digest}.br" for digest in digests.values()}
    for entry in cache.iterdir():
        if entry.name not in used:
            entry.unlink(missing_ok=True)
    return result


def runtime_copied_files(runtime: Path) -> list[Path]:
    """The runtime files a first visit fetches as Brotli copies: Pyodide's wasm and the page's standard library.

    Only those present (none before the runtime is built); keep in step with static/runtime-fetch.mjs's callers.
    """
    try:
        pyodide = pyodide_dir(runtime)
        version = json.loads((runtime / RUNTIME_STAMP).read_text(encoding="utf-8"))["pyodide"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [path for path in (pyodide / "pyodide.asm.wasm", runtime / stdlib_name(str(version))) if path.is_file()]


def ensure_runtime_copies(repo: Path = REPO, run: Runner = subprocess.run) -> bool:
    """Write ``<file>.br`` beside each of :func:`runtime_copied_files` that lacks a current one; True if any was.

    Without Node a file has no copy, and the page fetches the file itself.
    """
    stale = [path for path in runtime_copied_files(repo / "runtime")
             if not copy_is_current(path.with_name(path.name + ".br"))]
    if not stale:
        return False
    cache = repo / CACHE
    cache.mkdir(parents=True, exist_ok=True)
    # Each file's time before it is read: a copy gets that time, so a file rebuilt meanwhile has
    # another one and its copy counts as stale (copy_is_current), never as the new file's.
    times = {path: path.stat().st_mtime_ns for path in stale}
    digests = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in stale}
    missing = [(path, cache / f"{digest}.br") for path, digest in digests.items()
               if not (cache / f"{digest}.br").is_file()]
    if missing and (repo / SCRIPT).is_file():
        started = time.monotonic()
        say(f"Compressing the runtime's {' and '.join(p.name for p, _ in missing)} with Brotli for first visits "
            "(once per version; the wasm takes half a minute or more)...")
        if _brotli(repo, sorted(missing, key=lambda pair: -pair[0].stat().st_size), run):
            say(f"  compressed in {time.monotonic() - started:.1f} s")
    wrote = False
    for path, digest in digests.items():
        cached = cache / f"{digest}.br"
        if cached.is_file():
            _write_beside(path, ".br", cached.read_bytes(), times[path])
            wrote = True
    return wrote


def _keep_if_smaller(path: Path, suffix: str, data: bytes, size: int) -> int:
    """Write ``data`` as ``path + suffix`` if it is smaller than ``size``; the bytes a browser then receives."""
    if len(data) >= size:
        return size
    _write_beside(path, suffix, data)
    return len(data)


def _write_beside(path: Path, suffix: str, data: bytes, mtime_ns: int | None = None) -> None:
    """Write ``data`` as ``path + suffix`` atomically, with ``path``'s times (the same Last-Modified),
    or with ``mtime_ns`` when given."""
    partial = path.with_name(f".{path.name}{suffix}.{os.getpid()}")
    partial.write_bytes(data)
    shutil.copystat(path, partial)
    if mtime_ns is not None:
        os.utime(partial, ns=(mtime_ns, mtime_ns))
    os.replace(partial, path.with_name(path.name + suffix))


def _brotli(repo: Path, pairs: list[tuple[Path, Path]], run: Runner) -> bool:
    """Compress ``(source, out)`` pairs with Node, in :data:`WORKERS` processes of about equal work."""
    groups: list[list[tuple[Path, Path]]] = [[] for _ in range(WORKERS)]
    loads = [0] * WORKERS
    for pair in pairs:  # largest first, each to the least loaded process
        least = loads.index(min(loads))
        groups[least].append(pair)
        loads[least] += pair[0].stat().st_size

    def compress(group: list[tuple[Path, Path]]) -> bool:
        command = ["node", str(repo / SCRIPT), *(str(p) for pair in group for p in pair)]
        try:
            result = run(command, cwd=repo, check=False, capture_output=True, text=True, timeout=TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as error:
            print(f"warning: no Brotli copies ({error}); hosts that serve precompressed files send gzip",
                  file=sys.stderr)
            return False
        if result.returncode != 0:
            print(f"warning: no Brotli copies (node exited with {result.returncode}: "
                  f"{(result.stderr or '').strip()[-300:]}); hosts that serve precompressed files send gzip",
                  file=sys.stderr)
            return False
        return True

    with ThreadPoolExecutor(WORKERS) as pool:
        return all(list(pool.map(compress, [group for group in groups if group])))
