"""Cursor pagination shared by every List RPC (AIP-158): opaque page tokens and a
bounded page size."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Final

from corelib.errors import ServiceError

PAGE_SIZE_DEFAULT: Final = 20
PAGE_SIZE_MAX: Final = 100
PAGE_TOKEN_LENGTH_MAX: Final = 512


def page_size(requested: int) -> int:
    if requested < 0:
        raise ServiceError("INVALID_REQUEST", "pageSize must not be negative", {"field": "pageSize"})
    if requested > PAGE_SIZE_MAX:
        raise ServiceError(
            "INVALID_REQUEST",
            f"pageSize must be at most {PAGE_SIZE_MAX}",
            {"field": "pageSize", "maximum": PAGE_SIZE_MAX},
        )
    return requested or PAGE_SIZE_DEFAULT


def encode_page_token(cursor: dict[str, Any]) -> str:
    raw = json.dumps(cursor, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> dict[str, Any] | None:
    """None for an empty token (first page); INVALID_REQUEST for a token we did not issue."""
    if not token:
        return None
    invalid = ServiceError("INVALID_REQUEST", "pageToken is not valid", {"field": "pageToken"})
    if len(token) > PAGE_TOKEN_LENGTH_MAX:
        raise invalid
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise invalid from exc
    if not isinstance(decoded, dict):
        raise invalid
    return decoded
