"""Failures as HTTP responses: the guide's envelope (built by corelib.error_envelope, the
same code the auth service's ext_authz denials use) with the HTTP status that
corelib.errors.ERROR_CODES gives the code."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import orjson

from corelib.error_envelope import envelope
from corelib.errors import ServiceError
from gateway.asgi import HttpResponse


def error_body(error: ServiceError, request_id: str, *, now: datetime | None = None) -> bytes:
    try:
        return orjson.dumps(envelope(error.reason, error.message, error.details, request_id, now=now))
    except TypeError:
        # Details that do not serialize must not turn one error into another.
        return orjson.dumps(envelope(error.reason, error.message, {}, request_id, now=now))


def error_response(
    error: ServiceError, request_id: str, *, headers: Sequence[tuple[str, str]] = ()
) -> HttpResponse:
    extra = list(headers)
    retry_after = error.metadata.get("retryAfterSeconds", "")
    if retry_after.isdigit():
        extra.append(("retry-after", retry_after))
    return HttpResponse(error.code.http_status, error_body(error, request_id), tuple(extra))
