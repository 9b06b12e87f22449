"""The scenarios, in the order a run takes them: cheap reads first, then the ledger,
then payments, and webhooks last (its endpoint would otherwise receive every later
scenario's events)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from bench.context import BenchContext
from bench.scenarios.accounts import balance_read, hold_post_hot, hold_post_spread
from bench.scenarios.auth import auth_me, login
from bench.scenarios.payments import rtp_batches, rtp_payments
from bench.scenarios.webhooks import webhook_delivery

Scenario = Callable[[BenchContext], Awaitable[None]]

SCENARIO_FUNCTIONS: Final[dict[str, Scenario]] = {
    "login": login,
    "auth_me": auth_me,
    "balance_read": balance_read,
    "hold_post_hot": hold_post_hot,
    "hold_post_spread": hold_post_spread,
    "rtp_payments": rtp_payments,
    "rtp_batches": rtp_batches,
    "webhook_delivery": webhook_delivery,
}
