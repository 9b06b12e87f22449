"""Deterministic failures for the sandbox: specific amounts make a payment fail on its
rail with a realistic reason, so integrators can exercise their failure paths.
Documented in the README; inactive in production."""

from __future__ import annotations

from typing import Final

from services.transactions.payment_types import ACH_CREDIT, ACH_DEBIT, RTP, WIRE_DOMESTIC

# (rail, amount in minor units) → failure reason
TRIGGERS: Final[dict[tuple[str, int], str]] = {
    **{
        (rail, amount): reason
        for rail in (ACH_CREDIT, ACH_DEBIT)
        for amount, reason in (
            (13_01, "R01: Insufficient funds"),
            (13_02, "R02: Account closed"),
            (13_03, "R03: No account/unable to locate account"),
            (13_04, "R04: Invalid account number structure"),
        )
    },
    (ACH_DEBIT, 13_29): "R29: Corporate customer advises not authorized",
    (WIRE_DOMESTIC, 21_01): "Wire rejected by beneficiary bank: invalid beneficiary account",
    (WIRE_DOMESTIC, 21_02): "Wire rejected: OFAC screening hold",
    (RTP, 31_01): "RTP rejected by receiving institution: AC04 account closed",
    (RTP, 31_02): "RTP rejected by receiving institution: AM04 insufficient funds at receiver",
}


def failure_for(rail: str, amount_minor: int, *, sandbox: bool) -> str | None:
    if not sandbox:
        return None
    return TRIGGERS.get((rail, amount_minor))
