"""Creating a payment: validate, hold the payer's funds synchronously, and hand the
payment to its rail. Idempotent with an Idempotency-Key.

The saga records each step before and after it calls the ledger:
  1. the payment is written as PENDING / hold_requested (with the key, if any);
  2. PlaceHold is called, idempotent by transaction id;
  3. the outcome is written: held (and transaction.created) or REJECTED.
A crash between 1 and 3 leaves a hold_requested row whose lease runs out; the saga
worker then asks the ledger whether the hold exists and finishes either way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
from payment_engine_protos.accounts.v1 import accounts_pb2
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from corelib.db import unit_of_work
from corelib.errors import ServiceError
from corelib.idempotency import validate_key
from corelib.ids import new_id
from corelib.money import positive_minor_from_major, validate_currency
from corelib.request_context import Principal
from corelib.timestamps import utc_now
from services.transactions import lifecycle, payment_types, repository
from services.transactions.ledger_client import LedgerClient, LedgerUnavailable
from services.transactions.repository import TransactionRow
from services.transactions.settlement_windows import SettlementCalendar
from services.transactions.transaction_events import CREATED, record_transaction_event

IDEMPOTENCY_TTL: Final = timedelta(hours=24)
# How long a create may take before the saga worker treats it as crashed.
CREATE_LEASE: Final = timedelta(seconds=30)
DESCRIPTION_LENGTH_MAX: Final = 500
EXTERNAL_REFERENCE_LENGTH_MAX: Final = 200
METADATA_BYTES_MAX: Final = 16 * 1024
ACCOUNT_ID_LENGTH_MAX: Final = 64

Render = Callable[[TransactionRow], bytes]


@dataclass(frozen=True)
class PaymentOrder:
    from_account_id: str
    to_account_id: str
    payment_type_id: str
    amount: float | None
    currency_code: str
    description: str
    external_reference: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RailTiming:
    calendar: SettlementCalendar
    wire_delay: timedelta

    def first_step_at(self, rail: payment_types.PaymentType, now: datetime) -> tuple[datetime, datetime]:
        """When the worker first acts on a held payment, and when it should settle."""
        if rail.is_batch:
            closes = self.calendar.window_closing_after(now)
            return closes, self.calendar.settles_at(closes)
        if rail.id == payment_types.WIRE_DOMESTIC:
            return now + self.wire_delay, now + self.wire_delay
        return now, now


def request_fingerprint(serialized_request: bytes) -> bytes:
    return hashlib.sha256(serialized_request).digest()


def _field_error(message: str, name: str) -> ServiceError:
    return ServiceError("INVALID_REQUEST", message, {"field": name})


def validate_order(order: PaymentOrder) -> payment_types.PaymentType:
    rail = payment_types.resolve(order.payment_type_id)
    for name, value in (("fromAccountId", order.from_account_id), ("toAccountId", order.to_account_id)):
        if not value:
            raise _field_error(f"{name} is required", name)
        if len(value) > ACCOUNT_ID_LENGTH_MAX:
            raise _field_error(f"{name} is too long", name)
    if order.from_account_id == order.to_account_id:
        raise _field_error("fromAccountId and toAccountId must differ", "toAccountId")
    if order.amount is None:
        raise _field_error("amount is required", "amount")
    if len(order.description) > DESCRIPTION_LENGTH_MAX:
        raise _field_error(f"description must be at most {DESCRIPTION_LENGTH_MAX} characters", "description")
    if len(order.external_reference) > EXTERNAL_REFERENCE_LENGTH_MAX:
        raise _field_error(
            f"externalReference must be at most {EXTERNAL_REFERENCE_LENGTH_MAX} characters",
            "externalReference",
        )
    if len(orjson.dumps(order.metadata)) > METADATA_BYTES_MAX:
        raise _field_error(f"metadata must be at most {METADATA_BYTES_MAX} bytes", "metadata")
    return rail


def _not_found(name: str, account_id: str) -> ServiceError:
    return ServiceError("NOT_FOUND", "Account not found", {"field": name, "accountId": account_id})


def _require_active(name: str, facts: accounts_pb2.AccountFacts) -> None:
    if facts.status != accounts_pb2.ACCOUNT_STATUS_ACTIVE:
        status = accounts_pb2.AccountStatus.Name(facts.status).removeprefix("ACCOUNT_STATUS_")
        raise ServiceError(
            "INVALID_ACCOUNT_STATUS",
            f"Account is {status.lower()}; money can move only through active accounts",
            {"field": name, "accountId": facts.id, "status": status},
        )


def _error_record(error: ServiceError) -> dict[str, Any]:
    return {"reason": error.reason, "message": error.message, "details": error.details}


class Payments:
    def __init__(
        self,
        engine: AsyncEngine,
        ledger: LedgerClient,
        timing: RailTiming,
        *,
        on_held: Callable[[], None],
    ) -> None:
        self._engine = engine
        self._ledger = ledger
        self._timing = timing
        self._on_held = on_held

    async def create(
        self,
        caller: Principal,
        order: PaymentOrder,
        *,
        idempotency_key: str,
        fingerprint: bytes,
        render: Render,
    ) -> bytes:
        """The serialized response: the new payment's, or the first one's on a repeat."""
        tenant_id = caller.tenant_id
        if not tenant_id:
            raise ServiceError("FORBIDDEN", "Payments are made by a tenant; this caller has none")
        key = validate_key(idempotency_key) if idempotency_key else ""
        rail = validate_order(order)
        if key:
            replay = await self._claim_key(tenant_id, key, fingerprint)
            if replay is not None:
                return replay
        try:
            txn = await self._open(caller, order, rail, key)
        except ServiceError as error:
            if key:
                async with unit_of_work(self._engine) as conn:
                    if error.reason in ("SERVICE_UNAVAILABLE", "INTERNAL_ERROR"):
                        await repository.release_idempotency_key(conn, tenant_id, key)
                    else:
                        await repository.record_idempotent_outcome(
                            conn,
                            tenant_id,
                            key,
                            transaction_id=None,
                            response=None,
                            error=_error_record(error),
                        )
            raise
        except Exception:
            # Nothing was created: free the key so that a retry runs anew.
            if key:
                async with unit_of_work(self._engine) as conn:
                    await repository.release_idempotency_key(conn, tenant_id, key)
            raise
        return await self._hold(txn, rail, key, render)

    async def _claim_key(self, tenant_id: str, key: str, fingerprint: bytes) -> bytes | None:
        async with unit_of_work(self._engine) as conn:
            if await repository.claim_idempotency_key(
                conn, tenant_id, key, fingerprint, utc_now() + IDEMPOTENCY_TTL
            ):
                return None
            first = await repository.get_idempotency_key(conn, tenant_id, key)
        if first is None:
            raise ServiceError("IDEMPOTENCY_KEY_IN_USE")
        if first.request_hash != fingerprint:
            raise ServiceError(
                "IDEMPOTENCY_KEY_REUSED",
                "This Idempotency-Key was used with a different request",
                {"idempotencyKey": key},
            )
        if first.response is not None:
            return first.response
        if first.error is not None:
            raise ServiceError(
                first.error["reason"], first.error["message"], first.error.get("details") or {}
            )
        raise ServiceError("IDEMPOTENCY_KEY_IN_USE", details={"idempotencyKey": key})

    async def _open(
        self, caller: Principal, order: PaymentOrder, rail: payment_types.PaymentType, key: str
    ) -> TransactionRow:
        try:
            facts = await self._ledger.describe_accounts([order.from_account_id, order.to_account_id])
        except LedgerUnavailable as exc:
            raise ServiceError("SERVICE_UNAVAILABLE") from exc
        payer = facts.get(order.from_account_id)
        payee = facts.get(order.to_account_id)
        tenant_id = caller.tenant_id
        authorization_id = None
        if rail.pulls_money:
            if payee is None or payee.tenant_id != tenant_id:
                raise _not_found("toAccountId", order.to_account_id)
            if payer is None:
                raise _not_found("fromAccountId", order.from_account_id)
        else:
            if payer is None or payer.tenant_id != tenant_id:
                raise _not_found("fromAccountId", order.from_account_id)
            if payee is None:
                raise _not_found("toAccountId", order.to_account_id)
        currency = validate_currency(order.currency_code) if order.currency_code else payer.currency_code
        for name, account in (("fromAccountId", payer), ("toAccountId", payee)):
            if account.currency_code != currency:
                raise ServiceError(
                    "INVALID_REQUEST",
                    f"{name} holds {account.currency_code}, the payment is in {currency}",
                    {"field": name, "currencyCode": account.currency_code, "expectedCurrencyCode": currency},
                )
        assert order.amount is not None
        amount_minor = positive_minor_from_major(order.amount, currency)
        payment_types.check_limits(rail, amount_minor, currency)
        _require_active("fromAccountId", payer)
        _require_active("toAccountId", payee)
        async with unit_of_work(self._engine) as conn:
            if rail.pulls_money and payer.tenant_id != tenant_id:
                grant = await repository.find_active_debit_authorization(conn, payer.id, tenant_id)
                if grant is None:
                    raise _not_found("fromAccountId", order.from_account_id)
                if grant.max_amount_minor and amount_minor > grant.max_amount_minor:
                    raise ServiceError(
                        "FORBIDDEN",
                        "amount exceeds the debit authorization's maximum",
                        {"field": "amount", "debitAuthorizationId": grant.id},
                    )
                authorization_id = grant.id
            now = utc_now()
            txn = await repository.insert_transaction(
                conn,
                {
                    "id": new_id("txn"),
                    "tenant_id": tenant_id,
                    "payer_tenant_id": payer.tenant_id,
                    "payee_tenant_id": payee.tenant_id,
                    "from_account_id": payer.id,
                    "to_account_id": payee.id,
                    "payment_type": rail.id,
                    "amount_minor": amount_minor,
                    "currency_code": currency,
                    "description": order.description,
                    "external_reference": order.external_reference,
                    "metadata": order.metadata,
                    "status": lifecycle.PENDING,
                    "saga_step": lifecycle.HOLD_REQUESTED,
                    "debit_authorization_id": authorization_id,
                    "next_attempt_at": now + CREATE_LEASE,
                },
            )
            if key:
                await repository.record_idempotent_outcome(
                    conn, tenant_id, key, transaction_id=txn.id, response=None, error=None
                )
        return txn

    async def _hold(
        self, txn: TransactionRow, rail: payment_types.PaymentType, key: str, render: Render
    ) -> bytes:
        try:
            await self._ledger.place_hold(
                accounts_pb2.PlaceHoldRequest(
                    hold_id=txn.id,
                    tenant_id=txn.payer_tenant_id,
                    account_id=txn.from_account_id,
                    amount_minor=txn.amount_minor,
                    currency_code=txn.currency_code,
                    description=txn.description,
                    debit_authorized=txn.debit_authorization_id is not None,
                )
            )
        except ServiceError as refusal:
            async with unit_of_work(self._engine) as conn:
                current = await repository.get_transaction(conn, txn.id, for_update=True)
                if current is not None and current.saga_step == lifecycle.HOLD_REQUESTED:
                    await repository.update_transaction(
                        conn,
                        txn.id,
                        {
                            "status": lifecycle.REJECTED,
                            "saga_step": lifecycle.NO_HOLD,
                            "failure_reason": refusal.message,
                            "next_attempt_at": None,
                        },
                    )
                    if key:
                        await repository.record_idempotent_outcome(
                            conn,
                            txn.tenant_id,
                            key,
                            transaction_id=txn.id,
                            response=None,
                            error=_error_record(refusal),
                        )
            raise
        except LedgerUnavailable as exc:
            # Outcome unknown: the saga worker resolves it once the create's lease runs out.
            raise ServiceError("SERVICE_UNAVAILABLE") from exc
        async with unit_of_work(self._engine) as conn:
            current = await repository.get_transaction(conn, txn.id, for_update=True)
            assert current is not None
            if current.saga_step == lifecycle.HOLD_REQUESTED:
                current = await mark_held(conn, current, rail, self._timing, render)
            response = render(current)
        self._on_held()
        return response


async def mark_held(
    conn: AsyncConnection,
    txn: TransactionRow,
    rail: payment_types.PaymentType,
    timing: RailTiming,
    render: Render,
) -> TransactionRow:
    """The hold exists: the payment is real from here on. Shared by create and recovery."""
    first_step_at, settles_at = timing.first_step_at(rail, utc_now())
    held = await repository.update_transaction(
        conn,
        txn.id,
        {"saga_step": lifecycle.HELD, "next_attempt_at": first_step_at, "expected_settlement_at": settles_at},
    )
    await record_transaction_event(conn, CREATED, held)
    await repository.record_transaction_response(conn, held.id, render(held))
    return held
