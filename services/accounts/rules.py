"""The ledger's rules as plain Python: which account states allow money to move, when a
hold fits, which status changes are legal, and the double-entry invariant."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from corelib.errors import ServiceError
from corelib.money import AMOUNT_MINOR_MAX, major_from_minor

ACTIVE: Final = "ACTIVE"
FROZEN: Final = "FROZEN"
CLOSED: Final = "CLOSED"
STATUSES: Final = (ACTIVE, FROZEN, CLOSED)

HELD: Final = "HELD"
POSTED: Final = "POSTED"
VOIDED: Final = "VOIDED"

# The largest balance an account may hold: the largest amount the JSON edge can show
# exactly (9,999,999,999,999.99 in a two-decimal currency).
BALANCE_MINOR_MAX: Final = AMOUNT_MINOR_MAX

CUSTOMER: Final = "customer"
FUNDING: Final = "funding"
SETTLEMENT: Final = "settlement"

# action → (statuses it may start from, status it leads to)
TRANSITIONS: Final[dict[str, tuple[frozenset[str], str]]] = {
    "freeze": (frozenset({ACTIVE}), FROZEN),
    "unfreeze": (frozenset({FROZEN}), ACTIVE),
    "close": (frozenset({ACTIVE, FROZEN}), CLOSED),
}


def require_active(account_id: str, status: str, *, field: str | None = None) -> None:
    if status != ACTIVE:
        details: dict[str, str] = {"accountId": account_id, "status": status}
        if field is not None:
            details = {"field": field, **details}
        raise ServiceError(
            "INVALID_ACCOUNT_STATUS",
            f"Account is {status.lower()}; money can move only through active accounts",
            details,
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


def require_room_to_receive(
    account_id: str, *, amount_minor: int, current_minor: int, currency: str, field: str
) -> None:
    """An account at its maximum balance cannot be paid into: the payment fails rather
    than leave a balance the API could not show."""
    if current_minor + amount_minor > BALANCE_MINOR_MAX:
        raise ServiceError(
            "INVALID_REQUEST",
            f"{field} cannot receive this amount: its balance would exceed the maximum of "
            f"{major_from_minor(BALANCE_MINOR_MAX, currency)} {currency}",
            {
                "field": field,
                "accountId": account_id,
                "maximumBalance": major_from_minor(BALANCE_MINOR_MAX, currency),
                "currencyCode": currency,
            },
        )


def account_not_found(account_id: str, *, field: str) -> ServiceError:
    """Also the answer for another tenant's account: nobody learns it exists."""
    return ServiceError("NOT_FOUND", "Account not found", {"field": field, "accountId": account_id})
