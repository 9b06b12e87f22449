"""Opaque, prefixed, time-sortable identifiers (`acc_…`, `txn_…`, `evt_…`).

Layout: 48-bit millisecond timestamp then 80 random bits, Crockford base32 — a ULID
behind a type prefix, so ids sort by creation time and index well.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Final

_ALPHABET: Final = "0123456789abcdefghjkmnpqrstvwxyz"
# 26 characters carry 130 bits (the id's 128 under two zero bits), encoded two at a
# time: 13 lookups of 10 bits, most significant first.
_PAIRS: Final = tuple(high + low for high in _ALPHABET for low in _ALPHABET)
_PAIR_SHIFTS: Final = tuple(range(120, -1, -10))
_RANDOM_BYTES: Final = 10
# Random bytes are read from the kernel in blocks rather than one system call per id.
_RANDOM_BLOCK_BYTES: Final = 4096


class _RandomBlock:
    """A block of os.urandom bytes, handed out 10 at a time. A forked child starts with
    an empty block, so parent and child never hand out the same bytes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._block = b""
        self._offset = 0

    def take(self) -> bytes:
        with self._lock:
            if self._offset + _RANDOM_BYTES > len(self._block):
                self._block = os.urandom(_RANDOM_BLOCK_BYTES)
                self._offset = 0
            start = self._offset
            self._offset += _RANDOM_BYTES
            return self._block[start : self._offset]

    def forget(self) -> None:
        self._lock = threading.Lock()
        self._block = b""
        self._offset = 0


_random = _RandomBlock()
os.register_at_fork(after_in_child=_random.forget)
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
    value = (millis << 80) | int.from_bytes(_random.take(), "big")
    return prefix + "_" + "".join([_PAIRS[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])


def has_prefix(value: str, prefix: str) -> bool:
    return value.startswith(f"{prefix}_") and len(value) <= 64
