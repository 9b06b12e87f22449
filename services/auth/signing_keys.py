"""The Ed25519 keys that sign access tokens and principal assertions.

The newest published key signs; every published key verifies. Rotation adds a key and
schedules the older ones to retire after the longest token lifetime, so no token that
was valid when issued stops verifying before it expires.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.db import autocommit, unit_of_work
from corelib.ids import new_id
from corelib.timestamps import utc_now
from services.auth import repository

CACHE_TTL_S: Final = 30.0
TOKEN_LIFETIME_MAX: Final = timedelta(hours=1)
RETIREMENT_GRACE: Final = TOKEN_LIFETIME_MAX + timedelta(minutes=10)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def jwk(kid: str, public_key: Ed25519PublicKey) -> dict[str, str]:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw), "kid": kid, "use": "sig", "alg": "EdDSA"}


def _generate() -> tuple[str, bytes, bytes]:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = new_id("key").removeprefix("key_")
    return kid, pem, raw


class SigningKeyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._signing: SigningKey | None = None
        self._public: dict[str, Ed25519PublicKey] = {}
        self._loaded_at = -CACHE_TTL_S

    async def ensure_signing_key(self) -> None:
        """At start-up: create the first key if there is none (replicas serialise on a lock)."""
        async with unit_of_work(self._engine) as conn:
            await repository.lock_signing_keys(conn)
            if not await repository.published_signing_keys(conn, utc_now()):
                kid, pem, raw = _generate()
                await repository.insert_signing_key(conn, kid, pem, raw)
        await self.reload()

    async def rotate(self) -> str:
        async with unit_of_work(self._engine) as conn:
            await repository.lock_signing_keys(conn)
            kid, pem, raw = _generate()
            await repository.insert_signing_key(conn, kid, pem, raw)
            await repository.schedule_retirement(conn, kid, utc_now() + RETIREMENT_GRACE)
        await self.reload()
        return kid

    async def reload(self) -> None:
        async with autocommit(self._engine) as conn:
            rows = await repository.published_signing_keys(conn, utc_now())
        if not rows:
            raise RuntimeError("no published signing key")
        newest = rows[0]
        private = serialization.load_pem_private_key(newest.private_key_pem, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise RuntimeError(f"signing key {newest.kid} is not Ed25519")
        self._signing = SigningKey(newest.kid, private)
        self._public = {row.kid: Ed25519PublicKey.from_public_bytes(row.public_key_raw) for row in rows}
        self._loaded_at = time.monotonic()

    async def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at > CACHE_TTL_S:
            await self.reload()

    async def signing_key(self) -> SigningKey:
        await self._fresh()
        assert self._signing is not None
        return self._signing

    async def public_keys(self) -> dict[str, Ed25519PublicKey]:
        await self._fresh()
        return dict(self._public)

    async def public_keys_now(self) -> dict[str, Ed25519PublicKey]:
        """Bypasses the cache: a kid we have not seen may be another replica's new key."""
        await self.reload()
        return dict(self._public)
