"""Transaction statuses, saga steps and which changes between them are legal."""

from __future__ import annotations

from typing import Final

PENDING: Final = "PENDING"
PROCESSING: Final = "PROCESSING"
COMPLETED: Final = "COMPLETED"
FAILED: Final = "FAILED"
CANCELED: Final = "CANCELED"
REJECTED: Final = "REJECTED"
FINAL_STATUSES: Final = frozenset({COMPLETED, FAILED, CANCELED, REJECTED})
PUBLIC_STATUSES: Final = (PENDING, PROCESSING, COMPLETED, FAILED, CANCELED)

# Saga steps, in the order a payment goes through them.
HOLD_REQUESTED: Final = "hold_requested"
HELD: Final = "held"
POST_REQUESTED: Final = "post_requested"
POSTED: Final = "posted"
VOID_REQUESTED: Final = "void_requested"
VOIDED: Final = "voided"
NO_HOLD: Final = "no_hold"

LEGAL: Final[dict[str, frozenset[str]]] = {
    # A real-time payment completes straight from PENDING.
    PENDING: frozenset({PROCESSING, COMPLETED, CANCELED, FAILED, REJECTED, PENDING}),
    PROCESSING: frozenset({COMPLETED, FAILED, PROCESSING}),
    COMPLETED: frozenset(),
    FAILED: frozenset(),
    CANCELED: frozenset(),
    REJECTED: frozenset(),
}


def assert_transition(current: str, target: str) -> None:
    """An illegal status change is a bug in the saga, never a user error."""
    if target not in LEGAL[current]:
        raise AssertionError(f"illegal status change {current} -> {target}")
