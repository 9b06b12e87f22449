"""The ledger's rules as plain Python: which account states allow money to move, when a
hold fits, which status changes are legal, and the double-entry invariant."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from corelib.errors import ServiceError
from corelib.money import major_from_minor

ACTIVE: Final = "ACTIVE"
FROZEN: Final = "FROZEN"
CLOSED: Final = "CLOSED"
STATUSES: Final = (ACTIVE, FROZEN, CLOSED)

HELD: Final = "HELD"
POSTED: Final = "POSTED"
VOIDED: Final = "VOIDED"

CUSTOMER: Final = "customer"
FUNDING: Final = "funding"
SETTLEMENT: Final = "settlement"

# action → (statuses it may start from, status it leads to)
TRANSITIONS: Final[dict[str, tuple[frozenset[str], str]]] = {
    "freeze": (frozenset({ACTIVE}), FROZEN),
    "unfreeze": (frozenset({FROZEN}), ACTIVE),
    "close": (frozenset({ACTIVE, FROZEN}), CLOSED),
}


def require_active(account_id: str, status: str) -> None:
    if status != ACTIVE:
        raise ServiceError(
            "INVALID_ACCOUNT_STATUS",
            f"Account is {status.lower()}; money can move only through active accounts",
            {"accountId": account_id, "status": status},
        )


def require_hold_fits(
    account_id: str, *, amount_minor: int, current_minor: int, held_minor: int, currency: str
) -> None:
    available_minor = current_minor - held_minor
    if amount_minor > available_minor:
        raise ServiceError(
            "INSUFFICIENT_FUNDS",
            "Account does not have sufficient funds for this transaction",
            {
                "accountId": account_id,
                "requestedAmount": major_from_minor(amount_minor, currency),
                "availableBalance": major_from_minor(available_minor, currency),
                "currencyCode": currency,
            },
        )


def next_status(action: str, account_id: str, status: str, *, current_minor: int, held_minor: int) -> str:
    allowed_from, target = TRANSITIONS[action]
    if status not in allowed_from:
        raise ServiceError(
            "INVALID_ACCOUNT_STATUS",
            f"Cannot {action} an account that is {status.lower()}",
            {"accountId": account_id, "status": status},
        )
    if action == "close" and (current_minor != 0 or held_minor != 0):
        raise ServiceError(
            "INVALID_REQUEST",
            "Only an account with a zero balance and no open holds can be closed",
            {"accountId": account_id},
        )
    return target


def require_same_currency(expected: str, actual: str, *, field: str) -> None:
    if expected != actual:
        raise ServiceError(
            "INVALID_REQUEST",
            f"{field} is in {actual}, the payment is in {expected}; cross-currency postings are refused",
            {"field": field, "currencyCode": actual, "expectedCurrencyCode": expected},
        )


def assert_balanced(amounts_minor: Iterable[int]) -> None:
    """Double entry: a journal entry's postings sum to zero. A failure is a bug, not input."""
    total = sum(amounts_minor)
    if total != 0:
        raise AssertionError(f"journal entry does not balance: {total}")
