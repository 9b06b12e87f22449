"""Servicers of the accounts service: the public AccountsService and the internal
LedgerService. Proto in → use case → proto out; amounts are converted exactly
between major-unit doubles and minor units here and nowhere else."""

from __future__ import annotations

import asyncio
from typing import Any, Final, TypeVar

from google.protobuf import json_format, struct_pb2
from payment_engine_protos.accounts.v1 import accounts_pb2, accounts_pb2_grpc

from corelib.batching import Batcher, QueueFull
from corelib.errors import ServiceError
from corelib.grpc_pipeline import RpcContext
from corelib.money import major_from_minor, positive_minor_from_major
from corelib.request_context import current_principal
from corelib.timestamps import from_timestamp, to_timestamp, utc_now
from services.accounts.accounts_book import AccountsBook
from services.accounts.funding import Funding
from services.accounts.holds import BATCH_SIZE_MAX, HoldOrder, Holds, PlacedHold, PostOrder
from services.accounts.repository import AccountRow, HoldRow, PostingRow
from services.accounts.statements import Statements

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

DESCRIBE_ACCOUNTS_MAX: Final = 100
# Concurrent ledger calls share a unit of work: up to 500 items per transaction, one
# transaction in flight (what arrives meanwhile makes the next batch: fewer, fuller
# batches cost less per item than more, emptier ones), and at most 20,000 items waiting
# before callers are refused.
GROUP_COMMIT_BOUNDS: Final[dict[str, Any]] = {"batch_size_max": 500, "queued_max": 20_000, "flushes_max": 1}

_HOLD_STATUS = {
    "HELD": accounts_pb2.HOLD_STATUS_HELD,
    "POSTED": accounts_pb2.HOLD_STATUS_POSTED,
    "VOIDED": accounts_pb2.HOLD_STATUS_VOIDED,
}
_ACCOUNT_STATUS = {
    "ACTIVE": accounts_pb2.ACCOUNT_STATUS_ACTIVE,
    "FROZEN": accounts_pb2.ACCOUNT_STATUS_FROZEN,
    "CLOSED": accounts_pb2.ACCOUNT_STATUS_CLOSED,
}


def _tenant() -> str:
    principal = current_principal()
    if not principal.tenant_id:
        raise ServiceError("FORBIDDEN", "Accounts belong to a tenant; this caller has none")
    return principal.tenant_id


def account_message(account: AccountRow) -> accounts_pb2.Account:
    currency = account.currency_code
    metadata = struct_pb2.Struct()
    metadata.update(account.metadata)
    return accounts_pb2.Account(
        id=account.id,
        name=account.name,
        currency_code=currency,
        status=account.status,
        metadata=metadata,
        available_balance=major_from_minor(account.available_balance_minor, currency),
        current_balance=major_from_minor(account.current_balance_minor, currency),
        held_balance=major_from_minor(account.held_balance_minor, currency),
        created_at=to_timestamp(account.created_at),
        updated_at=to_timestamp(account.updated_at),
    )


def balance_message(account: AccountRow) -> accounts_pb2.GetBalanceResponse:
    currency = account.currency_code
    return accounts_pb2.GetBalanceResponse(
        account_id=account.id,
        available_balance=major_from_minor(account.available_balance_minor, currency),
        current_balance=major_from_minor(account.current_balance_minor, currency),
        held_balance=major_from_minor(account.held_balance_minor, currency),
        currency_code=currency,
        as_of=to_timestamp(utc_now()),
    )


def entry_message(posting: PostingRow) -> accounts_pb2.Entry:
    currency = posting.currency_code
    return accounts_pb2.Entry(
        id=posting.id,
        amount=major_from_minor(abs(posting.amount_minor), currency),
        direction="CREDIT" if posting.amount_minor > 0 else "DEBIT",
        running_balance=major_from_minor(posting.balance_after_minor, currency),
        currency_code=currency,
        transaction_id=posting.transaction_id or "",
        journal_entry_id=posting.journal_entry_id,
        description=posting.description,
        created_at=to_timestamp(posting.created_at),
    )


def hold_message(hold: HoldRow) -> accounts_pb2.Hold:
    return accounts_pb2.Hold(
        id=hold.id,
        account_id=hold.account_id,
        amount_minor=hold.amount_minor,
        currency_code=hold.currency_code,
        status=_HOLD_STATUS[hold.status],
        payee_account_id=hold.payee_account_id or "",
        journal_entry_id=hold.journal_entry_id or "",
        created_at=to_timestamp(hold.created_at),
        updated_at=to_timestamp(hold.updated_at),
    )


class AccountsApi(accounts_pb2_grpc.AccountsServiceServicer):
    def __init__(
        self, book: AccountsBook, statements: Statements, funding: Funding, *, sandbox: bool
    ) -> None:
        self._book = book
        self._statements = statements
        self._funding = funding
        self._sandbox = sandbox

    async def CreateAccount(
        self, request: accounts_pb2.CreateAccountRequest, context: RpcContext
    ) -> accounts_pb2.CreateAccountResponse:
        metadata: dict[str, Any] = (
            json_format.MessageToDict(request.metadata) if request.HasField("metadata") else {}
        )
        account = await self._book.open(
            _tenant(), name=request.name, currency_code=request.currency_code, metadata=metadata
        )
        return accounts_pb2.CreateAccountResponse(account=account_message(account))

    async def GetAccount(
        self, request: accounts_pb2.GetAccountRequest, context: RpcContext
    ) -> accounts_pb2.GetAccountResponse:
        return accounts_pb2.GetAccountResponse(
            account=account_message(await self._book.get(_tenant(), request.id))
        )

    async def ListAccounts(
        self, request: accounts_pb2.ListAccountsRequest, context: RpcContext
    ) -> accounts_pb2.ListAccountsResponse:
        rows, next_token = await self._book.page(
            _tenant(),
            page_size=request.page_size,
            page_token=request.page_token,
            status=request.status,
            currency_code=request.currency_code,
        )
        return accounts_pb2.ListAccountsResponse(
            accounts=[account_message(row) for row in rows], next_page_token=next_token
        )

    async def GetBalance(
        self, request: accounts_pb2.GetBalanceRequest, context: RpcContext
    ) -> accounts_pb2.GetBalanceResponse:
        return balance_message(await self._book.get(_tenant(), request.account_id))

    async def ListEntries(
        self, request: accounts_pb2.ListEntriesRequest, context: RpcContext
    ) -> accounts_pb2.ListEntriesResponse:
        _, rows, next_token = await self._statements.entries(
            _tenant(), request.account_id, page_size=request.page_size, page_token=request.page_token
        )
        return accounts_pb2.ListEntriesResponse(
            entries=[entry_message(r) for r in rows], next_page_token=next_token
        )

    async def FreezeAccount(
        self, request: accounts_pb2.FreezeAccountRequest, context: RpcContext
    ) -> accounts_pb2.FreezeAccountResponse:
        account = await self._book.change_status(_tenant(), request.id, "freeze")
        return accounts_pb2.FreezeAccountResponse(account=account_message(account))

    async def UnfreezeAccount(
        self, request: accounts_pb2.UnfreezeAccountRequest, context: RpcContext
    ) -> accounts_pb2.UnfreezeAccountResponse:
        account = await self._book.change_status(_tenant(), request.id, "unfreeze")
        return accounts_pb2.UnfreezeAccountResponse(account=account_message(account))

    async def CloseAccount(
        self, request: accounts_pb2.CloseAccountRequest, context: RpcContext
    ) -> accounts_pb2.CloseAccountResponse:
        account = await self._book.change_status(_tenant(), request.id, "close")
        return accounts_pb2.CloseAccountResponse(account=account_message(account))

    async def FundAccount(
        self, request: accounts_pb2.FundAccountRequest, context: RpcContext
    ) -> accounts_pb2.FundAccountResponse:
        if not self._sandbox:
            raise ServiceError("NOT_FOUND", "Resource not found")
        tenant_id = _tenant()
        account = await self._book.get(tenant_id, request.account_id)
        amount_minor = positive_minor_from_major(request.amount, account.currency_code)
        funded, journal_entry_id = await self._funding.fund(
            tenant_id, request.account_id, amount_minor, request.description
        )
        return accounts_pb2.FundAccountResponse(
            balance=balance_message(funded), journal_entry_id=journal_entry_id
        )


def facts_message(account: AccountRow) -> accounts_pb2.AccountFacts:
    return accounts_pb2.AccountFacts(
        id=account.id,
        tenant_id=account.tenant_id,
        currency_code=account.currency_code,
        status=_ACCOUNT_STATUS[account.status],
    )


def placed_message(placed: PlacedHold) -> accounts_pb2.PlaceHoldResponse:
    return accounts_pb2.PlaceHoldResponse(
        hold=hold_message(placed.hold),
        payer=facts_message(placed.payer),
        payee=facts_message(placed.payee) if placed.payee is not None else None,
    )


def item_error(error: BaseException) -> accounts_pb2.LedgerItemError:
    if not isinstance(error, ServiceError):
        # A crash of one item's work is the engine's fault, never the caller's.
        error = ServiceError("INTERNAL_ERROR")
    details = struct_pb2.Struct()
    details.update(error.details)
    return accounts_pb2.LedgerItemError(reason=error.reason, message=error.message, details=details)


def _hold_order(request: accounts_pb2.PlaceHoldRequest) -> HoldOrder:
    return HoldOrder(
        hold_id=request.hold_id,
        tenant_id=request.tenant_id,
        account_id=request.account_id,
        amount_minor=request.amount_minor,
        currency_code=request.currency_code,
        description=request.description,
        debit_authorized=request.debit_authorized,
        payee_account_id=request.payee_account_id,
        not_after=from_timestamp(request.not_after) if request.HasField("not_after") else None,
        post_at_once=request.post_at_once,
        unflushed_record_server=request.unflushed_record_server,
    )


def _batch_size(count: int) -> None:
    if count > BATCH_SIZE_MAX:
        raise ServiceError(
            "INVALID_REQUEST", f"At most {BATCH_SIZE_MAX} holds per call", {"maximum": BATCH_SIZE_MAX}
        )


async def _each(futures: list[asyncio.Future[ResultT]]) -> list[ResultT | BaseException]:
    return await asyncio.gather(*futures, return_exceptions=True)


class LedgerApi(accounts_pb2_grpc.LedgerServiceServicer):
    """Single calls and batch calls alike go through the group-commit batchers, so
    concurrent callers share units of work; an all-or-none batch runs alone."""

    def __init__(self, holds: Holds, book: AccountsBook) -> None:
        self._holds = holds
        self._book = book
        self._placing: Batcher[HoldOrder, PlacedHold] = Batcher(
            holds.place_many, name="place_holds", **GROUP_COMMIT_BOUNDS
        )
        self._posting: Batcher[PostOrder, HoldRow] = Batcher(
            holds.post_many, name="post_holds", **GROUP_COMMIT_BOUNDS
        )
        self._voiding: Batcher[str, HoldRow] = Batcher(
            holds.void_many, name="void_holds", **GROUP_COMMIT_BOUNDS
        )

    async def PlaceHold(
        self, request: accounts_pb2.PlaceHoldRequest, context: RpcContext
    ) -> accounts_pb2.PlaceHoldResponse:
        return placed_message(await _submit(self._placing, _hold_order(request)))

    async def PlaceHolds(
        self, request: accounts_pb2.PlaceHoldsRequest, context: RpcContext
    ) -> accounts_pb2.PlaceHoldsResponse:
        _batch_size(len(request.holds))
        orders = [_hold_order(item) for item in request.holds]
        if request.atomic:
            outcomes: list[PlacedHold | BaseException] = list(
                await self._holds.place_many(orders, atomic=True)
            )
        else:
            outcomes = await _each(_submit_many(self._placing, orders))
        return accounts_pb2.PlaceHoldsResponse(
            results=[
                accounts_pb2.PlaceHoldResult(error=item_error(outcome))
                if isinstance(outcome, BaseException)
                else accounts_pb2.PlaceHoldResult(placed=placed_message(outcome))
                for outcome in outcomes
            ]
        )

    async def PostHold(
        self, request: accounts_pb2.PostHoldRequest, context: RpcContext
    ) -> accounts_pb2.PostHoldResponse:
        order = PostOrder(request.hold_id, request.payee_account_id, request.description)
        return accounts_pb2.PostHoldResponse(hold=hold_message(await _submit(self._posting, order)))

    async def PostHolds(
        self, request: accounts_pb2.PostHoldsRequest, context: RpcContext
    ) -> accounts_pb2.PostHoldsResponse:
        _batch_size(len(request.holds))
        orders = [PostOrder(item.hold_id, item.payee_account_id, item.description) for item in request.holds]
        outcomes = await _each(_submit_many(self._posting, orders))
        return accounts_pb2.PostHoldsResponse(results=[_hold_result(outcome) for outcome in outcomes])

    async def VoidHold(
        self, request: accounts_pb2.VoidHoldRequest, context: RpcContext
    ) -> accounts_pb2.VoidHoldResponse:
        return accounts_pb2.VoidHoldResponse(hold=hold_message(await _submit(self._voiding, request.hold_id)))

    async def VoidHolds(
        self, request: accounts_pb2.VoidHoldsRequest, context: RpcContext
    ) -> accounts_pb2.VoidHoldsResponse:
        _batch_size(len(request.holds))
        outcomes = await _each(_submit_many(self._voiding, [item.hold_id for item in request.holds]))
        return accounts_pb2.VoidHoldsResponse(results=[_hold_result(outcome) for outcome in outcomes])

    async def GetHold(
        self, request: accounts_pb2.GetHoldRequest, context: RpcContext
    ) -> accounts_pb2.GetHoldResponse:
        return accounts_pb2.GetHoldResponse(hold=hold_message(await self._holds.get(request.hold_id)))

    async def DescribeAccounts(
        self, request: accounts_pb2.DescribeAccountsRequest, context: RpcContext
    ) -> accounts_pb2.DescribeAccountsResponse:
        rows = await self._book.describe(list(request.account_ids)[:DESCRIBE_ACCOUNTS_MAX])
        return accounts_pb2.DescribeAccountsResponse(accounts=[facts_message(row) for row in rows])


def _hold_result(outcome: HoldRow | BaseException) -> accounts_pb2.HoldResult:
    if isinstance(outcome, BaseException):
        return accounts_pb2.HoldResult(error=item_error(outcome))
    return accounts_pb2.HoldResult(hold=hold_message(outcome))


async def _submit(batcher: Batcher[ItemT, ResultT], item: ItemT) -> ResultT:
    try:
        return await batcher.submit(item)
    except QueueFull as exc:
        raise ServiceError("SERVICE_UNAVAILABLE", "The ledger is busy; retry shortly") from exc


def _submit_many(batcher: Batcher[ItemT, ResultT], items: list[ItemT]) -> list[asyncio.Future[ResultT]]:
    try:
        return batcher.submit_many(items)
    except QueueFull as exc:
        raise ServiceError("SERVICE_UNAVAILABLE", "The ledger is busy; retry shortly") from exc
