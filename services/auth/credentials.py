"""Authentication of presented credentials, the single path behind Envoy's `Check`, the
Python gateway, and direct gRPC callers: a bearer access token or an API key becomes a
Principal, and the Principal becomes a signed assertion for the services.

Every request of a busy integration presents the same credential, so the assertion
minted for it is kept and handed out again while it lives: no database read, no
signature per request. A kept assertion is dropped the moment its credential is revoked
(the revocation list hears of it through PostgreSQL NOTIFY on every replica), and is
never used past the credential's own end (an API key's expiry, an access token's).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.credential_revocations import CredentialRevocations, credential_ref
from corelib.db import autocommit
from corelib.errors import ServiceError
from corelib.principal_token import InvalidToken
from corelib.request_context import Principal
from corelib.timestamps import utc_now
from services.auth import repository
from services.auth.api_keys import ApiKeys
from services.auth.tokens import TokenIssuer

BEARER_PREFIX: Final = "bearer "
TOKEN_LENGTH_MAX: Final = 4096
CREDENTIALS_KEPT_MAX: Final = 10_000
# A kept assertion is replaced this long before it expires, so that a service receiving
# it still finds it valid.
ASSERTION_RENEW_BEFORE_S: Final = 60.0


@dataclass(frozen=True)
class _Kept:
    principal: Principal
    assertion: str
    use_until_epoch_s: float
    ref: str | None


def _credential_key(authorization: str, api_key: str) -> bytes:
    return hashlib.sha256(f"{authorization}\n{api_key}".encode("utf-8", "surrogatepass")).digest()


class CredentialVerifier:
    def __init__(
        self,
        engine: AsyncEngine,
        issuer: TokenIssuer,
        api_keys: ApiKeys,
        revocations: CredentialRevocations,
    ) -> None:
        self._engine = engine
        self._issuer = issuer
        self._api_keys = api_keys
        self._revocations = revocations
        self._kept: OrderedDict[bytes, _Kept] = OrderedDict()
        revocations.on_evict(self._evict)

    async def assertion_for(self, headers: Mapping[str, str]) -> str:
        authorization = headers.get("authorization", "")
        api_key = headers.get("x-api-key", "")
        key = _credential_key(authorization, api_key)
        now_s = time.time()
        kept = self._kept.get(key)
        if (
            kept is not None
            and kept.use_until_epoch_s > now_s
            # Without the feed, a kept answer may be stale; the database is not.
            and self._revocations.ready.is_set()
            and self._revocations.honoured(kept.principal, now_epoch_s=now_s)
        ):
            if kept.principal.kind == "api_key":
                self._api_keys.note_use(kept.principal.id)
            return kept.assertion
        principal, credential_ends = await self._authenticate(authorization, api_key)
        if not self._revocations.honoured(principal):
            raise ServiceError("UNAUTHORIZED", "Credentials have been revoked")
        now = utc_now()
        assertion = await self._issuer.principal_assertion(principal, now=now, not_after=credential_ends)
        expires_s = self._issuer.assertion_expiry(now, credential_ends).timestamp()
        self._kept[key] = _Kept(
            principal, assertion, expires_s - ASSERTION_RENEW_BEFORE_S, credential_ref(principal)
        )
        while len(self._kept) > CREDENTIALS_KEPT_MAX:
            self._kept.popitem(last=False)
        return assertion

    async def _authenticate(self, authorization: str, api_key: str) -> tuple[Principal, datetime | None]:
        if authorization:
            if not authorization.lower().startswith(BEARER_PREFIX):
                raise ServiceError("UNAUTHORIZED", "Authorization must use the Bearer scheme")
            return await self._from_access_token(authorization[len(BEARER_PREFIX) :].strip())
        if api_key:
            found = await self._api_keys.authenticate(api_key.strip())
            if found is None:
                raise ServiceError("UNAUTHORIZED", "Invalid API key")
            return found
        raise ServiceError("UNAUTHORIZED", "Authentication required")

    async def _from_access_token(self, token: str) -> tuple[Principal, datetime]:
        if not token or len(token) > TOKEN_LENGTH_MAX:
            raise ServiceError("UNAUTHORIZED", "Invalid access token")
        try:
            claims = await self._issuer.verify_access_token(token)
        except InvalidToken as exc:
            raise ServiceError("UNAUTHORIZED", "Invalid access token") from exc
        session_id = claims.get("sid")
        scope = claims.get("scope")
        if claims.get("kind") != "user" or not isinstance(session_id, str) or not isinstance(scope, str):
            raise ServiceError("UNAUTHORIZED", "Invalid access token")
        async with autocommit(self._engine) as conn:
            active = await repository.session_is_active(conn, session_id)
        if not active:
            raise ServiceError("UNAUTHORIZED", "Session has ended")
        principal = Principal(
            id=str(claims["sub"]),
            kind="user",
            tenant_id=str(claims.get("tenant", "")),
            scopes=frozenset(scope.split()),
            session_id=session_id,
        )
        return principal, datetime.fromtimestamp(float(claims["exp"]), UTC)

    def _evict(self, ref: str | None) -> None:
        if ref is None:
            self._kept.clear()
            return
        for key in [key for key, kept in self._kept.items() if kept.ref == ref]:
            del self._kept[key]
