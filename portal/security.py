"""What keeps a browser session safe: the session cookie's flags, a CSRF token on every
form, a refusal of cross-site posts, and headers that forbid inline script and framing."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE: Final = "pe_portal_session"
CSRF_FIELD: Final = "csrf_token"

CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
SECURITY_HEADERS: Final = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # "no-referrer" would make browsers send `Origin: null` on our own posts.
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
NO_STORE: Final = (b"cache-control", b"no-store")


def cookie_flags(*, secure: bool) -> dict[str, object]:
    return {"httponly": True, "samesite": "strict", "secure": secure, "path": "/portal"}


def csrf_token_matches(expected: str, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(expected.encode(), (submitted or "").encode())


def is_cross_site(headers: Mapping[str, str]) -> bool:
    """A post whose browser says it came from another site, or from another origin than
    the one it is sent to. Browsers that send neither header still need the CSRF token."""
    if headers.get("sec-fetch-site", "") in {"cross-site", "same-site"}:
        return True
    origin = headers.get("origin")
    if origin is None or origin == "null":
        return origin == "null"
    host = headers.get("x-forwarded-host") or headers.get("host", "")
    return urlsplit(origin).netloc != host


class SecurityHeaders:
    """Adds the security headers to every response, and `no-store` to every page: pages
    show secrets once and tenant data always."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = str(scope.get("path", "")).startswith("/portal/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if not is_static:
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
