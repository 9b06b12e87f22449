"""The guide's error envelope, built in one place for every edge that answers HTTP
(the Python gateway, and the auth service's ext_authz denials that Envoy relays)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def rfc3339_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def envelope(
    code: str, message: str, details: dict[str, Any], request_id: str, *, now: datetime | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details,
            "timestamp": rfc3339_utc(now or datetime.now(UTC)),
            "requestId": request_id,
        }
    }
