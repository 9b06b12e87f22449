"""All SQL of the auth service. Functions take the unit of work's connection, so a use
case composes several of them inside one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, literal_column, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from corelib.credential_revocations import REVOCATION_CHANNEL, revocation_payload
from corelib.db import row_as
from services.auth.schema import (
    api_keys,
    login_attempts,
    refresh_tokens,
    sandbox_credentials,
    sessions,
    signing_keys,
    tenants,
    users,
)


@dataclass(frozen=True)
class TenantRow:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class UserRow:
    id: str
    tenant_id: str
    username: str
    password_hash: str
    scopes: list[str]
    disabled_at: datetime | None


@dataclass(frozen=True)
class ApiKeyRow:
    id: str
    tenant_id: str
    name: str
    scopes: list[str]
    secret_prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    rotated_from_id: str | None


@dataclass(frozen=True)
class RefreshTokenRow:
    id: str
    session_id: str
    expires_at: datetime
    used_at: datetime | None
    user_id: str
    tenant_id: str
    session_revoked_at: datetime | None


@dataclass(frozen=True)
class SigningKeyRow:
    kid: str
    private_key_pem: bytes
    public_key_raw: bytes
    created_at: datetime
    retire_at: datetime | None


# tenants


async def insert_tenant(conn: AsyncConnection, tenant_id: str, name: str) -> None:
    await conn.execute(insert(tenants).values(id=tenant_id, name=name))


async def get_tenant(conn: AsyncConnection, tenant_id: str) -> TenantRow | None:
    row = (await conn.execute(select(tenants).where(tenants.c.id == tenant_id))).mappings().first()
    return None if row is None else row_as(TenantRow, row)


async def find_tenant_by_name(conn: AsyncConnection, name: str) -> TenantRow | None:
    row = (
        (await conn.execute(select(tenants).where(tenants.c.name == name).order_by(tenants.c.id)))
        .mappings()
        .first()
    )
    return None if row is None else row_as(TenantRow, row)


# users


async def insert_user(
    conn: AsyncConnection, user_id: str, tenant_id: str, username: str, password_hash: str, scopes: list[str]
) -> None:
    await conn.execute(
        insert(users).values(
            id=user_id, tenant_id=tenant_id, username=username, password_hash=password_hash, scopes=scopes
        )
    )


async def find_user_by_username(conn: AsyncConnection, username: str) -> UserRow | None:
    row = (
        (await conn.execute(select(users).where(func.lower(users.c.username) == username.lower())))
        .mappings()
        .first()
    )
    return None if row is None else row_as(UserRow, row)


async def get_user(conn: AsyncConnection, user_id: str) -> UserRow | None:
    row = (await conn.execute(select(users).where(users.c.id == user_id))).mappings().first()
    return None if row is None else row_as(UserRow, row)


# sessions and refresh tokens


async def insert_session(conn: AsyncConnection, session_id: str, user_id: str, tenant_id: str) -> None:
    await conn.execute(insert(sessions).values(id=session_id, user_id=user_id, tenant_id=tenant_id))


async def session_is_active(conn: AsyncConnection, session_id: str) -> bool:
    row = (
        await conn.execute(
            select(sessions.c.id)
            .join(users, users.c.id == sessions.c.user_id)
            .where(
                sessions.c.id == session_id, sessions.c.revoked_at.is_(None), users.c.disabled_at.is_(None)
            )
        )
    ).first()
    return row is not None


# A credential whose use ends, and from when: what the revocation channel announces.
Revocation = tuple[str, datetime]
OnRevoked = Callable[[Revocation], None]


async def announce_revocation(conn: AsyncConnection, ref: str, not_after: datetime) -> Revocation:
    """Every process's caches hear of it when this transaction commits."""
    await conn.execute(
        select(func.pg_notify(REVOCATION_CHANNEL, revocation_payload(ref, not_after.timestamp())))
    )
    return ref, not_after


async def revoke_session(conn: AsyncConnection, session_id: str, reason: str) -> Revocation | None:
    revoked_at = (
        await conn.execute(
            update(sessions)
            .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=func.now(), revoke_reason=reason)
            .returning(sessions.c.revoked_at)
        )
    ).scalar()
    if revoked_at is None:
        return None
    return await announce_revocation(conn, f"session:{session_id}", revoked_at)


async def insert_refresh_token(
    conn: AsyncConnection, token_id: str, session_id: str, token_hash: bytes, expires_at: datetime
) -> None:
    await conn.execute(
        insert(refresh_tokens).values(
            id=token_id,
            session_id=session_id,
            # The session's tenant: every tenant-scoped row carries it (docs/scaling.md).
            tenant_id=select(sessions.c.tenant_id).where(sessions.c.id == session_id).scalar_subquery(),
            token_hash=token_hash,
            expires_at=expires_at,
        )
    )


async def lock_refresh_token(conn: AsyncConnection, token_hash: bytes) -> RefreshTokenRow | None:
    """The token with its session, locked so two concurrent refreshes serialise."""
    row = (
        (
            await conn.execute(
                select(
                    refresh_tokens.c.id,
                    refresh_tokens.c.session_id,
                    refresh_tokens.c.expires_at,
                    refresh_tokens.c.used_at,
                    sessions.c.user_id,
                    sessions.c.tenant_id,
                    sessions.c.revoked_at.label("session_revoked_at"),
                )
                .join(sessions, sessions.c.id == refresh_tokens.c.session_id)
                .where(refresh_tokens.c.token_hash == token_hash)
                .with_for_update(of=[refresh_tokens, sessions])
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else row_as(RefreshTokenRow, row)


async def mark_refresh_token_used(conn: AsyncConnection, token_id: str) -> bool:
    result = await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.id == token_id, refresh_tokens.c.used_at.is_(None))
        .values(used_at=func.now())
    )
    return bool(result.rowcount)


# API keys


async def insert_api_key(
    conn: AsyncConnection,
    *,
    key_id: str,
    tenant_id: str,
    name: str,
    scopes: list[str],
    secret_hash: bytes,
    secret_prefix: str,
    expires_at: datetime | None,
    rotated_from_id: str | None,
    created_by: str,
) -> ApiKeyRow:
    row = (
        (
            await conn.execute(
                insert(api_keys)
                .values(
                    id=key_id,
                    tenant_id=tenant_id,
                    name=name,
                    scopes=scopes,
                    secret_hash=secret_hash,
                    secret_prefix=secret_prefix,
                    expires_at=expires_at,
                    rotated_from_id=rotated_from_id,
                    created_by=created_by,
                )
                .returning(*_api_keycolumns_of())
            )
        )
        .mappings()
        .one()
    )
    return row_as(ApiKeyRow, row)


def _api_keycolumns_of() -> list[Any]:
    return [api_keys.c[name] for name in ApiKeyRow.__dataclass_fields__]


async def get_api_key(
    conn: AsyncConnection, tenant_id: str, key_id: str, *, for_update: bool = False
) -> ApiKeyRow | None:
    query = select(*_api_keycolumns_of()).where(api_keys.c.id == key_id, api_keys.c.tenant_id == tenant_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else row_as(ApiKeyRow, row)


async def find_api_key_by_hash(conn: AsyncConnection, secret_hash: bytes) -> ApiKeyRow | None:
    row = (
        (await conn.execute(select(*_api_keycolumns_of()).where(api_keys.c.secret_hash == secret_hash)))
        .mappings()
        .first()
    )
    return None if row is None else row_as(ApiKeyRow, row)


async def list_api_keys(
    conn: AsyncConnection, tenant_id: str, *, before_id: str | None, limit: int
) -> list[ApiKeyRow]:
    query = select(*_api_keycolumns_of()).where(api_keys.c.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(api_keys.c.id < before_id)
    rows = (await conn.execute(query.order_by(api_keys.c.id.desc()).limit(limit))).mappings().all()
    return [row_as(ApiKeyRow, row) for row in rows]


async def revoke_api_key(conn: AsyncConnection, key_id: str) -> Revocation | None:
    revoked_at = (
        await conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(api_keys.c.revoked_at)
        )
    ).scalar()
    if revoked_at is None:
        return None
    return await announce_revocation(conn, f"key:{key_id}", revoked_at)


async def shorten_api_key_expiry(
    conn: AsyncConnection, key_id: str, expires_at: datetime
) -> Revocation | None:
    shortened = (
        await conn.execute(
            update(api_keys)
            .where(
                api_keys.c.id == key_id,
                or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > expires_at),
            )
            .values(expires_at=expires_at)
            .returning(api_keys.c.id)
        )
    ).scalar()
    if shortened is None:
        return None
    return await announce_revocation(conn, f"key:{key_id}", expires_at)


_TOUCH_API_KEYS = text(
    """
    UPDATE auth.api_keys SET last_used_at = used.at
    FROM unnest(CAST(:ids AS text[]), CAST(:used_at AS timestamptz[])) AS used(id, at)
    WHERE api_keys.id = used.id AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < used.at)
    """
)


async def touch_api_keys(conn: AsyncConnection, used_at: dict[str, datetime]) -> None:
    """Records when keys were last used, for many keys in one statement."""
    if used_at:
        ids = list(used_at)
        await conn.execute(_TOUCH_API_KEYS, {"ids": ids, "used_at": [used_at[i] for i in ids]})


async def credential_revocations_since(
    conn: AsyncConnection, since: datetime, horizon_end: datetime
) -> list[tuple[str, datetime]]:
    """Credentials whose use ended (or ends before `horizon_end`) since `since`: revoked
    keys, keys expiring (a rotation's overlap), ended sessions."""
    keys = await conn.execute(
        select(
            api_keys.c.id,
            func.least(
                func.coalesce(api_keys.c.revoked_at, literal_column("'infinity'::timestamptz")),
                func.coalesce(api_keys.c.expires_at, literal_column("'infinity'::timestamptz")),
            ).label("not_after"),
        ).where(
            or_(
                api_keys.c.revoked_at >= since,
                and_(api_keys.c.expires_at >= since, api_keys.c.expires_at <= horizon_end),
            )
        )
    )
    ended = await conn.execute(
        select(sessions.c.id, sessions.c.revoked_at).where(sessions.c.revoked_at >= since)
    )
    return [(f"key:{row.id}", row.not_after) for row in keys] + [
        (f"session:{row.id}", row.revoked_at) for row in ended
    ]


# signing keys


async def insert_signing_key(
    conn: AsyncConnection, kid: str, private_key_pem: bytes, public_key_raw: bytes
) -> None:
    await conn.execute(
        insert(signing_keys).values(kid=kid, private_key_pem=private_key_pem, public_key_raw=public_key_raw)
    )


async def published_signing_keys(conn: AsyncConnection, now: datetime) -> list[SigningKeyRow]:
    """Keys still verifying tokens, newest first; the first one signs."""
    rows = (
        (
            await conn.execute(
                select(signing_keys)
                .where(or_(signing_keys.c.retire_at.is_(None), signing_keys.c.retire_at > now))
                .order_by(signing_keys.c.created_at.desc(), signing_keys.c.kid.desc())
            )
        )
        .mappings()
        .all()
    )
    return [row_as(SigningKeyRow, row) for row in rows]


async def schedule_retirement(conn: AsyncConnection, except_kid: str, retire_at: datetime) -> None:
    await conn.execute(
        update(signing_keys)
        .where(signing_keys.c.kid != except_kid, signing_keys.c.retire_at.is_(None))
        .values(retire_at=retire_at)
    )


async def lock_signing_keys(conn: AsyncConnection) -> None:
    await conn.execute(select(func.pg_advisory_xact_lock(7_246_101)))


# login throttling


async def count_login_attempt(conn: AsyncConnection, bucket: str, window_start: datetime) -> int:
    statement = (
        pg_insert(login_attempts)
        .values(bucket=bucket, window_start=window_start, attempts=1)
        .on_conflict_do_update(
            index_elements=[login_attempts.c.bucket, login_attempts.c.window_start],
            set_={"attempts": login_attempts.c.attempts + 1},
        )
        .returning(login_attempts.c.attempts)
    )
    return int((await conn.execute(statement)).scalar_one())


async def login_attempts_in_window(conn: AsyncConnection, bucket: str, window_start: datetime) -> int:
    value = (
        await conn.execute(
            select(login_attempts.c.attempts).where(
                and_(login_attempts.c.bucket == bucket, login_attempts.c.window_start == window_start)
            )
        )
    ).scalar()
    return int(value or 0)


async def clear_login_attempts(conn: AsyncConnection, bucket: str) -> None:
    await conn.execute(login_attempts.delete().where(login_attempts.c.bucket == bucket))


async def prune_login_attempts(conn: AsyncConnection, older_than: datetime) -> None:
    await conn.execute(login_attempts.delete().where(login_attempts.c.window_start < older_than))


# sandbox credentials


async def get_sandbox_credentials(conn: AsyncConnection) -> dict[str, str] | None:
    row = (await conn.execute(select(sandbox_credentials))).mappings().first()
    return None if row is None else dict(row)


async def insert_sandbox_credentials(
    conn: AsyncConnection, tenant_id: str, username: str, password: str, api_key: str
) -> None:
    await conn.execute(
        insert(sandbox_credentials).values(
            tenant_id=tenant_id, username=username, password=password, api_key=api_key
        )
    )


async def lock_provisioning(conn: AsyncConnection) -> None:
    await conn.execute(select(func.pg_advisory_xact_lock(7_246_102)))
