"""Credentials: an API key, a ready access token, or a username and password.

With a username and password the client runs the guide's OAuth flow by itself: it logs
in on first use, sends `Authorization: Bearer <access_token>`, renews the token with the
refresh token shortly before it expires, and again when the engine answers 401 (the
request is then sent once more with the new token). The engine spends a refresh token
when it is used; when a refresh is refused (spent, expired, revoked) the client simply
logs in again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Final

from payment_engine.models import TokenPair

API_KEY_ENV: Final = "PAYMENT_ENGINE_API_KEY"
# Renew this long before the access token expires (or a tenth of its lifetime if shorter).
TOKEN_RENEW_MARGIN_MAX_S: Final = 60.0
TOKEN_RENEW_MARGIN_FRACTION: Final = 0.1
LOGIN_PATH: Final = "/api/v1/auth/login"
REFRESH_PATH: Final = "/api/v1/auth/refresh"


@dataclass(frozen=True)
class Credentials:
    api_key: str | None = None
    access_token: str | None = None
    username: str | None = None
    password: str | None = None

    @classmethod
    def choose(
        cls,
        *,
        api_key: str | None,
        access_token: str | None,
        username: str | None,
        password: str | None,
    ) -> Credentials:
        """Exactly one way to authenticate; the API key may come from PAYMENT_ENGINE_API_KEY."""
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        given = [name for name, value in (("api_key", api_key), ("access_token", access_token)) if value]
        if username is not None:
            given.append("username/password")
        if len(given) > 1:
            raise ValueError(f"give one way to authenticate, not {' and '.join(given)}")
        if not given:
            api_key = os.environ.get(API_KEY_ENV) or None
            if api_key is None:
                raise ValueError(
                    f"no credentials: pass api_key=, access_token= or username= and password= "
                    f"(or set {API_KEY_ENV})"
                )
        return cls(api_key=api_key, access_token=access_token, username=username, password=password)

    @property
    def uses_session(self) -> bool:
        return self.username is not None

    def static_headers(self) -> dict[str, str]:
        if self.api_key:
            return {"X-API-Key": self.api_key}
        if self.access_token:
            return {"Authorization": f"Bearer {self.access_token}"}
        return {}

    def login_body(self) -> dict[str, Any]:
        assert self.username is not None and self.password is not None
        return {"username": self.username, "password": self.password}

    def __repr__(self) -> str:
        kind = "api_key" if self.api_key else "access_token" if self.access_token else "password"
        return f"Credentials({kind}=***)"


class SessionTokens:
    """The access and refresh tokens of a username/password session, and when to renew.

    Pure state: the clients call login/refresh and tell it the outcome. Times come from
    the client's monotonic clock, in seconds.
    """

    def __init__(self) -> None:
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.renew_at: float = 0.0

    def current(self, now: float) -> str | None:
        """The access token to send, or None when it must be renewed first."""
        if self.access_token is None or now >= self.renew_at:
            return None
        return self.access_token

    def store(self, pair: TokenPair, now: float) -> None:
        lifetime = max(0.0, float(pair.expires_in))
        margin = min(TOKEN_RENEW_MARGIN_MAX_S, lifetime * TOKEN_RENEW_MARGIN_FRACTION)
        self.access_token = pair.access_token
        self.refresh_token = pair.refresh_token or self.refresh_token
        self.renew_at = now + lifetime - margin

    def reject(self, access_token: str | None) -> None:
        """The engine refused `access_token` (401): renew before the next request, unless
        another request already did."""
        if access_token is not None and access_token == self.access_token:
            self.renew_at = 0.0

    def forget_refresh_token(self) -> None:
        self.refresh_token = None

    def clear(self) -> None:
        self.access_token = None
        self.refresh_token = None
        self.renew_at = 0.0
