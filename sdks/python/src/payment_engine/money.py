"""Amounts are `Decimal`, exactly, in both directions.

The REST API carries amounts as JSON numbers in major units (`1000.00`). The SDK turns
what callers give it into a `Decimal` without arithmetic: a float goes through its
shortest round-trip text (`19.99` → `Decimal('19.99')`, never
`Decimal(19.99)` = 19.989999999999998436805981327779591083526611328125), and the
Decimal is written to JSON with exactly its digits. Amounts read back are parsed
straight from the JSON text into `Decimal`. Nothing is rounded: an amount with more
decimals than its currency allows is sent as is, and the engine refuses it with
INVALID_REQUEST naming the field and the allowed decimals.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final, TypeAlias

AmountLike: TypeAlias = Decimal | int | float | str
"""What the SDK accepts as an amount: `Decimal('10.50')`, `10.5`, `10`, `'10.50'`."""


def to_decimal(value: AmountLike, *, field: str = "amount") -> Decimal:
    """`value` as an exact, finite Decimal; ValueError/TypeError otherwise."""
    if isinstance(value, bool):
        raise TypeError(f"{field} must be a number, not a bool")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        # repr() is the shortest text that round-trips to the same float: what the
        # caller wrote in their source, not the binary approximation of it.
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"{field} is not a number: {value!r}") from exc
    else:
        raise TypeError(f"{field} must be a Decimal, int, float or str, not {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{field} must be a finite number, not {result}")
    return result


def decimal_to_json_number(value: Decimal) -> str:
    """The JSON number text of a finite Decimal, with exactly its digits and no exponent
    (`Decimal('0.1')` → `0.1`, `Decimal('1000.00')` → `1000.00`, `Decimal('1E+2')` → `100`)."""
    if not value.is_finite():
        raise ValueError(f"{value} cannot be sent as a JSON number")
    return format(value, "f")


# ISO 4217 minor-unit exponents of the currencies the engine settles (as the engine's own table).
CURRENCY_EXPONENTS: Final[dict[str, int]] = {
    **dict.fromkeys(
        (
            "USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK",
            "PLN", "CZK", "MXN", "BRL", "INR", "SGD", "HKD", "CNY", "ZAR",
        ),
        2,
    ),
    **dict.fromkeys(("JPY", "KRW", "ISK"), 0),
    **dict.fromkeys(("BHD", "KWD", "OMR", "JOD", "TND"), 3),
}  # fmt: skip


def in_currency(value: Decimal, currency_code: str) -> Decimal:
    """`value` written with its currency's decimals (`1.0` USD → `1.00`), the same number.

    JSON numbers lose trailing zeros on the way (`1.00` arrives as `1.0`); this puts them
    back so amounts print as money. It never rounds: a value with more decimals than the
    currency allows, or in a currency not in the table, is returned as it came."""
    exponent = CURRENCY_EXPONENTS.get(currency_code.upper())
    if exponent is None or not value.is_finite():
        return value
    try:
        scaled = value.quantize(Decimal(1).scaleb(-exponent))
    except InvalidOperation:
        return value
    return scaled if scaled == value else value
