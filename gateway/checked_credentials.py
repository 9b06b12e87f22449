"""The auth service's verdict on a credential, kept for a few seconds per credential.

A busy client presents the same API key or bearer token on every request; asking
`Check` each time would cost a round trip per request for an answer that does not
change. Only allowed credentials are kept, and briefly: every service refuses an
assertion whose credential was revoked (the revocation list, fed by PostgreSQL NOTIFY),
so a kept answer never lets a revoked credential through — it only saves the Check.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Final

from gateway.rate_limits import unverified_claims

KEPT_FOR_S: Final = 5.0
CREDENTIALS_KEPT_MAX: Final = 10_000


class CheckedCredentials:
    def __init__(self, *, kept_for_s: float = KEPT_FOR_S, kept_max: int = CREDENTIALS_KEPT_MAX) -> None:
        self._kept_for_s = kept_for_s
        self._kept_max = kept_max
        # (authorization, x-api-key) → (assertion, its subject, use-until monotonic s)
        self._kept: OrderedDict[tuple[str, str], tuple[str, str, float]] = OrderedDict()

    def get(self, credential: tuple[str, str]) -> tuple[str, str] | None:
        kept = self._kept.get(credential)
        if kept is None:
            return None
        if kept[2] <= time.monotonic():
            del self._kept[credential]
            return None
        return kept[0], kept[1]

    def keep(self, credential: tuple[str, str], assertion: str) -> str:
        """Keeps the verdict; returns the assertion's subject (the caller's quota key)."""
        claims = unverified_claims(assertion)
        subject = claims.get("sub")
        subject = subject if isinstance(subject, str) else ""
        expires = claims.get("exp")
        # Never past the assertion's own expiry, which may be the credential's end.
        left_s = float(expires) - time.time() if isinstance(expires, int | float) else 0.0
        kept_for_s = min(self._kept_for_s, left_s)
        if kept_for_s > 0:
            self._kept[credential] = (assertion, subject, time.monotonic() + kept_for_s)
        while len(self._kept) > self._kept_max:
            self._kept.popitem(last=False)
        return subject
