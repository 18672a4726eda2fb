"""HTTP plumbing shared by the page server (``serving.static``) and the demo proxy (``demo_proxy.py``)."""

from __future__ import annotations

import errno
import signal
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """Logs requests only when the server is verbose; always logs real errors (not idle timeouts)."""

    # Headers and body go out as separate writes. With Nagle's algorithm on, the body waits
    # for the client's delayed ACK of the headers on every response of a kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    def log_error(self, format: str, *args: Any) -> None:
        if not format.startswith("Request timed out"):
            super().log_message(format, *args)


class LocalServer(ThreadingHTTPServer):
    """A threaded HTTP server for IPv4 or IPv6 hosts that binds fast offline and ignores dropped clients."""

    daemon_threads = True

    def server_bind(self) -> None:
        # Skip HTTPServer's reverse DNS lookup (socket.getfqdn): slow offline.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def http_url(host: str, port: int) -> str:
    """The URL a browser on this machine uses to reach a server bound to ``host``.

    >>> http_url("0.0.0.0", 3000), http_url("::1", 3000)
    ('http://127.0.0.1:3000', 'http://[::1]:3000')
    """
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def wait_for_stop_signal() -> None:
    """Block until Ctrl-C (SIGINT) or SIGTERM arrives."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def is_address_in_use(error: OSError) -> bool:
    """Whether binding failed because something already listens on the port."""
    return error.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1))
