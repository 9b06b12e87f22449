"""All SQL of the transactions service. Functions take the unit of work's connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from corelib.db import columns_of, row_as
from services.transactions.schema import ach_batches, debit_authorizations, idempotency_keys, transactions


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


async def insert_transaction(conn: AsyncConnection, values: dict[str, Any]) -> TransactionRow:
    row = (
        (
            await conn.execute(
                insert(transactions).values(**values).returning(*columns_of(transactions, TransactionRow))
            )
        )
        .mappings()
        .one()
    )
    return row_as(TransactionRow, row)


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


async def claim_idempotency_key(
    conn: AsyncConnection, tenant_id: str, key: str, request_hash: bytes, expires_at: datetime
) -> bool:
    """True when this request is the first with the key; False when one came before."""
    inserted = (
        await conn.execute(
            pg_insert(idempotency_keys)
            .values(tenant_id=tenant_id, key=key, request_hash=request_hash, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=[idempotency_keys.c.tenant_id, idempotency_keys.c.key])
            .returning(idempotency_keys.c.key)
        )
    ).first()
    return inserted is not None


async def get_idempotency_key(conn: AsyncConnection, tenant_id: str, key: str) -> IdempotencyRow | None:
    row = (
        (
            await conn.execute(
                select(idempotency_keys).where(
                    idempotency_keys.c.tenant_id == tenant_id, idempotency_keys.c.key == key
                )
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else row_as(IdempotencyRow, row)


async def record_idempotent_outcome(
    conn: AsyncConnection,
    tenant_id: str,
    key: str,
    *,
    transaction_id: str | None,
    response: bytes | None,
    error: dict[str, Any] | None,
) -> None:
    await conn.execute(
        update(idempotency_keys)
        .where(idempotency_keys.c.tenant_id == tenant_id, idempotency_keys.c.key == key)
        .values(transaction_id=transaction_id, response=response, error=error)
    )


async def record_transaction_response(conn: AsyncConnection, transaction_id: str, response: bytes) -> None:
    """Recovery finished a create that crashed: its key now replays the created payment."""
    await conn.execute(
        update(idempotency_keys)
        .where(idempotency_keys.c.transaction_id == transaction_id, idempotency_keys.c.response.is_(None))
        .values(response=response)
    )


async def forget_idempotency_key_of(conn: AsyncConnection, transaction_id: str) -> None:
    await conn.execute(
        idempotency_keys.delete().where(
            idempotency_keys.c.transaction_id == transaction_id, idempotency_keys.c.response.is_(None)
        )
    )


async def release_idempotency_key(conn: AsyncConnection, tenant_id: str, key: str) -> None:
    await conn.execute(
        idempotency_keys.delete().where(
            idempotency_keys.c.tenant_id == tenant_id,
            idempotency_keys.c.key == key,
            idempotency_keys.c.response.is_(None),
            idempotency_keys.c.error.is_(None),
        )
    )


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


async def find_active_debit_authorization(
    conn: AsyncConnection, payer_account_id: str, grantee_tenant_id: str
) -> DebitAuthorizationRow | None:
    row = (
        (
            await conn.execute(
                select(*columns_of(debit_authorizations, DebitAuthorizationRow))
                .where(
                    debit_authorizations.c.payer_account_id == payer_account_id,
                    debit_authorizations.c.grantee_tenant_id == grantee_tenant_id,
                    debit_authorizations.c.revoked_at.is_(None),
                )
                .order_by(debit_authorizations.c.id.desc())
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
    conn: AsyncConnection, batch_id: str, window_closes_at: datetime, settles_at: datetime
) -> None:
    await conn.execute(
        pg_insert(ach_batches)
        .values(id=batch_id, window_closes_at=window_closes_at, settles_at=settles_at, transaction_count=1)
        .on_conflict_do_update(
            index_elements=[ach_batches.c.id], set_={"transaction_count": ach_batches.c.transaction_count + 1}
        )
    )
