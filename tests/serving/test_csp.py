"""The page's Content-Security-Policy."""

from __future__ import annotations

from serving.csp import add_csp_meta, content_security_policy

CSP_TOML = '[chat]\napi_base = "https://proxy.example.org/v1"\nallowed_api_bases = ["https://other.example.org"]\n'


def test_csp_limits_connections_to_self_and_the_configured_bases() -> None:
    policy = content_security_policy(CSP_TOML, allow_loopback=False)
    assert "connect-src 'self' https://other.example.org https://proxy.example.org;" in policy
    assert "localhost" not in policy


def test_csp_forbids_inline_script_plugins_and_base_changes() -> None:
    directives = dict(d.split(" ", 1) for d in content_security_policy(CSP_TOML).split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-inline'" not in directives["style-src"]
    assert "'wasm-unsafe-eval'" in directives["script-src"]


def test_csp_allows_the_loopback_proxies_the_api_rule_accepts_by_default() -> None:
    policy = content_security_policy(CSP_TOML)
    assert "http://localhost:*" in policy and "http://127.0.0.1:*" in policy


def test_csp_meta_variant_leaves_out_frame_ancestors() -> None:
    assert "frame-ancestors" in content_security_policy(CSP_TOML)
    assert "frame-ancestors" not in content_security_policy(CSP_TOML, for_meta=True)


def test_csp_ignores_api_bases_that_are_not_http_urls() -> None:
    toml = '[chat]\napi_base = "javascript:alert(1)"\nallowed_api_bases = ["https://x.test\' \'unsafe-inline"]\n'
    assert "connect-src 'self';" in content_security_policy(toml, allow_loopback=False)


def test_csp_meta_is_placed_after_the_charset_and_escaped() -> None:
    html = '<!doctype html><html><head><meta charset="utf-8"><title>t</title></head></html>'
    out = add_csp_meta(html, "default-src 'none'; x \"y\"")
    assert out.index('<meta charset="utf-8">') < out.index("Content-Security-Policy") < out.index("<title>")
    assert 'content="default-src &#x27;none&#x27;; x &quot;y&quot;"' in out


def test_csp_lets_the_page_use_its_own_workers_and_manifest_and_nothing_else_new() -> None:
    directives = dict(d.split(" ", 1) for d in content_security_policy(CSP_TOML).split("; "))
    assert directives["worker-src"] == "'self'"  # the snapshot worker and the service worker (sw.js)
    assert directives["manifest-src"] == "'self'"  # static/manifest.webmanifest
    assert set(directives) == {
        "default-src", "script-src", "style-src", "img-src", "font-src", "connect-src", "worker-src",
        "manifest-src", "object-src", "base-uri", "form-action", "frame-ancestors",
    }
