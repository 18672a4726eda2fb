"""The page's settings: the ``[chat]`` table of ``pyscript.toml`` and the ``?api=`` rule.

Example ``pyscript.toml``::

    [chat]
    api_base = "http://localhost:3000"
    allowed_api_bases = ["https://chat-proxy.example.org"]

    [[chat.characters]]
    name = "Luna"
    config_id = "CHAR_luna"
    avatar = "static/avatars/luna.svg"      # optional, see app.cards
    description = "A gentle stargazer."      # optional
    greeting = "Hello, traveller."           # optional
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .api import DEFAULT_REPLY_TIME_LIMIT_SECONDS, DEFAULT_TIMEOUT_SECONDS
from .cards import read_card
from .errors import InvalidConfigId
from .i18n import N_, phrase_of
from .sessions import validate_config_id

# What a browser and Python agree is a host[:port]. Anything else (a backslash, say) could be
# read as one host here and another by the browser's URL parser: refused.
_NETLOC = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")

DEFAULT_API_BASE = "http://localhost:3000"
TIMEOUT_RANGE = (1.0, 300.0)
REPLY_TIME_LIMIT_RANGE = (1.0, 3600.0)
MAX_NAME_LENGTH = 80


@dataclass(frozen=True)
class Character:
    """A character the page lists; ``added`` ones came from the user (or a link) and can be removed.

    ``avatar`` (a same-site image path), ``description`` and ``greeting`` come
    from ``pyscript.toml`` only, checked by :func:`app.cards.read_card`.
    """

    config_id: str
    name: str
    added: bool = False
    avatar: str | None = None
    description: str = ""
    greeting: str = ""


@dataclass
class ChatSettings:
    api_base: str = DEFAULT_API_BASE
    characters: list[Character] = field(default_factory=list)
    allowed_api_bases: list[str] = field(default_factory=list)
    request_timeout: float = DEFAULT_TIMEOUT_SECONDS
    reply_time_limit: float = DEFAULT_REPLY_TIME_LIMIT_SECONDS  # never below request_timeout (ProxyClient)
    problems: list[str] = field(default_factory=list)


# scheme://netloc then path, query, fragment, split as the URL standard does for http(s).
# (urllib.parse would do, but it and the ipaddress module it imports slow every start in the
# browser: see docs/performance.md; this is the one URL shape the page accepts.)
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<netloc>[^/?#]*)(?P<path>[^?#]*)(?P<rest>[?#].*)?", re.S)


def _split(base: str) -> tuple[str, str, str, str] | None:
    """``(scheme, netloc, host, path)`` of an http(s) URL with no query or fragment, else None."""
    match = _URL.fullmatch(base)
    if match is None or any(c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in base):
        return None
    scheme, netloc, path, rest = match["scheme"].lower(), match["netloc"], match["path"], match["rest"]
    if scheme not in ("http", "https") or not _NETLOC.fullmatch(netloc) or rest:
        return None
    host, _, port = netloc.rpartition(":") if not netloc.endswith("]") else (netloc, "", "")
    if not host:  # no port: the colon was not there
        host, port = netloc, ""
    if port and int(port) > 65535:
        return None
    if host.startswith("[") and not _is_ipv6(host[1:-1]):
        return None  # "[0]" has the characters of an address but is none (for browsers neither)
    return scheme, netloc, host.strip("[]").lower(), path


def _is_ipv6(text: str) -> bool:
    """Whether ``text`` is an IPv6 address: eight hex groups, one "::" for a run of them, and
    perhaps a dotted IPv4 address as the last two (without the ipaddress module, as above).

    >>> [_is_ipv6(t) for t in ("::1", "::", "1:2:3:4:5:6:7:8", "::ffff:127.0.0.1")]
    [True, True, True, True]
    >>> [_is_ipv6(t) for t in ("0", "1:2", ":1", "1::2::3", "1:2:3:4:5:6:7:8:9", "::1.2.3.04")]
    [False, False, False, False, False, False]
    """
    head, compressed, tail = text.partition("::")
    if "::" in tail:
        return False
    groups = [*(head.split(":") if head else []), *(tail.split(":") if tail else [])]
    count = len(groups)
    if groups and "." in groups[-1]:
        octets = groups.pop().split(".")
        decimal = all(o.isascii() and o.isdigit() and o == str(int(o)) and int(o) <= 255 for o in octets)
        if len(octets) != 4 or not decimal:
            return False
        count += 1  # an IPv4 address takes two groups
    if not all(1 <= len(g) <= 4 and all(c in "0123456789abcdefABCDEF" for c in g) for g in groups):
        return False
    return count < 8 if compressed else count == 8


def normalize_base(raw: object) -> str | None:
    """``scheme://host[:port][/path]`` without a trailing slash, or None if not an http(s) base."""
    if not isinstance(raw, str):
        return None
    parts = _split(raw.strip())
    if parts is None:
        return None
    scheme, netloc, _host, path = parts
    return f"{scheme}://{netloc}{path}".rstrip("/")


def _origin(base: str) -> str:
    parts = _split(base)
    return f"{parts[0]}://{parts[1]}".lower() if parts else ""


LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
"""The loopback hosts ``?api=`` accepts (and ``*.localhost``): exactly those the page's CSP lets it reach
(``serving/csp.py`` LOOPBACK_SOURCES). A CSP source cannot name an IPv6 literal or an address range, so
``[::1]``, ``[::ffff:127.0.0.1]`` and ``127.0.0.2`` are refused here rather than blocked there."""


def is_loopback_base(base: str) -> bool:
    """Whether ``base`` is on a loopback host the page's CSP can allow: localhost, ``*.localhost``, 127.0.0.1.

    >>> [is_loopback_base(b) for b in ("http://localhost:3000", "http://127.0.0.1", "http://[::1]:3000")]
    [True, True, False]
    """
    parts = _split(base)
    host = parts[2] if parts else ""
    return host in LOOPBACK_HOSTS or host.endswith(".localhost")


def load_settings(raw: Mapping[str, Any] | None) -> ChatSettings:
    """Settings from the ``[chat]`` table; bad entries are skipped and listed in ``problems``."""
    settings = ChatSettings()
    table: Mapping[str, Any] = raw or {}
    base = normalize_base(table.get("api_base", DEFAULT_API_BASE))
    if base is None:
        settings.problems.append(N_("pyscript.toml: chat.api_base is not an http(s) URL; using the default."))
    else:
        settings.api_base = base
    for entry in _listed(table, "allowed_api_bases", settings.problems):
        allowed = normalize_base(entry)
        if allowed is None:
            settings.problems.append(N_("pyscript.toml: ignored allowed_api_bases entry {entry}.", entry=repr(entry)))
        else:
            settings.allowed_api_bases.append(allowed)
    settings.request_timeout = _seconds(table, "request_timeout_seconds", DEFAULT_TIMEOUT_SECONDS, TIMEOUT_RANGE,
                                        settings.problems)
    settings.reply_time_limit = _seconds(table, "reply_time_limit_seconds", DEFAULT_REPLY_TIME_LIMIT_SECONDS,
                                         REPLY_TIME_LIMIT_RANGE, settings.problems)
    seen: set[str] = set()
    for entry in _listed(table, "characters", settings.problems):
        try:
            config_id = validate_config_id(entry.get("config_id") if isinstance(entry, Mapping) else None)
        except InvalidConfigId as exc:
            settings.problems.append(N_("pyscript.toml: skipped a character ({reason})", reason=phrase_of(exc)))
            continue
        if config_id in seen:
            continue
        seen.add(config_id)
        name = entry.get("name") if isinstance(entry.get("name"), str) else ""
        card, problems = read_card(entry)
        settings.problems += [N_("pyscript.toml: character {config_id}: ignored its {problem}.",
                                 config_id=repr(config_id), problem=p) for p in problems]
        settings.characters.append(Character(config_id, clean_name(name) or config_id, avatar=card.avatar,
                                             description=card.description, greeting=card.greeting))
    return settings


def _listed(table: Mapping[str, Any], key: str, problems: list[str]) -> list[Any]:
    """``table[key]`` if it is a list (none: empty); anything else is ignored and named in ``problems``.

    >>> problems = []
    >>> _listed({"characters": {"config_id": "CHAR_a"}}, "characters", problems), len(problems)
    ([], 1)
    """
    value = table.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    problems.append(N_("pyscript.toml: chat.{key} is not a list; ignored it.", key=key))
    return []


def _seconds(
    table: Mapping[str, Any], key: str, default: float, bounds: tuple[float, float], problems: list[str]
) -> float:
    """The number of seconds under ``key`` when within ``bounds``, else ``default`` (and a problem noted)."""
    value = table.get(key, default)
    low, high = bounds
    if isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high:
        return float(value)
    problems.append(N_("pyscript.toml: chat.{key} must be {low}-{high}; using {default}.", key=key, low=low, high=high,
                        default=default))
    return default


def clean_name(name: str) -> str:
    """A display name on one line, bounded in length."""
    flat = " ".join(name.split())
    return flat[:MAX_NAME_LENGTH]


_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _host_port(netloc: str, scheme: str) -> tuple[str, str]:
    host, colon, port = netloc.rpartition(":")
    if not colon or host.endswith("[") or netloc.endswith("]"):  # no port (or an IPv6 literal without one)
        host, port = netloc, ""
    return host.lower(), port or _DEFAULT_PORTS.get(scheme, "")


def connect_src_allows(sources: list[str], base: str, page_origin: str) -> bool:
    """Whether a ``connect-src`` of ``sources`` lets the page reach ``base`` (the source shapes CSP has:
    ``'self'``, ``*``, ``scheme:``, ``scheme://[*.]host[:port|:*]``).

    >>> connect_src_allows(["'self'", "http://localhost:*"], "http://localhost:3000", "http://x.test")
    True
    >>> connect_src_allows(["'self'", "http://127.0.0.1:*"], "http://127.0.0.2:3000", "http://x.test")
    False
    """
    parts = _split(base)
    if parts is None:
        return False
    scheme, netloc = parts[0], parts[1]
    host, port = _host_port(netloc, scheme)
    for source in sources:
        source = source.lower()
        if source == "'self'":
            if _origin(base) == page_origin.lower():
                return True
        elif source == "*" or source == f"{scheme}:":
            return True
        elif "://" in source:
            source_scheme, _, source_netloc = source.partition("://")
            source_host, source_port = _host_port(source_netloc.split("/")[0], source_scheme)
            host_matches = source_host == host or (source_host.startswith("*.") and host.endswith(source_host[1:]))
            if source_scheme == scheme and host_matches and source_port in ("*", port):
                return True
    return False


def resolve_api_base(
    configured: str,
    override: str | None,
    page_origin: str,
    allowed: list[str],
    connect_sources: list[str] | None = None,
) -> tuple[str, str | None]:
    """The API base to use and a warning when ``?api=`` was refused.

    An override is accepted when it is same-origin with the page, on a
    loopback host the page's CSP allows (localhost, ``*.localhost``,
    127.0.0.1; not ``[::1]`` or the rest of 127.0.0.0/8) or listed in
    ``allowed_api_bases``; anything else could send someone's messages to a
    stranger's server, so it is ignored. ``connect_sources``: the page's
    CSP ``connect-src``, when the page can read it (an exported page's
    ``<meta>``): an override it does not allow is refused too, with a warning,
    rather than failing as a "Network error" at every request.
    """
    if override is None or not override.strip():
        return configured, None
    base = normalize_base(override)
    if base is None:
        return configured, N_("Ignored ?api=: it is not an http(s) address.")
    trusted = (
        _origin(base) == page_origin.lower()
        or is_loopback_base(base)
        or base in allowed
    )
    if not trusted:
        return configured, N_(
            "Ignored ?api={base}: only this site, localhost, 127.0.0.1 or an API base listed in pyscript.toml"
            " is allowed (the page's security policy lets it reach no other).", base=base)
    if connect_sources is not None and not connect_src_allows(connect_sources, base, page_origin):
        return configured, N_("Ignored ?api={base}: this page's security policy does not let it reach that address.",
                               base=base)
    return base, None
