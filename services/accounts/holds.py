"""The ledger side of the payment saga: place a hold, post it to a payee, or void it.

Every step is idempotent by hold id (the transaction id): repeating a step returns
the first outcome and moves nothing twice, so the saga can retry any step after a
crash. Posting a voided hold or voiding a posted one is refused.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from corelib.db import unit_of_work
from corelib.errors import ServiceError
from corelib.ids import new_id
from corelib.money import AMOUNT_MINOR_MAX, validate_currency
from services.accounts import repository, rules
from services.accounts.balance_events import record_balance_change
from services.accounts.repository import HoldRow, NewPosting

DESCRIPTION_LENGTH_MAX: Final = 500
HOLD_ID_LENGTH_MAX: Final = 64
# A concurrent duplicate of the same PlaceHold loses the insert race and re-reads.
PLACE_ATTEMPTS_MAX: Final = 2


def _check_hold_id(hold_id: str) -> None:
    if not hold_id or len(hold_id) > HOLD_ID_LENGTH_MAX:
        raise ServiceError("INVALID_REQUEST", "holdId is required", {"field": "holdId"})


class _DuplicateHold(Exception):
    pass


class Holds:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def place(
        self,
        *,
        hold_id: str,
        tenant_id: str,
        account_id: str,
        amount_minor: int,
        currency_code: str,
        description: str,
        debit_authorized: bool,
    ) -> HoldRow:
        _check_hold_id(hold_id)
        currency = validate_currency(currency_code)
        if not (0 < amount_minor <= AMOUNT_MINOR_MAX):
            raise ServiceError("INVALID_REQUEST", "amount must be greater than zero", {"field": "amount"})
        description = description[:DESCRIPTION_LENGTH_MAX]
        for _ in range(PLACE_ATTEMPTS_MAX):
            try:
                async with unit_of_work(self._engine) as conn:
                    return await self._place(
                        conn,
                        hold_id,
                        tenant_id,
                        account_id,
                        amount_minor,
                        currency,
                        description,
                        debit_authorized,
                    )
            except _DuplicateHold:
                continue
        async with self._engine.connect() as conn:
            existing = await repository.get_hold(conn, hold_id)
        assert existing is not None
        return self._same_hold(existing, account_id, amount_minor)

    async def _place(
        self,
        conn: AsyncConnection,
        hold_id: str,
        tenant_id: str,
        account_id: str,
        amount_minor: int,
        currency: str,
        description: str,
        debit_authorized: bool,
    ) -> HoldRow:
        existing = await repository.get_hold(conn, hold_id)
        if existing is not None:
            return self._same_hold(existing, account_id, amount_minor)
        reserved = await repository.reserve_if_available(conn, account_id, amount_minor)
        account = reserved or await repository.get_account(conn, account_id)
        if account is None or account.kind != rules.CUSTOMER:
            raise ServiceError("NOT_FOUND", "Account not found", {"accountId": account_id})
        if account.tenant_id != tenant_id and not debit_authorized:
            raise ServiceError("NOT_FOUND", "Account not found", {"accountId": account_id})
        if reserved is None:
            rules.require_active(account_id, account.status)
            rules.require_hold_fits(
                account_id,
                amount_minor=amount_minor,
                current_minor=account.current_balance_minor,
                held_minor=account.held_balance_minor,
                currency=account.currency_code,
            )
            raise AssertionError("conditional reserve failed without a reason")
        rules.require_same_currency(currency, account.currency_code, field="fromAccountId")
        hold = await repository.insert_hold(
            conn,
            hold_id=hold_id,
            tenant_id=account.tenant_id,
            account_id=account_id,
            amount_minor=amount_minor,
            currency_code=currency,
            description=description,
        )
        if hold is None:
            raise _DuplicateHold
        await record_balance_change(conn, reserved, cause="hold_placed", transaction_id=hold_id)
        return hold

    @staticmethod
    def _same_hold(existing: HoldRow, account_id: str, amount_minor: int) -> HoldRow:
        if existing.account_id != account_id or existing.amount_minor != amount_minor:
            raise ServiceError(
                "INVALID_REQUEST",
                "A hold with this id exists for a different account or amount",
                {"holdId": existing.id},
            )
        return existing

    async def post(self, *, hold_id: str, payee_account_id: str, description: str) -> HoldRow:
        _check_hold_id(hold_id)
        async with unit_of_work(self._engine) as conn:
            hold = await repository.get_hold(conn, hold_id, for_update=True)
            if hold is None:
                raise ServiceError("NOT_FOUND", "Hold not found", {"holdId": hold_id})
            if hold.status == rules.POSTED:
                if hold.payee_account_id != payee_account_id:
                    raise ServiceError(
                        "INVALID_REQUEST", "Hold was posted to another account", {"holdId": hold_id}
                    )
                return hold
            if hold.status == rules.VOIDED:
                raise ServiceError(
                    "INVALID_REQUEST", "Hold was voided and cannot be posted", {"holdId": hold_id}
                )
            if payee_account_id == hold.account_id:
                raise ServiceError("INVALID_REQUEST", "Payer and payee must differ", {"field": "toAccountId"})
            locked = await repository.lock_accounts(conn, [hold.account_id, payee_account_id])
            payer = locked[hold.account_id]
            payee = locked.get(payee_account_id)
            if payee is None:
                raise ServiceError("NOT_FOUND", "Account not found", {"accountId": payee_account_id})
            rules.require_active(payer.id, payer.status)
            rules.require_active(payee.id, payee.status)
            rules.require_same_currency(hold.currency_code, payee.currency_code, field="toAccountId")
            amount = hold.amount_minor
            debit = NewPosting(new_id("pst"), payer.id, -amount)
            credit = NewPosting(new_id("pst"), payee.id, amount)
            rules.assert_balanced([debit.amount_minor, credit.amount_minor])
            payer_after = await repository.add_to_balances(
                conn, payer.id, current_delta_minor=-amount, held_delta_minor=-amount
            )
            payee_after = await repository.add_to_balances(
                conn, payee.id, current_delta_minor=amount, held_delta_minor=0
            )
            journal_entry_id = new_id("jnl")
            await repository.insert_journal_entry(
                conn,
                journal_entry_id=journal_entry_id,
                kind="transfer",
                transaction_id=hold_id,
                description=description[:DESCRIPTION_LENGTH_MAX] or hold.description,
                lines=[
                    (debit, payer_after.current_balance_minor, hold.currency_code),
                    (credit, payee_after.current_balance_minor, hold.currency_code),
                ],
            )
            posted = await repository.finish_hold(
                conn,
                hold_id,
                status=rules.POSTED,
                payee_account_id=payee.id,
                journal_entry_id=journal_entry_id,
            )
            await record_balance_change(conn, payer_after, cause="payment_sent", transaction_id=hold_id)
            await record_balance_change(conn, payee_after, cause="payment_received", transaction_id=hold_id)
            return posted

    async def void(self, *, hold_id: str) -> HoldRow:
        _check_hold_id(hold_id)
        async with unit_of_work(self._engine) as conn:
            hold = await repository.get_hold(conn, hold_id, for_update=True)
            if hold is None:
                raise ServiceError("NOT_FOUND", "Hold not found", {"holdId": hold_id})
            if hold.status == rules.VOIDED:
                return hold
            if hold.status == rules.POSTED:
                raise ServiceError(
                    "INVALID_REQUEST", "Hold was posted and cannot be voided", {"holdId": hold_id}
                )
            account = await repository.add_to_balances(
                conn, hold.account_id, current_delta_minor=0, held_delta_minor=-hold.amount_minor
            )
            voided = await repository.finish_hold(
                conn, hold_id, status=rules.VOIDED, payee_account_id=None, journal_entry_id=None
            )
            await record_balance_change(conn, account, cause="hold_released", transaction_id=hold_id)
            return voided

    async def get(self, hold_id: str) -> HoldRow:
        async with self._engine.connect() as conn:
            hold = await repository.get_hold(conn, hold_id)
        if hold is None:
            raise ServiceError("NOT_FOUND", "Hold not found", {"holdId": hold_id})
        return hold
