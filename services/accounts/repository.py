"""All SQL of the accounts service. Functions take the unit of work's connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from corelib.account_announcements import ACCOUNTS_OPENED_CHANNEL, OpenedAccount, announcement
from corelib.db import columns_of, columns_sql, row_as
from corelib.direct_sql import AnyConnection, direct_statement, rows_of
from corelib.outbox import NewEvent, event_rows, insert_events_sql, wake_relay_sql
from corelib.row_sets import json_rows
from services.accounts.schema import accounts, holds, outbox, postings


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
    # The account's tenant ("" for the engine's own system accounts).
    tenant_id: str


# The payment path's statements, built once: constructing a SQLAlchemy statement and
# its cache key on every call costs more CPU than the round trip to PostgreSQL.
_ACCOUNT_COLUMNS = columns_of(accounts, AccountRow)
_HOLD_COLUMNS = columns_of(holds, HoldRow)
_LOCK_ACCOUNTS = (
    select(*_ACCOUNT_COLUMNS)
    .where(accounts.c.id.in_(bindparam("account_ids", expanding=True)))
    .order_by(accounts.c.id)
    .with_for_update()
)
_ADD_TO_BALANCES = (
    update(accounts)
    .where(accounts.c.id == bindparam("account_id"))
    .values(
        current_balance_minor=accounts.c.current_balance_minor + bindparam("current_delta", type_=BigInteger),
        held_balance_minor=accounts.c.held_balance_minor + bindparam("held_delta", type_=BigInteger),
        updated_at=func.now(),
    )
    .returning(*_ACCOUNT_COLUMNS)
)
_GET_HOLD = select(*_HOLD_COLUMNS).where(holds.c.id == bindparam("hold_id"))
_GET_HOLD_FOR_UPDATE = _GET_HOLD.with_for_update()


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


async def announce_opened(conn: AsyncConnection, account: AccountRow) -> None:
    """NOTIFY of the account's opening, delivered when the caller's unit of work commits."""
    payload = announcement(OpenedAccount(account.id, account.tenant_id, account.currency_code))
    await conn.execute(select(func.pg_notify(ACCOUNTS_OPENED_CHANNEL, payload)))


async def lock_accounts(conn: AsyncConnection, account_ids: list[str]) -> dict[str, AccountRow]:
    """Locks in id order, so two transfers between the same accounts cannot deadlock."""
    rows = (await conn.execute(_LOCK_ACCOUNTS, {"account_ids": sorted(set(account_ids))})).mappings().all()
    return {row["id"]: row_as(AccountRow, row) for row in rows}


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
    parameters = {
        "account_id": account_id,
        "current_delta": current_delta_minor,
        "held_delta": held_delta_minor,
    }
    return row_as(AccountRow, (await conn.execute(_ADD_TO_BALANCES, parameters)).mappings().one())


async def get_hold(conn: AsyncConnection, hold_id: str, *, for_update: bool = False) -> HoldRow | None:
    query = _GET_HOLD_FOR_UPDATE if for_update else _GET_HOLD
    row = (await conn.execute(query, {"hold_id": hold_id})).mappings().first()
    return None if row is None else row_as(HoldRow, row)


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


# the payment saga's batched steps: a handful of set-based statements per batch


# Column lists come from the row dataclasses, never from input.
_HOLD_SQL_COLUMNS = columns_sql(HoldRow, "h")
_ACCOUNT_SQL_COLUMNS = columns_sql(AccountRow, "a")
_HOLDS_BY_ID = f"SELECT {_HOLD_SQL_COLUMNS} FROM accounts.holds h WHERE h.id = ANY(CAST(:ids AS text[]))"  # noqa: S608
# The ledger's statements of every payment run straight on psycopg (corelib.direct_sql);
# the same statements serve the callers inside a SQLAlchemy unit of work.
_GET_HOLDS = direct_statement(_HOLDS_BY_ID)
_LOCK_HOLDS = direct_statement(_HOLDS_BY_ID + " ORDER BY h.id FOR UPDATE")
_ACCOUNTS_BY_ID = (
    f"SELECT {_ACCOUNT_SQL_COLUMNS} FROM accounts.accounts a WHERE a.id = ANY(CAST(:ids AS text[]))"  # noqa: S608
)
_GET_ACCOUNTS_BY_ID = direct_statement(_ACCOUNTS_BY_ID)
_LOCK_ACCOUNTS_BY_ID = direct_statement(_ACCOUNTS_BY_ID + " ORDER BY a.id FOR UPDATE")
_ACCOUNT_BY_ID_SQL = f"SELECT {_ACCOUNT_SQL_COLUMNS} FROM accounts.accounts a WHERE a.id = :account_id"  # noqa: S608
_ACCOUNT_BY_ID = direct_statement(_ACCOUNT_BY_ID_SQL)
_LOCK_ACCOUNT_BY_ID = direct_statement(_ACCOUNT_BY_ID_SQL + " FOR UPDATE")
_INSERT_HOLDS_SQL = f"""
    INSERT INTO accounts.holds AS h
        (id, tenant_id, account_id, amount_minor, currency_code, status, description, payee_account_id,
         journal_entry_id)
    SELECT n.id, n.tenant_id, n.account_id, n.amount_minor, n.currency_code, n.status, n.description,
           n.payee_account_id, n.journal_entry_id
    FROM json_to_recordset(CAST(:holds AS json))
         AS n(id text, tenant_id text, account_id text, amount_minor bigint, currency_code text, status text,
              description text, payee_account_id text, journal_entry_id text)
    ON CONFLICT (id) DO NOTHING
    RETURNING {_HOLD_SQL_COLUMNS}
    """  # noqa: S608
_ADD_TO_BALANCES_SQL = f"""
    UPDATE accounts.accounts AS a
    SET current_balance_minor = a.current_balance_minor + d.current_delta,
        held_balance_minor = a.held_balance_minor + d.held_delta,
        updated_at = now()
    FROM json_to_recordset(CAST(:deltas AS json)) AS d(id text, current_delta bigint, held_delta bigint)
    WHERE a.id = d.id AND a.id = ANY(CAST(:delta_ids AS text[]))
    RETURNING {_ACCOUNT_SQL_COLUMNS}
    """  # noqa: S608
_INSERT_JOURNAL_ENTRIES_SQL = """
    INSERT INTO accounts.journal_entries (id, tenant_id, kind, transaction_id, description)
    SELECT * FROM json_to_recordset(CAST(:journal AS json))
         AS e(id text, tenant_id text, kind text, transaction_id text, description text)
    WHERE {condition}
    """
_INSERT_JOURNAL_ENTRIES = direct_statement(_INSERT_JOURNAL_ENTRIES_SQL.format(condition="TRUE"))
_INSERT_POSTINGS_SQL = """
    INSERT INTO accounts.postings
        (id, tenant_id, journal_entry_id, account_id, amount_minor, currency_code, balance_after_minor,
         transaction_id, description)
    SELECT * FROM json_to_recordset(CAST(:postings AS json))
         AS p(id text, tenant_id text, journal_entry_id text, account_id text, amount_minor bigint,
              currency_code text, balance_after_minor bigint, transaction_id text, description text)
    WHERE {condition}
    """
_INSERT_POSTINGS = direct_statement(_INSERT_POSTINGS_SQL.format(condition="TRUE"))
# Everything a batch of holds writes, once decided, in one statement: the holds (a hold
# id that exists already is skipped, and the caller sees it missing from the answer), the
# journal entries and postings of holds posted at once (only of holds written: a transfer
# is journalled once per transaction), the balance changes and the events. The holds
# written; a batch with a hold missing from them is rolled back by its caller.
_OF_PLACED = "{alias}.transaction_id IN (SELECT id FROM placed)"
_WRITE_PLACED_HOLDS = direct_statement(
    f"""
    WITH placed AS ({_INSERT_HOLDS_SQL}),
    journal AS ({_INSERT_JOURNAL_ENTRIES_SQL.format(condition=_OF_PLACED.format(alias="e"))}),
    lines AS ({_INSERT_POSTINGS_SQL.format(condition=_OF_PLACED.format(alias="p"))}),
    balances AS ({_ADD_TO_BALANCES_SQL}),
    recorded AS ({insert_events_sql(outbox, "events")})
    SELECT h.*, {wake_relay_sql(outbox, "recorded")} AS relay_woken FROM placed AS h
    """  # noqa: S608
)


# A decided batch of posts or voids in one statement: the holds move from HELD (a hold
# that is not HELD any more is skipped, and the caller sees it missing from the answer),
# the journal entries and postings of the holds posted (only of holds moved), the balance
# changes and the events. The holds moved; a batch with a hold missing from them is
# rolled back by its caller.
_OF_FINISHED = "{alias}.transaction_id IN (SELECT id FROM finished)"
_WRITE_FINISHED_HOLDS = direct_statement(
    f"""
    WITH finished AS (
        UPDATE accounts.holds AS h
        SET status = f.status, payee_account_id = f.payee_account_id, journal_entry_id = f.journal_entry_id,
            updated_at = now()
        FROM json_to_recordset(CAST(:holds AS json))
             AS f(id text, status text, payee_account_id text, journal_entry_id text)
        WHERE h.id = f.id AND h.status = 'HELD'
        RETURNING {_HOLD_SQL_COLUMNS}
    ),
    journal AS ({_INSERT_JOURNAL_ENTRIES_SQL.format(condition=_OF_FINISHED.format(alias="e"))}),
    lines AS ({_INSERT_POSTINGS_SQL.format(condition=_OF_FINISHED.format(alias="p"))}),
    balances AS ({_ADD_TO_BALANCES_SQL}),
    recorded AS ({insert_events_sql(outbox, "events")})
    SELECT h.*, {wake_relay_sql(outbox, "recorded")} AS relay_woken FROM finished AS h
    """  # noqa: S608
)


@dataclass(frozen=True)
class NewHold:
    """A hold as it is first written: HELD, or already POSTED with its payee and journal
    entry when placed and posted in one unit of work."""

    id: str
    tenant_id: str
    account_id: str
    amount_minor: int
    currency_code: str
    description: str
    status: str
    payee_account_id: str | None = None
    journal_entry_id: str | None = None


@dataclass(frozen=True)
class HoldOutcome:
    """A hold's new state: POSTED with its payee and journal entry, or VOIDED."""

    id: str
    status: str
    payee_account_id: str | None
    journal_entry_id: str | None


@dataclass(frozen=True)
class NewJournalEntry:
    id: str
    # The payment's tenant (the hold's), or the funded account's.
    tenant_id: str
    kind: str
    transaction_id: str | None
    description: str
    # (posting, account balance after it, currency)
    lines: tuple[tuple[NewPosting, int, str], ...]


async def get_holds(conn: AnyConnection, hold_ids: list[str], *, for_update: bool) -> dict[str, HoldRow]:
    """Locked in id order when `for_update`, so concurrent batches cannot deadlock."""
    query = _LOCK_HOLDS if for_update else _GET_HOLDS
    rows = await rows_of(conn, query, {"ids": sorted(set(hold_ids))})
    return {row["id"]: row_as(HoldRow, row) for row in rows}


async def accounts_by_id(
    conn: AnyConnection, account_ids: list[str], *, for_update: bool
) -> dict[str, AccountRow]:
    """Locked in id order when `for_update`: two batches touching the same accounts wait
    for one another instead of deadlocking."""
    if not account_ids:
        return {}
    query = _LOCK_ACCOUNTS_BY_ID if for_update else _GET_ACCOUNTS_BY_ID
    rows = await rows_of(conn, query, {"ids": sorted(set(account_ids))})
    return {row["id"]: row_as(AccountRow, row) for row in rows}


async def account_by_id(
    conn: AnyConnection, account_id: str, *, for_update: bool = False
) -> AccountRow | None:
    query = _LOCK_ACCOUNT_BY_ID if for_update else _ACCOUNT_BY_ID
    rows = await rows_of(conn, query, {"account_id": account_id})
    return row_as(AccountRow, rows[0]) if rows else None


async def write_placed_holds(
    conn: AnyConnection,
    new: list[NewHold],
    entries: list[NewJournalEntry],
    deltas: dict[str, tuple[int, int]],
    events: list[NewEvent],
) -> dict[str, HoldRow]:
    """A decided batch of holds in one statement: the holds, the journal entries of those
    posted at once, the balance changes (account id → current delta, held delta) and
    the events. The holds inserted; an id that already existed is absent from the answer."""
    if not new:
        return {}
    rows = await rows_of(conn, _WRITE_PLACED_HOLDS, _ledger_write_parameters(new, entries, deltas, events))
    return {row["id"]: row_as(HoldRow, row) for row in rows}


def _ledger_write_parameters(
    holds: list[NewHold] | list[HoldOutcome],
    entries: list[NewJournalEntry],
    deltas: dict[str, tuple[int, int]],
    events: list[NewEvent],
) -> dict[str, Any]:
    """The row sets of one of the ledger's single-statement writes."""
    return {
        "holds": json_rows(vars(h) for h in holds),
        "journal": _journal_rows(entries),
        "postings": _posting_rows(entries),
        **_delta_parameters(deltas),
        "events": json_rows(event_rows(events)),
    }


def _delta_parameters(deltas: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """The rows of the change, and their ids again as an array: the planner takes a
    JSON row set for a hundred rows and would scan a mid-sized accounts table for them,
    where the array leads it to the primary key."""
    ids = sorted(deltas)  # the order in which the rows were locked
    rows = json_rows({"id": i, "current_delta": deltas[i][0], "held_delta": deltas[i][1]} for i in ids)
    return {"deltas": rows, "delta_ids": ids}


def _journal_rows(entries: list[NewJournalEntry]) -> str:
    return json_rows(
        {
            "id": e.id,
            "tenant_id": e.tenant_id,
            "kind": e.kind,
            "transaction_id": e.transaction_id,
            "description": e.description,
        }
        for e in entries
    )


def _posting_rows(entries: list[NewJournalEntry]) -> str:
    return json_rows(
        {
            "id": posting.id,
            "tenant_id": posting.tenant_id,
            "journal_entry_id": entry.id,
            "account_id": posting.account_id,
            "amount_minor": posting.amount_minor,
            "currency_code": currency,
            "balance_after_minor": balance,
            "transaction_id": entry.transaction_id,
            "description": entry.description,
        }
        for entry in entries
        for posting, balance, currency in entry.lines
    )


async def write_finished_holds(
    conn: AnyConnection,
    outcomes: list[HoldOutcome],
    entries: list[NewJournalEntry],
    deltas: dict[str, tuple[int, int]],
    events: list[NewEvent],
) -> dict[str, HoldRow]:
    """A decided batch of posts or voids in one statement: the holds' new states, the
    journal entries of those posted, the balance changes (account id → current delta,
    held delta) and the events. The holds moved; one no longer HELD is absent."""
    if not outcomes:
        return {}
    parameters = _ledger_write_parameters(outcomes, entries, deltas, events)
    rows = await rows_of(conn, _WRITE_FINISHED_HOLDS, parameters)
    return {row["id"]: row_as(HoldRow, row) for row in rows}


async def insert_journal_entries(conn: AnyConnection, entries: list[NewJournalEntry]) -> None:
    if not entries:
        return
    await rows_of(conn, _INSERT_JOURNAL_ENTRIES, {"journal": _journal_rows(entries)})
    await rows_of(conn, _INSERT_POSTINGS, {"postings": _posting_rows(entries)})
