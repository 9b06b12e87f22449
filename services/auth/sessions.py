"""Login, refresh-token rotation with reuse detection, and logout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from corelib.db import unit_of_work
from corelib.errors import ServiceError
from corelib.ids import new_id
from corelib.request_context import Principal
from corelib.timestamps import utc_now
from services.auth import login_throttle, repository
from services.auth.login_throttle import ThrottlePolicy
from services.auth.passwords import PASSWORD_LENGTH_MAX, verify_password
from services.auth.repository import OnRevoked
from services.auth.secrets_format import SECRET_LENGTH_MAX, digest, new_secret
from services.auth.tokens import ACCESS_TOKEN_TTL, TokenIssuer

REFRESH_TOKEN_TTL: Final = timedelta(days=30)
USERNAME_LENGTH_MAX: Final = 254
REUSE_REASON: Final = "refresh_token_reuse"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    scope: str


def _invalid_credentials() -> ServiceError:
    return ServiceError("UNAUTHORIZED", "Invalid username or password")


def _invalid_refresh() -> ServiceError:
    return ServiceError("UNAUTHORIZED", "Invalid or expired refresh token")


class Sessions:
    def __init__(
        self, engine: AsyncEngine, issuer: TokenIssuer, policy: ThrottlePolicy, *, on_revoked: OnRevoked
    ) -> None:
        self._engine = engine
        self._issuer = issuer
        self._policy = policy
        # This replica applies its own revocations at once; the others hear of them
        # through NOTIFY a moment later.
        self._on_revoked = on_revoked

    async def login(self, username: str, password: str, *, client_address: str) -> TokenPair:
        if not username or not password:
            missing = "username" if not username else "password"
            raise ServiceError("INVALID_REQUEST", f"{missing} is required", {"field": missing})
        if len(username) > USERNAME_LENGTH_MAX or len(password) > PASSWORD_LENGTH_MAX:
            raise _invalid_credentials()
        now = utc_now()
        async with unit_of_work(self._engine) as conn:
            await login_throttle.admit(conn, self._policy, username=username, address=client_address, now=now)
            user = await repository.find_user_by_username(conn, username)
        ok = await verify_password(user.password_hash if user else None, password)
        if user is None or not ok or user.disabled_at is not None:
            async with unit_of_work(self._engine) as conn:
                await login_throttle.record_failure(conn, username=username, now=now)
            raise _invalid_credentials()
        async with unit_of_work(self._engine) as conn:
            await login_throttle.record_success(conn, username=username, now=now)
            session_id = new_id("sess")
            await repository.insert_session(conn, session_id, user.id, user.tenant_id)
            refresh_token = await self._new_refresh_token(conn, session_id)
        return await self._pair(user.id, user.tenant_id, user.scopes, session_id, refresh_token)

    async def refresh(self, refresh_token: str) -> TokenPair:
        if not refresh_token:
            raise ServiceError("INVALID_REQUEST", "refresh_token is required", {"field": "refresh_token"})
        if len(refresh_token) > SECRET_LENGTH_MAX:
            raise _invalid_refresh()
        async with unit_of_work(self._engine) as conn:
            row = await repository.lock_refresh_token(conn, digest(refresh_token))
            if row is None or row.session_revoked_at is not None:
                raise _invalid_refresh()
            if row.used_at is not None:
                # A spent token came back: it was stolen or replayed. End the whole family
                # (OAuth 2.0 Security BCP §4.14); this commits even though the call fails.
                revocation = await repository.revoke_session(conn, row.session_id, REUSE_REASON)
                reused = True
            else:
                reused = False
                if row.expires_at <= utc_now():
                    raise _invalid_refresh()
                user = await repository.get_user(conn, row.user_id)
                if user is None or user.disabled_at is not None:
                    raise _invalid_refresh()
                if not await repository.mark_refresh_token_used(conn, row.id):
                    raise _invalid_refresh()
                new_token = await self._new_refresh_token(conn, row.session_id)
        if reused:
            if revocation is not None:
                self._on_revoked(revocation)
            raise _invalid_refresh()
        assert user is not None
        return await self._pair(user.id, user.tenant_id, user.scopes, row.session_id, new_token)

    async def logout(self, principal: Principal, refresh_token: str) -> bool:
        revocations: list[repository.Revocation | None] = []
        async with unit_of_work(self._engine) as conn:
            if principal.kind == "user" and principal.session_id:
                revocations.append(await repository.revoke_session(conn, principal.session_id, "logout"))
            if refresh_token and len(refresh_token) <= SECRET_LENGTH_MAX:
                row = await repository.lock_refresh_token(conn, digest(refresh_token))
                if row is not None and row.tenant_id == principal.tenant_id:
                    revocations.append(await repository.revoke_session(conn, row.session_id, "logout"))
        for revocation in revocations:
            if revocation is not None:
                self._on_revoked(revocation)
        return any(revocations)

    async def _new_refresh_token(self, conn: AsyncConnection, session_id: str) -> str:
        token = new_secret("rt")
        await repository.insert_refresh_token(
            conn, new_id("rtk"), session_id, digest(token), utc_now() + REFRESH_TOKEN_TTL
        )
        return token

    async def _pair(
        self, user_id: str, tenant_id: str, scopes: list[str], session_id: str, refresh_token: str
    ) -> TokenPair:
        access = await self._issuer.access_token(
            user_id=user_id, tenant_id=tenant_id, scopes=scopes, session_id=session_id, now=utc_now()
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh_token,
            expires_in=int(ACCESS_TOKEN_TTL.total_seconds()),
            scope=" ".join(scopes),
        )
