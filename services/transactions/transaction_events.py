"""transaction.created / completed / failed / canceled, written to the outbox in the
same DB transaction as the state change. Each tenant whose account the payment
touches gets its own copy."""

from __future__ import annotations

from typing import Final

from corelib.money import major_from_minor
from corelib.outbox import NewEvent
from services.transactions.lifecycle import CANCELED, COMPLETED, FAILED
from services.transactions.repository import TransactionRow

CREATED: Final = "transaction.created"
EVENT_BY_FINAL_STATUS: Final = {
    COMPLETED: "transaction.completed",
    FAILED: "transaction.failed",
    CANCELED: "transaction.canceled",
}


def transaction_events(event_type: str, txn: TransactionRow) -> list[NewEvent]:
    """The event for each tenant whose account the payment touches."""
    data = {
        "transactionId": txn.id,
        "transactionReference": txn.external_reference,
        "externalReference": txn.external_reference,
        "status": txn.status,
        "failureReason": txn.failure_reason,
        "amount": major_from_minor(txn.amount_minor, txn.currency_code),
        "currencyCode": txn.currency_code,
        "paymentTypeId": txn.payment_type,
        "fromAccountId": txn.from_account_id,
        "toAccountId": txn.to_account_id,
        "description": txn.description,
    }
    return [
        NewEvent(tenant_id=tenant_id, event_type=event_type, data=data, subject_id=txn.id)
        for tenant_id in dict.fromkeys((txn.payer_tenant_id, txn.payee_tenant_id))
    ]
