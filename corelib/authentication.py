"""Turns a call's credentials into a Principal, the same way in every service.

Order: a principal assertion (`x-pe-principal`, set by the edge after `Check`, or a
service token) is verified locally; a raw credential (`authorization: Bearer …` or
`x-api-key`) from a direct gRPC caller is sent to the auth service's `Check` — the very
RPC Envoy and the Python gateway use — and the assertion it returns is verified.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from corelib.errors import ServiceError
from corelib.principal_token import (
    PRINCIPAL_AUDIENCE,
    InvalidToken,
    PublicKeyCache,
    principal_from_claims,
    verify_jwt,
)
from corelib.request_context import PRINCIPAL_METADATA_KEY, Principal

SERVICE_TOKENS_KEPT_MAX: Final = 64

# Exchanges raw credential headers for a principal assertion, or raises ServiceError.
CredentialExchange = Callable[[Mapping[str, str]], Awaitable[str]]


def has_raw_credential(metadata: Mapping[str, str]) -> bool:
    return bool(metadata.get("authorization") or metadata.get("x-api-key"))


class Authenticator:
    def __init__(self, keys: PublicKeyCache, *, issuer: str, exchange: CredentialExchange) -> None:
        self._keys = keys
        self._issuer = issuer
        self._exchange = exchange
        # A service presents the same token on every call for an hour; verifying its
        # signature once is enough. Assertions the edge mints are one per request and
        # are not kept.
        self._service_tokens: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    async def principal_for(self, metadata: Mapping[str, str]) -> Principal:
        assertion = metadata.get(PRINCIPAL_METADATA_KEY)
        if not assertion:
            if not has_raw_credential(metadata):
                raise ServiceError("UNAUTHORIZED", "Authentication required")
            assertion = await self._exchange(metadata)
        known = self._service_tokens.get(assertion)
        if known is not None and known[1] > time.time():
            return known[0]
        try:
            claims = await verify_jwt(assertion, self._keys, audience=PRINCIPAL_AUDIENCE, issuer=self._issuer)
            principal = principal_from_claims(claims)
        except InvalidToken as exc:
            raise ServiceError("UNAUTHORIZED", "Invalid credentials") from exc
        if principal.is_service:
            self._service_tokens[assertion] = (principal, float(claims["exp"]))
            while len(self._service_tokens) > SERVICE_TOKENS_KEPT_MAX:
                self._service_tokens.popitem(last=False)
        return principal
