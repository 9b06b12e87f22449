"""All SQL of the transactions service. Functions take the unit of work's connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, insert, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from corelib.db import columns_of, columns_sql, row_as
from corelib.direct_sql import DirectConnection, commit_cte, direct_statement, fetch_all
from corelib.outbox import NewEvent, event_rows, insert_events_sql, wake_relay_sql
from corelib.row_sets import json_rows
from services.transactions.schema import (
    ach_batches,
    debit_authorizations,
    idempotency_keys,
    outbox,
    transactions,
)


@dataclass(frozen=True)
class TransactionRow:
    id: str
    tenant_id: str
    payer_tenant_id: str
    payee_tenant_id: str
    from_account_id: str
    to_account_id: str
    payment_type: str
    amount_minor: int
    currency_code: str
    description: str
    external_reference: str
    metadata: dict[str, Any]
    status: str
    failure_reason: str
    saga_step: str
    void_outcome: str | None
    batch_id: str | None
    debit_authorization_id: str | None
    request_id: str
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    expected_settlement_at: datetime | None
    next_attempt_at: datetime | None
    attempts: int


@dataclass(frozen=True)
class IdempotencyRow:
    tenant_id: str
    key: str
    request_hash: bytes
    transaction_id: str | None
    response: bytes | None
    error: dict[str, Any] | None
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class DebitAuthorizationRow:
    id: str
    payer_tenant_id: str
    payer_account_id: str
    grantee_tenant_id: str
    max_amount_minor: int
    currency_code: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class TransactionFilter:
    status: str | None = None
    account_id: str | None = None
    payment_type: str | None = None
    external_reference: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


# transactions


async def get_transaction(
    conn: AsyncConnection, transaction_id: str, *, for_update: bool = False
) -> TransactionRow | None:
    query = select(*columns_of(transactions, TransactionRow)).where(transactions.c.id == transaction_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else row_as(TransactionRow, row)


def _visible_to(tenant_id: str) -> Any:
    return and_(
        or_(transactions.c.payer_tenant_id == tenant_id, transactions.c.payee_tenant_id == tenant_id),
        transactions.c.status != "REJECTED",
    )


async def get_visible_transaction(
    conn: AsyncConnection, tenant_id: str, transaction_id: str
) -> TransactionRow | None:
    row = (
        (
            await conn.execute(
                select(*columns_of(transactions, TransactionRow)).where(
                    transactions.c.id == transaction_id, _visible_to(tenant_id)
                )
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else row_as(TransactionRow, row)


async def list_transactions(
    conn: AsyncConnection, tenant_id: str, where: TransactionFilter, *, before_id: str | None, limit: int
) -> list[TransactionRow]:
    query: Select[Any] = select(*columns_of(transactions, TransactionRow)).where(_visible_to(tenant_id))
    if before_id is not None:
        query = query.where(transactions.c.id < before_id)
    if where.status is not None:
        query = query.where(transactions.c.status == where.status)
    if where.account_id is not None:
        query = query.where(
            or_(
                transactions.c.from_account_id == where.account_id,
                transactions.c.to_account_id == where.account_id,
            )
        )
    if where.payment_type is not None:
        query = query.where(transactions.c.payment_type == where.payment_type)
    if where.external_reference is not None:
        query = query.where(transactions.c.external_reference == where.external_reference)
    if where.created_after is not None:
        query = query.where(transactions.c.created_at >= where.created_after)
    if where.created_before is not None:
        query = query.where(transactions.c.created_at < where.created_before)
    rows = (await conn.execute(query.order_by(transactions.c.id.desc()).limit(limit))).mappings().all()
    return [row_as(TransactionRow, row) for row in rows]


async def update_transaction(
    conn: AsyncConnection, transaction_id: str, values: dict[str, Any]
) -> TransactionRow:
    row = (
        (
            await conn.execute(
                update(transactions)
                .where(transactions.c.id == transaction_id)
                .values(**values, updated_at=func.now())
                .returning(*columns_of(transactions, TransactionRow))
            )
        )
        .mappings()
        .one()
    )
    return row_as(TransactionRow, row)


async def claim_due(
    conn: AsyncConnection, *, now: datetime, lease: timedelta, limit: int
) -> list[TransactionRow]:
    """Takes up to `limit` due payments for this worker: their next_attempt_at moves past the
    lease, so a worker that dies releases them by simply letting the lease run out."""
    due = (
        select(transactions.c.id)
        .where(transactions.c.next_attempt_at <= now)
        .order_by(transactions.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    rows = (
        (
            await conn.execute(
                update(transactions)
                .where(transactions.c.id.in_(due))
                .values(next_attempt_at=now + lease, attempts=transactions.c.attempts + 1)
                .returning(*columns_of(transactions, TransactionRow))
            )
        )
        .mappings()
        .all()
    )
    return [row_as(TransactionRow, row) for row in rows]


# idempotency keys


async def purge_expired_idempotency_keys(conn: AsyncConnection, now: datetime, limit: int) -> int:
    expired = (
        select(idempotency_keys.c.tenant_id, idempotency_keys.c.key)
        .where(idempotency_keys.c.expires_at < now)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).subquery()
    result = await conn.execute(
        idempotency_keys.delete().where(
            and_(idempotency_keys.c.tenant_id == expired.c.tenant_id, idempotency_keys.c.key == expired.c.key)
        )
    )
    return int(result.rowcount or 0)


# debit authorizations


async def insert_debit_authorization(conn: AsyncConnection, values: dict[str, Any]) -> DebitAuthorizationRow:
    row = (
        (
            await conn.execute(
                insert(debit_authorizations)
                .values(**values)
                .returning(*columns_of(debit_authorizations, DebitAuthorizationRow))
            )
        )
        .mappings()
        .one()
    )
    return row_as(DebitAuthorizationRow, row)


async def get_debit_authorization(
    conn: AsyncConnection, authorization_id: str
) -> DebitAuthorizationRow | None:
    row = (
        (
            await conn.execute(
                select(*columns_of(debit_authorizations, DebitAuthorizationRow)).where(
                    debit_authorizations.c.id == authorization_id
                )
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else row_as(DebitAuthorizationRow, row)


async def list_debit_authorizations(
    conn: AsyncConnection, tenant_id: str, *, before_id: str | None, limit: int
) -> list[DebitAuthorizationRow]:
    query = select(*columns_of(debit_authorizations, DebitAuthorizationRow)).where(
        or_(
            debit_authorizations.c.payer_tenant_id == tenant_id,
            debit_authorizations.c.grantee_tenant_id == tenant_id,
        )
    )
    if before_id is not None:
        query = query.where(debit_authorizations.c.id < before_id)
    rows = (
        (await conn.execute(query.order_by(debit_authorizations.c.id.desc()).limit(limit))).mappings().all()
    )
    return [row_as(DebitAuthorizationRow, row) for row in rows]


async def revoke_debit_authorization(conn: AsyncConnection, authorization_id: str) -> DebitAuthorizationRow:
    row = (
        (
            await conn.execute(
                update(debit_authorizations)
                .where(debit_authorizations.c.id == authorization_id)
                .values(revoked_at=func.coalesce(debit_authorizations.c.revoked_at, func.now()))
                .returning(*columns_of(debit_authorizations, DebitAuthorizationRow))
            )
        )
        .mappings()
        .one()
    )
    return row_as(DebitAuthorizationRow, row)


# ACH batches


async def add_to_batch(
    conn: AsyncConnection, batch_id: str, window_closes_at: datetime, settles_at: datetime, count: int
) -> None:
    await conn.execute(
        pg_insert(ach_batches)
        .values(
            id=batch_id, window_closes_at=window_closes_at, settles_at=settles_at, transaction_count=count
        )
        .on_conflict_do_update(
            index_elements=[ach_batches.c.id],
            set_={"transaction_count": ach_batches.c.transaction_count + count},
        )
    )


# the payment path in batches: a few set-based statements per batch of payments


# Column lists come from the row dataclasses, never from input.
_TXN_SQL_COLUMNS = columns_sql(TransactionRow, "t")
_GET_KEYS = text(
    f"""
    SELECT {columns_sql(IdempotencyRow, "k")}
    FROM transactions.idempotency_keys k
    JOIN json_to_recordset(CAST(:rows AS json)) AS wanted(tenant_id text, key text)
      ON k.tenant_id = wanted.tenant_id AND k.key = wanted.key
    """  # noqa: S608
)


# The columns a payment is first written with; the others take their defaults. A row
# whose `keyed` is true is written only if its key's claim in the same statement won.
# The two statements of every payment's creation run straight on psycopg
# (corelib.direct_sql).
def _create_payments_sql(*, unflushed: bool) -> str:
    """Each payment written comes back with the server it was committed on
    (`committed_on`); unflushed, the commit does not wait for its WAL flush."""
    return f"""
    WITH {commit_cte("committing", unflushed=unflushed)},
    claimed AS (
        INSERT INTO transactions.idempotency_keys AS k
            (tenant_id, key, request_hash, transaction_id, expires_at)
        SELECT c.tenant_id, c.key, decode(c.request_hash, 'hex'), c.transaction_id, c.expires_at
        FROM json_to_recordset(CAST(:claims AS json))
             AS c(tenant_id text, key text, request_hash text, transaction_id text, expires_at timestamptz)
        ON CONFLICT (tenant_id, key) DO NOTHING
        RETURNING k.transaction_id
    )
    INSERT INTO transactions.transactions AS t
        (id, tenant_id, payer_tenant_id, payee_tenant_id, from_account_id, to_account_id, payment_type,
         amount_minor, currency_code, description, external_reference, metadata, status, saga_step,
         debit_authorization_id, request_id, idempotency_key, next_attempt_at)
    SELECT n.id, n.tenant_id, n.payer_tenant_id, n.payee_tenant_id, n.from_account_id, n.to_account_id,
           n.payment_type, n.amount_minor, n.currency_code, n.description, n.external_reference,
           coalesce(n.metadata, '{{}}'::jsonb), n.status, n.saga_step, n.debit_authorization_id,
           n.request_id, n.idempotency_key, n.next_attempt_at
    FROM json_to_recordset(CAST(:rows AS json))
         AS n(id text, tenant_id text, payer_tenant_id text, payee_tenant_id text, from_account_id text,
              to_account_id text, payment_type text, amount_minor bigint, currency_code text,
              description text, external_reference text, metadata jsonb, status text, saga_step text,
              debit_authorization_id text, request_id text, idempotency_key text, next_attempt_at timestamptz,
              keyed boolean)
    WHERE NOT n.keyed OR n.id IN (SELECT transaction_id FROM claimed)
    RETURNING {_TXN_SQL_COLUMNS}, (SELECT server FROM committing) AS committed_on
    """  # noqa: S608


_CREATE_PAYMENTS = direct_statement(_create_payments_sql(unflushed=False))
_CREATE_PAYMENTS_UNFLUSHED = direct_statement(_create_payments_sql(unflushed=True))
# A saga write happens only if the payment is still at the step its writer read
# (compare-and-set): a writer holding a stale row loses instead of overwriting.
_MOVE_STEPS_SQL = f"""
    UPDATE transactions.transactions AS t
    SET status = m.status, saga_step = m.saga_step, void_outcome = m.void_outcome,
        failure_reason = m.failure_reason, next_attempt_at = m.next_attempt_at,
        expected_settlement_at = coalesce(m.expected_settlement_at, t.expected_settlement_at),
        batch_id = coalesce(m.batch_id, t.batch_id),
        completed_at = CASE WHEN m.status IN ('COMPLETED', 'FAILED', 'CANCELED') THEN now()
                            ELSE t.completed_at END,
        updated_at = now()
    FROM json_to_recordset(CAST(:rows AS json))
         AS m(id text, expected_step text, status text, saga_step text, void_outcome text,
              failure_reason text, next_attempt_at timestamptz, expected_settlement_at timestamptz,
              batch_id text)
    WHERE t.id = m.id AND t.saga_step = m.expected_step AND t.id = ANY(CAST(:move_ids AS text[]))
    RETURNING {_TXN_SQL_COLUMNS}
    """  # noqa: S608
_MOVE_STEPS = text(_MOVE_STEPS_SQL)
# A create's outcome in one statement: the payments that still await their hold move on
# (compare-and-set, as _MOVE_STEPS), and only for those are their events recorded, their
# keys given the answer they replay, or freed (an all-or-none batch that failed).
_FINISH_CREATES = direct_statement(
    f"""
    WITH moved AS ({_MOVE_STEPS_SQL}),
    recorded AS ({insert_events_sql(outbox, "events", condition="n.subject_id IN (SELECT id FROM moved)")}),
    answered AS (
        UPDATE transactions.idempotency_keys AS k
        SET response = decode(o.response, 'hex'), error = CAST(o.error AS jsonb)
        FROM json_to_recordset(CAST(:answers AS json))
             AS o(tenant_id text, key text, transaction_id text, response text, error text)
        WHERE k.tenant_id = o.tenant_id AND k.key = o.key AND k.transaction_id = o.transaction_id
          AND o.transaction_id IN (SELECT id FROM moved)
    ),
    forgotten AS (
        DELETE FROM transactions.idempotency_keys AS k
        USING json_to_recordset(CAST(:forgotten AS json)) AS f(tenant_id text, key text, transaction_id text)
        WHERE k.tenant_id = f.tenant_id AND k.key = f.key AND k.transaction_id = f.transaction_id
          AND f.transaction_id IN (SELECT id FROM moved) AND k.response IS NULL
    )
    SELECT t.*, {wake_relay_sql(outbox, "recorded")} AS relay_woken FROM moved AS t
    """  # noqa: S608
)


@dataclass(frozen=True)
class KeyClaim:
    tenant_id: str
    key: str
    request_hash: bytes
    transaction_id: str
    expires_at: datetime


@dataclass(frozen=True)
class StepMove:
    """A payment's move from the saga step it was read at to its next state."""

    id: str
    expected_step: str
    status: str
    saga_step: str
    void_outcome: str | None = None
    failure_reason: str = ""
    next_attempt_at: datetime | None = None
    expected_settlement_at: datetime | None = None
    batch_id: str | None = None


async def get_keys(
    conn: AsyncConnection, wanted: list[tuple[str, str]]
) -> dict[tuple[str, str], IdempotencyRow]:
    if not wanted:
        return {}
    rows = await conn.execute(
        _GET_KEYS, {"rows": json_rows({"tenant_id": tenant, "key": key} for tenant, key in wanted)}
    )
    return {(row["tenant_id"], row["key"]): row_as(IdempotencyRow, row) for row in rows.mappings()}


@dataclass(frozen=True)
class WrittenPayments:
    rows: list[TransactionRow]
    # The server they were committed on ("" when none was written), and whether that
    # commit answered before its WAL was flushed.
    server: str
    unflushed: bool


async def create_payments(
    conn: DirectConnection, claims: list[KeyClaim], values: list[dict[str, Any]], *, unflushed: bool
) -> WrittenPayments:
    """Claims the keys and writes the payments, in one statement and one transaction: a
    payment with a key (one of `claims`, by transaction id) is written only if its claim
    won. With `unflushed`, the commit does not wait for its WAL flush: the caller sees to
    the payments' durability."""
    if not values:
        return WrittenPayments([], "", unflushed=False)
    keyed = {claim.transaction_id for claim in claims}
    parameters = {
        "claims": json_rows(vars(c) for c in claims),
        "rows": json_rows({**v, "keyed": v["id"] in keyed} for v in values),
    }
    rows = await fetch_all(conn, _CREATE_PAYMENTS_UNFLUSHED if unflushed else _CREATE_PAYMENTS, parameters)
    if not rows:
        return WrittenPayments([], "", unflushed=False)
    return WrittenPayments(
        [row_as(TransactionRow, row) for row in rows], str(rows[0]["committed_on"]), unflushed=unflushed
    )


def _move_parameters(moves: list[StepMove]) -> dict[str, Any]:
    """The moves as JSON rows, and their ids again as an array: the planner takes a JSON
    row set for a hundred rows and would scan a young transactions table for them, where
    the array leads it to the primary key."""
    return {"rows": json_rows(vars(m) for m in moves), "move_ids": [m.id for m in moves]}


@dataclass(frozen=True)
class KeyAnswer:
    """What a payment's Idempotency-Key replays from now on: the response, or the error
    (the error envelope's JSON). Found by the key's primary key, probed once for each
    payment that moved: the moved payments lead that join, so no array of the keys goes
    beside it (one in the probe's index condition is sorted again at every probe — half a
    second for a batch of 1,000)."""

    tenant_id: str
    key: str
    transaction_id: str
    response: bytes | None
    error: str | None


async def finish_creates(
    conn: DirectConnection,
    moves: list[StepMove],
    events: list[NewEvent],
    answers: list[KeyAnswer],
    forgotten: list[KeyAnswer],
) -> dict[str, TransactionRow]:
    """Moves the payments (compare-and-set, as `move_steps`) and, for those that moved,
    records their events (by subject id), the answers their keys replay, and frees the
    keys of `forgotten`, all in one statement. The payments that moved."""
    if not moves:
        return {}
    parameters = {
        **_move_parameters(moves),
        "events": json_rows(event_rows(events)),
        "answers": json_rows(vars(a) for a in answers),
        "forgotten": json_rows(vars(f) for f in forgotten),
    }
    rows = await fetch_all(conn, _FINISH_CREATES, parameters)
    return {row["id"]: row_as(TransactionRow, row) for row in rows}


async def move_steps(conn: AsyncConnection, moves: list[StepMove]) -> dict[str, TransactionRow]:
    """The payments that moved; one still at its expected step is absent (it lost a race)."""
    if not moves:
        return {}
    rows = await conn.execute(_MOVE_STEPS, _move_parameters(moves))
    return {row["id"]: row_as(TransactionRow, row) for row in rows.mappings()}


async def find_debit_authorizations(
    conn: AsyncConnection, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], DebitAuthorizationRow]:
    """(payer account, grantee tenant) → the newest active authorization, for many pairs."""
    if not pairs:
        return {}
    query = (
        select(*columns_of(debit_authorizations, DebitAuthorizationRow))
        .where(
            tuple_(debit_authorizations.c.payer_account_id, debit_authorizations.c.grantee_tenant_id).in_(
                pairs
            ),
            debit_authorizations.c.revoked_at.is_(None),
        )
        .order_by(debit_authorizations.c.id)
    )
    found: dict[tuple[str, str], DebitAuthorizationRow] = {}
    for row in (await conn.execute(query)).mappings():
        grant = row_as(DebitAuthorizationRow, row)
        found[(grant.payer_account_id, grant.grantee_tenant_id)] = grant
    return found
