"""Recomputes every balance from postings and holds and reports any drift."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.accounts import repository


@dataclass
class ReconciliationReport:
    balance_drift: list[dict[str, Any]] = field(default_factory=list)
    unbalanced_entries: list[dict[str, Any]] = field(default_factory=list)
    nonzero_currencies: list[dict[str, Any]] = field(default_factory=list)
    inconsistent_holds: list[dict[str, Any]] = field(default_factory=list)
    currency_totals: list[dict[str, Any]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.balance_drift
            or self.unbalanced_entries
            or self.nonzero_currencies
            or self.inconsistent_holds
        )


async def reconcile(engine: AsyncEngine) -> ReconciliationReport:
    # One snapshot for every check, so concurrent payments cannot show as drift.
    async with engine.connect() as conn:
        snapshot = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with snapshot.begin():
            totals = await repository.currency_totals(snapshot)
            return ReconciliationReport(
                balance_drift=await repository.balance_drift(snapshot),
                unbalanced_entries=await repository.unbalanced_journal_entries(snapshot),
                nonzero_currencies=[row for row in totals if row["total"] != 0],
                inconsistent_holds=await repository.inconsistent_holds(snapshot),
                currency_totals=totals,
            )
