"""The app's module list and the pyscript.toml / index.html generated from it; api_base rewriting."""

from __future__ import annotations

import pytest

from serving.config import rewrite_api_base, validate_api_url
from tests.serving.fakes import TOML


def test_rewrite_api_base_changes_only_the_chat_api_base_line() -> None:
    rewritten = rewrite_api_base(TOML, "http://127.0.0.1:4567")
    before, after = TOML.splitlines(keepends=True), rewritten.splitlines(keepends=True)
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert changed == [
        (
            'api_base = "http://localhost:3000"   # rewritten by serve.py\n',
            'api_base = "http://127.0.0.1:4567"   # rewritten by serve.py\n',
        )
    ]


def test_rewrite_api_base_keeps_crlf_line_endings() -> None:
    text = '[chat]\r\napi_base = "http://localhost:3000"\r\nx = 1\r\n'
    assert rewrite_api_base(text, "https://api.test") == '[chat]\r\napi_base = "https://api.test"\r\nx = 1\r\n'


def test_rewrite_api_base_ignores_api_base_outside_the_chat_table() -> None:
    text = '[chat.characters]\napi_base = "a"\n[chat]\napi_base = "b"\n'
    assert rewrite_api_base(text, "http://c") == '[chat.characters]\napi_base = "a"\n[chat]\napi_base = "http://c"\n'


def test_rewrite_api_base_fails_loudly_without_the_line() -> None:
    with pytest.raises(ValueError, match="api_base"):
        rewrite_api_base('[chat]\ntitle = "x"\n', "http://c")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://localhost:3000", "http://localhost:3000"),
        ("https://chat.example.test/", "https://chat.example.test"),
        ("HTTP://[::1]:3000", "http://[::1]:3000"),
    ],
)
def test_validate_api_url_normalises_good_urls(url: str, expected: str) -> None:
    assert validate_api_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "localhost:3000",
        "ftp://host",
        "http://",
        "http://host/api",
        "http://host?x=1",
        "http://host#frag",
        "http://user:pw@host",
        "http://host:99999",
    ],
)
def test_validate_api_url_rejects_unusable_urls(url: str) -> None:
    with pytest.raises(ValueError, match="--api"):
        validate_api_url(url)
