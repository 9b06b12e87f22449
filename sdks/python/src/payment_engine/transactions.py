"""`client.transactions`: payments between accounts and their lifecycle.

transaction = client.transactions.create(CreateTransactionRequest(...))
transaction = client.transactions.create(from_account_id=..., to_account_id=...,
                                         payment_type_id="rtp", amount=Decimal("100.00"))
status = client.transactions.get_status(transaction.id)
final = client.transactions.wait_for_completion(transaction.id)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from payment_engine import wire
from payment_engine.errors import WaitTimeoutError
from payment_engine.models import CreateTransactionRequest, Transaction, TransactionStatus
from payment_engine.money import AmountLike
from payment_engine.pagination import AsyncPaginator, Page, Paginator, page_params, parse_page
from payment_engine.resource import AsyncResource, SyncResource, compact
from payment_engine.transport import Operation

PATH: Final = "/api/v1/transactions"
WAIT_TIMEOUT_DEFAULT_S: Final = 60.0
POLL_INTERVAL_DEFAULT_S: Final = 1.0
POLL_INTERVAL_MAX_DEFAULT_S: Final = 16.0
POLLS_MAX: Final = 10_000


def _transaction(document: Any) -> Transaction:
    return Transaction.from_json(wire.require_object(document, "a transaction"))


def _status(document: Any) -> TransactionStatus:
    return TransactionStatus.from_json(wire.require_object(document, "a transaction status"))


def _page(document: Any) -> Page[Transaction]:
    return parse_page(document, "transactions", Transaction.from_json)


def _id_of(transaction: str | Transaction) -> str:
    return transaction.id if isinstance(transaction, Transaction) else transaction


def build_request(
    request: CreateTransactionRequest | None,
    *,
    from_account_id: str | None,
    to_account_id: str | None,
    payment_type_id: str | None,
    amount: AmountLike | None,
    currency_code: str | None,
    description: str | None,
    external_reference: str | None,
    metadata: Mapping[str, Any] | None,
) -> CreateTransactionRequest:
    """A request object, or keyword arguments — not both."""
    fields = {
        "from_account_id": from_account_id,
        "to_account_id": to_account_id,
        "payment_type_id": payment_type_id,
        "amount": amount,
        "currency_code": currency_code,
        "description": description,
        "external_reference": external_reference,
        "metadata": metadata,
    }
    given = sorted(name for name, value in fields.items() if value is not None)
    if request is not None:
        if given:
            raise TypeError(f"pass a CreateTransactionRequest or keyword arguments, not both ({given})")
        if not isinstance(request, CreateTransactionRequest):
            raise TypeError(f"request must be a CreateTransactionRequest, not {type(request).__name__}")
        return request
    missing = [
        name
        for name in ("from_account_id", "to_account_id", "payment_type_id", "amount")
        if fields[name] is None
    ]
    if (
        missing
        or from_account_id is None
        or to_account_id is None
        or payment_type_id is None
        or amount is None
    ):
        raise TypeError(f"missing required arguments: {', '.join(missing)}")
    return CreateTransactionRequest(
        from_account_id=from_account_id,
        to_account_id=to_account_id,
        payment_type_id=payment_type_id,
        amount=amount,
        currency_code=currency_code,
        description=description,
        external_reference=external_reference,
        metadata=metadata,
    )


def create_operation(
    request: CreateTransactionRequest, idempotency_key: str | None
) -> Operation[Transaction]:
    # The engine deduplicates payments by Idempotency-Key: retrying is always safe.
    return Operation("POST", PATH, _transaction, body=request.to_json(), idempotency_key=idempotency_key)


def get_operation(transaction_id: str) -> Operation[Transaction]:
    return Operation("GET", f"{PATH}/{wire.path_segment(transaction_id, 'transaction_id')}", _transaction)


def status_operation(transaction_id: str) -> Operation[TransactionStatus]:
    return Operation("GET", f"{PATH}/{wire.path_segment(transaction_id, 'transaction_id')}/status", _status)


def cancel_operation(
    transaction_id: str, reason: str | None, idempotency_key: str | None
) -> Operation[Transaction]:
    # Canceling twice answers the canceled payment again: safe to retry.
    return Operation(
        "POST",
        f"{PATH}/{wire.path_segment(transaction_id, 'transaction_id')}:cancel",
        _transaction,
        body=compact({"reason": reason}),
        idempotency_key=idempotency_key,
    )


def list_filters(
    *,
    status: str | None,
    account_id: str | None,
    payment_type_id: str | None,
    external_reference: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
) -> dict[str, str | None]:
    return {
        "status": status,
        "accountId": account_id,
        "paymentTypeId": payment_type_id,
        "externalReference": external_reference,
        "createdAfter": wire.format_timestamp(created_after) if created_after is not None else None,
        "createdBefore": wire.format_timestamp(created_before) if created_before is not None else None,
    }


def list_operation(
    filters: dict[str, str | None], token: str | None, size: int
) -> Operation[Page[Transaction]]:
    return Operation("GET", PATH, _page, params=page_params(filters, token, size))


def _check_wait(timeout: float, poll_interval: float, poll_interval_max: float) -> None:
    if timeout < 0 or poll_interval <= 0 or poll_interval_max < poll_interval:
        raise ValueError("need timeout >= 0, poll_interval > 0 and poll_interval_max >= poll_interval")


class Transactions(SyncResource):
    def create(
        self,
        request: CreateTransactionRequest | None = None,
        /,
        *,
        from_account_id: str | None = None,
        to_account_id: str | None = None,
        payment_type_id: str | None = None,
        amount: AmountLike | None = None,
        currency_code: str | None = None,
        description: str | None = None,
        external_reference: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Transaction:
        """Creates a payment: funds are held on the payer at once, the rail then completes
        or fails it. Safe to retry: pass your own `idempotency_key` (an order id) to make
        repeats across processes safe too; otherwise one is generated for this call."""
        built = build_request(
            request,
            from_account_id=from_account_id,
            to_account_id=to_account_id,
            payment_type_id=payment_type_id,
            amount=amount,
            currency_code=currency_code,
            description=description,
            external_reference=external_reference,
            metadata=metadata,
        )
        return self._transport.request(create_operation(built, idempotency_key))

    def get(self, transaction_id: str) -> Transaction:
        return self._transport.request(get_operation(transaction_id))

    def get_status(self, transaction_id: str) -> TransactionStatus:
        return self._transport.request(status_operation(transaction_id))

    def list(
        self,
        *,
        status: str | None = None,
        account_id: str | None = None,
        payment_type_id: str | None = None,
        external_reference: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Paginator[Transaction]:
        """Payments touching your accounts, newest first; iterate to get them all."""
        filters = list_filters(
            status=status,
            account_id=account_id,
            payment_type_id=payment_type_id,
            external_reference=external_reference,
            created_after=created_after,
            created_before=created_before,
        )
        return Paginator(
            lambda token, size: self._transport.request(list_operation(filters, token, size)),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )

    def cancel(
        self, transaction_id: str, *, reason: str | None = None, idempotency_key: str | None = None
    ) -> Transaction:
        """Cancels a batch (ACH) payment still PENDING before its settlement window."""
        return self._transport.request(cancel_operation(transaction_id, reason, idempotency_key))

    def wait_for_completion(
        self,
        transaction: str | Transaction,
        *,
        timeout: float = WAIT_TIMEOUT_DEFAULT_S,
        poll_interval: float = POLL_INTERVAL_DEFAULT_S,
        poll_interval_max: float = POLL_INTERVAL_MAX_DEFAULT_S,
    ) -> TransactionStatus:
        """Polls `get_status` until the payment is COMPLETED, FAILED or CANCELED and
        returns that status (check `.status`; a failed payment is not an exception).
        Waits `poll_interval` seconds, doubling up to `poll_interval_max`, as the guide's
        pollTransactionStatus; raises WaitTimeoutError after `timeout` seconds."""
        _check_wait(timeout, poll_interval, poll_interval_max)
        transaction_id = _id_of(transaction)
        clock, sleep = self._transport.clock, self._transport.sleep
        deadline = clock() + timeout
        interval = poll_interval
        status: TransactionStatus | None = None
        for _ in range(POLLS_MAX):
            status = self.get_status(transaction_id)
            if status.is_final:
                return status
            remaining = deadline - clock()
            if remaining <= 0:
                break
            sleep(min(interval, remaining))
            interval = min(interval * 2, poll_interval_max)
        raise WaitTimeoutError(
            f"Transaction {transaction_id} is still {status.status if status else 'unknown'} "
            f"after {timeout:g}s",
            last_status=status,
        )


class AsyncTransactions(AsyncResource):
    async def create(
        self,
        request: CreateTransactionRequest | None = None,
        /,
        *,
        from_account_id: str | None = None,
        to_account_id: str | None = None,
        payment_type_id: str | None = None,
        amount: AmountLike | None = None,
        currency_code: str | None = None,
        description: str | None = None,
        external_reference: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Transaction:
        built = build_request(
            request,
            from_account_id=from_account_id,
            to_account_id=to_account_id,
            payment_type_id=payment_type_id,
            amount=amount,
            currency_code=currency_code,
            description=description,
            external_reference=external_reference,
            metadata=metadata,
        )
        return await self._transport.request(create_operation(built, idempotency_key))

    async def get(self, transaction_id: str) -> Transaction:
        return await self._transport.request(get_operation(transaction_id))

    async def get_status(self, transaction_id: str) -> TransactionStatus:
        return await self._transport.request(status_operation(transaction_id))

    def list(
        self,
        *,
        status: str | None = None,
        account_id: str | None = None,
        payment_type_id: str | None = None,
        external_reference: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> AsyncPaginator[Transaction]:
        filters = list_filters(
            status=status,
            account_id=account_id,
            payment_type_id=payment_type_id,
            external_reference=external_reference,
            created_after=created_after,
            created_before=created_before,
        )
        return AsyncPaginator(
            lambda token, size: self._transport.request(list_operation(filters, token, size)),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )

    async def cancel(
        self, transaction_id: str, *, reason: str | None = None, idempotency_key: str | None = None
    ) -> Transaction:
        return await self._transport.request(cancel_operation(transaction_id, reason, idempotency_key))

    async def wait_for_completion(
        self,
        transaction: str | Transaction,
        *,
        timeout: float = WAIT_TIMEOUT_DEFAULT_S,
        poll_interval: float = POLL_INTERVAL_DEFAULT_S,
        poll_interval_max: float = POLL_INTERVAL_MAX_DEFAULT_S,
    ) -> TransactionStatus:
        _check_wait(timeout, poll_interval, poll_interval_max)
        transaction_id = _id_of(transaction)
        clock, sleep = self._transport.clock, self._transport.sleep
        deadline = clock() + timeout
        interval = poll_interval
        status: TransactionStatus | None = None
        for _ in range(POLLS_MAX):
            status = await self.get_status(transaction_id)
            if status.is_final:
                return status
            remaining = deadline - clock()
            if remaining <= 0:
                break
            await sleep(min(interval, remaining))
            interval = min(interval * 2, poll_interval_max)
        raise WaitTimeoutError(
            f"Transaction {transaction_id} is still {status.status if status else 'unknown'} "
            f"after {timeout:g}s",
            last_status=status,
        )
