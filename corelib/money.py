"""Money as integer minor units, and its exact conversion at the public edge.

Inside the engine every amount is an int64 count of the currency's minor unit. The
public JSON shows major units as numbers (`1000.00`), which proto3 JSON can only carry
as `double`; such a double is converted through its shortest decimal form
(`Decimal(repr(x))`), never by multiplying, and an amount with more decimals than the
currency allows is refused rather than rounded.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Final

from corelib.errors import ServiceError

# ISO 4217 minor-unit exponents of the currencies the engine settles.
CURRENCY_EXPONENTS: Final[dict[str, int]] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "MXN": 2,
    "BRL": 2,
    "INR": 2,
    "SGD": 2,
    "HKD": 2,
    "CNY": 2,
    "ZAR": 2,
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}
INT64_MAX: Final = 2**63 - 1
# A double keeps any decimal of up to 15 significant digits exactly through its shortest
# repr; a larger amount could not be shown exactly at the JSON edge, so the engine
# refuses it outright (9,999,999,999,999.99 in a two-decimal currency).
AMOUNT_MINOR_MAX: Final = 10**15 - 1


def validate_currency(code: str, *, field: str = "currencyCode") -> str:
    normalised = code.strip().upper()
    if normalised not in CURRENCY_EXPONENTS:
        raise ServiceError(
            "INVALID_REQUEST",
            f"{field} {code!r} is not a supported ISO 4217 currency",
            {"field": field, "value": code, "supported": sorted(CURRENCY_EXPONENTS)},
        )
    return normalised


def exponent(currency: str) -> int:
    return CURRENCY_EXPONENTS[currency]


def minor_from_major(value: float | Decimal | int, currency: str, *, field: str = "amount") -> int:
    """A public major-unit amount → exact minor units, or INVALID_REQUEST naming the field."""
    allowed = exponent(currency)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ServiceError("INVALID_REQUEST", f"{field} must be a finite number", {"field": field})
        decimal_value = Decimal(repr(value))
    else:
        try:
            decimal_value = Decimal(value)
        except InvalidOperation as exc:
            raise ServiceError("INVALID_REQUEST", f"{field} must be a number", {"field": field}) from exc
    scaled = decimal_value.scaleb(allowed)
    if scaled != scaled.to_integral_value():
        raise ServiceError(
            "INVALID_REQUEST",
            f"{field} has more decimal places than {currency} allows ({allowed})",
            {
                "field": field,
                "value": str(decimal_value),
                "currencyCode": currency,
                "maxDecimalPlaces": allowed,
            },
        )
    minor = int(scaled)
    if abs(minor) > AMOUNT_MINOR_MAX:
        raise ServiceError(
            "INVALID_REQUEST",
            f"{field} is too large",
            {"field": field, "maximum": str(Decimal(AMOUNT_MINOR_MAX).scaleb(-allowed))},
        )
    return minor


def positive_minor_from_major(value: float | Decimal | int, currency: str, *, field: str = "amount") -> int:
    minor = minor_from_major(value, currency, field=field)
    if minor <= 0:
        raise ServiceError("INVALID_REQUEST", f"{field} must be greater than zero", {"field": field})
    return minor


def major_from_minor(minor: int, currency: str) -> float:
    """For the JSON edge: the double whose shortest repr is exactly the decimal amount."""
    if abs(minor) > AMOUNT_MINOR_MAX:
        raise ValueError("amount beyond exact double range")
    return float(Decimal(minor).scaleb(-exponent(currency)))
