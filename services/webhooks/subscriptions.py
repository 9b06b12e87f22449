"""Which events an endpoint receives: an empty list means every type; an entry is one
type (`transaction.completed`) or a family ending in `.*` (`transaction.*`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from corelib.errors import ServiceError
from corelib.outbox import EVENT_TYPE_LENGTH_MAX, EVENT_TYPE_PATTERN

EVENT_TYPES_PER_ENDPOINT_MAX: Final = 50
FAMILY_SUFFIX: Final = ".*"
# The types the engine emits today (the guide's, plus the test event); documentation
# and a hint in error messages, not a closed list — producers may add types.
KNOWN_EVENT_TYPES: Final = (
    "transaction.created",
    "transaction.completed",
    "transaction.failed",
    "transaction.canceled",
    "account.balance.updated",
    "webhook.test",
)


def is_valid_filter(entry: str) -> bool:
    if len(entry) > EVENT_TYPE_LENGTH_MAX:
        return False
    if entry.endswith(FAMILY_SUFFIX):
        family = entry.removesuffix(FAMILY_SUFFIX)
        return bool(family) and EVENT_TYPE_PATTERN.match(family + ".x") is not None
    return EVENT_TYPE_PATTERN.match(entry) is not None


def validate_filters(entries: Sequence[str], *, field: str = "eventTypes") -> list[str]:
    """Normalised, deduplicated filters in the caller's order, or INVALID_REQUEST."""
    if len(entries) > EVENT_TYPES_PER_ENDPOINT_MAX:
        raise ServiceError(
            "INVALID_REQUEST",
            f"{field} has at most {EVENT_TYPES_PER_ENDPOINT_MAX} entries",
            {"field": field, "maximum": EVENT_TYPES_PER_ENDPOINT_MAX},
        )
    cleaned: list[str] = []
    for raw in entries:
        entry = raw.strip()
        if not is_valid_filter(entry):
            raise ServiceError(
                "INVALID_REQUEST",
                f"{field} entry {raw!r} is not an event type (like 'transaction.completed') "
                "or a family (like 'transaction.*')",
                {"field": field, "value": raw[:EVENT_TYPE_LENGTH_MAX], "knownTypes": list(KNOWN_EVENT_TYPES)},
            )
        if entry not in cleaned:
            cleaned.append(entry)
    return cleaned


def matches(entry: str, event_type: str) -> bool:
    if entry.endswith(FAMILY_SUFFIX):
        return event_type.startswith(entry[:-1])
    return entry == event_type


def subscribes(filters: Sequence[str], event_type: str) -> bool:
    return not filters or any(matches(entry, event_type) for entry in filters)
