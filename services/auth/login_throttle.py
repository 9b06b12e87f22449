"""Login throttling per username and per client address.

Fixed windows counted in PostgreSQL so every auth replica sees the same numbers. Per
username only failures count (a user's own successful logins never lock them out);
per address every attempt counts (password spraying across usernames).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection

from corelib.errors import ServiceError
from services.auth import repository

USERNAME_WINDOW: Final = timedelta(minutes=15)
ADDRESS_WINDOW: Final = timedelta(minutes=1)
RETENTION: Final = timedelta(hours=1)


@dataclass(frozen=True)
class ThrottlePolicy:
    failures_per_username_max: int
    attempts_per_address_max: int


def window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


def _throttled(now: datetime, start: datetime, window: timedelta) -> ServiceError:
    retry_after = max(1, int((start + window - now).total_seconds()) + 1)
    return ServiceError(
        "RATE_LIMIT_EXCEEDED",
        "Too many login attempts; try again later",
        {"retryAfterSeconds": retry_after},
        {"retryAfterSeconds": str(retry_after)},
    )


def username_bucket(username: str) -> str:
    return f"user:{username.lower()}"


async def admit(
    conn: AsyncConnection, policy: ThrottlePolicy, *, username: str, address: str, now: datetime
) -> None:
    """Counts this attempt against the address and refuses it if either limit is reached."""
    if address:
        start = window_start(now, ADDRESS_WINDOW)
        if (
            await repository.count_login_attempt(conn, f"addr:{address}", start)
            > policy.attempts_per_address_max
        ):
            raise _throttled(now, start, ADDRESS_WINDOW)
    start = window_start(now, USERNAME_WINDOW)
    failures = await repository.login_attempts_in_window(conn, username_bucket(username), start)
    if failures >= policy.failures_per_username_max:
        raise _throttled(now, start, USERNAME_WINDOW)


async def record_failure(conn: AsyncConnection, *, username: str, now: datetime) -> None:
    await repository.count_login_attempt(conn, username_bucket(username), window_start(now, USERNAME_WINDOW))


async def record_success(conn: AsyncConnection, *, username: str, now: datetime) -> None:
    await repository.clear_login_attempts(conn, username_bucket(username))
    await repository.prune_login_attempts(conn, now - RETENTION)
