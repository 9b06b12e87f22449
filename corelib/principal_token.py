"""Verification of principal assertions: short-lived EdDSA JWTs signed by the auth service.

After authenticating a caller (bearer token or API key), the auth service's `Check`
answers with an assertion of who the caller is; the edge forwards it in the
`x-pe-principal` metadata and every service verifies it locally against the JWKS.
Service-to-service calls carry a service token of the same form.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from corelib.request_context import Principal

PRINCIPAL_AUDIENCE: Final = "payment-engine-internal"
ALGORITHM: Final = "EdDSA"
LEEWAY_S: Final = 5
KEY_REFRESH_INTERVAL_S_MIN: Final = 1.0

KeyLoader = Callable[[], Awaitable[dict[str, Ed25519PublicKey]]]


class InvalidToken(Exception):
    """The token is malformed, forged, expired or meant for someone else."""


class PublicKeyCache:
    """Public keys by `kid`. An unknown kid triggers a reload — a new key appears in the
    JWKS the moment it is rotated in — but reloads are at most one per interval, so a
    flood of forged kids cannot hammer the auth service; a miss inside the interval
    waits for the next allowed reload instead of failing a genuine new key."""

    def __init__(self, load: KeyLoader) -> None:
        self._load = load
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._loaded_at = -KEY_REFRESH_INTERVAL_S_MIN
        self._reloading = asyncio.Lock()

    async def get(self, kid: str) -> Ed25519PublicKey | None:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._reloading:
            key = self._keys.get(kid)
            if key is not None:
                return key
            wait_s = self._loaded_at + KEY_REFRESH_INTERVAL_S_MIN - time.monotonic()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            self._keys = await self._load()
            self._loaded_at = time.monotonic()
            return self._keys.get(kid)


async def verify_jwt(
    token: str, keys: PublicKeyCache, *, audience: str, issuer: str, leeway_s: float = LEEWAY_S
) -> dict[str, Any]:
    """`leeway_s` forgives clocks that disagree; principal assertions are verified with
    none on expiry (`verify_assertion`), because their expiry can be a credential's end."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("unexpected signing algorithm")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("token has no key id")
    key = await keys.get(kid)
    if key is None:
        raise InvalidToken("unknown signing key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            leeway=leeway_s,
            options={"require": ["exp", "iat", "sub", "aud", "iss"], "verify_iat": leeway_s > 0},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    return claims


async def verify_assertion(token: str, keys: PublicKeyCache, *, issuer: str) -> dict[str, Any]:
    """A principal assertion: expired the second its `exp` passes. Its issue time is not
    checked, so a service whose clock runs a little behind the auth service's still
    accepts a fresh one."""
    return await verify_jwt(token, keys, audience=PRINCIPAL_AUDIENCE, issuer=issuer, leeway_s=0)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    scope = claims.get("scope", "")
    kind = claims.get("kind", "")
    if not isinstance(scope, str) or kind not in ("user", "api_key", "service"):
        raise InvalidToken("malformed principal claims")
    return Principal(
        id=str(claims["sub"]),
        kind=kind,
        tenant_id=str(claims.get("tenant", "")),
        scopes=frozenset(scope.split()),
        display_name=str(claims.get("name", "")),
        session_id=str(claims.get("sid", "")),
    )
