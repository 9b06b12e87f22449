"""The ledger side of the payment saga: place holds, post them to payees, void them —
many at a time.

Each step runs for a whole batch in one unit of work: the accounts it touches are
locked once, in id order; the rules decide item by item, in order, against the balances
as the batch has left them so far; then one set-based statement writes everything —
one balance update per account (a hot account is written once per batch, not once per
payment), the holds, the journal entries with their postings, and the balance events.
One item's refusal is its own result and never fails the others, unless the caller asked
for all or none. Every step is idempotent by hold id (the transaction id): repeating a
step returns the first outcome and moves nothing twice. Posting a voided hold or voiding
a posted one is refused.

A real-time payment asks for its hold to be placed and posted at once (`post_at_once`):
one unit of work checks the payer's funds and the payee's room, moves the money and
records the hold already POSTED, so the payment completes without a second ledger call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final, TypeAlias, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.db import autocommit
from corelib.direct_sql import DirectConnection, DirectPool, server_identity
from corelib.errors import ServiceError
from corelib.ids import new_id
from corelib.money import AMOUNT_MINOR_MAX, major_from_minor, validate_currency
from corelib.outbox import NewEvent
from corelib.timestamps import utc_now
from services.accounts import repository, rules
from services.accounts.balance_events import EVENT_TYPE as BALANCE_UPDATED
from services.accounts.repository import (
    AccountRow,
    HoldOutcome,
    HoldRow,
    NewHold,
    NewJournalEntry,
    NewPosting,
)

DESCRIPTION_LENGTH_MAX: Final = 500
HOLD_ID_LENGTH_MAX: Final = 64
BATCH_SIZE_MAX: Final = 1000
# A batch is first decided as if every hold were new (a repeat is rare, and looking for
# earlier holds costs a round trip); a batch whose hold ids exist already, or were
# inserted by another transaction meanwhile, is re-decided against the committed holds.
# A collision on every attempt is reported as a failure of the batch.
PLACE_ATTEMPTS_MAX: Final = 3

ResultT = TypeVar("ResultT")
# One item's result: what it produced, or why it was refused.
Outcome: TypeAlias = ResultT | ServiceError


@dataclass(frozen=True)
class HoldOrder:
    hold_id: str
    # The tenant on whose behalf the payment is made.
    tenant_id: str
    account_id: str
    amount_minor: int
    currency_code: str
    description: str
    # The payer's tenant granted `tenant_id` a debit authorization on this account.
    debit_authorized: bool = False
    # Checked at once when given: the payee exists, is the tenant's, is active, holds
    # the currency and has room for the amount.
    payee_account_id: str = ""
    # The caller stops waiting then; an order decided later is refused unplaced.
    not_after: datetime | None = None
    # Post to the payee in the same unit of work: the hold is written POSTED.
    post_at_once: bool = False
    # The server the payment's record was committed on without waiting for its flush:
    # the hold is placed only on that same server (see `_record_made_durable`).
    unflushed_record_server: str = ""


@dataclass(frozen=True)
class PlacedHold:
    hold: HoldRow
    payer: AccountRow
    payee: AccountRow | None


@dataclass(frozen=True)
class PostOrder:
    hold_id: str
    payee_account_id: str
    description: str


class _Collision(Exception):
    """Another transaction inserted one of this batch's hold ids meanwhile."""


class _Balances:
    """The locked accounts as this batch leaves them, item after item."""

    def __init__(self, accounts: dict[str, AccountRow]) -> None:
        self.rows = accounts
        self.current = {account_id: row.current_balance_minor for account_id, row in accounts.items()}
        self.held = {account_id: row.held_balance_minor for account_id, row in accounts.items()}
        self._deltas: dict[str, tuple[int, int]] = {}

    def apply(self, account_id: str, *, current_delta: int, held_delta: int) -> None:
        self.current[account_id] += current_delta
        self.held[account_id] += held_delta
        before = self._deltas.get(account_id, (0, 0))
        self._deltas[account_id] = (before[0] + current_delta, before[1] + held_delta)

    def deltas(self) -> dict[str, tuple[int, int]]:
        return {account_id: delta for account_id, delta in self._deltas.items() if delta != (0, 0)}

    def balance_event(self, account_id: str, *, cause: str, transaction_id: str) -> NewEvent | None:
        """`account.balance.updated` with the balances right after this item."""
        row = self.rows[account_id]
        if row.kind != rules.CUSTOMER:
            return None
        currency = row.currency_code
        current, held = self.current[account_id], self.held[account_id]
        return NewEvent(
            tenant_id=row.tenant_id,
            event_type=BALANCE_UPDATED,
            data={
                "accountId": account_id,
                "availableBalance": major_from_minor(current - held, currency),
                "currentBalance": major_from_minor(current, currency),
                "heldBalance": major_from_minor(held, currency),
                "currencyCode": currency,
                "cause": cause,
                "transactionId": transaction_id,
            },
        )


def _check_hold_id(hold_id: str) -> None:
    if not hold_id or len(hold_id) > HOLD_ID_LENGTH_MAX:
        raise ServiceError("INVALID_REQUEST", "holdId is required", {"field": "holdId"})


def _check_order(order: HoldOrder) -> HoldOrder:
    _check_hold_id(order.hold_id)
    currency = validate_currency(order.currency_code)
    if not (0 < order.amount_minor <= AMOUNT_MINOR_MAX):
        raise ServiceError("INVALID_REQUEST", "amount must be greater than zero", {"field": "amount"})
    if order.payee_account_id and order.payee_account_id == order.account_id:
        raise ServiceError(
            "INVALID_REQUEST", "fromAccountId and toAccountId must differ", {"field": "toAccountId"}
        )
    if order.post_at_once and not order.payee_account_id:
        raise ServiceError(
            "INVALID_REQUEST", "A hold posted at once needs its payee", {"field": "payeeAccountId"}
        )
    return replace(order, currency_code=currency, description=order.description[:DESCRIPTION_LENGTH_MAX])


def _same_hold(existing: HoldRow, order: HoldOrder) -> HoldRow:
    if existing.account_id != order.account_id or existing.amount_minor != order.amount_minor:
        raise ServiceError(
            "INVALID_REQUEST",
            "A hold with this id exists for a different account or amount",
            {"holdId": existing.id},
        )
    return existing


def _visible_payer(payer: AccountRow | None, order: HoldOrder) -> AccountRow:
    """Whose money may be held: the tenant's own, or an account it holds a debit
    authorization on. Checked before anything else, so another tenant's account answers
    exactly as a missing one, whatever its status or currency."""
    if payer is None or payer.kind != rules.CUSTOMER:
        raise rules.account_not_found(order.account_id, field="fromAccountId")
    if payer.tenant_id != order.tenant_id and not order.debit_authorized:
        raise rules.account_not_found(order.account_id, field="fromAccountId")
    return payer


def _visible_payee(payee: AccountRow | None, order: HoldOrder) -> AccountRow:
    """Money is paid only into the tenant's own accounts; another tenant's answers as
    missing."""
    if payee is None or payee.kind != rules.CUSTOMER or payee.tenant_id != order.tenant_id:
        raise rules.account_not_found(order.payee_account_id, field="toAccountId")
    return payee


def _decide_hold(order: HoldOrder, balances: _Balances, payees: dict[str, AccountRow]) -> AccountRow | None:
    payer = _visible_payer(balances.rows.get(order.account_id), order)
    payee = None
    if order.payee_account_id:
        payee = _visible_payee(payees.get(order.payee_account_id), order)
    rules.require_active(payer.id, payer.status, field="fromAccountId")
    if payee is not None:
        rules.require_active(payee.id, payee.status, field="toAccountId")
    rules.require_same_currency(order.currency_code, payer.currency_code, field="fromAccountId")
    if payee is not None:
        rules.require_same_currency(order.currency_code, payee.currency_code, field="toAccountId")
        rules.require_room_to_receive(
            payee.id,
            amount_minor=order.amount_minor,
            # A payee this batch posts to is locked, and its balance moves item by item.
            current_minor=balances.current.get(payee.id, payee.current_balance_minor),
            currency=payee.currency_code,
            field="toAccountId",
        )
    rules.require_hold_fits(
        payer.id,
        amount_minor=order.amount_minor,
        current_minor=balances.current[payer.id],
        held_minor=balances.held[payer.id],
        currency=payer.currency_code,
    )
    return payee


def _record_made_durable(order: HoldOrder, server: str) -> None:
    """A payment whose record was committed without waiting for its WAL flush is durable
    once a later commit on the same server is flushed: PostgreSQL writes one WAL, in
    order. This unit of work commits synchronously, so on that server it makes the record
    durable with the hold. On another server it would not: a crash there could lose the
    record and leave its hold, so the hold is refused, as unplaced, until the record is
    durable by itself."""
    if order.unflushed_record_server and order.unflushed_record_server != server:
        raise ServiceError(
            "SERVICE_UNAVAILABLE",
            "The payment's record is not durable on the ledger's database server yet",
            {"recordServer": order.unflushed_record_server, "ledgerServer": server},
        )


def _aborted() -> ServiceError:
    return ServiceError("BATCH_ABORTED")


def _transfer(
    balances: _Balances, hold: NewHold | HoldRow, payee_id: str, description: str
) -> NewJournalEntry:
    """Moves a held amount from its payer to the payee, in the balances as the batch
    leaves them, and returns the journal entry that records it. Both accounts are locked."""
    amount = hold.amount_minor
    payer, payee = balances.rows[hold.account_id], balances.rows[payee_id]
    debit = NewPosting(new_id("pst"), payer.id, -amount, payer.tenant_id)
    credit = NewPosting(new_id("pst"), payee.id, amount, payee.tenant_id)
    rules.assert_balanced([debit.amount_minor, credit.amount_minor])
    balances.apply(payer.id, current_delta=-amount, held_delta=-amount)
    balances.apply(payee.id, current_delta=amount, held_delta=0)
    return NewJournalEntry(
        id=new_id("jnl"),
        tenant_id=hold.tenant_id,
        kind="transfer",
        transaction_id=hold.id,
        description=description,
        lines=(
            (debit, balances.current[payer.id], hold.currency_code),
            (credit, balances.current[payee.id], hold.currency_code),
        ),
    )


def _payment_events(balances: _Balances, hold_id: str, payer_id: str, payee_id: str) -> list[NewEvent]:
    events = []
    for account_id, cause in ((payer_id, "payment_sent"), (payee_id, "payment_received")):
        event = balances.balance_event(account_id, cause=cause, transaction_id=hold_id)
        if event is not None:
            events.append(event)
    return events


def _hold_decided(
    order: HoldOrder, balances: _Balances, entries: list[NewJournalEntry], events: list[NewEvent]
) -> NewHold:
    """The hold of an order that passed every rule, applied to the batch's balances; a
    hold posted at once also moves the money, with its journal entry."""
    payer = balances.rows[order.account_id]
    balances.apply(payer.id, current_delta=0, held_delta=order.amount_minor)
    hold = NewHold(
        id=order.hold_id,
        tenant_id=payer.tenant_id,
        account_id=payer.id,
        amount_minor=order.amount_minor,
        currency_code=order.currency_code,
        description=order.description,
        status=rules.HELD,
    )
    if not order.post_at_once:
        event = balances.balance_event(payer.id, cause="hold_placed", transaction_id=order.hold_id)
        events.extend([event] if event is not None else [])
        return hold
    entry = _transfer(balances, hold, order.payee_account_id, order.description)
    entries.append(entry)
    events.extend(_payment_events(balances, order.hold_id, payer.id, order.payee_account_id))
    return replace(
        hold, status=rules.POSTED, payee_account_id=order.payee_account_id, journal_entry_id=entry.id
    )


class Holds:
    def __init__(self, engine: AsyncEngine, direct: DirectPool) -> None:
        self._engine = engine
        # Placing (every payment's ledger step): its unit of work on psycopg itself.
        self._direct = direct

    # placing

    async def place_many(
        self, orders: Sequence[HoldOrder], *, atomic: bool = False
    ) -> list[Outcome[PlacedHold]]:
        results: list[Outcome[PlacedHold] | None] = [None] * len(orders)
        checked: dict[int, HoldOrder] = {}
        for index, order in enumerate(orders):
            try:
                checked[index] = _check_order(order)
            except ServiceError as error:
                results[index] = error
        if atomic and len(checked) < len(orders):
            return [result or _aborted() for result in results]
        for attempt in range(PLACE_ATTEMPTS_MAX):
            try:
                async with self._direct.transaction() as conn:
                    decided = await self._place(conn, checked, atomic=atomic, look_for_earlier=attempt > 0)
                break
            except _Collision:
                if attempt + 1 == PLACE_ATTEMPTS_MAX:
                    raise
        for index, outcome in decided.items():
            results[index] = outcome
        assert all(result is not None for result in results)
        return [result for result in results if result is not None]

    async def _place(
        self, conn: DirectConnection, orders: dict[int, HoldOrder], *, atomic: bool, look_for_earlier: bool
    ) -> dict[int, Outcome[PlacedHold]]:
        # Payers, and the payees of holds posted at once, are locked (in one statement, in
        # id order); other payees are only checked.
        locked_ids = [o.account_id for o in orders.values()] + [
            o.payee_account_id for o in orders.values() if o.post_at_once
        ]
        now = utc_now()
        # Asked inside this unit of work: the server it commits on (`_record_made_durable`).
        server = (
            await server_identity(conn) if any(o.unflushed_record_server for o in orders.values()) else ""
        )
        balances = _Balances(await repository.accounts_by_id(conn, locked_ids, for_update=True))
        payee_ids = [
            o.payee_account_id
            for o in orders.values()
            if o.payee_account_id and o.payee_account_id not in balances.rows
        ]
        payees = {**balances.rows, **await repository.accounts_by_id(conn, payee_ids, for_update=False)}
        existing = (
            await repository.get_holds(conn, [o.hold_id for o in orders.values()], for_update=False)
            if look_for_earlier
            else {}
        )
        outcomes: dict[int, Outcome[PlacedHold]] = {}
        new: dict[int, NewHold] = {}
        entries: list[NewJournalEntry] = []
        placed_in_batch: dict[str, int] = {}
        repeats: dict[int, int] = {}
        events: list[NewEvent] = []
        for index, order in orders.items():
            try:
                earlier_hold = existing.get(order.hold_id)
                if earlier_hold is not None:
                    _same_hold(earlier_hold, order)
                    payer = _visible_payer(balances.rows.get(order.account_id), order)
                    outcomes[index] = PlacedHold(earlier_hold, payer, payees.get(order.payee_account_id))
                    continue
                if order.hold_id in placed_in_batch:
                    earlier = new[placed_in_batch[order.hold_id]]
                    if earlier.account_id != order.account_id or earlier.amount_minor != order.amount_minor:
                        raise ServiceError(
                            "INVALID_REQUEST",
                            "A hold with this id exists for a different account or amount",
                            {"holdId": order.hold_id},
                        )
                    repeats[index] = placed_in_batch[order.hold_id]
                    continue
                if order.not_after is not None and now > order.not_after:
                    raise ServiceError("SERVICE_UNAVAILABLE", "The hold was decided after its caller gave up")
                _record_made_durable(order, server)
                _decide_hold(order, balances, payees)
            except ServiceError as error:
                outcomes[index] = error
                continue
            hold = _hold_decided(order, balances, entries, events)
            new[index] = hold
            placed_in_batch[order.hold_id] = index
        if atomic and any(isinstance(outcome, ServiceError) for outcome in outcomes.values()):
            # Nothing was written yet: the unit of work ends without a change.
            return {
                index: refused if isinstance(refused := outcomes.get(index), ServiceError) else _aborted()
                for index in orders
            }
        inserted = await repository.write_placed_holds(
            conn, list(new.values()), entries, balances.deltas(), events
        )
        if len(inserted) != len(new):
            raise _Collision
        for index, hold in new.items():
            order = orders[index]
            # What the answer says of the accounts (tenant, currency, status) is as locked.
            outcomes[index] = PlacedHold(
                inserted[hold.id], balances.rows[hold.account_id], payees.get(order.payee_account_id)
            )
        for index, first_index in repeats.items():
            outcomes[index] = outcomes[first_index]
        return outcomes

    # posting

    async def post_many(self, orders: Sequence[PostOrder]) -> list[Outcome[HoldRow]]:
        results: list[Outcome[HoldRow] | None] = [None] * len(orders)
        checked: dict[int, PostOrder] = {}
        for index, order in enumerate(orders):
            try:
                _check_hold_id(order.hold_id)
                checked[index] = order
            except ServiceError as error:
                results[index] = error
        if checked:
            async with self._direct.transaction() as conn:
                for index, outcome in (await self._post(conn, checked)).items():
                    results[index] = outcome
        return [result for result in results if result is not None]

    async def _post(
        self, conn: DirectConnection, orders: dict[int, PostOrder]
    ) -> dict[int, Outcome[HoldRow]]:
        holds = await repository.get_holds(conn, [o.hold_id for o in orders.values()], for_update=True)
        account_ids = [h.account_id for h in holds.values()] + [o.payee_account_id for o in orders.values()]
        balances = _Balances(await repository.accounts_by_id(conn, account_ids, for_update=True))
        outcomes: dict[int, Outcome[HoldRow]] = {}
        finished: dict[str, HoldOutcome] = {}
        entries: list[NewJournalEntry] = []
        events: list[NewEvent] = []
        for index, order in orders.items():
            try:
                hold = holds.get(order.hold_id)
                if hold is None:
                    raise ServiceError("NOT_FOUND", "Hold not found", {"holdId": order.hold_id})
                if order.hold_id in finished:
                    done = finished[order.hold_id]
                    if done.payee_account_id != order.payee_account_id:
                        raise ServiceError(
                            "INVALID_REQUEST", "Hold was posted to another account", {"holdId": hold.id}
                        )
                    continue
                outcome = self._decide_post(hold, order, balances)
            except ServiceError as error:
                outcomes[index] = error
                continue
            if outcome is not None:
                outcomes[index] = outcome
                continue
            description = order.description[:DESCRIPTION_LENGTH_MAX] or hold.description
            entry = _transfer(balances, hold, order.payee_account_id, description)
            entries.append(entry)
            finished[hold.id] = HoldOutcome(hold.id, rules.POSTED, order.payee_account_id, entry.id)
            events.extend(_payment_events(balances, hold.id, hold.account_id, order.payee_account_id))
        written = await repository.write_finished_holds(
            conn, list(finished.values()), entries, balances.deltas(), events
        )
        assert len(written) == len(finished), "a locked HELD hold changed under the batch"
        for index, order in orders.items():
            if index not in outcomes:
                outcomes[index] = written[order.hold_id]
        return outcomes

    @staticmethod
    def _decide_post(hold: HoldRow, order: PostOrder, balances: _Balances) -> HoldRow | None:
        """The hold as it stands when the post already happened; None when it is to be
        posted now. Raises the refusal otherwise."""
        if hold.status == rules.POSTED:
            if hold.payee_account_id != order.payee_account_id:
                raise ServiceError(
                    "INVALID_REQUEST", "Hold was posted to another account", {"holdId": hold.id}
                )
            return hold
        if hold.status == rules.VOIDED:
            raise ServiceError("INVALID_REQUEST", "Hold was voided and cannot be posted", {"holdId": hold.id})
        if order.payee_account_id == hold.account_id:
            raise ServiceError("INVALID_REQUEST", "Payer and payee must differ", {"field": "toAccountId"})
        payer = balances.rows[hold.account_id]
        payee = balances.rows.get(order.payee_account_id)
        if payee is None:
            raise ServiceError("NOT_FOUND", "Account not found", {"accountId": order.payee_account_id})
        rules.require_active(payer.id, payer.status)
        rules.require_active(payee.id, payee.status)
        rules.require_same_currency(hold.currency_code, payee.currency_code, field="toAccountId")
        rules.require_room_to_receive(
            payee.id,
            amount_minor=hold.amount_minor,
            current_minor=balances.current[payee.id],
            currency=payee.currency_code,
            field="toAccountId",
        )
        return None

    # voiding

    async def void_many(self, hold_ids: Sequence[str]) -> list[Outcome[HoldRow]]:
        results: list[Outcome[HoldRow] | None] = [None] * len(hold_ids)
        checked: dict[int, str] = {}
        for index, hold_id in enumerate(hold_ids):
            try:
                _check_hold_id(hold_id)
                checked[index] = hold_id
            except ServiceError as error:
                results[index] = error
        if checked:
            async with self._direct.transaction() as conn:
                for index, outcome in (await self._void(conn, checked)).items():
                    results[index] = outcome
        return [result for result in results if result is not None]

    async def _void(self, conn: DirectConnection, hold_ids: dict[int, str]) -> dict[int, Outcome[HoldRow]]:
        holds = await repository.get_holds(conn, list(hold_ids.values()), for_update=True)
        to_void = {h.id: h for h in holds.values() if h.status == rules.HELD}
        balances = _Balances(
            await repository.accounts_by_id(conn, [h.account_id for h in to_void.values()], for_update=True)
        )
        outcomes: dict[int, Outcome[HoldRow]] = {}
        events: list[NewEvent] = []
        for index, hold_id in hold_ids.items():
            hold = holds.get(hold_id)
            if hold is None:
                outcomes[index] = ServiceError("NOT_FOUND", "Hold not found", {"holdId": hold_id})
            elif hold.status == rules.POSTED:
                outcomes[index] = ServiceError(
                    "INVALID_REQUEST", "Hold was posted and cannot be voided", {"holdId": hold_id}
                )
            elif hold.status == rules.VOIDED:
                outcomes[index] = hold
        voiding = [hold for hold_id, hold in to_void.items()]
        for hold in voiding:
            balances.apply(hold.account_id, current_delta=0, held_delta=-hold.amount_minor)
            event = balances.balance_event(hold.account_id, cause="hold_released", transaction_id=hold.id)
            if event is not None:
                events.append(event)
        written = await repository.write_finished_holds(
            conn,
            [HoldOutcome(hold.id, rules.VOIDED, None, None) for hold in voiding],
            [],
            balances.deltas(),
            events,
        )
        assert len(written) == len(voiding), "a locked HELD hold changed under the batch"
        for index, hold_id in hold_ids.items():
            if index not in outcomes:
                outcomes[index] = written[hold_id]
        return outcomes

    async def get(self, hold_id: str) -> HoldRow:
        async with autocommit(self._engine) as conn:
            hold = await repository.get_hold(conn, hold_id)
        if hold is None:
            raise ServiceError("NOT_FOUND", "Hold not found", {"holdId": hold_id})
        return hold
