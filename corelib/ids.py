"""Opaque, prefixed, time-sortable identifiers (`acc_…`, `txn_…`, `evt_…`).

Layout: 48-bit millisecond timestamp then 80 random bits, Crockford base32 — a ULID
behind a type prefix, so ids sort by creation time and index well.
"""

from __future__ import annotations

import os
import time
from typing import Final

_ALPHABET: Final = "0123456789abcdefghjkmnpqrstvwxyz"
PREFIXES: Final = frozenset(
    {
        "acc",
        "txn",
        "evt",
        "whe",
        "key",
        "usr",
        "org",
        "req",
        "hold",
        "jnl",
        "pst",
        "dlv",
        "sess",
        "rtk",
        "dba",
        "bat",
    }
)


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def has_prefix(value: str, prefix: str) -> bool:
    return value.startswith(f"{prefix}_") and len(value) <= 64
