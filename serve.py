"""Serve the chat page locally, or export it as a static site.

Usage::

    python3 serve.py                      # page on :8000, demo proxy on :3000
    python3 serve.py --port 8080 --api-port 3001
    python3 serve.py --api https://chat.example.test   # use a real proxy
    python3 serve.py --export ./export    # static site for any web server

On first run this fetches the pinned PyScript and Pyodide with ``npm ci`` and
builds ``runtime/`` (nothing is ever loaded from a CDN); the parts live in
``serving/``. The served ``pyscript.toml`` points its ``[chat] api_base`` at:

- by default the demo proxy (``demo_proxy.py``), started on ``--api-port``;
- if something already listens on ``--api-port``, that is used instead;
- with ``--api URL``, that URL (no demo proxy is started).

The demo proxy streams its replies word by word (``--stream-delay-ms``
apart); ``--no-stream`` makes it answer JSON. ``--test-faults`` turns on its
``/__test__/`` control API for browser tests. Ctrl-C or SIGTERM stops everything.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from demo_proxy import DEFAULT_STREAM_DELAY_MS, ProxyServer, make_proxy_server
from serving import REPO, SetupError, say
from serving.builds import ensure_bytecode, ensure_some_stdlib, ensure_stdlib
from serving.catalogues import ensure_catalogues
from serving.config import configured_api_base, validate_api_url
from serving.export import check_export_destination, export_site
from serving.http import http_url, is_address_in_use, wait_for_stop_signal
from serving.packages import ensure_page_packages
from serving.precompress import ensure_runtime_copies, precompress
from serving.runtime import Runner, ensure_runtime
from serving.static import StaticServer, make_static_server


class PagePortInUse(SetupError):
    """The page's port is taken."""


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
    stream_delay_ms: int | None = DEFAULT_STREAM_DELAY_MS,
    repo: Path = REPO,
) -> Servers:
    """Bind the page server and pick (or start) the proxy; not yet serving.

    The demo proxy streams its replies, ``stream_delay_ms`` between words
    (None: it answers JSON).

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
        proxy = make_proxy_server(host, api_port, test_faults, verbose=verbose, stream_delay_ms=stream_delay_ms)
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
    parser.add_argument("--no-precompress", action="store_true",
                        help="with --export: no .gz and .br copies for hosts that serve precompressed files")
    parser.add_argument("--test-faults", action="store_true", help="enable the demo proxy's /__test__/ API (tests)")
    parser.add_argument("--no-stream", action="store_true", help="the demo proxy answers JSON, never streams")
    parser.add_argument("--stream-delay-ms", type=int, default=DEFAULT_STREAM_DELAY_MS, metavar="MS",
                        help=f"pause between the demo proxy's streamed words (default {DEFAULT_STREAM_DELAY_MS})")
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


def build(repo: Path = REPO, run: Runner = subprocess.run) -> None:
    """Bring everything the page is served from up to date; SetupError if it cannot.

    Each step only rebuilds what changed, so a second call costs little.
    """
    prepare(repo, run)
    build_faster_start(repo)


def prepare(repo: Path = REPO, run: Runner = subprocess.run) -> None:
    """What the page cannot be served without: the runtime, its packages, the catalogues, a standard library.

    npm and pip each wait on the network, so they run side by side. Each step
    that does something says so.
    """
    with ThreadPoolExecutor(2) as pool:
        steps = [pool.submit(ensure_runtime, repo, run), pool.submit(ensure_page_packages, repo, run)]
        for step in steps:
            step.result()
    ensure_catalogues(repo)  # after the runtime: its folder is rebuilt whole
    ensure_some_stdlib(repo)


def build_faster_start(repo: Path = REPO) -> None:
    """What only makes a first visit faster: the app's bytecode and the compiled standard library (Node, seconds),
    then the Brotli copies of the wasm and that standard library (Node, half a minute once).

    The two builds run side by side. The page is the same without them, only
    slower to start, and each file is replaced atomically, so serve.py serves
    while they build.
    """
    with ThreadPoolExecutor(2) as pool:
        for step in [pool.submit(ensure_bytecode, repo), pool.submit(ensure_stdlib, repo)]:
            step.result()
    ensure_runtime_copies(repo)  # of the standard library just built


def main(argv: Sequence[str] | None = None, *, repo: Path = REPO, run: Runner = subprocess.run) -> int:
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
            return _export(Path(args.export), api_url, repo, run, precompressed=not args.no_precompress)
        started = time.monotonic()
        prepare(repo, run)
        servers = start_servers(
            args.host,
            args.port,
            args.api_port,
            api_url=api_url,
            test_faults=args.test_faults,
            verbose=args.verbose,
            stream_delay_ms=None if args.no_stream else max(0, args.stream_delay_ms),
            repo=repo,
        )
    except SetupError as error:
        return _error(str(error), 1)
    except KeyboardInterrupt:
        print("\nStopped.", flush=True)
        return 130
    return _serve(servers, args.test_faults, lambda: _build_in_background(repo, started))


def _build_in_background(repo: Path, started: float) -> None:
    """The faster-start files, built while the page is already served; says when they are in place."""
    def build() -> None:
        begun = time.monotonic()
        try:
            build_faster_start(repo)
        except Exception as error:  # noqa: BLE001 - the page is served without them; say so and go on
            print(f"warning: the faster-start files were not built ({error})", file=sys.stderr, flush=True)
            return
        if time.monotonic() - begun > 0.5:
            say(f"Start-up files built, {time.monotonic() - started:.1f} s after starting: "
                  "first visits start faster from now on.")

    threading.Thread(target=build, daemon=True, name="faster-start build").start()


def _export(dest: Path, api_url: str | None, repo: Path, run: Runner, *, precompressed: bool = True) -> int:
    try:
        check_export_destination(dest.resolve(), repo.resolve())
    except SetupError as error:
        return _error(str(error), 2)
    written = export_site(dest, api_url, repo=repo, run=run)
    compressed = precompress(dest, repo, run) if precompressed else None
    print(f"Exported the chat page to {dest.resolve()}:")
    for path in written:
        if path.is_dir():
            count = sum(1 for p in path.rglob("*") if p.is_file())
            print(f"  {path.name}/  ({count} files)")
        else:
            print(f"  {path.name}")
    api_base = configured_api_base((dest / "pyscript.toml").read_text(encoding="utf-8"))
    if api_base:
        print(f"The page will call the chat proxy at {api_base} (change it with --api URL).")
    if compressed is not None:
        print(f"Beside {compressed.files} files, .gz and .br copies for hosts that serve precompressed files: "
              f"{compressed.original / 1e6:.1f} MB, {compressed.gzip / 1e6:.1f} MB gzipped, "
              f"{compressed.brotli / 1e6:.1f} MB with Brotli.")
        if compressed.brotli_missing:
            print(f"  ({len(compressed.brotli_missing)} files have no .br copy: Node did not make them.)")
    print("Serve it from any static web server (a sub-path works too), for example:")
    print(f"  cd {shlex.quote(str(dest.resolve()))} && python3 -m http.server")
    return 0


def _serve(servers: Servers, test_faults: bool, then: Callable[[], None] = lambda: None) -> int:
    servers.start()
    try:
        print(f"Chat page:  {servers.page_url}", flush=True)
        if servers.proxy_source == "demo":
            print(f"Demo proxy: {servers.api_base}" + ("" if servers.proxy and servers.proxy.stream_delay_ms is not None
                                                         else " (JSON replies, no streaming)"), flush=True)
            if test_faults:
                print("Test control API enabled under /__test__/ (for tests only).", flush=True)
        elif servers.proxy_source == "api":
            print(f"Chat proxy: {servers.api_base} (from --api)", flush=True)
        else:
            port = servers.api_base.rsplit(":", 1)[1]
            print(f"Something already listens on port {port}; using it as the proxy.", flush=True)
            print(f"Chat proxy: {servers.api_base}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        then()
        wait_for_stop_signal()
    except KeyboardInterrupt:
        pass
    finally:
        servers.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
