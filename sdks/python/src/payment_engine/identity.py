"""`client.auth`: who the client is, and ending a username/password session.

Logging in and renewing tokens need no call: the client does both by itself.
"""

from __future__ import annotations

from typing import Any, Final

from payment_engine import wire
from payment_engine.models import Me
from payment_engine.resource import AsyncResource, SyncResource, compact
from payment_engine.transport import Operation

ME_PATH: Final = "/api/v1/auth/me"
LOGOUT_PATH: Final = "/api/v1/auth/logout"


def _me(document: Any) -> Me:
    return Me.from_json(wire.require_object(document, "the caller"))


def _revoked(document: Any) -> bool:
    return wire.boolean(wire.require_object(document, "a logout"), "revoked")


def me_operation() -> Operation[Me]:
    return Operation("GET", ME_PATH, _me)


def logout_operation(refresh_token: str | None) -> Operation[bool]:
    return Operation(
        "POST", LOGOUT_PATH, _revoked, body=compact({"refresh_token": refresh_token}), retry_safe=False
    )


class Auth(SyncResource):
    def me(self) -> Me:
        """The caller's principal, tenant and scopes: a cheap way to check credentials."""
        return self._transport.request(me_operation())

    def logout(self, *, refresh_token: str | None = None) -> bool:
        """Ends the session: its access and refresh tokens stop working. A username/password
        client logs in again on its next call. `refresh_token` also revokes that token's
        session (for a caller using an API key or another session's token)."""
        try:
            return self._transport.request(logout_operation(refresh_token))
        finally:
            self._transport.logout_locally()


class AsyncAuth(AsyncResource):
    async def me(self) -> Me:
        return await self._transport.request(me_operation())

    async def logout(self, *, refresh_token: str | None = None) -> bool:
        try:
            return await self._transport.request(logout_operation(refresh_token))
        finally:
            await self._transport.logout_locally()
