"""`client.api_keys`: keys for server-to-server calls (`X-API-Key`).

created = client.api_keys.create(name="backend", scopes=["transaction:create"])
store_secret(created.secret)    # shown only now
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from payment_engine import wire
from payment_engine.models import ApiKey, CreatedApiKey
from payment_engine.pagination import AsyncPaginator, Page, Paginator, page_params, parse_page
from payment_engine.resource import AsyncResource, SyncResource, compact
from payment_engine.transport import Operation

PATH: Final = "/api/v1/api-keys"


def _key(document: Any) -> ApiKey:
    return ApiKey.from_json(wire.obj(wire.require_object(document, "an API key"), "apiKey"))


def _created(document: Any) -> CreatedApiKey:
    return CreatedApiKey.from_json(wire.require_object(document, "a new API key"))


def _keys_page(document: Any) -> Page[ApiKey]:
    return parse_page(document, "apiKeys", ApiKey.from_json)


def _path(key_id: str) -> str:
    return f"{PATH}/{wire.path_segment(key_id, 'api_key_id')}"


def create_operation(
    name: str, scopes: Sequence[str], expire_time: datetime | None, idempotency_key: str | None
) -> Operation[CreatedApiKey]:
    body = compact(
        {
            "name": name,
            "scopes": list(scopes),
            "expireTime": wire.format_timestamp(expire_time) if expire_time is not None else None,
        }
    )
    return Operation("POST", PATH, _created, body=body, retry_safe=False, idempotency_key=idempotency_key)


def get_operation(key_id: str) -> Operation[ApiKey]:
    return Operation("GET", _path(key_id), _key)


def list_operation(token: str | None, size: int) -> Operation[Page[ApiKey]]:
    return Operation("GET", PATH, _keys_page, params=page_params({}, token, size))


def revoke_operation(key_id: str, idempotency_key: str | None) -> Operation[ApiKey]:
    # Revoking a revoked key answers it again: safe to retry.
    return Operation("POST", f"{_path(key_id)}:revoke", _key, body={}, idempotency_key=idempotency_key)


def rotate_operation(
    key_id: str, overlap_seconds: int | None, idempotency_key: str | None
) -> Operation[CreatedApiKey]:
    return Operation(
        "POST",
        f"{_path(key_id)}:rotate",
        _created,
        body=compact({"overlapSeconds": overlap_seconds}),
        retry_safe=False,
        idempotency_key=idempotency_key,
    )


class ApiKeys(SyncResource):
    def create(
        self,
        *,
        name: str,
        scopes: Sequence[str],
        expire_time: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> CreatedApiKey:
        return self._transport.request(create_operation(name, scopes, expire_time, idempotency_key))

    def get(self, api_key_id: str) -> ApiKey:
        return self._transport.request(get_operation(api_key_id))

    def list(
        self, *, page_size: int | None = None, limit: int | None = None, page_token: str | None = None
    ) -> Paginator[ApiKey]:
        """The tenant's keys, newest first (never their secrets)."""
        return Paginator(
            lambda token, size: self._transport.request(list_operation(token, size)),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )

    def revoke(self, api_key_id: str, *, idempotency_key: str | None = None) -> ApiKey:
        return self._transport.request(revoke_operation(api_key_id, idempotency_key))

    def rotate(
        self, api_key_id: str, *, overlap_seconds: int | None = None, idempotency_key: str | None = None
    ) -> CreatedApiKey:
        """A successor key with the same name and scopes; the old one keeps working for
        `overlap_seconds` (default 24 hours, at most 7 days)."""
        return self._transport.request(rotate_operation(api_key_id, overlap_seconds, idempotency_key))


class AsyncApiKeys(AsyncResource):
    async def create(
        self,
        *,
        name: str,
        scopes: Sequence[str],
        expire_time: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> CreatedApiKey:
        return await self._transport.request(create_operation(name, scopes, expire_time, idempotency_key))

    async def get(self, api_key_id: str) -> ApiKey:
        return await self._transport.request(get_operation(api_key_id))

    def list(
        self, *, page_size: int | None = None, limit: int | None = None, page_token: str | None = None
    ) -> AsyncPaginator[ApiKey]:
        return AsyncPaginator(
            lambda token, size: self._transport.request(list_operation(token, size)),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )

    async def revoke(self, api_key_id: str, *, idempotency_key: str | None = None) -> ApiKey:
        return await self._transport.request(revoke_operation(api_key_id, idempotency_key))

    async def rotate(
        self, api_key_id: str, *, overlap_seconds: int | None = None, idempotency_key: str | None = None
    ) -> CreatedApiKey:
        return await self._transport.request(rotate_operation(api_key_id, overlap_seconds, idempotency_key))
