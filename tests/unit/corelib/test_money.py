from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corelib.errors import ServiceError
from corelib.money import (
    AMOUNT_MINOR_MAX,
    major_from_minor,
    minor_from_major,
    positive_minor_from_major,
    validate_currency,
)


def test_major_units_convert_exactly() -> None:
    assert minor_from_major(1000.00, "USD") == 100000
    assert minor_from_major(0.1, "USD") == 10
    assert minor_from_major(19.99, "USD") == 1999
    assert minor_from_major(1234.567, "KWD") == 1234567
    assert minor_from_major(500.0, "JPY") == 500


def test_too_many_decimals_is_refused_not_rounded() -> None:
    # What the guide's load test sends: Math.random() * 1000.
    with pytest.raises(ServiceError) as refused:
        minor_from_major(537.2918340012, "USD")
    assert refused.value.reason == "INVALID_REQUEST"
    assert refused.value.details["field"] == "amount"
    assert refused.value.details["maxDecimalPlaces"] == 2
    assert "USD" in refused.value.message
    with pytest.raises(ServiceError):
        minor_from_major(1.5, "JPY")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e300, -1e300])
def test_non_finite_and_huge_amounts_are_refused(value: float) -> None:
    with pytest.raises(ServiceError):
        minor_from_major(value, "USD")


@pytest.mark.parametrize("value", [0.0, -1.0, -0.01])
def test_payments_need_a_positive_amount(value: float) -> None:
    with pytest.raises(ServiceError):
        positive_minor_from_major(value, "USD")


def test_currency_codes() -> None:
    assert validate_currency("usd") == "USD"
    with pytest.raises(ServiceError) as refused:
        validate_currency("XXX")
    assert refused.value.details["field"] == "currencyCode"


@given(
    st.integers(min_value=-AMOUNT_MINOR_MAX, max_value=AMOUNT_MINOR_MAX),
    st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_minor_units_round_trip_through_the_json_double(minor: int, currency: str) -> None:
    as_double = major_from_minor(minor, currency)
    assert minor_from_major(as_double, currency) == minor
    assert Decimal(repr(as_double)) == Decimal(minor).scaleb(-{"USD": 2, "JPY": 0, "KWD": 3}[currency])
