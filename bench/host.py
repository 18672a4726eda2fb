"""The benchmark's reference host (issue 18): the exported site and the baselines behind one plain static server.

Not serve.py's server: a host as a visitor meets it. :class:`ReferenceHost`
serves one folder, gzips compressible responses, and, in mode ``"gzip"``,
sends ``Last-Modified`` (answering ``If-Modified-Since`` with 304) and no
``Cache-Control`` or ``ETag``, so browsers cache by heuristic. Mode
``"no-cache"`` sends ``Cache-Control: no-cache`` and no validator at all, so
every request the browser makes downloads the file again.

The host logs every response it sends (path, status, bytes on the wire with
headers), so a visit's transfer counts whatever asked: the page, its workers
and its service worker.

:func:`build_site` lays the folder out: ``serve.export_site`` at the root,
``stock/`` and ``mpy/`` beside it (``bench/pages``), and MicroPython's
runtime (from node_modules) in ``micropython-<version>/``.
"""

from __future__ import annotations

import email.utils
import gzip
import json
import os
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from serving.export import export_site
from serving.http import LocalServer, QuietHandler
from serving.precompress import precompress

ROOT = Path(__file__).resolve().parents[1]
PAGES = Path(__file__).resolve().parent / "pages"
MICROPYTHON_PACKAGE = "@micropython/micropython-webassembly-pyscript"
MICROPYTHON_FILES = ("micropython.mjs", "micropython.wasm")

TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".json": "application/json", ".webmanifest": "application/manifest+json", ".wasm": "application/wasm",
    ".zip": "application/zip", ".svg": "image/svg+xml", ".toml": "application/toml",
    ".py": "text/x-python; charset=utf-8", ".txt": "text/plain; charset=utf-8", ".mo": "application/octet-stream",
    ".png": "image/png", ".ico": "image/x-icon", ".map": "application/json",
}
# What a plain host gzips: text, scripts, JSON, WebAssembly, zips (the runtime's are stored), catalogues.
COMPRESSIBLE = {".html", ".js", ".mjs", ".css", ".json", ".webmanifest", ".wasm", ".zip", ".svg", ".toml", ".py",
                ".txt", ".mo", ".map"}
MIN_GZIP_BYTES = 256
MODES = ("gzip", "no-cache")


@dataclass(frozen=True)
class Served:
    """One response the host sent."""

    at: float
    path: str
    status: int
    wire_bytes: int  # status line, headers and body
    body_bytes: int
    encoding: str


class ReferenceHost(LocalServer):
    """A plain static host for ``root`` in one of :data:`MODES`; logs what it sends."""

    def __init__(self, root: Path, mode: str, host: str = "127.0.0.1", port: int = 0) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.root = root.resolve()
        self.mode = mode
        self.log: list[Served] = []
        self._lock = threading.Lock()
        self._gzipped: dict[tuple[Path, int], bytes] = {}
        super().__init__((host, port), ReferenceHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def mark(self) -> int:
        """A position in the log: pass it to :meth:`since`."""
        with self._lock:
            return len(self.log)

    def since(self, mark: int) -> list[Served]:
        with self._lock:
            return self.log[mark:]

    def last_at(self) -> float:
        with self._lock:
            return self.log[-1].at if self.log else 0.0

    def record(self, served: Served) -> None:
        with self._lock:
            self.log.append(served)

    def gzipped(self, path: Path) -> bytes:
        """``path`` gzipped at level 6 (a host's usual on-the-fly setting), once per file version."""
        key = (path, path.stat().st_mtime_ns)
        with self._lock:
            found = self._gzipped.get(key)
        if found is None:
            found = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
            with self._lock:
                self._gzipped[key] = found
        return found

    def warm(self) -> None:
        """Compress the big files ahead of the first visit, as a host would have them ready."""
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and path.suffix in COMPRESSIBLE and path.stat().st_size > 100_000:
                self.gzipped(path)


class ReferenceHandler(QuietHandler):
    server: ReferenceHost
    protocol_version = "HTTP/1.1"
    server_version = "ReferenceHost/1.0"
    timeout = 60

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _file(self) -> Path | None:
        path = unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        if path.endswith("/"):
            path += "index.html"
        if "\x00" in path or any(part in ("..", "") for part in path.split("/")[1:]):
            return None
        candidate = (self.server.root / path.lstrip("/")).resolve()
        inside = candidate.is_relative_to(self.server.root)
        return candidate if inside and candidate.is_file() else None

    def _serve(self) -> None:
        path = self._file()
        if path is None:
            self._send(404, {"Content-Type": "text/plain; charset=utf-8"}, b"Not found\n", "")
            return
        stat = path.stat()
        headers = {"Content-Type": TYPES.get(path.suffix, "application/octet-stream")}
        if self.server.mode == "gzip":
            headers["Last-Modified"] = email.utils.formatdate(stat.st_mtime, usegmt=True)
            if self._unmodified_since(stat.st_mtime):
                self._send(304, headers, b"", "")
                return
        else:
            headers["Cache-Control"] = "no-cache"
        body, encoding = None, ""
        if path.suffix in COMPRESSIBLE:
            headers["Vary"] = "Accept-Encoding"
            if "gzip" in self.headers.get("Accept-Encoding", "") and stat.st_size >= MIN_GZIP_BYTES:
                body, encoding = self.server.gzipped(path), "gzip"
                headers["Content-Encoding"] = "gzip"
        self._send(200, headers, body if body is not None else path.read_bytes(), encoding)

    def _unmodified_since(self, mtime: float) -> bool:
        since = self.headers.get("If-Modified-Since")
        if not since:
            return False
        try:
            return int(mtime) <= email.utils.parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False

    def _send(self, status: int, headers: dict[str, str], body: bytes, encoding: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        header_bytes = sum(len(chunk) for chunk in getattr(self, "_headers_buffer", [])) + 2  # and the blank line
        sent = len(body) if self.command != "HEAD" and status != 304 else 0
        # Logged before anything goes out, so that a client that has the response finds it in the log.
        self.server.record(Served(time.monotonic(), self.path.split("?", 1)[0], status, header_bytes + sent, sent,
                                  encoding))
        self.end_headers()
        if sent:
            self.wfile.write(body)


def micropython_dir_name(repo: Path = ROOT) -> str:
    """``micropython-<version>``, the version pinned in package.json (the mpy page's config names it)."""
    pins = json.loads((repo / "package.json").read_text(encoding="utf-8"))["devDependencies"]
    return f"micropython-{pins[MICROPYTHON_PACKAGE]}"


def add_baselines(site: Path, names: tuple[str, ...], repo: Path = ROOT) -> None:
    """Copy the baseline pages ``names`` (bench/pages/<name>) into ``site``, with MicroPython's runtime for mpy.

    The stock and mpy pages load ``../runtime/`` (PyScript, Pyodide), which ``site`` must hold.
    """
    for name in names:
        shutil.copytree(PAGES / name, site / name)
    if "mpy" in names:
        package = repo / "node_modules" / MICROPYTHON_PACKAGE
        installed = json.loads((package / "package.json").read_text(encoding="utf-8"))["version"]
        target = site / micropython_dir_name(repo)
        if target.name != f"micropython-{installed}":
            raise RuntimeError(f"node_modules has {MICROPYTHON_PACKAGE} {installed}, package.json pins "
                               f"{target.name}: run npm ci")
        expected = (PAGES / "mpy" / "pyscript.toml").read_text(encoding="utf-8")
        if f"../{target.name}/micropython.mjs" not in expected:
            raise RuntimeError(f"bench/pages/mpy/pyscript.toml does not name ../{target.name}/micropython.mjs")
        target.mkdir()
        for file in MICROPYTHON_FILES:
            shutil.copy2(package / file, target / file)


def build_site(site: Path, api: str, age_s: float, repo: Path = ROOT) -> None:
    """The reference host's folder: the page exported against ``api``, the stock and mpy pages beside it.

    Every file's modification time is set ``age_s`` seconds back, one time for all (a deploy that
    long ago), so the heuristic freshness browsers give Last-Modified is the same for every page.
    """
    export_site(site, api, repo=repo)
    add_baselines(site, ("stock", "mpy"), repo)
    deployed = time.time() - age_s
    for path in site.rglob("*"):
        os.utime(path, (deployed, deployed), follow_symlinks=False)


@dataclass
class Transfer:
    """What the host sent during one visit."""

    wire_bytes: int = 0
    body_bytes: int = 0
    requests: int = 0
    not_modified: int = 0
    downloads: dict[str, int] = field(default_factory=dict)  # path: 200 responses

    @classmethod
    def of(cls, entries: list[Served]) -> Transfer:
        downloads = Counter(e.path for e in entries if e.status == 200)
        return cls(sum(e.wire_bytes for e in entries), sum(e.body_bytes for e in entries), len(entries),
                   sum(1 for e in entries if e.status == 304), dict(sorted(downloads.items())))


def wait_quiet(host: ReferenceHost, quiet_s: float = 1.5, limit_s: float = 30.0) -> None:
    """Return once ``host`` has sent nothing for ``quiet_s`` (at most ``limit_s``)."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        idle = time.monotonic() - max(host.last_at(), 0.0)
        if idle >= quiet_s:
            return
        time.sleep(min(0.25, quiet_s - idle + 0.01))


def precompressed_sizes(files: list[Path], root: Path) -> dict[Path, dict[str, int]]:
    """Each of ``files`` (under ``root``) as the export's precompressed copies weigh (``{"br": n, "gzip9": n}``).

    The copies are the export's own (``serving.precompress``: Brotli 11 and gzip -9, the Brotli
    results kept per file version in ``.precompressed/``), made here for the whole folder; a file
    with no copy (small, or not smaller compressed) counts as it is.
    """
    precompress(root, ROOT)

    def size(file: Path, suffix: str) -> int:
        copy = file.with_name(file.name + suffix)
        return (copy if copy.is_file() else file).stat().st_size

    return {file: {"br": size(file, ".br"), "gzip9": size(file, ".gz")} for file in files}


def transfer_if_precompressed(entries: list[Served], root: Path) -> dict[str, int]:
    """The visit's bytes had the host sent each gzipped response as Brotli 11, or as gzip -9, instead.

    Headers and uncompressed responses count as they were sent.
    """
    files = {e.path: (root / unquote(e.path).lstrip("/")) for e in entries if e.encoding == "gzip"}
    files = {path: (file / "index.html" if file.is_dir() else file) for path, file in files.items()}
    sizes = precompressed_sizes(sorted(set(files.values())), root)
    totals = {"br": 0, "gzip9": 0}
    for e in entries:
        for kind in totals:
            totals[kind] += e.wire_bytes if e.encoding != "gzip" else e.wire_bytes - e.body_bytes + sizes[
                files[e.path]][kind]
    return totals


def serve_in_thread(server: Any) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()
