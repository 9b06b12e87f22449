"""Calls from the payment saga to the accounts service's LedgerService.

A refusal by the ledger (insufficient funds, inactive account…) comes back as the
ServiceError the ledger raised; anything else (unreachable, deadline, crash) is a
LedgerUnavailable, after which the outcome is unknown and the saga must ask again.
"""

from __future__ import annotations

from typing import Final

import grpc
from payment_engine_protos.accounts.v1 import accounts_pb2, accounts_pb2_grpc

from corelib.auth_client import ServiceTokenSource
from corelib.errors import ServiceError
from corelib.grpc_pipeline import error_from_rpc

LEDGER_CALL_TIMEOUT_S: Final = 5.0
BUSINESS_REASONS: Final = frozenset(
    {"INSUFFICIENT_FUNDS", "INVALID_ACCOUNT_STATUS", "NOT_FOUND", "INVALID_REQUEST"}
)


class LedgerUnavailable(Exception):
    """The call's outcome is unknown."""


class LedgerClient:
    def __init__(self, channel: grpc.aio.Channel, tokens: ServiceTokenSource) -> None:
        self._stub = accounts_pb2_grpc.LedgerServiceStub(channel)
        self._tokens = tokens

    async def _call(self, method: str, request: object) -> object:
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

    async def place_hold(self, request: accounts_pb2.PlaceHoldRequest) -> accounts_pb2.Hold:
        response = await self._call("PlaceHold", request)
        assert isinstance(response, accounts_pb2.PlaceHoldResponse)
        return response.hold

    async def post_hold(self, hold_id: str, payee_account_id: str, description: str) -> accounts_pb2.Hold:
        response = await self._call(
            "PostHold",
            accounts_pb2.PostHoldRequest(
                hold_id=hold_id, payee_account_id=payee_account_id, description=description
            ),
        )
        assert isinstance(response, accounts_pb2.PostHoldResponse)
        return response.hold

    async def void_hold(self, hold_id: str, reason: str) -> accounts_pb2.Hold:
        response = await self._call("VoidHold", accounts_pb2.VoidHoldRequest(hold_id=hold_id, reason=reason))
        assert isinstance(response, accounts_pb2.VoidHoldResponse)
        return response.hold

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
        response = await self._call(
            "DescribeAccounts", accounts_pb2.DescribeAccountsRequest(account_ids=account_ids)
        )
        assert isinstance(response, accounts_pb2.DescribeAccountsResponse)
        return {facts.id: facts for facts in response.accounts}
