"""When to try a request again, and how long to wait first.

Retried: 429, 5xx (but 501/505), 409 IDEMPOTENCY_KEY_IN_USE, and network failures — with
exponential backoff and jitter, and never sooner than the server's `Retry-After`. Never
retried: any other 4xx, which would fail the same way again.

A retry must never make something happen twice, nor turn a success into a misleading
error. Reads are safe to repeat, and so is a payment: every POST carries an
`Idempotency-Key` fixed for all its attempts, and the engine answers a repeat of a
payment with the first outcome. Canceling a payment, updating or enabling a webhook
endpoint and revoking an API key or a debit authorization answer a repeat like the first
call, so they are safe too. Every other POST (and DELETE) is marked `retry_safe=False`
by its resource: the engine does not deduplicate it, or refuses a repeat, so it is
retried only when the request provably had no effect — a 429, or a connection that was
never made. After an ambiguous failure (timeout, reset, 5xx) its error is raised: look
before trying again.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Final

import httpx

from payment_engine.errors import PaymentEngineError

RETRIES_MAX: Final = 10
RETRY_DELAY_DEFAULT_S: Final = 1.0
RETRY_DELAY_MAX_DEFAULT_S: Final = 30.0
# A Retry-After longer than this is not waited out: the error is raised with it instead.
RETRY_AFTER_MAX_S: Final = 60.0
_STATUSES_NOT_RETRIED: Final = frozenset({501, 505})
_CODES_RETRIED: Final = frozenset({"IDEMPOTENCY_KEY_IN_USE"})
# Failures before the request left this machine: it cannot have had an effect.
_NOT_SENT_ERRORS: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` is how many times a failed request is tried again (so at most
    `retries + 1` attempts); delays are in seconds: the n-th retry waits about
    `retry_delay * 2**(n-1)`, capped at `retry_delay_max`, with jitter."""

    retries: int = 3
    retry_delay: float = RETRY_DELAY_DEFAULT_S
    retry_delay_max: float = RETRY_DELAY_MAX_DEFAULT_S
    retry_after_max: float = RETRY_AFTER_MAX_S

    def __post_init__(self) -> None:
        if not 0 <= self.retries <= RETRIES_MAX:
            raise ValueError(f"retries must be between 0 and {RETRIES_MAX}")
        if self.retry_delay < 0 or self.retry_delay_max < self.retry_delay:
            raise ValueError("retry_delay must be >= 0 and retry_delay_max >= retry_delay")
        if self.retry_after_max < 0:
            raise ValueError("retry_after_max must be >= 0")

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """The jittered exponential delay before retry `retry_number` (1-based), in seconds:
        uniformly between half and all of `retry_delay * 2**(n-1)` (capped), so that many
        clients failing together do not retry together."""
        assert retry_number >= 1
        ceiling = min(self.retry_delay * (2.0 ** min(retry_number - 1, 30)), self.retry_delay_max)
        fraction = rng.random() if rng is not None else random.random()
        return ceiling * (0.5 + fraction / 2)

    def delay(
        self, retry_number: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float | None:
        """Seconds to wait before retry `retry_number`, or None when it must not happen
        (retries spent, or the server asks for a longer wait than `retry_after_max`)."""
        if retry_number > self.retries:
            return None
        if retry_after is not None and retry_after > self.retry_after_max:
            return None
        wait = self.backoff(retry_number, rng)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait


def should_retry_error(error: PaymentEngineError, *, retry_safe: bool) -> bool:
    """Whether an error answer from the engine is worth another attempt."""
    status = error.status
    if status is None:
        return False
    if status == 429:
        # Refused before any work was done.
        return True
    if not retry_safe:
        return False
    if error.code in _CODES_RETRIED:
        return True
    return status >= 500 and status not in _STATUSES_NOT_RETRIED


def should_retry_transport(exc: httpx.TransportError, *, retry_safe: bool) -> bool:
    """Whether a network failure is worth another attempt."""
    if isinstance(exc, _NOT_SENT_ERRORS):
        return True
    return retry_safe


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        seconds = (moment - (now or datetime.now(timezone.utc))).total_seconds()
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)
