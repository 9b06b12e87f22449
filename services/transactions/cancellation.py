"""Canceling a batch payment that is still PENDING, before its settlement window."""

from __future__ import annotations

from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.db import unit_of_work
from corelib.errors import ServiceError
from corelib.timestamps import utc_now
from services.transactions import lifecycle, payment_types, repository
from services.transactions.repository import TransactionRow

REASON_LENGTH_MAX: Final = 200
DEFAULT_REASON: Final = "Canceled at the customer's request"


class Cancellation:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def request(self, tenant_id: str, transaction_id: str, reason: str) -> TransactionRow:
        """Records the cancellation; the saga worker voids the hold at once."""
        async with unit_of_work(self._engine) as conn:
            visible = await repository.get_visible_transaction(conn, tenant_id, transaction_id[:64])
            if visible is None or visible.tenant_id != tenant_id:
                raise ServiceError("NOT_FOUND", "Transaction not found", {"id": transaction_id[:64]})
            txn = await repository.get_transaction(conn, transaction_id, for_update=True)
            assert txn is not None
            rail = payment_types.resolve(txn.payment_type)
            if txn.saga_step == lifecycle.VOID_REQUESTED and txn.void_outcome == lifecycle.CANCELED:
                return txn
            if not rail.is_batch or txn.status != lifecycle.PENDING or txn.saga_step != lifecycle.HELD:
                raise ServiceError(
                    "INVALID_REQUEST",
                    "Only a PENDING batch payment can be canceled before its settlement window",
                    {"id": txn.id, "status": txn.status, "paymentTypeId": txn.payment_type},
                )
            return await repository.update_transaction(
                conn,
                txn.id,
                {
                    "saga_step": lifecycle.VOID_REQUESTED,
                    "void_outcome": lifecycle.CANCELED,
                    "failure_reason": reason.strip()[:REASON_LENGTH_MAX] or DEFAULT_REASON,
                    "next_attempt_at": utc_now(),
                },
            )
