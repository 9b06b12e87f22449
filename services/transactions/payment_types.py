"""The payment-type catalogue: the rails the engine offers and their limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from corelib.errors import ServiceError

INSTANT: Final = "INSTANT"
BATCH: Final = "BATCH"
INDIVIDUAL: Final = "INDIVIDUAL"

RTP: Final = "RTP"
ACH_CREDIT: Final = "ACH_CREDIT"
ACH_DEBIT: Final = "ACH_DEBIT"
WIRE_DOMESTIC: Final = "WIRE_DOMESTIC"
PAYMENT_TYPE_ID_LENGTH_MAX: Final = 32


@dataclass(frozen=True)
class PaymentType:
    id: str
    name: str
    settlement: str
    currencies: tuple[str, ...]
    min_amount_minor: int
    max_amount_minor: int
    cutoff_time: str
    expected_processing_time: str

    @property
    def is_batch(self) -> bool:
        return self.settlement == BATCH

    @property
    def pulls_money(self) -> bool:
        """The caller is paid: money moves from the payer to the caller's account."""
        return self.id == ACH_DEBIT


CATALOGUE: Final[tuple[PaymentType, ...]] = (
    PaymentType(RTP, "Real-Time Payment", INSTANT, ("USD",), 1, 1_000_000_00, "", "seconds"),
    PaymentType(ACH_CREDIT, "ACH Credit", BATCH, ("USD",), 1, 1_000_000_00, "20:45", "1-2 business days"),
    PaymentType(ACH_DEBIT, "ACH Debit", BATCH, ("USD",), 1, 1_000_000_00, "20:45", "1-2 business days"),
    PaymentType(
        WIRE_DOMESTIC, "Domestic Wire", INDIVIDUAL, ("USD",), 1, 100_000_000_00, "22:00", "same business day"
    ),
)
_BY_ID: Final = {payment_type.id: payment_type for payment_type in CATALOGUE}


def resolve(payment_type_id: str) -> PaymentType:
    """Case-insensitive: the guide writes `rtp`, `ACH_CREDIT` and `wire_domestic`."""
    if not payment_type_id:
        raise ServiceError("INVALID_REQUEST", "paymentTypeId is required", {"field": "paymentTypeId"})
    found = _BY_ID.get(payment_type_id.strip().upper()[:PAYMENT_TYPE_ID_LENGTH_MAX])
    if found is None:
        raise ServiceError(
            "INVALID_REQUEST",
            f"Unknown paymentTypeId {payment_type_id[:PAYMENT_TYPE_ID_LENGTH_MAX]!r}",
            {"field": "paymentTypeId", "allowed": sorted(_BY_ID)},
        )
    return found


def check_limits(payment_type: PaymentType, amount_minor: int, currency: str) -> None:
    if currency not in payment_type.currencies:
        raise ServiceError(
            "INVALID_REQUEST",
            f"{payment_type.id} does not carry {currency}",
            {"field": "currencyCode", "currencyCode": currency, "allowed": list(payment_type.currencies)},
        )
    if not (payment_type.min_amount_minor <= amount_minor <= payment_type.max_amount_minor):
        raise ServiceError(
            "INVALID_REQUEST",
            f"amount is outside the limits of {payment_type.id}",
            {
                "field": "amount",
                "minAmountMinor": payment_type.min_amount_minor,
                "maxAmountMinor": payment_type.max_amount_minor,
            },
        )
