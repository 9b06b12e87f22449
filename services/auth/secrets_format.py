"""Opaque bearer secrets (refresh tokens, API keys): generated with the OS CSPRNG,
stored only as SHA-256 digests. They carry 256 bits of entropy, so a fast hash is
enough; a slow password hash would only slow every authenticated request."""

from __future__ import annotations

import hashlib
import secrets
from typing import Final

SECRET_BYTES: Final = 32
SECRET_LENGTH_MAX: Final = 200
# Random characters of a key shown in lists, after its `pe_sandbox_` prefix.
API_KEY_PREFIX_VISIBLE: Final = 4


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def api_key_prefix(mode: str) -> str:
    return "pe_sandbox" if mode == "sandbox" else "pe_live"
