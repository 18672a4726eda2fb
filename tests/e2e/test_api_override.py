"""``?api=``: only bases the page's security policy lets it reach are taken, and the one in use is shown."""

from __future__ import annotations

import re
import urllib.request
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, Route, expect

from serving.csp import content_security_policy

from .conftest import Server, open_app
from .helpers import send_and_wait


def test_the_api_base_from_the_query_is_shown_in_the_header(page: Page, server: Server) -> None:
    loopback = server.api.replace("127.0.0.1", "localhost")
    open_app(page, server, "?api=" + quote(loopback))
    expect(page.get_by_test_id("api-base")).to_have_text(loopback)
    expect(page.get_by_test_id("api-base")).to_be_visible()


def test_without_an_override_no_api_base_line_is_shown(page: Page, server: Server) -> None:
    open_app(page, server)
    expect(page.get_by_test_id("api-base")).to_be_hidden()


@pytest.mark.parametrize("host", ["[::1]", "[::ffff:127.0.0.1]", "127.0.0.2"])
def test_a_loopback_base_the_policy_cannot_allow_is_refused_and_the_page_chats_on(
        page: Page, server: Server, host: str) -> None:
    port = server.api.rsplit(":", 1)[1]
    open_app(page, server, "?api=" + quote(f"http://{host}:{port}"))
    expect(page.locator("#notice")).to_contain_text("Ignored ?api=")
    expect(page.locator("#notice")).to_contain_text("security policy")
    expect(page.get_by_test_id("api-base")).to_be_hidden()
    send_and_wait(page, "still works")


def test_an_exported_pages_own_policy_decides_which_override_is_taken(page: Page, server: Server) -> None:
    # As an export for a public host carries it: a <meta> policy with no loopback in connect-src.
    served = urllib.request.urlopen(server.url + "pyscript.toml", timeout=10).read().decode()
    policy = content_security_policy(served, allow_loopback=False, for_meta=True)

    def with_meta_policy(route: Route) -> None:
        response = route.fetch()
        meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        body = response.text().replace('<meta charset="utf-8">', '<meta charset="utf-8">' + meta, 1)
        route.fulfill(response=response, body=body)

    page.route(re.compile(re.escape(server.url) + r"(\?.*)?$"), with_meta_policy)
    loopback = server.api.replace("127.0.0.1", "localhost")
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    page.goto(server.url + "?api=" + quote(loopback))  # (a routed page may not reach loopback: no chat here)
    page.wait_for_selector("html[data-app-state=ready]", timeout=60_000)
    expect(page.locator("#notice")).to_contain_text("this page's security policy does not let it reach")
    expect(page.get_by_test_id("api-base")).to_be_hidden()
    assert not any(url.startswith(loopback) for url in seen)
