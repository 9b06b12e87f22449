"""Plain rules of the payment service: catalogue, limits, windows, triggers, lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from corelib.errors import ServiceError
from services.transactions import lifecycle
from services.transactions.payment_types import check_limits, resolve
from services.transactions.sandbox_triggers import failure_for
from services.transactions.settlement_windows import SettlementCalendar


@pytest.mark.parametrize("given", ["RTP", "rtp", " Rtp ", "ach_debit", "ACH_CREDIT", "wire_domestic"])
def test_payment_types_match_case_insensitively(given: str) -> None:
    assert resolve(given).id == given.strip().upper()


def test_unknown_payment_type_names_the_field() -> None:
    with pytest.raises(ServiceError) as refused:
        resolve("swift")
    assert refused.value.details["field"] == "paymentTypeId"
    assert "RTP" in refused.value.details["allowed"]


def test_rail_limits() -> None:
    rtp = resolve("rtp")
    check_limits(rtp, 100_000_000, "USD")
    with pytest.raises(ServiceError) as too_much:
        check_limits(rtp, 100_000_001, "USD")
    assert too_much.value.details["field"] == "amount"
    with pytest.raises(ServiceError) as currency:
        check_limits(rtp, 100, "EUR")
    assert currency.value.details["field"] == "currencyCode"


def test_interval_windows_close_strictly_after_now() -> None:
    calendar = SettlementCalendar.from_settings(5, "", 2)
    moment = datetime(2026, 11, 28, 10, 0, 3, tzinfo=UTC)
    closes = calendar.window_closing_after(moment)
    assert closes == datetime(2026, 11, 28, 10, 0, 5, tzinfo=UTC)
    assert calendar.window_closing_after(closes) == closes + timedelta(seconds=5)
    assert calendar.settles_at(closes) == closes + timedelta(seconds=2)


def test_scheduled_windows_roll_over_to_the_next_day() -> None:
    calendar = SettlementCalendar.from_settings(0, "14:00, 20:45", 86_400)
    assert calendar.windows_utc == (time(14, 0), time(20, 45))
    morning = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert calendar.window_closing_after(morning) == datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    night = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
    assert calendar.window_closing_after(night) == datetime(2026, 11, 29, 14, 0, tzinfo=UTC)


def test_sandbox_triggers_only_in_the_sandbox() -> None:
    assert failure_for("ACH_CREDIT", 13_01, sandbox=True) == "R01: Insufficient funds"
    assert failure_for("ACH_CREDIT", 13_01, sandbox=False) is None
    assert failure_for("RTP", 13_01, sandbox=True) is None
    assert failure_for("RTP", 100_00, sandbox=True) is None


def test_final_statuses_never_change() -> None:
    for final in (lifecycle.COMPLETED, lifecycle.FAILED, lifecycle.CANCELED, lifecycle.REJECTED):
        for target in lifecycle.LEGAL:
            with pytest.raises(AssertionError):
                lifecycle.assert_transition(final, target)
    lifecycle.assert_transition(lifecycle.PENDING, lifecycle.PROCESSING)
    lifecycle.assert_transition(lifecycle.PROCESSING, lifecycle.COMPLETED)
    with pytest.raises(AssertionError):
        lifecycle.assert_transition(lifecycle.PROCESSING, lifecycle.CANCELED)
