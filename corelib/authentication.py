"""Turns a call's credentials into a Principal, the same way in every service.

Order: a principal assertion (`x-pe-principal`, set by the edge after `Check`, or a
service token) is verified locally; a raw credential (`authorization: Bearer …` or
`x-api-key`) from a direct gRPC caller is sent to the auth service's `Check` — the very
RPC Envoy and the Python gateway use — and the assertion it returns is verified.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from corelib.errors import ServiceError
from corelib.principal_token import InvalidToken, PublicKeyCache, verify_principal_token
from corelib.request_context import PRINCIPAL_METADATA_KEY, Principal

# Exchanges raw credential headers for a principal assertion, or raises ServiceError.
CredentialExchange = Callable[[Mapping[str, str]], Awaitable[str]]


def has_raw_credential(metadata: Mapping[str, str]) -> bool:
    return bool(metadata.get("authorization") or metadata.get("x-api-key"))


class Authenticator:
    def __init__(self, keys: PublicKeyCache, *, issuer: str, exchange: CredentialExchange) -> None:
        self._keys = keys
        self._issuer = issuer
        self._exchange = exchange

    async def principal_for(self, metadata: Mapping[str, str]) -> Principal:
        assertion = metadata.get(PRINCIPAL_METADATA_KEY)
        if not assertion:
            if not has_raw_credential(metadata):
                raise ServiceError("UNAUTHORIZED", "Authentication required")
            assertion = await self._exchange(metadata)
        try:
            return await verify_principal_token(assertion, self._keys, issuer=self._issuer)
        except InvalidToken as exc:
            raise ServiceError("UNAUTHORIZED", "Invalid credentials") from exc
