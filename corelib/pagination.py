"""Cursor pagination shared by every List RPC (AIP-158): a bounded page size, and page
tokens that are opaque and tamper-evident.

A token is `<version>.<payload>.<mac>`: the payload is the cursor (where the next page
starts, e.g. `{"before": "txn_…"}`) as base64url JSON; the mac is HMAC-SHA256 over the
version, the payload and the query the token belongs to — which list, which tenant and
the query's filters. So a token cannot be forged or edited (`{"before": 10**30}`), and a
token from another tenant or another filter set does not verify: each is 400
INVALID_REQUEST naming `pageToken`, never a 500. The key is derived from the engine's
service secret (PE_SERVICE_SECRET) with a purpose label, so every replica of every
service agrees without sharing anything else. A cursor that verifies is still checked
against the fields its list declares (names, types, bounds) before any SQL sees it.
The page size may change between pages; the filters may not.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import structlog

from corelib.errors import ServiceError

log = structlog.get_logger("corelib.pagination")

PAGE_SIZE_DEFAULT: Final = 20
PAGE_SIZE_MAX: Final = 100
PAGE_TOKEN_LENGTH_MAX: Final = 512
PAGE_TOKEN_VERSION: Final = "1"  # noqa: S105 — a format version, not a secret
PAGE_TOKEN_KEY_PURPOSE: Final = b"payment-engine/page-token/v1"
SERVICE_SECRET_ENV: Final = "PE_SERVICE_SECRET"  # noqa: S105 — the variable's name
MAC_BYTES: Final = 16
CURSOR_STRING_LENGTH_MAX: Final = 128
CURSOR_INT_MIN: Final = -(2**63)
CURSOR_INT_MAX: Final = 2**63 - 1
FILTER_LENGTH_MAX: Final = 256


@dataclass(frozen=True)
class PageQuery:
    """What a page token is bound to."""

    listing: str
    tenant_id: str
    filters: tuple[tuple[str, str], ...] = ()

    def canonical(self) -> bytes:
        return json.dumps(
            [self.listing, self.tenant_id, [list(pair) for pair in self.filters]],
            separators=(",", ":"),
            ensure_ascii=True,
        ).encode()


def page_query(listing: str, tenant_id: str, **filters: object) -> PageQuery:
    """`page_query("transactions", tenant, status=status, account_id=account)`; a filter
    left empty (None, "") is bound as empty, so adding it later changes the query."""
    bound = tuple(
        sorted(
            (name, "" if value is None else str(value)[:FILTER_LENGTH_MAX]) for name, value in filters.items()
        )
    )
    return PageQuery(listing, tenant_id, bound)


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


@cache
def _signing_key() -> bytes:
    secret = os.environ.get(SERVICE_SECRET_ENV, "")
    if not secret:
        # Without the shared secret replicas cannot agree; a process-local random key
        # keeps tokens unforgeable, at the price of tokens valid on this process only.
        log.warning("page_token_key_is_process_local", reason=f"{SERVICE_SECRET_ENV} is not set")
        secret = os.urandom(32).hex()
    return hmac.new(secret.encode(), PAGE_TOKEN_KEY_PURPOSE, hashlib.sha256).digest()


def _mac(payload: str, query: PageQuery) -> str:
    message = PAGE_TOKEN_VERSION.encode() + b"\n" + payload.encode("ascii") + b"\n" + query.canonical()
    digest = hmac.new(_signing_key(), message, hashlib.sha256).digest()[:MAC_BYTES]
    return _b64(digest)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_page_token(cursor: Mapping[str, str | int], query: PageQuery) -> str:
    payload = _b64(json.dumps(dict(cursor), separators=(",", ":"), sort_keys=True).encode())
    return f"{PAGE_TOKEN_VERSION}.{payload}.{_mac(payload, query)}"


def invalid_page_token(reason: str = "pageToken is not valid for this query") -> ServiceError:
    return ServiceError("INVALID_REQUEST", reason, {"field": "pageToken"})


def decode_page_token(
    token: str, query: PageQuery, fields: Mapping[str, type[str] | type[int]]
) -> dict[str, Any] | None:
    """None for an empty token (first page); the cursor of a token this query issued,
    with exactly `fields` of exactly their types; INVALID_REQUEST for anything else."""
    if not token:
        return None
    if len(token) > PAGE_TOKEN_LENGTH_MAX or not token.isascii():
        raise invalid_page_token()
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PAGE_TOKEN_VERSION:
        raise invalid_page_token()
    _, payload, mac = parts
    if not hmac.compare_digest(mac, _mac(payload, query)):
        raise invalid_page_token()
    try:
        cursor = json.loads(_unb64(payload))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise invalid_page_token() from exc
    # The token is ours, so a wrong shape is a bug in an older engine; still a 400.
    if not isinstance(cursor, dict) or set(cursor) != set(fields):
        raise invalid_page_token()
    for name, kind in fields.items():
        value = cursor[name]
        if type(value) is not kind:
            raise invalid_page_token()
        if isinstance(value, int) and not CURSOR_INT_MIN <= value <= CURSOR_INT_MAX:
            raise invalid_page_token()
        if isinstance(value, str) and len(value) > CURSOR_STRING_LENGTH_MAX:
            raise invalid_page_token()
    return cursor
