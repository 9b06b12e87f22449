"""The scopes a tenant principal can hold."""

from __future__ import annotations

from typing import Final

from corelib.errors import ServiceError

ALL_SCOPES: Final = (
    "transaction:read",
    "transaction:create",
    "account:read",
    "account:write",
    "webhook:read",
    "webhook:write",
    "apikey:read",
    "apikey:write",
)
SCOPES_PER_PRINCIPAL_MAX: Final = len(ALL_SCOPES)


def validate_scopes(requested: list[str], *, field: str = "scopes") -> list[str]:
    unknown = sorted(set(requested) - set(ALL_SCOPES))
    if unknown:
        raise ServiceError(
            "INVALID_REQUEST",
            f"Unknown scope: {', '.join(unknown)}",
            {"field": field, "unknown": unknown, "allowed": list(ALL_SCOPES)},
        )
    if not requested:
        raise ServiceError("INVALID_REQUEST", "At least one scope is required", {"field": field})
    return [scope for scope in ALL_SCOPES if scope in set(requested)]


def ensure_grantable(requested: list[str], granter_scopes: frozenset[str]) -> None:
    """A principal can hand out only scopes it holds itself."""
    beyond = sorted(set(requested) - granter_scopes)
    if beyond:
        raise ServiceError("FORBIDDEN", "Cannot grant scopes the caller does not hold", {"scopes": beyond})
