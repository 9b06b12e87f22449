"""`account.balance.updated`: written to the outbox in the same transaction as the
balance change, so an event exists exactly when the change does."""

from __future__ import annotations

from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection

from corelib.money import major_from_minor
from corelib.outbox import record_event
from services.accounts.repository import AccountRow
from services.accounts.rules import CUSTOMER
from services.accounts.schema import outbox

EVENT_TYPE: Final = "account.balance.updated"


async def record_balance_change(
    conn: AsyncConnection, account: AccountRow, *, cause: str, transaction_id: str | None
) -> None:
    if account.kind != CUSTOMER:
        return
    currency = account.currency_code
    await record_event(
        conn,
        outbox,
        tenant_id=account.tenant_id,
        event_type=EVENT_TYPE,
        data={
            "accountId": account.id,
            "availableBalance": major_from_minor(account.available_balance_minor, currency),
            "currentBalance": major_from_minor(account.current_balance_minor, currency),
            "heldBalance": major_from_minor(account.held_balance_minor, currency),
            "currencyCode": currency,
            "cause": cause,
            "transactionId": transaction_id or "",
        },
    )
