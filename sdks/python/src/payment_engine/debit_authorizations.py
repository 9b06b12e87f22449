"""`client.debit_authorizations`: let another tenant pull money from one of your
accounts by ACH debit (up to `max_amount` per debit)."""

from __future__ import annotations

from typing import Any, Final

from payment_engine import wire
from payment_engine.models import DebitAuthorization
from payment_engine.money import AmountLike, to_decimal
from payment_engine.pagination import AsyncPaginator, Page, Paginator, page_params, parse_page
from payment_engine.resource import AsyncResource, SyncResource, compact
from payment_engine.transport import Operation

PATH: Final = "/api/v1/debit-authorizations"


def _authorization(document: Any) -> DebitAuthorization:
    return DebitAuthorization.from_json(wire.require_object(document, "a debit authorization"))


def _page(document: Any) -> Page[DebitAuthorization]:
    return parse_page(document, "debitAuthorizations", DebitAuthorization.from_json)


def create_operation(
    payer_account_id: str, grantee_tenant_id: str, max_amount: AmountLike | None, idempotency_key: str | None
) -> Operation[DebitAuthorization]:
    body = compact(
        {
            "payerAccountId": payer_account_id,
            "granteeTenantId": grantee_tenant_id,
            "maxAmount": to_decimal(max_amount, field="max_amount") if max_amount is not None else None,
        }
    )
    return Operation(
        "POST", PATH, _authorization, body=body, retry_safe=False, idempotency_key=idempotency_key
    )


def list_operation(token: str | None, size: int) -> Operation[Page[DebitAuthorization]]:
    return Operation("GET", PATH, _page, params=page_params({}, token, size))


def revoke_operation(authorization_id: str, idempotency_key: str | None) -> Operation[DebitAuthorization]:
    # Revoking twice answers the revoked authorization again: safe to retry.
    return Operation(
        "POST",
        f"{PATH}/{wire.path_segment(authorization_id, 'authorization_id')}:revoke",
        _authorization,
        body={},
        idempotency_key=idempotency_key,
    )


class DebitAuthorizations(SyncResource):
    def create(
        self,
        *,
        payer_account_id: str,
        grantee_tenant_id: str,
        max_amount: AmountLike | None = None,
        idempotency_key: str | None = None,
    ) -> DebitAuthorization:
        """`max_amount` None (or 0) means no per-debit limit."""
        return self._transport.request(
            create_operation(payer_account_id, grantee_tenant_id, max_amount, idempotency_key)
        )

    def list(
        self, *, page_size: int | None = None, limit: int | None = None, page_token: str | None = None
    ) -> Paginator[DebitAuthorization]:
        """Authorizations you granted or received."""
        return Paginator(
            lambda token, size: self._transport.request(list_operation(token, size)),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )

    def revoke(self, authorization_id: str, *, idempotency_key: str | None = None) -> DebitAuthorization:
        return self._transport.request(revoke_operation(authorization_id, idempotency_key))


class AsyncDebitAuthorizations(AsyncResource):
    async def create(
        self,
        *,
        payer_account_id: str,
        grantee_tenant_id: str,
        max_amount: AmountLike | None = None,
        idempotency_key: str | None = None,
    ) -> DebitAuthorization:
        return await self._transport.request(
            create_operation(payer_account_id, grantee_tenant_id, max_amount, idempotency_key)
        )

    def list(
        self, *, page_size: int | None = None, limit: int | None = None, page_token: str | None = None
    ) -> AsyncPaginator[DebitAuthorization]:
        return AsyncPaginator(
            lambda token, size: self._transport.request(list_operation(token, size)),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )

    async def revoke(
        self, authorization_id: str, *, idempotency_key: str | None = None
    ) -> DebitAuthorization:
        return await self._transport.request(revoke_operation(authorization_id, idempotency_key))
