"""`client.payment_types`: the rails the engine offers and their limits.

The catalogue rarely changes, so, as the guide advises, it is cached: `list()` asks the
engine at most once per `payment_types_cache_ttl` seconds (client option, default five
minutes); `list(refresh=True)` or `clear_cache()` forces a fresh read.
"""

from __future__ import annotations

import builtins
from typing import Any, Final

from payment_engine import wire
from payment_engine.models import PaymentType
from payment_engine.resource import AsyncResource, SyncResource
from payment_engine.transport import AsyncTransport, Operation, SyncTransport

PATH: Final = "/api/v1/payment-types"
CACHE_TTL_DEFAULT_S: Final = 300.0


def _payment_types(document: Any) -> tuple[PaymentType, ...]:
    data = wire.require_object(document, "the payment types")
    return tuple(PaymentType.from_json(item) for item in wire.objects(data, "paymentTypes"))


def list_operation() -> Operation[tuple[PaymentType, ...]]:
    return Operation("GET", PATH, _payment_types)


class _Cache:
    def __init__(self, ttl_s: float) -> None:
        if ttl_s < 0:
            raise ValueError("payment_types_cache_ttl must be >= 0")
        self.ttl_s = ttl_s
        self.entry: tuple[float, tuple[PaymentType, ...]] | None = None

    def get(self, now: float) -> tuple[PaymentType, ...] | None:
        entry = self.entry
        if entry is None or now >= entry[0]:
            return None
        return entry[1]

    def put(self, now: float, items: tuple[PaymentType, ...]) -> None:
        self.entry = (now + self.ttl_s, items)


def _find(items: tuple[PaymentType, ...], payment_type_id: str) -> PaymentType | None:
    wanted = payment_type_id.upper()
    return next((item for item in items if item.id.upper() == wanted), None)


class PaymentTypes(SyncResource):
    def __init__(self, transport: SyncTransport, *, cache_ttl_s: float = CACHE_TTL_DEFAULT_S) -> None:
        super().__init__(transport)
        self._cache = _Cache(cache_ttl_s)

    def list(self, *, refresh: bool = False) -> builtins.list[PaymentType]:
        items = None if refresh else self._cache.get(self._transport.clock())
        if items is None:
            items = self._transport.request(list_operation())
            self._cache.put(self._transport.clock(), items)
        return builtins.list(items)

    def find(self, payment_type_id: str) -> PaymentType | None:
        """The payment type with this id, case-insensitively (`rtp` → RTP), from the cache."""
        return _find(tuple(self.list()), payment_type_id)

    def clear_cache(self) -> None:
        self._cache.entry = None


class AsyncPaymentTypes(AsyncResource):
    def __init__(self, transport: AsyncTransport, *, cache_ttl_s: float = CACHE_TTL_DEFAULT_S) -> None:
        super().__init__(transport)
        self._cache = _Cache(cache_ttl_s)

    async def list(self, *, refresh: bool = False) -> builtins.list[PaymentType]:
        items = None if refresh else self._cache.get(self._transport.clock())
        if items is None:
            items = await self._transport.request(list_operation())
            self._cache.put(self._transport.clock(), items)
        return builtins.list(items)

    async def find(self, payment_type_id: str) -> PaymentType | None:
        return _find(tuple(await self.list()), payment_type_id)

    def clear_cache(self) -> None:
        self._cache.entry = None
