"""Amounts are exact Decimals on the way out and on the way in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from engine_double import EngineDouble, json_response, make_client, transaction_json

from payment_engine import CreateTransactionRequest
from payment_engine.money import decimal_to_json_number, in_currency, to_decimal
from payment_engine.wire import dumps, loads

TXN = "/api/v1/transactions"


def _sent_body(amount: object, **extra: object) -> bytes:
    engine = EngineDouble().on("POST", TXN, json_response(201, transaction_json()))
    client = make_client(engine)
    client.transactions.create(
        from_account_id="acc_123",
        to_account_id="acc_456",
        payment_type_id="rtp",
        amount=amount,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )
    return engine.requests[0].body


@pytest.mark.parametrize(
    ("amount", "wire_text"),
    [
        (Decimal("0.1"), b'"amount":0.1'),
        (Decimal("1000.00"), b'"amount":1000.00'),
        (19.99, b'"amount":19.99'),
        (0.1, b'"amount":0.1'),
        (1000.00, b'"amount":1000.0'),
        (100, b'"amount":100'),
        ("12.30", b'"amount":12.30'),
        (Decimal("1E+2"), b'"amount":100'),
        # The guide's load test sends Math.random() * 1000: sent unrounded, for the
        # engine to refuse by name, never silently rounded here.
        (123.45678901234, b'"amount":123.45678901234'),
    ],
)
def test_amounts_are_sent_with_exactly_their_digits(amount: object, wire_text: bytes) -> None:
    assert wire_text in _sent_body(amount)


def test_a_float_becomes_the_decimal_it_was_written_as() -> None:
    request = CreateTransactionRequest(
        from_account_id="acc_123", to_account_id="acc_456", payment_type_id="rtp", amount=19.99
    )
    assert request.amount == Decimal("19.99")
    assert request.amount != Decimal.from_float(19.99)


def test_metadata_numbers_are_exact_too() -> None:
    body = _sent_body(
        Decimal("5"), metadata={"items": [{"price": 19.99, "tax": Decimal("1.60"), "quantity": 2}]}
    )
    assert b'"metadata":{"items":[{"price":19.99,"tax":1.60,"quantity":2}]}' in body


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity"), "abc"])
def test_non_finite_or_non_numeric_amounts_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        to_decimal(bad)  # type: ignore[arg-type]


def test_a_bool_is_not_an_amount() -> None:
    with pytest.raises(TypeError):
        to_decimal(True)


def test_amounts_read_back_are_exact_decimals() -> None:
    engine = (
        EngineDouble()
        .on("GET", "/api/v1/transactions/txn_1", json_response(200, transaction_json(amount=19.99)))
        .on(
            "GET",
            "/api/v1/accounts/acc_123/balance",
            json_response(
                200,
                {
                    "accountId": "acc_123",
                    "availableBalance": 0.3,
                    "currentBalance": 1000.1,
                    "heldBalance": 999.8,
                    "currencyCode": "USD",
                    "asOf": "2024-01-15T10:30:00Z",
                },
            ),
        )
    )
    client = make_client(engine)

    assert client.transactions.get("txn_1").amount == Decimal("19.99")
    balance = client.accounts.get_balance("acc_123")
    assert balance.available_balance == Decimal("0.3")
    assert balance.current_balance - balance.held_balance == Decimal("0.3")
    # Written with the currency's decimals, as money prints.
    assert str(balance.available_balance) == "0.30"
    assert str(balance.current_balance) == "1000.10"


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        ("1.0", "USD", "1.00"),
        ("10000000000.0", "usd", "10000000000.00"),
        ("1000.0", "JPY", "1000"),
        ("1.5", "KWD", "1.500"),
        ("1.5", "XTS", "1.5"),
        # Never rounded: more decimals than the currency has are left as they came.
        ("0.125", "USD", "0.125"),
    ],
)
def test_amounts_take_their_currencys_decimals_without_rounding(
    value: str, currency: str, shown: str
) -> None:
    assert str(in_currency(Decimal(value), currency)) == shown


def test_json_round_trip_keeps_decimals() -> None:
    document = {"amount": Decimal("0.10"), "nested": [Decimal("-0.01"), 1, "x", None, True]}
    assert dumps(document) == b'{"amount":0.10,"nested":[-0.01,1,"x",null,true]}'
    assert loads(dumps(document)) == document
    assert decimal_to_json_number(Decimal("1.5E-7")) == "0.00000015"
