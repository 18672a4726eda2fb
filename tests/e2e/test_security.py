"""The Content-Security-Policy is sent, enforced, and never violated by the page itself."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from serving.export import export_site

from .conftest import READY, Server, open_app
from .helpers import send_and_wait


def test_the_page_is_served_with_a_strict_policy(page: Page, server: Server) -> None:
    response = page.goto(server.url)
    assert response is not None
    policy = response.headers["content-security-policy"]
    for directive in ("default-src 'none'", "object-src 'none'", "base-uri 'none'", "style-src 'self'",
                      f"connect-src 'self' {server.api}"):
        assert directive in policy
    assert "'unsafe-inline'" not in policy
    page.wait_for_selector(READY, timeout=60_000)


def test_the_policy_blocks_injected_inline_script(page: Page, server: Server, csp_reports: list[str]) -> None:
    open_app(page, server)
    page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.__inline = 1';
        document.body.append(s);
    }""")
    assert page.evaluate("window.__inline") is None
    page.wait_for_timeout(100)
    assert any("script-src" in report for report in csp_reports)
    csp_reports.clear()


@pytest.fixture
def exported_site(tmp_path: Path, server: Server) -> Iterator[str]:
    """The static export under a sub-path (/chat/) of a plain static server."""
    export_site(tmp_path / "chat", api_base=server.api)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/chat/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_exported_site_works_under_a_sub_path_with_its_meta_policy(
    page: Page, server: Server, exported_site: str
) -> None:
    page.goto(exported_site)
    page.wait_for_selector(READY, timeout=60_000)
    policy = page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
    assert policy is not None and f"connect-src 'self' {server.api} " in policy
    assert "message 1 in this session" in send_and_wait(page, "hello from a static host")


def test_an_export_for_a_public_proxy_connects_only_to_it(tmp_path: Path) -> None:
    export_site(tmp_path / "site", api_base="https://proxy.example.org")
    page = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "connect-src &#x27;self&#x27; https://proxy.example.org;" in page
    assert "localhost" not in page and "127.0.0.1" not in page
