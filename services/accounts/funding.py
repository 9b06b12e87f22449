"""Sandbox funding: money enters a tenant's account from the funding account, as one
balanced journal entry. Production has no such door."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from corelib.db import unit_of_work
from corelib.ids import new_id
from services.accounts import repository, rules
from services.accounts.accounts_book import load_visible
from services.accounts.balance_events import record_balance_change
from services.accounts.repository import AccountRow, NewJournalEntry, NewPosting
from services.accounts.system_accounts import ensure_system_account


async def fund_in(
    conn: AsyncConnection, account: AccountRow, amount_minor: int, description: str
) -> tuple[AccountRow, str]:
    rules.require_active(account.id, account.status)
    rules.require_room_to_receive(
        account.id,
        amount_minor=amount_minor,
        current_minor=account.current_balance_minor,
        currency=account.currency_code,
        field="amount",
    )
    funding = await ensure_system_account(conn, rules.FUNDING, account.currency_code)
    debit = NewPosting(new_id("pst"), funding.id, -amount_minor, funding.tenant_id)
    credit = NewPosting(new_id("pst"), account.id, amount_minor, account.tenant_id)
    rules.assert_balanced([debit.amount_minor, credit.amount_minor])
    funding_after = await repository.add_to_balances(
        conn, funding.id, current_delta_minor=-amount_minor, held_delta_minor=0
    )
    account_after = await repository.add_to_balances(
        conn, account.id, current_delta_minor=amount_minor, held_delta_minor=0
    )
    journal_entry_id = new_id("jnl")
    await repository.insert_journal_entries(
        conn,
        [
            NewJournalEntry(
                id=journal_entry_id,
                tenant_id=account.tenant_id,
                kind="funding",
                transaction_id=None,
                description=description,
                lines=(
                    (debit, funding_after.current_balance_minor, account.currency_code),
                    (credit, account_after.current_balance_minor, account.currency_code),
                ),
            )
        ],
    )
    await record_balance_change(conn, account_after, cause="funding", transaction_id=None)
    return account_after, journal_entry_id


class Funding:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def fund(
        self, tenant_id: str, account_id: str, amount_minor: int, description: str
    ) -> tuple[AccountRow, str]:
        async with unit_of_work(self._engine) as conn:
            account = await load_visible(conn, tenant_id, account_id, for_update=True)
            return await fund_in(conn, account, amount_minor, description or "Sandbox funding")
