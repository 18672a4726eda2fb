"""The page's Content-Security-Policy: sent as a header by the page server, written as a ``<meta>`` by the export."""

from __future__ import annotations

import re
import tomllib
from html import escape as html_escape
from urllib.parse import urlsplit

# Loopback proxies the page's ?api= rule accepts (app/settings.py LOOPBACK_HOSTS, and *.localhost).
# CSP host sources cannot name IPv6 literals or an address range, so that rule refuses [::1] and
# 127.0.0.2-127.255.255.255 rather than let the policy block them.
LOOPBACK_SOURCES = (
    "http://localhost:*",
    "https://localhost:*",
    "http://*.localhost:*",
    "https://*.localhost:*",
    "http://127.0.0.1:*",
    "https://127.0.0.1:*",
)


def content_security_policy(toml_text: str, *, allow_loopback: bool = True, for_meta: bool = False) -> str:
    """The page's Content-Security-Policy, from its (served) ``pyscript.toml``.

    Scripts only from the page's origin, no inline script or style, and
    requests only to the page's origin and the configured API bases.
    ``'unsafe-eval'`` is there because PyScript 0.7 builds its plugin hooks
    with ``Function(...)`` at every start (the page does not boot without it;
    ``app/browser.py`` then compiles one constant helper the same way);
    Pyodide itself only needs ``'wasm-unsafe-eval'``. ``worker-src`` and
    ``manifest-src`` name the page's own origin only: the Pyodide snapshot's
    worker, the service worker (``sw.js``) and the web app manifest.
    ``allow_loopback`` adds the loopback hosts that the page's ``?api=`` rule
    accepts (a proxy on the user's own machine). ``for_meta`` leaves out what a
    ``<meta>`` policy cannot carry.
    """
    try:
        chat = tomllib.loads(toml_text).get("chat", {})
    except tomllib.TOMLDecodeError:
        chat = {}
    chat = chat if isinstance(chat, dict) else {}
    allowed = chat.get("allowed_api_bases")
    bases = [chat.get("api_base"), *(allowed if isinstance(allowed, list) else [])]  # the page ignores a non-list
    connect = ["'self'", *sorted({s for s in map(_origin_source, bases) if s})]
    if allow_loopback:
        connect += [s for s in LOOPBACK_SOURCES if s not in connect]
    directives = [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src " + " ".join(connect),
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
    if not for_meta:
        directives.append("frame-ancestors 'none'")
    return "; ".join(directives)


def _origin_source(url: object) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, as a CSP source; None if it is not one."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c in parts.netloc for c in " ;,'\""):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def add_csp_meta(html: str, policy: str) -> str:
    """``index.html`` with the policy as a ``<meta http-equiv>`` right after ``<meta charset>``."""
    tag = f'<meta http-equiv="Content-Security-Policy" content="{html_escape(policy)}">'
    head = re.search(r"<meta charset=[^>]*>", html, re.IGNORECASE)
    if head is None:
        raise ValueError("index.html has no <meta charset> to put the policy after")
    return f"{html[: head.end()]}\n  {tag}{html[head.end():]}"
