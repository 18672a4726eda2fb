"""The HTTP plumbing shared by the page server and the demo proxy."""

from __future__ import annotations

from serving.http import http_url


def test_demo_proxy_url_uses_loopback_when_bound_to_all_interfaces() -> None:
    assert http_url("0.0.0.0", 3000) == "http://127.0.0.1:3000"
    assert http_url("", 3000) == "http://127.0.0.1:3000"
    assert http_url("::1", 3000) == "http://[::1]:3000"
