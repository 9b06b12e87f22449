"""Pairs of accounts, and CPU shares."""

from __future__ import annotations

import random

from bench.context import AccountSet
from bench.cpu import MACHINE, OTHERS, percent_of_core


def test_a_pair_never_pays_itself() -> None:
    accounts = AccountSet(accounts=["a", "b"], payers=["a"])
    chooser = random.Random(1)
    for _ in range(100):
        payer, payee = accounts.pair(chooser)
        assert (payer, payee) == ("a", "b")


def test_payees_come_from_every_account() -> None:
    accounts = AccountSet(accounts=[f"acc{i}" for i in range(50)], payers=["acc0", "acc1"])
    chooser = random.Random(2)
    payees = {accounts.pair(chooser)[1] for _ in range(2000)}
    assert len(payees) == 50


def test_cpu_shares_are_percent_of_one_core_and_the_rest_is_others() -> None:
    before = {"gateway": 1.0, "postgres": 2.0, MACHINE: 10.0}
    after = {"gateway": 1.5, "postgres": 3.0, MACHINE: 12.0}
    shares = percent_of_core(before, after, elapsed_s=1.0)
    assert shares == {"gateway": 50.0, "postgres": 100.0, OTHERS: 50.0}
