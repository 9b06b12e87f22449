"""Authentication of presented credentials, the single path behind Envoy's `Check`, the
Python gateway, and direct gRPC callers: a bearer access token or an API key becomes a
Principal, and the Principal becomes a signed assertion for the services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.errors import ServiceError
from corelib.principal_token import InvalidToken
from corelib.request_context import Principal
from corelib.timestamps import utc_now
from services.auth import repository
from services.auth.api_keys import ApiKeys
from services.auth.tokens import TokenIssuer

BEARER_PREFIX: Final = "bearer "
TOKEN_LENGTH_MAX: Final = 4096


class CredentialVerifier:
    def __init__(self, engine: AsyncEngine, issuer: TokenIssuer, api_keys: ApiKeys) -> None:
        self._engine = engine
        self._issuer = issuer
        self._api_keys = api_keys

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        authorization = headers.get("authorization", "")
        api_key = headers.get("x-api-key", "")
        if authorization:
            if not authorization.lower().startswith(BEARER_PREFIX):
                raise ServiceError("UNAUTHORIZED", "Authorization must use the Bearer scheme")
            return await self._from_access_token(authorization[len(BEARER_PREFIX) :].strip())
        if api_key:
            principal = await self._api_keys.authenticate(api_key.strip())
            if principal is None:
                raise ServiceError("UNAUTHORIZED", "Invalid API key")
            return principal
        raise ServiceError("UNAUTHORIZED", "Authentication required")

    async def assertion_for(self, headers: Mapping[str, str]) -> str:
        principal = await self.authenticate(headers)
        return await self._issuer.principal_assertion(principal, now=utc_now())

    async def _from_access_token(self, token: str) -> Principal:
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
        async with self._engine.connect() as conn:
            active = await repository.session_is_active(conn, session_id)
        if not active:
            raise ServiceError("UNAUTHORIZED", "Session has ended")
        return Principal(
            id=str(claims["sub"]),
            kind="user",
            tenant_id=str(claims.get("tenant", "")),
            scopes=frozenset(scope.split()),
            session_id=session_id,
        )
