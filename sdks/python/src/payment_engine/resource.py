"""What every resource class holds: the client's transport, and a helper for bodies."""

from __future__ import annotations

from typing import Any

from payment_engine.transport import AsyncTransport, SyncTransport


class SyncResource:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport


class AsyncResource:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport


def compact(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields that were given (not None): a body that says only what the caller said."""
    return {name: value for name, value in fields.items() if value is not None}
