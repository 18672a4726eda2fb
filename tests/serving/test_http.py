"""The HTTP plumbing shared by the page server and the demo proxy."""

from __future__ import annotations

import errno
import http.client
import inspect
import socket
import threading

import pytest

import demo_proxy
import serving.http
from demo_proxy import make_proxy_server
from serving.http import LocalServer, QuietHandler, http_url, is_address_in_use
from serving.static import StaticHandler, StaticServer


def test_demo_proxy_url_uses_loopback_when_bound_to_all_interfaces() -> None:
    assert http_url("0.0.0.0", 3000) == "http://127.0.0.1:3000"
    assert http_url("", 3000) == "http://127.0.0.1:3000"
    assert http_url("::1", 3000) == "http://[::1]:3000"


def test_the_page_server_and_the_proxy_are_built_on_the_same_plumbing() -> None:
    assert issubclass(StaticServer, LocalServer) and issubclass(demo_proxy.ProxyServer, LocalServer)
    assert issubclass(StaticHandler, QuietHandler) and issubclass(demo_proxy.ProxyHandler, QuietHandler)


def test_the_proxy_defines_no_plumbing_of_its_own() -> None:
    for name in ("LocalServer", "QuietHandler", "http_url", "is_address_in_use", "wait_for_stop_signal"):
        assert getattr(demo_proxy, name) is getattr(serving.http, name), name
    defined = {name for name, _ in inspect.getmembers(demo_proxy) if getattr(_, "__module__", None) == "demo_proxy"}
    assert not defined & {"LocalServer", "QuietHandler", "http_url", "is_address_in_use", "wait_for_stop_signal"}


def test_the_proxy_sends_without_waiting_for_acks(monkeypatch: pytest.MonkeyPatch) -> None:
    server = make_proxy_server("127.0.0.1", 0)
    nodelay: list[int] = []
    setup = demo_proxy.ProxyHandler.setup

    def recording_setup(handler: demo_proxy.ProxyHandler) -> None:
        setup(handler)
        nodelay.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(demo_proxy.ProxyHandler, "setup", recording_setup)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
        conn.request("GET", "/nowhere")
        assert conn.getresponse().status == 404
        conn.close()
    finally:
        server.shutdown()
        server.server_close()
    assert nodelay and all(nodelay)


def test_a_taken_port_is_told_apart_from_other_bind_errors() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        try:
            LocalServer(("127.0.0.1", taken.getsockname()[1]), QuietHandler)
        except OSError as error:
            assert is_address_in_use(error)
        else:
            raise AssertionError("bound a taken port")
    assert not is_address_in_use(OSError(errno.EACCES, "denied"))
