"""Plain ledger rules: when money may move, when a hold fits, legal status changes."""

from __future__ import annotations

import pytest

from corelib.errors import ServiceError
from services.accounts import rules


def test_a_hold_fits_only_within_the_available_balance() -> None:
    rules.require_hold_fits("acc_1", amount_minor=500, current_minor=1000, held_minor=500, currency="USD")
    with pytest.raises(ServiceError) as refused:
        rules.require_hold_fits("acc_1", amount_minor=501, current_minor=1000, held_minor=500, currency="USD")
    assert refused.value.reason == "INSUFFICIENT_FUNDS"
    assert refused.value.details == {
        "accountId": "acc_1",
        "requestedAmount": 5.01,
        "availableBalance": 5.0,
        "currencyCode": "USD",
    }


@pytest.mark.parametrize(
    ("action", "status", "target"),
    [("freeze", "ACTIVE", "FROZEN"), ("unfreeze", "FROZEN", "ACTIVE"), ("close", "FROZEN", "CLOSED")],
)
def test_legal_status_changes(action: str, status: str, target: str) -> None:
    assert rules.next_status(action, "acc_1", status, current_minor=0, held_minor=0) == target


@pytest.mark.parametrize(
    ("action", "status"), [("freeze", "FROZEN"), ("unfreeze", "ACTIVE"), ("close", "CLOSED")]
)
def test_illegal_status_changes(action: str, status: str) -> None:
    with pytest.raises(ServiceError) as refused:
        rules.next_status(action, "acc_1", status, current_minor=0, held_minor=0)
    assert refused.value.reason == "INVALID_ACCOUNT_STATUS"


@pytest.mark.parametrize(("current", "held"), [(1, 0), (0, 1), (-1, 0)])
def test_closing_needs_zero_balance_and_no_holds(current: int, held: int) -> None:
    with pytest.raises(ServiceError):
        rules.next_status("close", "acc_1", "ACTIVE", current_minor=current, held_minor=held)


def test_double_entry_is_asserted() -> None:
    rules.assert_balanced([-5, 5])
    with pytest.raises(AssertionError):
        rules.assert_balanced([-5, 4])


def test_money_moves_only_through_active_accounts() -> None:
    rules.require_active("acc_1", "ACTIVE")
    for status in ("FROZEN", "CLOSED"):
        with pytest.raises(ServiceError) as refused:
            rules.require_active("acc_1", status)
        assert refused.value.reason == "INVALID_ACCOUNT_STATUS"
