"""Creating payments: validate, hold the payers' funds synchronously, and hand each
payment to its rail — for a batch of payments at once. Idempotent with an
Idempotency-Key per payment.

Concurrent single creates are gathered into batches (corelib.batching), and the batch
API sends its own; either way a batch costs two database transactions and one ledger
call, whatever its size:
  1. each payment is written as PENDING / hold_requested, in the same transaction as the
     claim of its Idempotency-Key — a key is never claimed without its payment;
  2. PlaceHolds is called for all of them, idempotent by transaction id; a real-time
     payment's hold is placed and posted to the payee in the ledger's same unit of work;
  3. each outcome is written: COMPLETED for a real-time payment (with transaction.created
     and transaction.completed), held for the other rails (with transaction.created), or
     REJECTED (with the refusal its key replays). The answer, which the key replays, is
     the payment as it was created: PENDING.
A crash between 1 and 3 leaves hold_requested rows whose lease runs out; the saga
worker then asks the ledger whether each hold exists and finishes either way. The ledger
refuses to place a hold after the time its caller gave up, so once the lease is over no
hold can still appear; a hold it finds already posted completes the payment. The worker
moves the other rails at their times; a sandbox failure trigger on a real-time payment
voids its hold at once (SagaSteps.hand_on).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
import structlog
from google.protobuf import timestamp_pb2
from payment_engine_protos.accounts.v1 import accounts_pb2
from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.batching import Batcher, QueueFull
from corelib.db import autocommit
from corelib.direct_sql import DirectPool
from corelib.errors import ServiceError
from corelib.idempotency import validate_key
from corelib.ids import new_id
from corelib.money import positive_minor_from_major, validate_currency
from corelib.outbox import NewEvent
from corelib.request_context import Principal
from corelib.timestamps import utc_now
from services.transactions import lifecycle, payment_types, repository
from services.transactions.account_directory import AccountDirectory, AccountOwner
from services.transactions.ledger_client import (
    LEDGER_CALL_TIMEOUT_S,
    LedgerClient,
    LedgerOnAnotherServer,
    LedgerUnavailable,
)
from services.transactions.repository import IdempotencyRow, KeyAnswer, KeyClaim, StepMove, TransactionRow
from services.transactions.saga_steps import SagaSteps
from services.transactions.sandbox_triggers import failure_for
from services.transactions.settlement_windows import SettlementCalendar
from services.transactions.transaction_events import CREATED, EVENT_BY_FINAL_STATUS, transaction_events

log = structlog.get_logger("transactions.payments")

RECORDS_FLUSHED_ALONE = Gauge(
    "pe_payment_records_flushed_alone",
    "1 while payments' first records wait for their own WAL flush: the ledger commits on another "
    "database server than they are written on",
)

IDEMPOTENCY_TTL: Final = timedelta(hours=24)
# How long a create may take before the saga worker treats it as crashed. Longer than
# the ledger call's deadline, after which the ledger refuses to place its hold, with a
# margin for clocks that disagree.
CREATE_LEASE: Final = timedelta(seconds=10)
HOLD_DECIDED_WITHIN: Final = timedelta(seconds=LEDGER_CALL_TIMEOUT_S)
# A real-time payment posted by the create path belongs to it for this long; after
# that, the worker takes over.
FAST_TRACK_LEASE: Final = timedelta(seconds=15)
DESCRIPTION_LENGTH_MAX: Final = 500
EXTERNAL_REFERENCE_LENGTH_MAX: Final = 200
METADATA_BYTES_MAX: Final = 16 * 1024
ACCOUNT_ID_LENGTH_MAX: Final = 64
BATCH_SIZE_MAX: Final = 1000
# Concurrent creates share a batch: up to 500 payments, one batch in flight (what arrives
# meanwhile makes the next, fuller one), 20,000 waiting before new ones are refused (503,
# safe to retry with the same key).
# Batches whose outcome is answered and still being written, at once.
OUTCOME_WRITES_MAX: Final = 4
# What a create decides by itself: completed (a real-time payment), or refused.
_DECIDED: Final = frozenset({lifecycle.COMPLETED, lifecycle.REJECTED})
# A single create whose key's first request has no answer on record yet looks again this
# often, this many times (at most 1 s), before answering "in use".
FIRST_ANSWER_POLL_S: Final = 0.025
FIRST_ANSWER_POLLS_MAX: Final = 40
GROUP_COMMIT_BOUNDS: Final[dict[str, Any]] = {"batch_size_max": 500, "queued_max": 20_000, "flushes_max": 1}

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
class PaymentRequest:
    """One payment to create, as its caller asked for it."""

    caller: Principal
    order: PaymentOrder
    idempotency_key: str
    # Identifies the request body, so that a key reused for another body is refused.
    fingerprint: bytes
    # The X-Request-Id of the call that asked for it, kept with the payment.
    request_id: str = ""


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


@dataclass
class _Draft:
    """A payment that passed every check the transactions service can make itself."""

    index: int
    request: PaymentRequest
    tenant_id: str
    rail: payment_types.PaymentType
    key: str
    values: dict[str, Any]
    debit_authorized: bool


def held_move(
    txn: TransactionRow, rail: payment_types.PaymentType, timing: RailTiming, now: datetime, *, sandbox: bool
) -> StepMove:
    """The hold exists: the payment is real from here on. A real-time payment goes
    straight to its post (or, on a sandbox failure trigger, to its void), owned by the
    create path for a lease; the other rails wait for the worker at their time. Shared by
    create and recovery."""
    first_step_at, settles_at = timing.first_step_at(rail, now)
    if rail.id == payment_types.RTP:
        failure = failure_for(rail.id, txn.amount_minor, sandbox=sandbox)
        return StepMove(
            id=txn.id,
            expected_step=lifecycle.HOLD_REQUESTED,
            status=lifecycle.PENDING,
            saga_step=lifecycle.VOID_REQUESTED if failure else lifecycle.POST_REQUESTED,
            void_outcome=lifecycle.FAILED if failure else None,
            failure_reason=failure or "",
            next_attempt_at=now + FAST_TRACK_LEASE,
            expected_settlement_at=settles_at,
        )
    return StepMove(
        id=txn.id,
        expected_step=lifecycle.HOLD_REQUESTED,
        status=lifecycle.PENDING,
        saga_step=lifecycle.HELD,
        next_attempt_at=first_step_at,
        expected_settlement_at=settles_at,
    )


def posted_move(txn: TransactionRow) -> StepMove:
    """The ledger placed and posted the hold in one unit of work: the payment is done."""
    lifecycle.assert_transition(txn.status, lifecycle.COMPLETED)
    return StepMove(
        id=txn.id,
        expected_step=lifecycle.HOLD_REQUESTED,
        status=lifecycle.COMPLETED,
        saga_step=lifecycle.POSTED,
        next_attempt_at=None,
        expected_settlement_at=txn.created_at,
    )


def posts_at_once(rail: payment_types.PaymentType, amount_minor: int, *, sandbox: bool) -> bool:
    """A real-time payment settles as it is made, unless a sandbox trigger fails it."""
    return rail.id == payment_types.RTP and failure_for(rail.id, amount_minor, sandbox=sandbox) is None


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


def _error_json(error: ServiceError) -> str:
    return orjson.dumps({"reason": error.reason, "message": error.message, "details": error.details}).decode()


def _replay(first: IdempotencyRow, request: PaymentRequest, key: str) -> bytes:
    """The first answer for this key, or why there is none to give."""
    if first.request_hash != request.fingerprint:
        raise ServiceError(
            "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was used with a different request",
            {"idempotencyKey": key},
        )
    if first.response is not None:
        return first.response
    if first.error is not None:
        raise ServiceError(first.error["reason"], first.error["message"], first.error.get("details") or {})
    raise ServiceError("IDEMPOTENCY_KEY_IN_USE", details={"idempotencyKey": key})


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


Outcome = bytes | ServiceError


class Payments:
    def __init__(
        self,
        engine: AsyncEngine,
        direct: DirectPool,
        ledger: LedgerClient,
        directory: AccountDirectory,
        steps: SagaSteps,
        timing: RailTiming,
        *,
        render: Render,
        sandbox: bool,
        unflushed_first_writes: bool = False,
    ) -> None:
        self._engine = engine
        # A payment's creation and its outcome: a statement each, on psycopg itself.
        self._direct = direct
        # Whether a create's first write may commit without waiting for its WAL flush
        # (`_first_write`), and the server it is flushed on instead while the ledger is
        # elsewhere (None: not known to be).
        self._unflushed_first_writes = unflushed_first_writes
        self._ledger_elsewhere_from: str | None = None
        self._ledger = ledger
        self._directory = directory
        self._steps = steps
        self._timing = timing
        self._render = render
        self._sandbox = sandbox
        self._creating: Batcher[PaymentRequest, bytes] = Batcher(
            self._create_gathered, name="create_payments", **GROUP_COMMIT_BOUNDS
        )
        # Outcomes answered and being recorded: at most this many batches at once (a
        # further batch waits for a slot), and their key answers meanwhile.
        self._recording_slots = asyncio.Semaphore(OUTCOME_WRITES_MAX)
        self._recording: set[asyncio.Task[None]] = set()
        self._unrecorded: dict[str, KeyAnswer] = {}

    async def create(self, request: PaymentRequest) -> bytes:
        """The serialized response: the new payment's, or the first one's on a repeat."""
        try:
            return await self._submit(request)
        except ServiceError as error:
            if error.reason != "IDEMPOTENCY_KEY_IN_USE" or not request.idempotency_key:
                raise
        return await self._first_answer(request)

    async def _submit(self, request: PaymentRequest) -> bytes:
        try:
            return await self._creating.submit(request)
        except QueueFull as exc:
            raise ServiceError("SERVICE_UNAVAILABLE", "Too many payments waiting; retry shortly") from exc

    async def _first_answer(self, request: PaymentRequest) -> bytes:
        """A repeat of a key whose first request has no answer on record yet: most often
        it has one already, on another replica that is still recording it (a few ms), or
        it is about to. The repeat waits for it a little, outside the batch (which goes
        on), rather than telling the client to retry; after that it is "in use"."""
        wanted = (request.caller.tenant_id, validate_key(request.idempotency_key))
        for _ in range(FIRST_ANSWER_POLLS_MAX):
            await asyncio.sleep(FIRST_ANSWER_POLL_S)
            first = (await self._earlier_answers([wanted])).get(wanted)
            if first is None:
                # The claim was given up meanwhile (its all-or-none batch failed): this
                # request runs anew, once.
                return await self._submit(request)
            if first.response is not None or first.error is not None:
                return _replay(first, request, wanted[1])
        raise ServiceError("IDEMPOTENCY_KEY_IN_USE", details={"idempotencyKey": wanted[1]})

    async def _create_gathered(self, requests: Sequence[PaymentRequest]) -> list[Outcome]:
        return await self.create_many(requests, atomic=False)

    async def create_many(self, requests: Sequence[PaymentRequest], *, atomic: bool) -> list[Outcome]:
        """One outcome per request, in order. With `atomic`, all are created or none."""
        outcomes: dict[int, Outcome] = {}
        drafts = await self._drafts(requests, outcomes)
        if atomic and outcomes:
            return self._abort_rest(requests, outcomes)
        firsts = _first_of_each_key(drafts)
        now = utc_now()
        claims = [
            KeyClaim(d.tenant_id, d.key, d.request.fingerprint, d.values["id"], now + IDEMPOTENCY_TTL)
            for d in firsts
            if d.key
        ]
        written, unflushed_on = await self._first_write(claims, [d.values for d in firsts])
        taken = [d for d in firsts if d.values["id"] not in written]
        if taken:
            await self._answer_taken_keys(taken, outcomes)
        fresh = [d for d in firsts if d.values["id"] in written]
        await self._hold(fresh, written, outcomes, atomic=atomic, unflushed_on=unflushed_on)
        self._resolve_in_batch_repeats(drafts, outcomes)
        return [outcomes[index] for index in range(len(requests))]

    async def _first_write(
        self, claims: list[KeyClaim], values: list[dict[str, Any]]
    ) -> tuple[dict[str, TransactionRow], str]:
        """The keys' claims and the payments' first records, committed together; and the
        database server they were committed on without waiting for the WAL flush ("" when
        the commit waited for it).

        Nothing rests on the first records alone: the ledger's commit of the holds flushes
        them (one WAL, in order) when it is on the same server, which the hold requests
        name for the ledger to check, and the client is answered only after the ledger.
        A batch the ledger placed nothing for is recorded before it is answered, which
        flushes it. The wait for a flush is then paid once per payment, not twice."""
        unflushed = self._unflushed_first_writes and self._ledger_elsewhere_from is None
        async with self._direct.connection() as conn:
            written = await repository.create_payments(conn, claims, values, unflushed=unflushed)
        if self._ledger_elsewhere_from is not None and written.server not in (
            "",
            self._ledger_elsewhere_from,
        ):
            # Written on another server than the one that found the ledger elsewhere (a
            # failover): the next batch tries the ledger's commit again.
            self._ledger_elsewhere_from = None
            RECORDS_FLUSHED_ALONE.set(0)
            log.info("payment_records_flushed_with_the_ledger_again", reason="records_on_another_server")
        return {row.id: row for row in written.rows}, written.server if written.unflushed else ""

    def _note_a_ledger_elsewhere(self, placed: Sequence[object], unflushed_on: str) -> None:
        """After the ledger refused holds because it commits on another server than the
        records: while they are written on this one, they are flushed on their own."""
        if not unflushed_on or not any(isinstance(o, LedgerOnAnotherServer) for o in placed):
            return
        if self._ledger_elsewhere_from is None:
            log.warning("payment_records_flushed_on_their_own", reason="ledger_on_another_database_server")
        self._ledger_elsewhere_from = unflushed_on
        RECORDS_FLUSHED_ALONE.set(1)

    async def _earlier_answers(self, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], IdempotencyRow]:
        """The claims of these (tenant, key) pairs, with the answers this process gave
        and has not recorded yet."""
        async with autocommit(self._engine) as conn:
            earlier = await repository.get_keys(conn, wanted)
        for wanted_key, first in earlier.items():
            if first.response is None and first.error is None:
                pending = self._unrecorded.get(first.transaction_id or "")
                if pending is not None:
                    earlier[wanted_key] = replace(
                        first,
                        response=pending.response,
                        error=orjson.loads(pending.error) if pending.error is not None else None,
                    )
        return earlier

    async def _answer_taken_keys(self, taken: list[_Draft], outcomes: dict[int, Outcome]) -> None:
        """Drafts whose key an earlier request claimed: its answer, or why there is none."""
        earlier = await self._earlier_answers([(d.tenant_id, d.key) for d in taken])
        for draft in taken:
            first = earlier.get((draft.tenant_id, draft.key))
            try:
                if first is None:
                    # Claimed, then freed again meanwhile: a retry runs anew.
                    raise ServiceError("IDEMPOTENCY_KEY_IN_USE", details={"idempotencyKey": draft.key})
                outcomes[draft.index] = _replay(first, draft.request, draft.key)
            except ServiceError as error:
                outcomes[draft.index] = error

    async def _drafts(self, requests: Sequence[PaymentRequest], outcomes: dict[int, Outcome]) -> list[_Draft]:
        """Checks what needs no ledger state: fields, keys, who owns the accounts, the
        amount in the currency's units, the rail's limits, debit authorizations."""
        checked: dict[int, tuple[PaymentRequest, payment_types.PaymentType, str]] = {}
        for index, request in enumerate(requests):
            try:
                if not request.caller.tenant_id:
                    raise ServiceError("FORBIDDEN", "Payments are made by a tenant; this caller has none")
                key = validate_key(request.idempotency_key) if request.idempotency_key else ""
                checked[index] = (request, validate_order(request.order), key)
            except ServiceError as error:
                outcomes[index] = error
        if not checked:
            return []
        account_ids = {r.order.from_account_id for r, _, _ in checked.values()} | {
            r.order.to_account_id for r, _, _ in checked.values()
        }
        try:
            owners = await self._directory.owners(account_ids)
        except LedgerUnavailable:
            for index in checked:
                outcomes[index] = ServiceError("SERVICE_UNAVAILABLE")
            return []
        pulls = [
            (r.order.from_account_id, r.caller.tenant_id)
            for r, rail, _ in checked.values()
            if rail.pulls_money
            and (owner := owners.get(r.order.from_account_id)) is not None
            and owner.tenant_id != r.caller.tenant_id
        ]
        grants: dict[tuple[str, str], repository.DebitAuthorizationRow] = {}
        if pulls:
            async with autocommit(self._engine) as conn:
                grants = await repository.find_debit_authorizations(conn, pulls)
        drafts = []
        now = utc_now()
        for index, (request, rail, key) in checked.items():
            try:
                drafts.append(self._draft(index, request, rail, key, owners, grants, now))
            except ServiceError as error:
                outcomes[index] = error
        return drafts

    def _draft(
        self,
        index: int,
        request: PaymentRequest,
        rail: payment_types.PaymentType,
        key: str,
        owners: dict[str, AccountOwner],
        grants: dict[tuple[str, str], repository.DebitAuthorizationRow],
        now: datetime,
    ) -> _Draft:
        """Tenancy first: until it passes, another tenant's account answers exactly as a
        missing one, whatever its currency or status."""
        order, tenant_id = request.order, request.caller.tenant_id
        payer, payee = owners.get(order.from_account_id), owners.get(order.to_account_id)
        grant = None
        if rail.pulls_money:
            if payee is None or payee.tenant_id != tenant_id:
                raise _not_found("toAccountId", order.to_account_id)
            if payer is None:
                raise _not_found("fromAccountId", order.from_account_id)
            if payer.tenant_id != tenant_id:
                grant = grants.get((payer.account_id, tenant_id))
                if grant is None:
                    raise _not_found("fromAccountId", order.from_account_id)
        else:
            if payer is None or payer.tenant_id != tenant_id:
                raise _not_found("fromAccountId", order.from_account_id)
            if payee is None or payee.tenant_id != tenant_id:
                raise _not_found("toAccountId", order.to_account_id)
        currency = validate_currency(order.currency_code) if order.currency_code else payer.currency_code
        for name, account in (("fromAccountId", payer), ("toAccountId", payee)):
            # An account's currency never changes; the ledger checks again anyway.
            if account.currency_code != currency:
                raise ServiceError(
                    "INVALID_REQUEST",
                    f"{name} holds {account.currency_code}, the payment is in {currency}",
                    {"field": name, "currencyCode": account.currency_code, "expectedCurrencyCode": currency},
                )
        assert order.amount is not None
        amount_minor = positive_minor_from_major(order.amount, currency)
        payment_types.check_limits(rail, amount_minor, currency)
        if grant is not None and grant.max_amount_minor and amount_minor > grant.max_amount_minor:
            raise ServiceError(
                "FORBIDDEN",
                "amount exceeds the debit authorization's maximum",
                {"field": "amount", "debitAuthorizationId": grant.id},
            )
        return _Draft(
            index=index,
            request=request,
            tenant_id=tenant_id,
            rail=rail,
            key=key,
            debit_authorized=grant is not None,
            values={
                "id": new_id("txn"),
                "tenant_id": tenant_id,
                "payer_tenant_id": payer.tenant_id,
                "payee_tenant_id": payee.tenant_id,
                "from_account_id": payer.account_id,
                "to_account_id": payee.account_id,
                "payment_type": rail.id,
                "amount_minor": amount_minor,
                "currency_code": currency,
                "description": order.description,
                "external_reference": order.external_reference,
                "metadata": order.metadata,
                "status": lifecycle.PENDING,
                "saga_step": lifecycle.HOLD_REQUESTED,
                "debit_authorization_id": grant.id if grant is not None else None,
                "request_id": request.request_id,
                "idempotency_key": key,
                "next_attempt_at": now + CREATE_LEASE,
            },
        )

    async def _place_holds(
        self, drafts: list[_Draft], *, atomic: bool, unflushed_on: str
    ) -> list[accounts_pb2.PlaceHoldResponse | BaseException]:
        """The ledger's outcome for each payment's hold, in order."""
        not_after = _timestamp(utc_now() + HOLD_DECIDED_WITHIN)
        placed = await self._ledger.place_holds(
            [
                accounts_pb2.PlaceHoldRequest(
                    hold_id=d.values["id"],
                    tenant_id=d.request.caller.tenant_id,
                    account_id=d.values["from_account_id"],
                    amount_minor=d.values["amount_minor"],
                    currency_code=d.values["currency_code"],
                    description=d.values["description"],
                    debit_authorized=d.debit_authorized,
                    payee_account_id=d.values["to_account_id"],
                    not_after=not_after,
                    post_at_once=posts_at_once(d.rail, d.values["amount_minor"], sandbox=self._sandbox),
                    unflushed_record_server=unflushed_on,
                )
                for d in drafts
            ],
            atomic=atomic,
        )
        self._note_a_ledger_elsewhere(placed, unflushed_on)
        return placed

    async def _hold(
        self,
        drafts: list[_Draft],
        rows: dict[str, TransactionRow],
        outcomes: dict[int, Outcome],
        *,
        atomic: bool,
        unflushed_on: str = "",
    ) -> None:
        if not drafts:
            return
        placed = await self._place_holds(drafts, atomic=atomic, unflushed_on=unflushed_on)
        # Records the ledger placed no hold for were flushed by none of its commits.
        unflushed = unflushed_on != "" and not any(
            isinstance(o, accounts_pb2.PlaceHoldResponse) for o in placed
        )
        now = utc_now()
        moves: list[StepMove] = []
        refusals: dict[str, ServiceError] = {}
        events: list[NewEvent] = []
        answers: dict[str, KeyAnswer] = {}
        aborted: list[KeyAnswer] = []
        for draft, outcome in zip(drafts, placed, strict=True):
            txn = rows[draft.values["id"]]
            if isinstance(outcome, accounts_pb2.PlaceHoldResponse):
                if outcome.hold.status == accounts_pb2.HOLD_STATUS_POSTED:
                    move = posted_move(txn)
                else:
                    move = held_move(txn, draft.rail, self._timing, now, sandbox=self._sandbox)
                moves.append(move)
                created = replace(txn, expected_settlement_at=move.expected_settlement_at)
                events.extend(transaction_events(CREATED, created))
                if move.status in EVENT_BY_FINAL_STATUS:
                    finished = replace(created, status=move.status, failure_reason=move.failure_reason)
                    events.extend(transaction_events(EVENT_BY_FINAL_STATUS[move.status], finished))
                answers[txn.id] = KeyAnswer(draft.tenant_id, draft.key, txn.id, self._render(created), None)
            elif isinstance(outcome, ServiceError):
                refusals[txn.id] = outcome
                moves.append(
                    StepMove(
                        id=txn.id,
                        expected_step=lifecycle.HOLD_REQUESTED,
                        status=lifecycle.REJECTED,
                        saga_step=lifecycle.NO_HOLD,
                        failure_reason=outcome.message,
                    )
                )
                # A payment that was not created only because its all-or-none batch
                # failed leaves its key free: the corrected batch may be sent again with it.
                if outcome.reason == "BATCH_ABORTED":
                    aborted.append(KeyAnswer(draft.tenant_id, draft.key, txn.id, None, None))
                else:
                    answers[txn.id] = KeyAnswer(
                        draft.tenant_id, draft.key, txn.id, None, _error_json(outcome)
                    )
            else:
                # Outcome unknown: the saga worker resolves it once the create's lease
                # runs out, and the key then replays whatever it found.
                outcomes[draft.index] = ServiceError("SERVICE_UNAVAILABLE")
        keyed = [answer for answer in answers.values() if answer.key]
        written = _OutcomeWrite(moves, events, keyed, [answer for answer in aborted if answer.key])
        moved: dict[str, TransactionRow] | None = None
        if atomic or unflushed or not all(move.status in _DECIDED for move in moves):
            # All or none: a failed batch's keys are free again before it is answered, so
            # the corrected batch may be sent at once. A payment that waits for its rail
            # is recorded before it is answered, so that it can be canceled at once. A
            # refusal is recorded first when its first record may still be unflushed, so
            # that a crash cannot forget a key that was answered.
            moved = await self._record(written)
        else:
            await self._start_recording(written)
        for draft in drafts:
            transaction_id = draft.values["id"]
            if draft.index in outcomes:
                continue
            if moved is not None and transaction_id not in moved:
                # The worker resolved it first (a lease shorter than this call): the
                # key answers once it is settled.
                outcomes[draft.index] = ServiceError("SERVICE_UNAVAILABLE")
            elif transaction_id in refusals:
                outcomes[draft.index] = refusals[transaction_id]
            else:
                response = answers[transaction_id].response
                assert response is not None
                outcomes[draft.index] = response

    async def _record(self, written: _OutcomeWrite) -> dict[str, TransactionRow]:
        """Writes a batch's outcome; hands the payments left at a ledger step on."""
        async with self._direct.connection() as conn:
            moved = await repository.finish_creates(
                conn, written.moves, written.events, written.answers, written.forgotten
            )
        ledger_steps = (lifecycle.POST_REQUESTED, lifecycle.VOID_REQUESTED)
        self._steps.hand_on([row for row in moved.values() if row.saga_step in ledger_steps])
        return moved

    async def _start_recording(self, written: _OutcomeWrite) -> None:
        """The ledger has decided every payment (completed or refused): the answer is
        known, and recording it need not hold the clients (nor the next batch) back.
        Until it is recorded, a repeat of a key is answered from here; if this process
        dies first, the saga worker resolves the payment once its lease runs out."""
        await self._recording_slots.acquire()
        self._unrecorded.update({answer.transaction_id: answer for answer in written.answers})
        task = asyncio.get_running_loop().create_task(self._record_in_background(written))
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)

    async def _record_in_background(self, written: _OutcomeWrite) -> None:
        try:
            await self._record(written)
        except Exception as exc:
            log.warning("create_outcome_not_recorded", payments=len(written.moves), error=repr(exc))
        finally:
            for answer in written.answers:
                self._unrecorded.pop(answer.transaction_id, None)
            self._recording_slots.release()

    @staticmethod
    def _resolve_in_batch_repeats(drafts: list[_Draft], outcomes: dict[int, Outcome]) -> None:
        """An item that repeated an earlier item's key in the same batch answers as the
        earlier one did, when the requests are the same."""
        first_by_key: dict[tuple[str, str], _Draft] = {}
        for draft in drafts:
            if not draft.key:
                continue
            wanted = (draft.request.caller.tenant_id, draft.key)
            first = first_by_key.setdefault(wanted, draft)
            if first is draft:
                continue
            if first.request.fingerprint != draft.request.fingerprint:
                outcomes[draft.index] = ServiceError(
                    "IDEMPOTENCY_KEY_REUSED",
                    "This Idempotency-Key was used with a different request",
                    {"idempotencyKey": draft.key},
                )
            elif first.index in outcomes:
                outcomes[draft.index] = outcomes[first.index]

    @staticmethod
    def _abort_rest(requests: Sequence[PaymentRequest], outcomes: dict[int, Outcome]) -> list[Outcome]:
        return [outcomes.get(index, ServiceError("BATCH_ABORTED")) for index in range(len(requests))]


@dataclass(frozen=True)
class _OutcomeWrite:
    """What a batch's outcome writes (`repository.finish_creates`)."""

    moves: list[StepMove]
    events: list[NewEvent]
    answers: list[KeyAnswer]
    forgotten: list[KeyAnswer]


def _first_of_each_key(drafts: list[_Draft]) -> list[_Draft]:
    """Every keyless draft, and the first draft of each key; a later draft with the same
    key in the same batch answers as the first (`_resolve_in_batch_repeats`)."""
    seen: set[tuple[str, str]] = set()
    firsts = []
    for draft in drafts:
        if draft.key:
            if (draft.tenant_id, draft.key) in seen:
                continue
            seen.add((draft.tenant_id, draft.key))
        firsts.append(draft)
    return firsts
