"""`client.accounts`: accounts, balances and statements.

balance = client.accounts.get_balance("acc_123")
if balance.available_balance >= Decimal("250.00"): ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from payment_engine import wire
from payment_engine.models import Account, Balance, Funding, LedgerEntry
from payment_engine.money import AmountLike, to_decimal
from payment_engine.pagination import AsyncPaginator, Page, Paginator, page_params, parse_page
from payment_engine.resource import AsyncResource, SyncResource, compact
from payment_engine.transport import Operation

PATH: Final = "/api/v1/accounts"
SANDBOX_PATH: Final = "/api/v1/sandbox/accounts"


def _account(document: Any) -> Account:
    return Account.from_json(wire.require_object(document, "an account"))


def _balance(document: Any) -> Balance:
    return Balance.from_json(wire.require_object(document, "a balance"))


def _funding(document: Any) -> Funding:
    return Funding.from_json(wire.require_object(document, "a funding"))


def _accounts_page(document: Any) -> Page[Account]:
    return parse_page(document, "accounts", Account.from_json)


def _entries_page(document: Any) -> Page[LedgerEntry]:
    return parse_page(document, "entries", LedgerEntry.from_json)


def _account_path(account_id: str) -> str:
    return f"{PATH}/{wire.path_segment(account_id, 'account_id')}"


def create_operation(
    name: str, currency_code: str, metadata: Mapping[str, Any] | None, idempotency_key: str | None
) -> Operation[Account]:
    # The engine does not deduplicate account creation: never repeated after an
    # ambiguous failure (see retries.py).
    body = compact({"name": name, "currencyCode": currency_code, "metadata": metadata})
    return Operation("POST", PATH, _account, body=body, retry_safe=False, idempotency_key=idempotency_key)


def get_operation(account_id: str) -> Operation[Account]:
    return Operation("GET", _account_path(account_id), _account)


def balance_operation(account_id: str) -> Operation[Balance]:
    return Operation("GET", f"{_account_path(account_id)}/balance", _balance)


def list_operation(filters: dict[str, str | None], token: str | None, size: int) -> Operation[Page[Account]]:
    return Operation("GET", PATH, _accounts_page, params=page_params(filters, token, size))


def entries_operation(account_id: str, token: str | None, size: int) -> Operation[Page[LedgerEntry]]:
    return Operation(
        "GET", f"{_account_path(account_id)}/entries", _entries_page, params=page_params({}, token, size)
    )


def status_change_operation(account_id: str, verb: str, idempotency_key: str | None) -> Operation[Account]:
    # A repeat is refused (the account already has the new status), so an ambiguous
    # failure is raised rather than retried into a misleading INVALID_ACCOUNT_STATUS.
    return Operation(
        "POST",
        f"{_account_path(account_id)}:{verb}",
        _account,
        body={},
        retry_safe=False,
        idempotency_key=idempotency_key,
    )


def fund_operation(
    account_id: str, amount: AmountLike, description: str | None, idempotency_key: str | None
) -> Operation[Funding]:
    body = compact({"amount": to_decimal(amount), "description": description})
    return Operation(
        "POST",
        f"{SANDBOX_PATH}/{wire.path_segment(account_id, 'account_id')}:fund",
        _funding,
        body=body,
        retry_safe=False,
        idempotency_key=idempotency_key,
    )


class Accounts(SyncResource):
    def create(
        self,
        *,
        name: str,
        currency_code: str,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Account:
        return self._transport.request(create_operation(name, currency_code, metadata, idempotency_key))

    def get(self, account_id: str) -> Account:
        return self._transport.request(get_operation(account_id))

    def get_balance(self, account_id: str) -> Balance:
        return self._transport.request(balance_operation(account_id))

    def list(
        self,
        *,
        status: str | None = None,
        currency_code: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Paginator[Account]:
        filters: dict[str, str | None] = {"status": status, "currencyCode": currency_code}
        return Paginator(
            lambda token, size: self._transport.request(list_operation(filters, token, size)),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )

    def list_entries(
        self,
        account_id: str,
        *,
        page_size: int | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Paginator[LedgerEntry]:
        """The account's statement: its postings, newest first, with running balances."""
        wire.path_segment(account_id, "account_id")
        return Paginator(
            lambda token, size: self._transport.request(entries_operation(account_id, token, size)),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )

    def freeze(self, account_id: str, *, idempotency_key: str | None = None) -> Account:
        return self._transport.request(status_change_operation(account_id, "freeze", idempotency_key))

    def unfreeze(self, account_id: str, *, idempotency_key: str | None = None) -> Account:
        return self._transport.request(status_change_operation(account_id, "unfreeze", idempotency_key))

    def close(self, account_id: str, *, idempotency_key: str | None = None) -> Account:
        return self._transport.request(status_change_operation(account_id, "close", idempotency_key))

    def fund(
        self,
        account_id: str,
        amount: AmountLike,
        *,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> Funding:
        """Sandbox only: adds money to an account from the engine's funding account."""
        return self._transport.request(fund_operation(account_id, amount, description, idempotency_key))


class AsyncAccounts(AsyncResource):
    async def create(
        self,
        *,
        name: str,
        currency_code: str,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Account:
        return await self._transport.request(create_operation(name, currency_code, metadata, idempotency_key))

    async def get(self, account_id: str) -> Account:
        return await self._transport.request(get_operation(account_id))

    async def get_balance(self, account_id: str) -> Balance:
        return await self._transport.request(balance_operation(account_id))

    def list(
        self,
        *,
        status: str | None = None,
        currency_code: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> AsyncPaginator[Account]:
        filters: dict[str, str | None] = {"status": status, "currencyCode": currency_code}
        return AsyncPaginator(
            lambda token, size: self._transport.request(list_operation(filters, token, size)),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )

    def list_entries(
        self,
        account_id: str,
        *,
        page_size: int | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> AsyncPaginator[LedgerEntry]:
        wire.path_segment(account_id, "account_id")
        return AsyncPaginator(
            lambda token, size: self._transport.request(entries_operation(account_id, token, size)),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )

    async def freeze(self, account_id: str, *, idempotency_key: str | None = None) -> Account:
        return await self._transport.request(status_change_operation(account_id, "freeze", idempotency_key))

    async def unfreeze(self, account_id: str, *, idempotency_key: str | None = None) -> Account:
        return await self._transport.request(status_change_operation(account_id, "unfreeze", idempotency_key))

    async def close(self, account_id: str, *, idempotency_key: str | None = None) -> Account:
        return await self._transport.request(status_change_operation(account_id, "close", idempotency_key))

    async def fund(
        self,
        account_id: str,
        amount: AmountLike,
        *,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> Funding:
        return await self._transport.request(fund_operation(account_id, amount, description, idempotency_key))
