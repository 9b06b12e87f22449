"""Calls from the payment saga to the accounts service's LedgerService.

Concurrent steps of many payments are gathered (corelib.batching) into one PlaceHolds,
PostHolds or VoidHolds call, so the saga pays one round trip per batch. Each payment gets
its own outcome: the ledger's result, the ServiceError the ledger refused it with (a
business answer: insufficient funds, inactive account…), or LedgerUnavailable when the
outcome is unknown (unreachable, deadline, crash) and the saga must ask again later.

The calls travel in the accounts service's call tunnel (corelib/call_tunnel_client.py):
a message on a stream that stays open, where a unary call opens an HTTP/2 stream of its
own and costs both processes more CPU and the payment a longer wait (0.4 to 0.5 ms more per
call, measured at 500 payments/s). They answer exactly as the unary call would, and a
service without the tunnel, or a full tunnel, gets the unary call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final, TypeVar

import grpc
import structlog
from google.protobuf import json_format
from google.protobuf.message import Message
from payment_engine_protos.accounts.v1 import accounts_pb2, accounts_pb2_grpc

from corelib.auth_client import ServiceTokenSource
from corelib.batching import Batcher, QueueFull
from corelib.call_tunnel_client import CallTunnel, TunnelUnsupported, result_code
from corelib.errors import ServiceError
from corelib.grpc_pipeline import error_from_rpc, error_from_status

log = structlog.get_logger("transactions.ledger_client")

LEDGER_CALL_TIMEOUT_S: Final = 5.0
BUSINESS_REASONS: Final = frozenset(
    {"INSUFFICIENT_FUNDS", "INVALID_ACCOUNT_STATUS", "NOT_FOUND", "INVALID_REQUEST", "BATCH_ABORTED"}
)
# Steps of concurrent payments share calls: up to 500 per call, one call in flight (what
# arrives meanwhile makes the next, fuller call), and at most 20,000 steps waiting before
# new ones are refused.
GROUP_BOUNDS: Final[dict[str, Any]] = {"batch_size_max": 500, "queued_max": 20_000, "flushes_max": 1}
DESCRIBE_ACCOUNTS_MAX: Final = 100
LEDGER_METHOD_PREFIX: Final = "/payment_engine.accounts.v1.LedgerService/"
# An outcome the ledger cannot have decided: the call may not have arrived, or may
# still be running.
UNKNOWN_OUTCOME_CODES: Final = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})

ResultT = TypeVar("ResultT")
ResponseT = TypeVar("ResponseT", bound=Message)
Outcome = Any  # ResultT | ServiceError | LedgerUnavailable, per item


class LedgerUnavailable(Exception):
    """The call's outcome is unknown."""


class LedgerOnAnotherServer(LedgerUnavailable):
    """The ledger refused a hold, unplaced, because the payment's record was committed
    without waiting for its flush on another database server than the ledger's."""


def _item_error(error: accounts_pb2.LedgerItemError) -> ServiceError | LedgerUnavailable:
    if error.reason not in BUSINESS_REASONS:
        if "ledgerServer" in error.details.fields:
            return LedgerOnAnotherServer(f"{error.reason}: {error.message}")
        return LedgerUnavailable(f"{error.reason}: {error.message}")
    return ServiceError(error.reason, error.message, json_format.MessageToDict(error.details))


class LedgerClient:
    def __init__(self, channel: grpc.aio.Channel, tokens: ServiceTokenSource) -> None:
        self._stub = accounts_pb2_grpc.LedgerServiceStub(channel)
        self._tunnel = CallTunnel(channel)
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

    async def _call(self, method: str, request: Message, response_class: type[ResponseT]) -> ResponseT:
        """The ledger's response; raises the ledger's refusal (a ServiceError) or
        LedgerUnavailable."""
        try:
            metadata = await self._tokens.metadata()
        except (ServiceError, grpc.aio.AioRpcError) as exc:
            raise LedgerUnavailable(f"{method}: no service token ({exc!r})") from exc
        if self._tunnel.has_room():
            try:
                result = await self._tunnel.call(
                    LEDGER_METHOD_PREFIX + method,
                    request.SerializeToString(),
                    metadata,
                    LEDGER_CALL_TIMEOUT_S,
                )
            except TunnelUnsupported:
                log.info("ledger_without_call_tunnel")
            else:
                if result.code == 0:
                    return response_class.FromString(result.response)
                code = result_code(result)
                raise _failure(
                    method, code, error_from_status(code, result.message, result.status_details or None)
                )
        try:
            response: ResponseT = await getattr(self._stub, method)(
                request, metadata=metadata, timeout=LEDGER_CALL_TIMEOUT_S
            )
        except grpc.aio.AioRpcError as exc:
            raise _failure(method, exc.code(), error_from_rpc(exc)) from exc
        return response

    async def close(self) -> None:
        await self._tunnel.close()

    # batches, as the batchers send them

    async def _place_batch(
        self, requests: Sequence[accounts_pb2.PlaceHoldRequest]
    ) -> list[accounts_pb2.PlaceHoldResponse | BaseException]:
        return await self._place(requests, atomic=False)

    async def _place(
        self, requests: Sequence[accounts_pb2.PlaceHoldRequest], *, atomic: bool
    ) -> list[accounts_pb2.PlaceHoldResponse | BaseException]:
        response = await self._call(
            "PlaceHolds",
            accounts_pb2.PlaceHoldsRequest(holds=requests, atomic=atomic),
            accounts_pb2.PlaceHoldsResponse,
        )
        return [
            result.placed if result.HasField("placed") else _item_error(result.error)
            for result in response.results
        ]

    async def _post_batch(self, requests: Sequence[accounts_pb2.PostHoldRequest]) -> list[Any]:
        response = await self._call(
            "PostHolds", accounts_pb2.PostHoldsRequest(holds=requests), accounts_pb2.PostHoldsResponse
        )
        return [
            result.hold if result.HasField("hold") else _item_error(result.error)
            for result in response.results
        ]

    async def _void_batch(self, requests: Sequence[accounts_pb2.VoidHoldRequest]) -> list[Any]:
        response = await self._call(
            "VoidHolds", accounts_pb2.VoidHoldsRequest(holds=requests), accounts_pb2.VoidHoldsResponse
        )
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
            response = await self._call(
                "GetHold", accounts_pb2.GetHoldRequest(hold_id=hold_id), accounts_pb2.GetHoldResponse
            )
        except ServiceError as error:
            if error.reason == "NOT_FOUND":
                return None
            raise
        return response.hold

    async def describe_accounts(self, account_ids: list[str]) -> dict[str, accounts_pb2.AccountFacts]:
        found: dict[str, accounts_pb2.AccountFacts] = {}
        for start in range(0, len(account_ids), DESCRIBE_ACCOUNTS_MAX):
            response = await self._call(
                "DescribeAccounts",
                accounts_pb2.DescribeAccountsRequest(
                    account_ids=account_ids[start : start + DESCRIBE_ACCOUNTS_MAX]
                ),
                accounts_pb2.DescribeAccountsResponse,
            )
            found.update({facts.id: facts for facts in response.accounts})
        return found


def _failure(method: str, code: grpc.StatusCode, error: ServiceError) -> ServiceError | LedgerUnavailable:
    """The ledger's refusal when it decided one; otherwise the outcome is unknown."""
    if error.reason in BUSINESS_REASONS and code not in UNKNOWN_OUTCOME_CODES:
        return error
    return LedgerUnavailable(f"{method}: {code.name}")


async def _gathered(batcher: Batcher[Any, Any], requests: Sequence[Any]) -> list[Any]:
    try:
        futures = batcher.submit_many(list(requests))
    except QueueFull as exc:
        return [LedgerUnavailable(str(exc)) for _ in requests]
    return list(await asyncio.gather(*futures, return_exceptions=True))
