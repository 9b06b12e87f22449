"""How an endpoint is doing, from its deliveries as the API lists them: failing since
when, and when the engine will disable it if nothing succeeds.

The engine disables an endpoint when one delivery has failed every attempt of the retry
schedule with no success in between (the documented rule), so the earliest moment is the
oldest still-failing delivery's first attempt plus the whole schedule.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from portal.rendering import parse_time

# The engine's documented default (PE_WEBHOOK_RETRY_SCHEDULE), read from the same
# environment when the portal runs beside the engine.
DEFAULT_SCHEDULE: Final = "5s,30s,2m,10m,30m,1h,2h,4h,8h,12h,16h,24h"
_STEP: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNITS_S: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
SCHEDULE_STEPS_MAX: Final = 64


def retry_schedule_total(text: str | None = None) -> timedelta:
    source = (text if text is not None else os.environ.get("PE_WEBHOOK_RETRY_SCHEDULE", "")).strip()
    total_s = 0.0
    for step in (source or DEFAULT_SCHEDULE).split(",")[:SCHEDULE_STEPS_MAX]:
        match = _STEP.match(step)
        if match is None:
            return retry_schedule_total(DEFAULT_SCHEDULE)
        total_s += float(match.group(1)) * _UNITS_S[match.group(2)]
    return timedelta(seconds=total_s)


@dataclass(frozen=True)
class EndpointHealth:
    failing: bool
    failing_since: datetime | None
    disabled_around: datetime | None


def _first_attempt_at(delivery: Mapping[str, Any]) -> datetime | None:
    times = [parse_time(a.get("attemptedAt")) for a in delivery.get("attempts", [])]
    known = [t for t in times if t is not None]
    return min(known) if known else parse_time(delivery.get("createdAt"))


def endpoint_health(
    endpoint: Mapping[str, Any], deliveries: Sequence[Mapping[str, Any]], schedule_total: timedelta
) -> EndpointHealth:
    if int(endpoint.get("consecutiveFailures") or 0) == 0:
        return EndpointHealth(failing=False, failing_since=None, disabled_around=None)
    still_failing = [
        d
        for d in deliveries
        if d.get("status") == "WEBHOOK_DELIVERY_STATUS_PENDING"
        and d.get("trigger") != "WEBHOOK_DELIVERY_TRIGGER_TEST"
        and int(d.get("attemptCount") or 0) > 0
    ]
    starts = [t for t in (_first_attempt_at(d) for d in still_failing) if t is not None]
    failed_attempts = [
        parse_time(a.get("attemptedAt"))
        for d in deliveries
        for a in d.get("attempts", [])
        if not a.get("succeeded")
    ]
    known_failures = [t for t in failed_attempts if t is not None]
    # The engine's own record when it gives one; else the oldest failure the log shows.
    reported = parse_time(endpoint.get("failingSince"))
    since = reported or (min(starts) if starts else (min(known_failures) if known_failures else None))
    if starts:
        disabled_around: datetime | None = min(starts) + schedule_total
    else:
        disabled_around = reported + schedule_total if reported else None
    return EndpointHealth(failing=True, failing_since=since, disabled_around=disabled_around)
