"""Request quotas at the edge, per client address and per credential, answering the
guide's 429 RATE_LIMIT_EXCEEDED with Retry-After and the RateLimit-* headers.

The same limits as Envoy's local rate limits (gateway/envoy/environments.toml): each
bucket holds `limit` requests and refills completely every minute. The Python gateway
keeps its buckets in memory, so with several local gateway replicas each enforces the
limit on its own share of the traffic; deployments put Envoy in front, whose replicas
share their buckets (docs/scaling.md).
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

WINDOW_S: Final = 60.0
# Beyond this many distinct keys the least recently seen bucket is forgotten; a flood of
# fresh addresses then costs memory bounded by this, not by the flood.
KEYS_MAX: Final = 100_000


@dataclass(frozen=True)
class Quota:
    limit: int
    remaining: int
    reset_s: int

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0


class FixedWindowLimiter:
    def __init__(
        self, limit: int, *, clock: Callable[[], float] = time.monotonic, keys_max: int = KEYS_MAX
    ) -> None:
        if limit <= 0:
            raise ValueError("a rate limit must be positive")
        self.limit = limit
        self._clock = clock
        self._keys_max = keys_max
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def charge(self, key: str) -> Quota:
        now = self._clock()
        started, used = self._windows.pop(key, (now, 0))
        if now - started >= WINDOW_S:
            started, used = now, 0
        used += 1
        self._windows[key] = (started, used)
        while len(self._windows) > self._keys_max:
            self._windows.popitem(last=False)
        reset_s = max(1, math.ceil(started + WINDOW_S - now))
        return Quota(limit=self.limit, remaining=self.limit - used, reset_s=reset_s)


def unverified_claims(assertion: str) -> dict[str, Any]:
    """The claims of a principal assertion that the auth service just issued to this
    gateway; they are only read here (the caller's quota key, how long to keep the
    verdict), and were verified where they were made."""
    try:
        payload = assertion.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def principal_subject(assertion: str) -> str:
    """The `sub` of a principal assertion: the caller's quota bucket (one per user or
    key, whatever token it presents)."""
    subject = unverified_claims(assertion).get("sub")
    return subject if isinstance(subject, str) else ""


def tightest(quotas: list[Quota]) -> Quota | None:
    return min(quotas, key=lambda quota: quota.remaining, default=None)


def quota_headers(quota: Quota) -> tuple[tuple[str, str], ...]:
    return (
        ("ratelimit-limit", str(quota.limit)),
        ("ratelimit-remaining", str(max(0, quota.remaining))),
        ("ratelimit-reset", str(quota.reset_s)),
    )
