"""Tenant accounts: open, read, list, and the ACTIVE / FROZEN / CLOSED lifecycle.
Another tenant's account answers NOT_FOUND, exactly as a missing one."""

from __future__ import annotations

from typing import Any, Final

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib import pagination
from corelib.db import autocommit, unit_of_work
from corelib.direct_sql import AnyConnection, DirectPool
from corelib.errors import ServiceError
from corelib.ids import new_id
from corelib.money import validate_currency
from services.accounts import repository, rules
from services.accounts.repository import AccountRow

NAME_LENGTH_MAX: Final = 200
METADATA_BYTES_MAX: Final = 16 * 1024
ACCOUNT_ID_LENGTH_MAX: Final = 64


def _not_found(account_id: str) -> ServiceError:
    return ServiceError("NOT_FOUND", "Account not found", {"accountId": account_id})


def visible(account: AccountRow | None, tenant_id: str) -> bool:
    return account is not None and account.kind == rules.CUSTOMER and account.tenant_id == tenant_id


async def load_visible(
    conn: AnyConnection, tenant_id: str, account_id: str, *, for_update: bool = False
) -> AccountRow:
    if not account_id or len(account_id) > ACCOUNT_ID_LENGTH_MAX:
        raise _not_found(account_id[:ACCOUNT_ID_LENGTH_MAX])
    account = await repository.account_by_id(conn, account_id, for_update=for_update)
    if account is None or not visible(account, tenant_id):
        raise _not_found(account_id)
    return account


def validate_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    if len(orjson.dumps(metadata)) > METADATA_BYTES_MAX:
        raise ServiceError(
            "INVALID_REQUEST", f"metadata must be at most {METADATA_BYTES_MAX} bytes", {"field": "metadata"}
        )
    return metadata


class AccountsBook:
    def __init__(self, engine: AsyncEngine, direct: DirectPool) -> None:
        self._engine = engine
        # An account's read (a balance): at the rate of the reads, on psycopg itself.
        self._direct = direct

    async def open(
        self, tenant_id: str, *, name: str, currency_code: str, metadata: dict[str, Any]
    ) -> AccountRow:
        name = name.strip()
        if not name:
            raise ServiceError("INVALID_REQUEST", "name is required", {"field": "name"})
        if len(name) > NAME_LENGTH_MAX:
            raise ServiceError(
                "INVALID_REQUEST", f"name must be at most {NAME_LENGTH_MAX} characters", {"field": "name"}
            )
        if not currency_code:
            raise ServiceError("INVALID_REQUEST", "currencyCode is required", {"field": "currencyCode"})
        currency = validate_currency(currency_code)
        async with unit_of_work(self._engine) as conn:
            account = await repository.insert_account(
                conn,
                account_id=new_id("acc"),
                tenant_id=tenant_id,
                kind=rules.CUSTOMER,
                name=name,
                currency_code=currency,
                metadata=validate_metadata(metadata),
            )
            assert account is not None
            await repository.announce_opened(conn, account)
        return account

    async def get(self, tenant_id: str, account_id: str) -> AccountRow:
        async with self._direct.connection() as conn:
            return await load_visible(conn, tenant_id, account_id)

    async def page(
        self, tenant_id: str, *, page_size: int, page_token: str, status: str, currency_code: str
    ) -> tuple[list[AccountRow], str]:
        limit = pagination.page_size(page_size)
        query = pagination.page_query("accounts", tenant_id, status=status, currency_code=currency_code)
        cursor = pagination.decode_page_token(page_token, query, {"after": str})
        after_id = cursor["after"] if cursor else None
        status_filter = status.strip().upper() or None
        if status_filter is not None and status_filter not in rules.STATUSES:
            raise ServiceError(
                "INVALID_REQUEST", "status must be ACTIVE, FROZEN or CLOSED", {"field": "status"}
            )
        currency_filter = validate_currency(currency_code) if currency_code else None
        async with autocommit(self._engine) as conn:
            rows = await repository.list_accounts(
                conn,
                tenant_id,
                after_id=after_id,
                status=status_filter,
                currency_code=currency_filter,
                limit=limit + 1,
            )
        next_token = (
            pagination.encode_page_token({"after": rows[limit - 1].id}, query) if len(rows) > limit else ""
        )
        return rows[:limit], next_token

    async def change_status(self, tenant_id: str, account_id: str, action: str) -> AccountRow:
        async with unit_of_work(self._engine) as conn:
            account = await load_visible(conn, tenant_id, account_id, for_update=True)
            target = rules.next_status(
                action,
                account_id,
                account.status,
                current_minor=account.current_balance_minor,
                held_minor=account.held_balance_minor,
            )
            return await repository.set_status(conn, account_id, target)

    async def describe(self, account_ids: list[str]) -> list[AccountRow]:
        wanted = [a for a in dict.fromkeys(account_ids) if a and len(a) <= ACCOUNT_ID_LENGTH_MAX]
        if not wanted:
            return []
        # Asked by the payment path for every account it has not seen yet.
        async with self._direct.connection() as conn:
            rows = await repository.accounts_by_id(conn, wanted, for_update=False)
        return [row for row in rows.values() if row.kind == rules.CUSTOMER]
