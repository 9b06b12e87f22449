"""Turns a call's credentials into a Principal, the same way in every service.

Order: a principal assertion (`x-pe-principal`, set by the edge after `Check`, or a
service token) is verified locally; a raw credential (`authorization: Bearer …` or
`x-api-key`) from a direct gRPC caller is sent to the auth service's `Check` — the very
RPC Envoy and the Python gateway use — and the assertion it returns is verified.

Both steps are remembered: the edge forwards the same assertion for every request of a
credential while it lives, and verifying an EdDSA signature per call would cost more
than the call. What is remembered is dropped the moment the credential is revoked
(`CredentialRevocations`, fed by PostgreSQL NOTIFY), and every use checks the
revocation list, so a revoked key or an ended session stops working within a second.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from corelib.credential_revocations import CredentialRevocations, credential_ref
from corelib.errors import ServiceError
from corelib.principal_token import InvalidToken, PublicKeyCache, principal_from_claims, verify_assertion
from corelib.request_context import PRINCIPAL_METADATA_KEY, Principal

ASSERTIONS_KEPT_MAX: Final = 10_000
# How long a call waits for the revocation feed to (re)connect before it is refused.
REVOCATIONS_WAIT_S: Final = 2.0
EXCHANGES_KEPT_MAX: Final = 10_000
# A remembered exchange is used until this long before its assertion expires, so a call
# never carries an assertion that runs out on the way.
EXCHANGE_RENEW_BEFORE_S: Final = 30.0

# Exchanges raw credential headers for a principal assertion, or raises ServiceError.
CredentialExchange = Callable[[Mapping[str, str]], Awaitable[str]]


def has_raw_credential(metadata: Mapping[str, str]) -> bool:
    return bool(metadata.get("authorization") or metadata.get("x-api-key"))


def _raw_credential_key(metadata: Mapping[str, str]) -> bytes:
    raw = f"{metadata.get('authorization', '')}\n{metadata.get('x-api-key', '')}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).digest()


class Authenticator:
    def __init__(
        self,
        keys: PublicKeyCache,
        *,
        issuer: str,
        exchange: CredentialExchange,
        revocations: CredentialRevocations | None = None,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._exchange = exchange
        self._revocations = revocations
        # assertion → (principal, expiry epoch s, credential ref)
        self._verified: OrderedDict[str, tuple[Principal, float, str | None]] = OrderedDict()
        # sha256(raw credential headers) → (assertion, use-until epoch s, credential ref)
        self._exchanged: OrderedDict[bytes, tuple[str, float, str | None]] = OrderedDict()
        if revocations is not None:
            revocations.on_evict(self._evict)

    async def principal_for(self, metadata: Mapping[str, str]) -> Principal:
        assertion = metadata.get(PRINCIPAL_METADATA_KEY)
        if not assertion:
            if not has_raw_credential(metadata):
                raise ServiceError("UNAUTHORIZED", "Authentication required")
            assertion = await self._exchanged_assertion(metadata)
        now = time.time()
        known = self._verified.get(assertion)
        if known is not None and known[1] > now:
            principal = known[0]
        else:
            try:
                claims = await verify_assertion(assertion, self._keys, issuer=self._issuer)
                principal = principal_from_claims(claims)
            except InvalidToken as exc:
                raise ServiceError("UNAUTHORIZED", "Invalid credentials") from exc
            self._verified[assertion] = (principal, float(claims["exp"]), credential_ref(principal))
            while len(self._verified) > ASSERTIONS_KEPT_MAX:
                self._verified.popitem(last=False)
        if self._revocations is not None and not principal.is_service:
            await self._revocations_known()
            if not self._revocations.honoured(principal, now_epoch_s=now):
                raise ServiceError("UNAUTHORIZED", "Credentials have been revoked")
        return principal

    async def _revocations_known(self) -> None:
        """Fails closed: without the revocation feed, a revoked credential could pass."""
        assert self._revocations is not None
        if self._revocations.ready.is_set():
            return
        try:
            async with asyncio.timeout(REVOCATIONS_WAIT_S):
                await self._revocations.ready.wait()
        except TimeoutError as exc:
            raise ServiceError("SERVICE_UNAVAILABLE", "Credential revocations are not known yet") from exc

    async def _exchanged_assertion(self, metadata: Mapping[str, str]) -> str:
        key = _raw_credential_key(metadata)
        known = self._exchanged.get(key)
        if known is not None and known[1] > time.time():
            return known[0]
        assertion = await self._exchange(metadata)
        try:
            claims = await verify_assertion(assertion, self._keys, issuer=self._issuer)
        except InvalidToken as exc:
            raise ServiceError("UNAUTHORIZED", "Invalid credentials") from exc
        principal = principal_from_claims(claims)
        self._exchanged[key] = (
            assertion,
            float(claims["exp"]) - EXCHANGE_RENEW_BEFORE_S,
            credential_ref(principal),
        )
        while len(self._exchanged) > EXCHANGES_KEPT_MAX:
            self._exchanged.popitem(last=False)
        return assertion

    def _evict(self, ref: str | None) -> None:
        if ref is None:
            self._verified.clear()
            self._exchanged.clear()
            return
        for assertion in [a for a, entry in self._verified.items() if entry[2] == ref]:
            del self._verified[assertion]
        for key in [k for k, entry in self._exchanged.items() if entry[2] == ref]:
            del self._exchanged[key]
