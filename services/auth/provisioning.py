"""Operator actions that run outside any request (the `payment-engine admin` CLI and the
sandbox seed of `payment-engine up`): they act as the operator, not as a tenant."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection

from corelib.config import load_settings
from corelib.db import create_engine, unit_of_work
from corelib.errors import ServiceError
from corelib.ids import new_id
from corelib.timestamps import utc_now
from services.auth import repository
from services.auth.passwords import PASSWORD_LENGTH_MAX, PASSWORD_LENGTH_MIN, hash_password
from services.auth.scopes import ALL_SCOPES, validate_scopes
from services.auth.secrets_format import API_KEY_PREFIX_VISIBLE, api_key_prefix, digest, new_secret

SANDBOX_TENANT_NAME: Final = "Sandbox"
SANDBOX_USERNAME: Final = "sandbox"
OPERATOR: Final = "operator"
TENANT_NAME_LENGTH_MAX: Final = 200


@dataclass(frozen=True)
class SandboxCredentials:
    username: str
    password: str
    api_key: str
    tenant_id: str


async def _insert_api_key(
    conn: AsyncConnection,
    tenant_id: str,
    name: str,
    scopes: list[str],
    expires_in_days: int | None,
    mode: str,
) -> tuple[str, str]:
    prefix = api_key_prefix(mode)
    secret = new_secret(prefix)
    key_id = new_id("key")
    expires_at = utc_now() + timedelta(days=expires_in_days) if expires_in_days else None
    await repository.insert_api_key(
        conn,
        key_id=key_id,
        tenant_id=tenant_id,
        name=name,
        scopes=scopes,
        secret_hash=digest(secret),
        secret_prefix=secret[: len(prefix) + 1 + API_KEY_PREFIX_VISIBLE],
        expires_at=expires_at,
        rotated_from_id=None,
        created_by=OPERATOR,
    )
    return key_id, secret


async def _insert_user(
    conn: AsyncConnection, tenant_id: str, username: str, password: str, scopes: list[str]
) -> str:
    if not (PASSWORD_LENGTH_MIN <= len(password) <= PASSWORD_LENGTH_MAX):
        raise ServiceError(
            "INVALID_REQUEST",
            f"password must be {PASSWORD_LENGTH_MIN} to {PASSWORD_LENGTH_MAX} characters",
            {"field": "password"},
        )
    if not username or len(username) > 254:
        raise ServiceError("INVALID_REQUEST", "username is required", {"field": "username"})
    if await repository.find_user_by_username(conn, username) is not None:
        raise ServiceError("CONFLICT", f"username {username!r} is taken", {"field": "username"})
    if await repository.get_tenant(conn, tenant_id) is None:
        raise ServiceError("NOT_FOUND", "tenant not found", {"id": tenant_id})
    user_id = new_id("usr")
    await repository.insert_user(conn, user_id, tenant_id, username, hash_password(password), scopes)
    return user_id


async def create_tenant(database_url: str, name: str) -> str:
    name = name.strip()
    if not name or len(name) > TENANT_NAME_LENGTH_MAX:
        raise ServiceError("INVALID_REQUEST", "tenant name is required", {"field": "name"})
    engine = create_engine(database_url, application_name="admin", pool_size=1)
    try:
        async with unit_of_work(engine) as conn:
            tenant_id = new_id("org")
            await repository.insert_tenant(conn, tenant_id, name)
        return tenant_id
    finally:
        await engine.dispose()


async def create_user(
    database_url: str, tenant_id: str, username: str, password: str, scopes: list[str]
) -> str:
    granted = validate_scopes(scopes)
    engine = create_engine(database_url, application_name="admin", pool_size=1)
    try:
        async with unit_of_work(engine) as conn:
            return await _insert_user(conn, tenant_id, username, password, granted)
    finally:
        await engine.dispose()


async def create_api_key(
    database_url: str, tenant_id: str, name: str, scopes: list[str], expires_in_days: int | None
) -> tuple[str, str]:
    granted = validate_scopes(scopes)
    if expires_in_days is not None and not (1 <= expires_in_days <= 3650):
        raise ServiceError("INVALID_REQUEST", "expires-in-days must be 1 to 3650", {"field": "expiresInDays"})
    engine = create_engine(database_url, application_name="admin", pool_size=1)
    try:
        async with unit_of_work(engine) as conn:
            if await repository.get_tenant(conn, tenant_id) is None:
                raise ServiceError("NOT_FOUND", "tenant not found", {"id": tenant_id})
            return await _insert_api_key(
                conn, tenant_id, name, granted, expires_in_days, load_settings().mode
            )
    finally:
        await engine.dispose()


async def ensure_sandbox(database_url: str) -> SandboxCredentials:
    """Creates the sandbox tenant, its user and API key once; returns the same ones after."""
    engine = create_engine(database_url, application_name="admin", pool_size=1)
    try:
        async with unit_of_work(engine) as conn:
            await repository.lock_provisioning(conn)
            existing = await repository.get_sandbox_credentials(conn)
            if existing is None:
                tenant_id = new_id("org")
                await repository.insert_tenant(conn, tenant_id, SANDBOX_TENANT_NAME)
                password = secrets.token_urlsafe(18)
                scopes = list(ALL_SCOPES)
                await _insert_user(conn, tenant_id, SANDBOX_USERNAME, password, scopes)
                _, api_key = await _insert_api_key(conn, tenant_id, "sandbox", scopes, None, "sandbox")
                await repository.insert_sandbox_credentials(
                    conn, tenant_id, SANDBOX_USERNAME, password, api_key
                )
                existing = {
                    "tenant_id": tenant_id,
                    "username": SANDBOX_USERNAME,
                    "password": password,
                    "api_key": api_key,
                }
        return SandboxCredentials(
            username=existing["username"],
            password=existing["password"],
            api_key=existing["api_key"],
            tenant_id=existing["tenant_id"],
        )
    finally:
        await engine.dispose()
