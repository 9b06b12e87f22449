"""Which credentials every process must stop honouring, and from when.

Services trust a principal assertion (`x-pe-principal`) until it expires, and keep the
ones they verified; the auth service keeps the assertion it minted per credential. A
revoked API key, a rotated key's shortened overlap or an ended session must end all of
that on every replica within a second, not when the assertions run out. So the auth
service announces each such change on the `pe_credential_revocations` channel in the
transaction that makes it (payload `<ref> <not-after epoch seconds>`, ref `key:<id>` or
`session:<id>`), and every process keeps this list from its `NotificationFeed`, asking
to be caught up (`catch_up`) after every (re)connection. A principal whose credential is
listed is refused from its not-after time on, whatever its assertion says.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Final

import structlog

from corelib.notification_feed import NotificationFeed
from corelib.request_context import Principal

log = structlog.get_logger("corelib.credential_revocations")

REVOCATION_CHANNEL: Final = "pe_credential_revocations"
# Longer than any assertion lives (5 minutes) plus clock leeway: after this long past a
# credential's not-after time, nothing that it once authorized can still be presented.
REVOCATION_HORIZON_S: Final = 600.0
ENTRIES_MAX: Final = 200_000
REF_LENGTH_MAX: Final = 128

CatchUp = Callable[[float], Awaitable[Iterable[tuple[str, float]]]]
Evict = Callable[[str | None], None]


def credential_ref(principal: Principal) -> str | None:
    """The credential a principal stands on; services' own tokens are not revocable here."""
    if principal.kind == "api_key":
        return f"key:{principal.id}"
    if principal.kind == "user" and principal.session_id:
        return f"session:{principal.session_id}"
    return None


def revocation_payload(ref: str, not_after_epoch_s: float) -> str:
    return f"{ref} {not_after_epoch_s:.3f}"


class CredentialRevocations:
    def __init__(self, catch_up: CatchUp) -> None:
        self._catch_up = catch_up
        self._not_after: dict[str, float] = {}
        self._evictors: list[Evict] = []
        # Set while the feed is connected and caught up; until then, nobody can say
        # whether a credential was revoked.
        self.ready = asyncio.Event()

    def on_evict(self, evict: Evict) -> None:
        """`evict(ref)` drops cached entries of one credential; `evict(None)` drops all."""
        self._evictors.append(evict)

    def honoured(self, principal: Principal, *, now_epoch_s: float | None = None) -> bool:
        if not self._not_after:
            return True
        ref = credential_ref(principal)
        if ref is None:
            return True
        not_after = self._not_after.get(ref)
        if not_after is None:
            return True
        return (time.time() if now_epoch_s is None else now_epoch_s) < not_after

    def note(self, ref: str, not_after_epoch_s: float) -> None:
        if not ref or len(ref) > REF_LENGTH_MAX:
            return
        known = self._not_after.get(ref)
        if known is None or not_after_epoch_s < known:
            self._not_after[ref] = not_after_epoch_s
        for evict in self._evictors:
            evict(ref)
        if len(self._not_after) > ENTRIES_MAX:
            self._forget_stale()

    def on_message(self, payload: str) -> None:
        ref, _, not_after = payload.partition(" ")
        try:
            self.note(ref, float(not_after))
        except ValueError:
            log.warning("revocation_payload_malformed", payload=payload[:REF_LENGTH_MAX])

    async def resync(self) -> None:
        """After (re)connecting: whatever was announced meanwhile, from the source."""
        for evict in self._evictors:
            evict(None)
        entries = await self._catch_up(time.time() - REVOCATION_HORIZON_S)
        for ref, not_after in entries:
            self.note(ref, not_after)
        self._forget_stale()
        self.ready.set()

    def lost(self) -> None:
        self.ready.clear()

    def _forget_stale(self) -> None:
        cutoff = time.time() - REVOCATION_HORIZON_S
        for ref in [ref for ref, not_after in self._not_after.items() if not_after < cutoff]:
            del self._not_after[ref]
        if len(self._not_after) > ENTRIES_MAX:
            # Forgetting a live revocation would honour a revoked credential again, so
            # the list keeps them and says so; the bound is sized far beyond real use.
            log.error("revocations_over_bound", entries=len(self._not_after), bound=ENTRIES_MAX)


def follow_revocations(feed: NotificationFeed, revocations: CredentialRevocations) -> None:
    """Keeps `revocations` current from the process's feed (and caught up after every
    reconnection)."""
    feed.subscribe(
        REVOCATION_CHANNEL,
        on_message=revocations.on_message,
        on_resync=revocations.resync,
        on_lost=revocations.lost,
    )
