from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.settings import (
    _NETLOC,
    Character,
    _is_ipv6,
    connect_src_allows,
    is_loopback_base,
    load_settings,
    normalize_base,
    resolve_api_base,
)
from serving.csp import content_security_policy

PAGE = "http://127.0.0.1:8000"
DEFAULT = "http://localhost:3000"


def test_settings_read_characters_and_api_base() -> None:
    settings = load_settings({
        "api_base": "http://localhost:3000/",
        "characters": [{"name": "Luna", "config_id": "CHAR_luna"}, {"config_id": " CHAR_x "}],
    })
    assert settings.api_base == DEFAULT
    assert settings.characters == [Character("CHAR_luna", "Luna"), Character("CHAR_x", "CHAR_x")]
    assert settings.problems == []


def test_bad_config_entries_are_skipped_with_a_problem_each() -> None:
    settings = load_settings({"api_base": "ftp://x", "characters": [{"name": "no id"}, "junk", {"config_id": ""}]})
    assert settings.api_base == DEFAULT
    assert settings.characters == []
    assert len(settings.problems) == 4


def test_missing_table_gives_defaults() -> None:
    assert load_settings(None).api_base == DEFAULT


@pytest.mark.parametrize(
    "override",
    [
        "http://localhost:3001",
        "http://127.0.0.1:9999",
        "https://127.0.0.1",
        "http://127.0.0.1:8000/proxy",
        "http://app.localhost:3000",
    ],
)
def test_loopback_and_same_origin_overrides_are_accepted(override: str) -> None:
    assert resolve_api_base(DEFAULT, override, PAGE, []) == (override, None)


def test_same_origin_override_is_accepted_for_a_public_page() -> None:
    page = "https://chat.example.org"
    assert resolve_api_base(DEFAULT, "https://chat.example.org/api-proxy/", page, []) == (
        "https://chat.example.org/api-proxy", None)


def test_listed_override_is_accepted() -> None:
    assert resolve_api_base(DEFAULT, "https://proxy.example.org", PAGE, ["https://proxy.example.org"])[1] is None


@pytest.mark.parametrize(
    "override",
    [
        "https://evil.example.com",
        "http://127.0.0.1.evil.example.com",
        "http://localhost@evil.example.com",
        "javascript:alert(1)",
        "//evil.example.com",
        "http://10.0.0.1:3000",
        "http://localhost:99999",
        "http://evil.example.com\\.localhost:3000",
        "http://evil.example.com%2f.localhost:3000",
        "http://user:pw@localhost:3000",
    ],
)
def test_other_overrides_are_ignored_with_a_warning(override: str) -> None:
    base, warning = resolve_api_base(DEFAULT, override, PAGE, [])
    assert base == DEFAULT
    assert warning and warning.startswith("Ignored ?api=")


def test_no_override_keeps_the_configured_base() -> None:
    assert resolve_api_base(DEFAULT, None, PAGE, []) == (DEFAULT, None)


def test_request_timeout_is_read_and_bounded() -> None:
    assert load_settings({"request_timeout_seconds": 2}).request_timeout == 2.0
    bad = load_settings({"request_timeout_seconds": 0})
    assert bad.request_timeout == 20.0 and "request_timeout_seconds" in bad.problems[0]
    assert load_settings({"request_timeout_seconds": True}).problems


def _urlsplit_normalize(raw: str) -> str | None:
    """The previous implementation, on urllib.parse, kept as the reference for the parser that replaced it."""
    try:
        parts = urlsplit(raw.strip())
        parts.port  # noqa: B018
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or not _NETLOC.fullmatch(parts.netloc):
        return None
    if parts.query or parts.fragment:
        return None
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


URLISH = st.text(alphabet="hHtTpPsS:/.?#[]@\\%-_~ \t09aAzZ\u00e9\u0130:1", max_size=40)


@settings(max_examples=3000, deadline=None)
@example("http://0#?")  # a fragment that is only "?" once slipped through
@example("http://[0]")  # hex digits in brackets, but no IPv6 address
@given(st.one_of(URLISH, st.builds(lambda a, b: a + b, st.sampled_from(["http://", "https://", "HTTP://"]), URLISH)))
def test_the_api_base_parser_accepts_nothing_urllib_would_refuse_and_agrees_on_the_rest(raw: str) -> None:
    ours, reference = normalize_base(raw), _urlsplit_normalize(raw)
    if ours is not None:
        assert ours == reference
    elif reference is not None:
        # Stricter only where a browser and Python could read the text differently: controls and
        # spaces, and any "?" or "#" (urllib lets an empty query or fragment through).
        stripped = raw.strip()
        assert any(c.isspace() or ord(c) < 0x20 for c in stripped) or "?" in stripped or "#" in stripped, raw


@pytest.mark.parametrize(
    ("base", "loopback"),
    [("http://localhost:3000", True), ("http://api.localhost", True), ("http://127.0.0.9:1", False),
     ("http://[::1]:8080", False), ("http://[::2]", False), ("http://example.com", False),
     ("http://127.0.0.1.example.com", False)],
)
def test_loopback_hosts_are_recognised(base: str, loopback: bool) -> None:
    assert is_loopback_base(base) is loopback


@settings(max_examples=2000, deadline=None)
@example("::ffff:1.2.3.04")
@example("1:2:3:4:5:6:7::")
@given(st.text(alphabet="0123456789abcdefABCDEF:.", max_size=24))
def test_bracketed_hosts_are_exactly_the_ipv6_addresses(text: str) -> None:
    import ipaddress

    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        expected = False
    else:
        expected = True
    assert _is_ipv6(text) is expected


def test_characters_carry_their_avatar_description_and_greeting() -> None:
    settings = load_settings({"characters": [{
        "name": "Luna", "config_id": "CHAR_luna", "avatar": "static/avatars/luna.svg",
        "description": "A gentle stargazer.", "greeting": "Good evening.",
    }]})
    assert settings.characters == [Character("CHAR_luna", "Luna", avatar="static/avatars/luna.svg",
                                             description="A gentle stargazer.", greeting="Good evening.")]
    assert settings.problems == []


def test_a_bad_card_field_is_ignored_with_a_problem_naming_the_character_and_the_field() -> None:
    settings = load_settings({"characters": [
        {"name": "Luna", "config_id": "CHAR_luna", "avatar": "https://evil.example/x.svg", "greeting": "Hi."},
    ]})
    assert settings.characters == [Character("CHAR_luna", "Luna", greeting="Hi.")]
    assert len(settings.problems) == 1
    assert settings.problems[0].startswith("pyscript.toml: character 'CHAR_luna': ignored its avatar (")


ACCEPTED_LOOPBACK = ["http://localhost:3000", "https://localhost", "http://app.localhost:3000", "https://a.b.localhost:1",
                     "http://127.0.0.1:9999", "https://127.0.0.1"]
CSP_BLOCKED_LOOPBACK = ["http://[::1]:3000", "http://[::ffff:127.0.0.1]:3000", "http://127.0.0.2:3000",
                        "http://127.5.6.7", "https://[0:0:0:0:0:0:0:1]"]


def csp_allows(policy: str, base: str) -> bool:
    sources = next(d for d in policy.split("; ") if d.startswith("connect-src")).split()[1:]
    return connect_src_allows(sources, base, PAGE)


@pytest.mark.parametrize(
    ("source", "base", "allowed"),
    [("'self'", PAGE + "/api", True), ("'self'", "http://localhost:9", False), ("*", "https://x.test", True),
     ("https:", "https://x.test", True), ("https:", "http://x.test", False),
     ("http://localhost:*", "http://localhost:3000", True), ("http://localhost:*", "https://localhost", False),
     ("http://*.localhost:*", "http://a.b.localhost:1", True), ("http://*.localhost:*", "http://localhost:1", False),
     ("https://proxy.example.org", "https://proxy.example.org", True),
     ("https://proxy.example.org", "https://proxy.example.org:8443", False),
     ("http://127.0.0.1:*", "http://127.0.0.2:80", False), ("http://127.0.0.1:*", "http://[::1]:80", False)],
)
def test_connect_src_sources_match_as_browsers_match_them(source: str, base: str, allowed: bool) -> None:
    assert connect_src_allows([source], base, PAGE) is allowed


def test_an_override_the_pages_own_policy_does_not_allow_is_refused_with_a_warning() -> None:
    exported = ["'self'", "https://proxy.example.org"]  # an export for a public host: no loopback
    base, warning = resolve_api_base(DEFAULT, "http://localhost:3001", PAGE, [], exported)
    assert base == DEFAULT and warning is not None and "security policy" in warning
    assert resolve_api_base(DEFAULT, "http://localhost:3001", PAGE, [], ["'self'", "http://localhost:*"]) == (
        "http://localhost:3001", None)


@pytest.mark.parametrize("override", ACCEPTED_LOOPBACK)
def test_every_loopback_base_the_rule_accepts_is_one_the_csp_allows(override: str) -> None:
    assert resolve_api_base(DEFAULT, override, PAGE, []) == (override, None)
    assert csp_allows(content_security_policy(""), override)


@pytest.mark.parametrize("override", CSP_BLOCKED_LOOPBACK)
def test_a_loopback_base_the_csp_cannot_allow_is_refused_with_a_warning(override: str) -> None:
    base, warning = resolve_api_base(DEFAULT, override, PAGE, [])
    assert base == DEFAULT
    assert warning is not None and "security policy" in warning
    assert not csp_allows(content_security_policy(""), override)


@pytest.mark.parametrize("value", [5, "CHAR_a", {"config_id": "CHAR_a"}, True])
def test_characters_or_bases_that_are_not_lists_are_named_and_ignored(value: object) -> None:
    # [chat.characters] (one table, where [[chat.characters]] was meant) or characters = 5: the page starts
    # with none from the config and says why, instead of ending in "could not start".
    settings = load_settings({"characters": value, "allowed_api_bases": value})
    assert settings.characters == []
    assert settings.allowed_api_bases == []
    assert [str(p) for p in settings.problems] == [
        "pyscript.toml: chat.allowed_api_bases is not a list; ignored it.",
        "pyscript.toml: chat.characters is not a list; ignored it.",
    ]
    content_security_policy(f"[chat]\nallowed_api_bases = {value!r}\n".replace("'", '"'))  # no error either
