"""Calls from the payment saga to the accounts service's LedgerService.

Concurrent steps of many payments are gathered (corelib.batching) into one PlaceHolds,
PostHolds or VoidHolds call, so the saga pays one round trip per batch. Each payment gets
its own outcome: the ledger's result, the ServiceError the ledger refused it with (a
business answer: insufficient funds, inactive account…), or LedgerUnavailable when the
outcome is unknown (unreachable, deadline, crash) and the saga must ask again later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final, TypeVar

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from payment_engine_protos.accounts.v1 import accounts_pb2, accounts_pb2_grpc

from corelib.auth_client import ServiceTokenSource
from corelib.batching import Batcher, QueueFull
from corelib.errors import ServiceError
from corelib.grpc_pipeline import error_from_rpc

LEDGER_CALL_TIMEOUT_S: Final = 5.0
BUSINESS_REASONS: Final = frozenset(
    {"INSUFFICIENT_FUNDS", "INVALID_ACCOUNT_STATUS", "NOT_FOUND", "INVALID_REQUEST", "BATCH_ABORTED"}
)
# Steps of concurrent payments share calls: up to 500 per call, one call in flight (what
# arrives meanwhile makes the next, fuller call), and at most 20,000 steps waiting before
# new ones are refused.
GROUP_BOUNDS: Final[dict[str, Any]] = {"batch_size_max": 500, "queued_max": 20_000, "flushes_max": 1}
DESCRIBE_ACCOUNTS_MAX: Final = 100

ResultT = TypeVar("ResultT")
Outcome = Any  # ResultT | ServiceError | LedgerUnavailable, per item


class LedgerUnavailable(Exception):
    """The call's outcome is unknown."""


def _item_error(error: accounts_pb2.LedgerItemError) -> ServiceError | LedgerUnavailable:
    if error.reason not in BUSINESS_REASONS:
        return LedgerUnavailable(f"{error.reason}: {error.message}")
    return ServiceError(error.reason, error.message, json_format.MessageToDict(error.details))


class LedgerClient:
    def __init__(self, channel: grpc.aio.Channel, tokens: ServiceTokenSource) -> None:
        self._stub = accounts_pb2_grpc.LedgerServiceStub(channel)
        self._tokens = tokens
        self._placing: Batcher[accounts_pb2.PlaceHoldRequest, accounts_pb2.PlaceHoldResponse] = Batcher(
            self._place_batch, name="ledger_place", **GROUP_BOUNDS
        )
        self._posting: Batcher[accounts_pb2.PostHoldRequest, accounts_pb2.Hold] = Batcher(
            self._post_batch, name="ledger_post", **GROUP_BOUNDS
        )
        self._voiding: Batcher[accounts_pb2.VoidHoldRequest, accounts_pb2.Hold] = Batcher(
            self._void_batch, name="ledger_void", **GROUP_BOUNDS
        )

    async def _call(self, method: str, request: Message) -> Any:
        try:
            metadata = await self._tokens.metadata()
            return await getattr(self._stub, method)(
                request, metadata=metadata, timeout=LEDGER_CALL_TIMEOUT_S
            )
        except grpc.aio.AioRpcError as exc:
            error = error_from_rpc(exc)
            if error.reason in BUSINESS_REASONS and exc.code() not in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.DEADLINE_EXCEEDED,
            ):
                raise error from exc
            raise LedgerUnavailable(f"{method}: {exc.code().name}") from exc
        except ServiceError as exc:
            raise LedgerUnavailable(f"{method}: {exc.reason}") from exc

    # batches, as the batchers send them

    async def _place_batch(
        self, requests: Sequence[accounts_pb2.PlaceHoldRequest]
    ) -> list[accounts_pb2.PlaceHoldResponse | BaseException]:
        return await self._place(requests, atomic=False)

    async def _place(
        self, requests: Sequence[accounts_pb2.PlaceHoldRequest], *, atomic: bool
    ) -> list[accounts_pb2.PlaceHoldResponse | BaseException]:
        response = await self._call(
            "PlaceHolds", accounts_pb2.PlaceHoldsRequest(holds=requests, atomic=atomic)
        )
        return [
            result.placed if result.HasField("placed") else _item_error(result.error)
            for result in response.results
        ]

    async def _post_batch(self, requests: Sequence[accounts_pb2.PostHoldRequest]) -> list[Any]:
        response = await self._call("PostHolds", accounts_pb2.PostHoldsRequest(holds=requests))
        return [
            result.hold if result.HasField("hold") else _item_error(result.error)
            for result in response.results
        ]

    async def _void_batch(self, requests: Sequence[accounts_pb2.VoidHoldRequest]) -> list[Any]:
        response = await self._call("VoidHolds", accounts_pb2.VoidHoldsRequest(holds=requests))
        return [
            result.hold if result.HasField("hold") else _item_error(result.error)
            for result in response.results
        ]

    # what the saga calls

    async def place_holds(
        self, requests: Sequence[accounts_pb2.PlaceHoldRequest], *, atomic: bool = False
    ) -> list[accounts_pb2.PlaceHoldResponse | BaseException]:
        """One outcome per request; with `atomic`, all are placed or none (one call)."""
        if atomic:
            try:
                return await self._place(requests, atomic=True)
            except LedgerUnavailable as exc:
                return [exc for _ in requests]
        return await _gathered(self._placing, requests)

    async def post_holds(self, requests: Sequence[accounts_pb2.PostHoldRequest]) -> list[Any]:
        return await _gathered(self._posting, requests)

    async def void_holds(self, requests: Sequence[accounts_pb2.VoidHoldRequest]) -> list[Any]:
        return await _gathered(self._voiding, requests)

    async def find_hold(self, hold_id: str) -> accounts_pb2.Hold | None:
        try:
            response = await self._call("GetHold", accounts_pb2.GetHoldRequest(hold_id=hold_id))
        except ServiceError as error:
            if error.reason == "NOT_FOUND":
                return None
            raise
        assert isinstance(response, accounts_pb2.GetHoldResponse)
        return response.hold

    async def describe_accounts(self, account_ids: list[str]) -> dict[str, accounts_pb2.AccountFacts]:
        found: dict[str, accounts_pb2.AccountFacts] = {}
        for start in range(0, len(account_ids), DESCRIBE_ACCOUNTS_MAX):
            response = await self._call(
                "DescribeAccounts",
                accounts_pb2.DescribeAccountsRequest(
                    account_ids=account_ids[start : start + DESCRIBE_ACCOUNTS_MAX]
                ),
            )
            assert isinstance(response, accounts_pb2.DescribeAccountsResponse)
            found.update({facts.id: facts for facts in response.accounts})
        return found


async def _gathered(batcher: Batcher[Any, Any], requests: Sequence[Any]) -> list[Any]:
    try:
        futures = batcher.submit_many(list(requests))
    except QueueFull as exc:
        return [LedgerUnavailable(str(exc)) for _ in requests]
    return list(await asyncio.gather(*futures, return_exceptions=True))
