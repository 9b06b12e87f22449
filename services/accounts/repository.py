"""All SQL of the accounts service. Functions take the unit of work's connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from corelib.db import columns_of, row_as
from services.accounts.schema import accounts, holds, journal_entries, postings


@dataclass(frozen=True)
class AccountRow:
    id: str
    tenant_id: str
    kind: str
    name: str
    currency_code: str
    status: str
    metadata: dict[str, Any]
    current_balance_minor: int
    held_balance_minor: int
    created_at: datetime
    updated_at: datetime

    @property
    def available_balance_minor(self) -> int:
        return self.current_balance_minor - self.held_balance_minor


@dataclass(frozen=True)
class HoldRow:
    id: str
    tenant_id: str
    account_id: str
    amount_minor: int
    currency_code: str
    status: str
    payee_account_id: str | None
    journal_entry_id: str | None
    description: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PostingRow:
    seq: int
    id: str
    journal_entry_id: str
    account_id: str
    amount_minor: int
    currency_code: str
    balance_after_minor: int
    transaction_id: str | None
    description: str
    created_at: datetime


@dataclass(frozen=True)
class NewPosting:
    id: str
    account_id: str
    amount_minor: int


# accounts


async def insert_account(
    conn: AsyncConnection,
    *,
    account_id: str,
    tenant_id: str,
    kind: str,
    name: str,
    currency_code: str,
    metadata: dict[str, Any],
) -> AccountRow | None:
    """None when the id is taken (seeding is idempotent)."""
    row = (
        (
            await conn.execute(
                pg_insert(accounts)
                .values(
                    id=account_id,
                    tenant_id=tenant_id,
                    kind=kind,
                    name=name,
                    currency_code=currency_code,
                    status="ACTIVE",
                    metadata=metadata,
                )
                .on_conflict_do_nothing(index_elements=[accounts.c.id])
                .returning(*columns_of(accounts, AccountRow))
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else row_as(AccountRow, row)


async def get_account(
    conn: AsyncConnection, account_id: str, *, for_update: bool = False
) -> AccountRow | None:
    query = select(*columns_of(accounts, AccountRow)).where(accounts.c.id == account_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else row_as(AccountRow, row)


async def lock_accounts(conn: AsyncConnection, account_ids: list[str]) -> dict[str, AccountRow]:
    """Locks in id order, so two transfers between the same accounts cannot deadlock."""
    rows = (
        (
            await conn.execute(
                select(*columns_of(accounts, AccountRow))
                .where(accounts.c.id.in_(sorted(set(account_ids))))
                .order_by(accounts.c.id)
                .with_for_update()
            )
        )
        .mappings()
        .all()
    )
    return {row["id"]: row_as(AccountRow, row) for row in rows}


async def get_accounts(conn: AsyncConnection, account_ids: list[str]) -> list[AccountRow]:
    rows = (
        (await conn.execute(select(*columns_of(accounts, AccountRow)).where(accounts.c.id.in_(account_ids))))
        .mappings()
        .all()
    )
    return [row_as(AccountRow, row) for row in rows]


async def list_accounts(
    conn: AsyncConnection,
    tenant_id: str,
    *,
    after_id: str | None,
    status: str | None,
    currency_code: str | None,
    limit: int,
) -> list[AccountRow]:
    query = select(*columns_of(accounts, AccountRow)).where(accounts.c.tenant_id == tenant_id)
    if after_id is not None:
        query = query.where(accounts.c.id > after_id)
    if status is not None:
        query = query.where(accounts.c.status == status)
    if currency_code is not None:
        query = query.where(accounts.c.currency_code == currency_code)
    rows = (await conn.execute(query.order_by(accounts.c.id).limit(limit))).mappings().all()
    return [row_as(AccountRow, row) for row in rows]


async def set_status(conn: AsyncConnection, account_id: str, status: str) -> AccountRow:
    row = (
        (
            await conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id)
                .values(status=status, updated_at=func.now())
                .returning(*columns_of(accounts, AccountRow))
            )
        )
        .mappings()
        .one()
    )
    return row_as(AccountRow, row)


async def add_to_balances(
    conn: AsyncConnection, account_id: str, *, current_delta_minor: int, held_delta_minor: int
) -> AccountRow:
    row = (
        (
            await conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id)
                .values(
                    current_balance_minor=accounts.c.current_balance_minor + current_delta_minor,
                    held_balance_minor=accounts.c.held_balance_minor + held_delta_minor,
                    updated_at=func.now(),
                )
                .returning(*columns_of(accounts, AccountRow))
            )
        )
        .mappings()
        .one()
    )
    return row_as(AccountRow, row)


async def reserve_if_available(
    conn: AsyncConnection, account_id: str, amount_minor: int
) -> AccountRow | None:
    """Raises the held balance only if the account is active and the money is there:
    one conditional UPDATE, so concurrent holds can never overdraw."""
    row = (
        (
            await conn.execute(
                update(accounts)
                .where(
                    accounts.c.id == account_id,
                    accounts.c.status == "ACTIVE",
                    accounts.c.current_balance_minor - accounts.c.held_balance_minor >= amount_minor,
                )
                .values(
                    held_balance_minor=accounts.c.held_balance_minor + amount_minor, updated_at=func.now()
                )
                .returning(*columns_of(accounts, AccountRow))
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else row_as(AccountRow, row)


# holds


async def insert_hold(
    conn: AsyncConnection,
    *,
    hold_id: str,
    tenant_id: str,
    account_id: str,
    amount_minor: int,
    currency_code: str,
    description: str,
) -> HoldRow | None:
    """None when a hold with this id already exists."""
    row = (
        (
            await conn.execute(
                pg_insert(holds)
                .values(
                    id=hold_id,
                    tenant_id=tenant_id,
                    account_id=account_id,
                    amount_minor=amount_minor,
                    currency_code=currency_code,
                    status="HELD",
                    description=description,
                )
                .on_conflict_do_nothing(index_elements=[holds.c.id])
                .returning(*columns_of(holds, HoldRow))
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else row_as(HoldRow, row)


async def get_hold(conn: AsyncConnection, hold_id: str, *, for_update: bool = False) -> HoldRow | None:
    query = select(*columns_of(holds, HoldRow)).where(holds.c.id == hold_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else row_as(HoldRow, row)


async def finish_hold(
    conn: AsyncConnection,
    hold_id: str,
    *,
    status: str,
    payee_account_id: str | None,
    journal_entry_id: str | None,
) -> HoldRow:
    row = (
        (
            await conn.execute(
                update(holds)
                .where(holds.c.id == hold_id, holds.c.status == "HELD")
                .values(
                    status=status,
                    payee_account_id=payee_account_id,
                    journal_entry_id=journal_entry_id,
                    updated_at=func.now(),
                )
                .returning(*columns_of(holds, HoldRow))
            )
        )
        .mappings()
        .one()
    )
    return row_as(HoldRow, row)


# journal and postings


async def insert_journal_entry(
    conn: AsyncConnection,
    *,
    journal_entry_id: str,
    kind: str,
    transaction_id: str | None,
    description: str,
    lines: list[tuple[NewPosting, int, str]],
) -> None:
    """One journal entry and its postings; `lines` pairs each posting with the account's
    balance after it and its currency."""
    await conn.execute(
        insert(journal_entries).values(
            id=journal_entry_id, kind=kind, transaction_id=transaction_id, description=description
        )
    )
    await conn.execute(
        insert(postings),
        [
            {
                "id": posting.id,
                "journal_entry_id": journal_entry_id,
                "account_id": posting.account_id,
                "amount_minor": posting.amount_minor,
                "currency_code": currency,
                "balance_after_minor": balance_after,
                "transaction_id": transaction_id,
                "description": description,
            }
            for posting, balance_after, currency in lines
        ],
    )


async def list_postings(
    conn: AsyncConnection, account_id: str, *, before_seq: int | None, limit: int
) -> list[PostingRow]:
    query = select(*columns_of(postings, PostingRow)).where(postings.c.account_id == account_id)
    if before_seq is not None:
        query = query.where(postings.c.seq < before_seq)
    rows = (await conn.execute(query.order_by(postings.c.seq.desc()).limit(limit))).mappings().all()
    return [row_as(PostingRow, row) for row in rows]


# reconciliation


async def balance_drift(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Accounts whose stored balances disagree with their postings and open holds."""
    result = await conn.execute(
        text(
            """
            SELECT a.id, a.currency_code,
                   a.current_balance_minor AS stored_current,
                   coalesce(p.total, 0) AS posted_current,
                   a.held_balance_minor AS stored_held,
                   coalesce(h.total, 0) AS open_holds
            FROM accounts.accounts a
            LEFT JOIN (SELECT account_id, sum(amount_minor)::bigint AS total
                       FROM accounts.postings GROUP BY account_id) p
                   ON p.account_id = a.id
            LEFT JOIN (SELECT account_id, sum(amount_minor)::bigint AS total FROM accounts.holds
                       WHERE status = 'HELD' GROUP BY account_id) h
                   ON h.account_id = a.id
            WHERE a.current_balance_minor <> coalesce(p.total, 0)
               OR a.held_balance_minor <> coalesce(h.total, 0)
               OR (a.kind = 'customer' AND a.current_balance_minor - a.held_balance_minor < 0)
            ORDER BY a.id
            """
        )
    )
    return [dict(row) for row in result.mappings().all()]


async def unbalanced_journal_entries(conn: AsyncConnection) -> list[dict[str, Any]]:
    result = await conn.execute(
        text(
            """
            SELECT journal_entry_id, currency_code, sum(amount_minor)::bigint AS total, count(*) AS lines
            FROM accounts.postings
            GROUP BY journal_entry_id, currency_code
            HAVING sum(amount_minor) <> 0 OR count(*) < 2
            ORDER BY journal_entry_id
            """
        )
    )
    return [dict(row) for row in result.mappings().all()]


async def currency_totals(conn: AsyncConnection) -> list[dict[str, Any]]:
    result = await conn.execute(
        text(
            """
            SELECT currency_code, sum(amount_minor)::bigint AS total, count(*) AS postings
            FROM accounts.postings GROUP BY currency_code ORDER BY currency_code
            """
        )
    )
    return [dict(row) for row in result.mappings().all()]


async def inconsistent_holds(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Posted holds without their journal entry, or finished holds that look unfinished."""
    result = await conn.execute(
        text(
            """
            SELECT h.id, h.status, h.journal_entry_id
            FROM accounts.holds h
            LEFT JOIN accounts.journal_entries j ON j.id = h.journal_entry_id
            WHERE (h.status = 'POSTED' AND (j.id IS NULL OR j.transaction_id IS DISTINCT FROM h.id))
               OR (h.status <> 'POSTED' AND h.journal_entry_id IS NOT NULL)
            ORDER BY h.id
            """
        )
    )
    return [dict(row) for row in result.mappings().all()]
