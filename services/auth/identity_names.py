"""The names GetMe shows: a tenant's name and creation time, a user's username.

Neither ever changes once created (nothing in the engine updates them), so each is read
from the database once and kept, in a bounded cache per process: `GET /auth/me` then
needs no database round trip. A name not found is not kept, so a tenant or user created
later is found on its first request.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.db import autocommit
from services.auth import repository
from services.auth.repository import TenantRow

NAMES_KEPT_MAX: Final = 10_000

ValueT = TypeVar("ValueT")


class _Kept(Generic[ValueT]):
    """At most `capacity` entries; the least recently used goes first."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, ValueT] = OrderedDict()

    def get(self, key: str) -> ValueT | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def keep(self, key: str, value: ValueT) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)


class IdentityNames:
    def __init__(self, engine: AsyncEngine, *, capacity: int = NAMES_KEPT_MAX) -> None:
        self._engine = engine
        self._tenants: _Kept[TenantRow] = _Kept(capacity)
        self._usernames: _Kept[str] = _Kept(capacity)

    async def tenant(self, tenant_id: str) -> TenantRow | None:
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            async with autocommit(self._engine) as conn:
                tenant = await repository.get_tenant(conn, tenant_id)
            if tenant is not None:
                self._tenants.keep(tenant_id, tenant)
        return tenant

    async def username(self, user_id: str) -> str | None:
        username = self._usernames.get(user_id)
        if username is None:
            async with autocommit(self._engine) as conn:
                user = await repository.get_user(conn, user_id)
            if user is not None:
                username = user.username
                self._usernames.keep(user_id, username)
        return username
