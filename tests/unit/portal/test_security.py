"""Which posts the portal takes: its own pages' only."""

from __future__ import annotations

from portal.security import CONTENT_SECURITY_POLICY, csrf_token_matches, is_cross_site
from portal.settings import load_portal_settings


def test_a_post_from_another_site_or_origin_is_cross_site() -> None:
    assert is_cross_site({"sec-fetch-site": "cross-site"})
    assert is_cross_site({"sec-fetch-site": "same-site", "host": "portal.example"})
    assert is_cross_site({"origin": "http://evil.example", "host": "portal.example"})
    assert is_cross_site({"origin": "null", "host": "portal.example"})
    assert not is_cross_site({"origin": "http://portal.example", "host": "portal.example"})
    assert not is_cross_site(
        {"sec-fetch-site": "same-origin", "origin": "http://portal.example", "host": "portal.example"}
    )
    # Behind the edge the portal sees the public host in X-Forwarded-Host.
    assert not is_cross_site(
        {"origin": "https://api.example", "host": "portal:8081", "x-forwarded-host": "api.example"}
    )


def test_the_csrf_token_must_be_there_and_equal() -> None:
    assert csrf_token_matches("abc", "abc")
    assert not csrf_token_matches("abc", "abd")
    assert not csrf_token_matches("abc", "")
    assert not csrf_token_matches("abc", None)


def test_the_policy_allows_no_inline_script_or_style() -> None:
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_cookies_are_secure_except_on_loopback() -> None:
    assert not load_portal_settings({"PE_PORTAL_HOST": "127.0.0.1"}).secure_cookies
    assert load_portal_settings({"PE_PORTAL_HOST": "0.0.0.0"}).secure_cookies
    assert load_portal_settings({"PE_GATEWAY_PORT": "9000"}).api_url == "http://127.0.0.1:9000"
