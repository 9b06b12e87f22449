"""Access tokens (what users hold) and principal assertions (what services trust).

Both are EdDSA JWTs signed by the same keys. An access token is for the public API
(`aud` = the API audience, lifetime one hour); a principal assertion is minted by `Check`
after a credential was verified (`aud` = payment-engine-internal, lifetime minutes) and
is what every service verifies locally.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, Final

import jwt

from corelib.principal_token import ALGORITHM, PRINCIPAL_AUDIENCE, PublicKeyCache, verify_jwt
from corelib.request_context import Principal
from services.auth.signing_keys import SigningKeyStore

ACCESS_TOKEN_TTL: Final = timedelta(hours=1)
ASSERTION_TTL: Final = timedelta(minutes=5)
SERVICE_TOKEN_TTL: Final = timedelta(hours=1)


class TokenIssuer:
    def __init__(self, keys: SigningKeyStore, *, issuer: str, audience: str) -> None:
        self._keys = keys
        self.issuer = issuer
        self.audience = audience
        self.public_keys = PublicKeyCache(keys.public_keys_now)

    async def _sign(self, claims: dict[str, Any]) -> str:
        key = await self._keys.signing_key()
        return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})

    async def access_token(
        self, *, user_id: str, tenant_id: str, scopes: list[str], session_id: str, now: datetime
    ) -> str:
        return await self._sign(
            {
                "iss": self.issuer,
                "aud": self.audience,
                "sub": user_id,
                "tenant": tenant_id,
                "scope": " ".join(scopes),
                "sid": session_id,
                "kind": "user",
                "iat": now,
                "nbf": now,
                "exp": now + ACCESS_TOKEN_TTL,
                "jti": secrets.token_urlsafe(12),
            }
        )

    async def verify_access_token(self, token: str) -> dict[str, Any]:
        return await verify_jwt(token, self.public_keys, audience=self.audience, issuer=self.issuer)

    @staticmethod
    def assertion_expiry(
        now: datetime, not_after: datetime | None, ttl: timedelta = ASSERTION_TTL
    ) -> datetime:
        # JWT times are whole seconds; rounding down keeps the cap a cap.
        expires_at = now + ttl if not_after is None else min(now + ttl, not_after)
        return expires_at.replace(microsecond=0)

    async def principal_assertion(
        self,
        principal: Principal,
        *,
        now: datetime,
        ttl: timedelta = ASSERTION_TTL,
        not_after: datetime | None = None,
    ) -> str:
        """`not_after` caps the lifetime: an assertion never outlives its credential."""
        expires_at = self.assertion_expiry(now, not_after, ttl)
        return await self._sign(
            {
                "iss": self.issuer,
                "aud": PRINCIPAL_AUDIENCE,
                "sub": principal.id,
                "kind": principal.kind,
                "tenant": principal.tenant_id,
                "scope": " ".join(sorted(principal.scopes)),
                "name": principal.display_name,
                "sid": principal.session_id,
                "iat": now,
                "exp": expires_at,
            }
        )
