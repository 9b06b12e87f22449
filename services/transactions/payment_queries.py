"""Reading payments: one, its status, or a filtered page. A tenant sees the payments
that touch its accounts and nothing else."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from corelib import pagination
from corelib.db import autocommit
from corelib.errors import ServiceError
from services.transactions import lifecycle, payment_types, repository
from services.transactions.repository import TransactionFilter, TransactionRow

FILTER_VALUE_LENGTH_MAX = 200


class PaymentQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, tenant_id: str, transaction_id: str) -> TransactionRow:
        async with autocommit(self._engine) as conn:
            txn = await repository.get_visible_transaction(conn, tenant_id, transaction_id[:64])
        if txn is None:
            raise ServiceError("NOT_FOUND", "Transaction not found", {"id": transaction_id[:64]})
        return txn

    async def page(
        self,
        tenant_id: str,
        *,
        page_size: int,
        page_token: str,
        status: str,
        account_id: str,
        payment_type_id: str,
        external_reference: str,
        created_after: datetime | None,
        created_before: datetime | None,
    ) -> tuple[list[TransactionRow], str]:
        limit = pagination.page_size(page_size)
        query = pagination.page_query(
            "transactions",
            tenant_id,
            status=status,
            account_id=account_id,
            payment_type_id=payment_type_id,
            external_reference=external_reference,
            created_after=created_after,
            created_before=created_before,
        )
        cursor = pagination.decode_page_token(page_token, query, {"before": str})
        before_id = cursor["before"] if cursor else None
        status_filter = status.strip().upper() or None
        if status_filter is not None and status_filter not in lifecycle.PUBLIC_STATUSES:
            raise ServiceError(
                "INVALID_REQUEST",
                "status must be one of " + ", ".join(lifecycle.PUBLIC_STATUSES),
                {"field": "status"},
            )
        where = TransactionFilter(
            status=status_filter,
            account_id=account_id[:FILTER_VALUE_LENGTH_MAX] or None,
            payment_type=payment_types.resolve(payment_type_id).id if payment_type_id else None,
            external_reference=external_reference[:FILTER_VALUE_LENGTH_MAX] or None,
            created_after=created_after,
            created_before=created_before,
        )
        async with autocommit(self._engine) as conn:
            rows = await repository.list_transactions(
                conn, tenant_id, where, before_id=before_id, limit=limit + 1
            )
        next_token = (
            pagination.encode_page_token({"before": rows[limit - 1].id}, query) if len(rows) > limit else ""
        )
        return rows[:limit], next_token
