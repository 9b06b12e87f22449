"""The engine's own accounts per currency: `funding` is where money enters the ledger
(sandbox funding, incoming rails), `settlement` where it leaves. They hold the other
side of every posting that crosses the engine's edge; tenants never see them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from services.accounts import repository
from services.accounts.repository import AccountRow

SYSTEM_TENANT = ""


def system_account_id(kind: str, currency: str) -> str:
    return f"sys_{kind}_{currency.lower()}"


async def ensure_system_account(conn: AsyncConnection, kind: str, currency: str) -> AccountRow:
    account_id = system_account_id(kind, currency)
    await repository.insert_account(
        conn,
        account_id=account_id,
        tenant_id=SYSTEM_TENANT,
        kind=kind,
        name=f"{kind} {currency}",
        currency_code=currency,
        metadata={},
    )
    locked = await repository.lock_accounts(conn, [account_id])
    return locked[account_id]
