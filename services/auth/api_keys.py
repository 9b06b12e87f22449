"""API keys: create (secret shown once), list, get, revoke, rotate with an overlap window,
and authentication of a presented key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from corelib import pagination
from corelib.db import autocommit, unit_of_work
from corelib.errors import ServiceError
from corelib.ids import new_id
from corelib.request_context import Principal
from corelib.timestamps import utc_now
from services.auth import repository
from services.auth.repository import ApiKeyRow, OnRevoked
from services.auth.scopes import ensure_grantable, validate_scopes
from services.auth.secrets_format import (
    API_KEY_PREFIX_VISIBLE,
    SECRET_LENGTH_MAX,
    api_key_prefix,
    digest,
    new_secret,
)

NAME_LENGTH_MAX: Final = 100
ROTATION_OVERLAP_DEFAULT: Final = timedelta(hours=24)
ROTATION_OVERLAP_MAX: Final = timedelta(days=7)
# Last-used times are written in batches this often; a list shows them this stale at most.
LAST_USED_FLUSH_INTERVAL_S: Final = 10.0
USED_KEYS_PENDING_MAX: Final = 100_000
EXPIRY_HORIZON_MAX: Final = timedelta(days=3650)


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKeyRow
    secret: str


def key_status(key: ApiKeyRow, now: datetime) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def _tenant_of(caller: Principal) -> str:
    if not caller.tenant_id:
        raise ServiceError("FORBIDDEN", "API keys belong to a tenant; this caller has none")
    return caller.tenant_id


def _validate_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ServiceError("INVALID_REQUEST", "name is required", {"field": "name"})
    if len(name) > NAME_LENGTH_MAX:
        raise ServiceError(
            "INVALID_REQUEST", f"name must be at most {NAME_LENGTH_MAX} characters", {"field": "name"}
        )
    return name


class ApiKeys:
    def __init__(self, engine: AsyncEngine, *, mode: str, on_revoked: OnRevoked) -> None:
        self._engine = engine
        self._mode = mode
        # This replica applies its own revocations at once; the others hear of them
        # through NOTIFY a moment later.
        self._on_revoked = on_revoked
        self._used_at: dict[str, datetime] = {}

    async def create(
        self, caller: Principal, *, name: str, scopes: list[str], expires_at: datetime | None
    ) -> IssuedKey:
        tenant_id = _tenant_of(caller)
        name = _validate_name(name)
        granted = validate_scopes(scopes)
        ensure_grantable(granted, caller.scopes)
        now = utc_now()
        if expires_at is not None and not (now < expires_at <= now + EXPIRY_HORIZON_MAX):
            raise ServiceError(
                "INVALID_REQUEST",
                "expireTime must be in the future and within ten years",
                {"field": "expireTime"},
            )
        async with unit_of_work(self._engine) as conn:
            return await self._insert(
                conn, tenant_id, name, granted, expires_at, rotated_from_id=None, created_by=caller.id
            )

    async def _insert(
        self,
        conn: AsyncConnection,
        tenant_id: str,
        name: str,
        scopes: list[str],
        expires_at: datetime | None,
        *,
        rotated_from_id: str | None,
        created_by: str,
    ) -> IssuedKey:
        prefix = api_key_prefix(self._mode)
        secret = new_secret(prefix)
        key = await repository.insert_api_key(
            conn,
            key_id=new_id("key"),
            tenant_id=tenant_id,
            name=name,
            scopes=scopes,
            secret_hash=digest(secret),
            secret_prefix=secret[: len(prefix) + 1 + API_KEY_PREFIX_VISIBLE],
            expires_at=expires_at,
            rotated_from_id=rotated_from_id,
            created_by=created_by,
        )
        return IssuedKey(key, secret)

    async def get(self, caller: Principal, key_id: str) -> ApiKeyRow:
        # This replica's pending uses first; another replica's are at most one flush
        # interval behind.
        await self.flush_last_used()
        async with autocommit(self._engine) as conn:
            key = await repository.get_api_key(conn, _tenant_of(caller), key_id)
        if key is None:
            raise ServiceError("NOT_FOUND", "API key not found", {"id": key_id})
        return key

    async def page(
        self, caller: Principal, *, page_size: int, page_token: str
    ) -> tuple[list[ApiKeyRow], str]:
        limit = pagination.page_size(page_size)
        query = pagination.page_query("api_keys", _tenant_of(caller))
        cursor = pagination.decode_page_token(page_token, query, {"before": str})
        before_id = cursor["before"] if cursor else None
        await self.flush_last_used()
        async with autocommit(self._engine) as conn:
            rows = await repository.list_api_keys(
                conn, _tenant_of(caller), before_id=before_id, limit=limit + 1
            )
        next_token = (
            pagination.encode_page_token({"before": rows[limit - 1].id}, query) if len(rows) > limit else ""
        )
        return rows[:limit], next_token

    async def revoke(self, caller: Principal, key_id: str) -> ApiKeyRow:
        tenant_id = _tenant_of(caller)
        async with unit_of_work(self._engine) as conn:
            if await repository.get_api_key(conn, tenant_id, key_id, for_update=True) is None:
                raise ServiceError("NOT_FOUND", "API key not found", {"id": key_id})
            revocation = await repository.revoke_api_key(conn, key_id)
            key = await repository.get_api_key(conn, tenant_id, key_id)
        assert key is not None
        if revocation is not None:
            self._on_revoked(revocation)
        return key

    async def rotate(
        self, caller: Principal, key_id: str, *, overlap_seconds: int
    ) -> tuple[IssuedKey, ApiKeyRow]:
        tenant_id = _tenant_of(caller)
        if overlap_seconds < 0 or overlap_seconds > ROTATION_OVERLAP_MAX.total_seconds():
            raise ServiceError(
                "INVALID_REQUEST",
                f"overlapSeconds must be between 0 and {int(ROTATION_OVERLAP_MAX.total_seconds())}",
                {"field": "overlapSeconds"},
            )
        overlap = timedelta(seconds=overlap_seconds) if overlap_seconds else ROTATION_OVERLAP_DEFAULT
        now = utc_now()
        async with unit_of_work(self._engine) as conn:
            old = await repository.get_api_key(conn, tenant_id, key_id, for_update=True)
            if old is None:
                raise ServiceError("NOT_FOUND", "API key not found", {"id": key_id})
            if key_status(old, now) != "active":
                raise ServiceError("INVALID_REQUEST", "Only an active API key can be rotated", {"id": key_id})
            ensure_grantable(old.scopes, caller.scopes)
            issued = await self._insert(
                conn,
                tenant_id,
                old.name,
                old.scopes,
                old.expires_at,
                rotated_from_id=old.id,
                created_by=caller.id,
            )
            revocation = await repository.shorten_api_key_expiry(conn, old.id, now + overlap)
            previous = await repository.get_api_key(conn, tenant_id, key_id)
        assert previous is not None
        if revocation is not None:
            self._on_revoked(revocation)
        return issued, previous

    async def authenticate(self, secret: str) -> tuple[Principal, datetime | None] | None:
        """The key's principal and when the key expires, or None for no active key."""
        if not secret or len(secret) > SECRET_LENGTH_MAX:
            return None
        now = utc_now()
        async with autocommit(self._engine) as conn:
            key = await repository.find_api_key_by_hash(conn, digest(secret))
        if key is None or key_status(key, now) != "active":
            return None
        self.note_use(key.id)
        principal = Principal(
            id=key.id,
            kind="api_key",
            tenant_id=key.tenant_id,
            scopes=frozenset(key.scopes),
            display_name=key.name,
        )
        return principal, key.expires_at

    def note_use(self, key_id: str) -> None:
        """Remembered, and written with every other key's by `flush_last_used`: an
        authenticated request never waits on a write."""
        if len(self._used_at) < USED_KEYS_PENDING_MAX or key_id in self._used_at:
            self._used_at[key_id] = utc_now()

    async def flush_last_used(self) -> None:
        used_at, self._used_at = self._used_at, {}
        if used_at:
            async with unit_of_work(self._engine) as conn:
                await repository.touch_api_keys(conn, used_at)
