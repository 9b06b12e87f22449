"""The payment path's directory of account owners: an announced account is known without
asking the ledger; an unknown one is asked for once and then kept."""

from __future__ import annotations

from typing import Any

from payment_engine_protos.accounts.v1 import accounts_pb2

from corelib.account_announcements import OpenedAccount, announcement
from services.transactions.account_directory import AccountDirectory, AccountOwner


class RecordingLedger:
    """Stands in for the accounts service's DescribeAccounts, recording what it is asked."""

    def __init__(self, known: dict[str, tuple[str, str]]) -> None:
        self.known = known
        self.asked: list[list[str]] = []

    async def describe_accounts(self, account_ids: list[str]) -> dict[str, accounts_pb2.AccountFacts]:
        self.asked.append(account_ids)
        return {
            account_id: accounts_pb2.AccountFacts(
                id=account_id, tenant_id=self.known[account_id][0], currency_code=self.known[account_id][1]
            )
            for account_id in account_ids
            if account_id in self.known
        }


def directory_over(ledger: RecordingLedger) -> AccountDirectory:
    directory_ledger: Any = ledger
    return AccountDirectory(directory_ledger)


async def test_an_announced_account_is_known_without_asking_the_ledger() -> None:
    ledger = RecordingLedger({})
    directory = directory_over(ledger)
    directory.on_announcement(announcement(OpenedAccount("acc_new", "org_a", "EUR")))
    directory.on_announcement("not an announcement")
    assert await directory.owners({"acc_new"}) == {"acc_new": AccountOwner("acc_new", "org_a", "EUR")}
    assert ledger.asked == []


async def test_an_account_not_heard_of_is_asked_for_once_and_a_missing_one_each_time() -> None:
    ledger = RecordingLedger({"acc_old": ("org_b", "USD")})
    directory = directory_over(ledger)
    assert await directory.owners({"acc_old", "acc_none"}) == {
        "acc_old": AccountOwner("acc_old", "org_b", "USD")
    }
    assert await directory.owners({"acc_old"}) == {"acc_old": AccountOwner("acc_old", "org_b", "USD")}
    assert await directory.owners({"acc_none"}) == {}
    assert ledger.asked == [["acc_none", "acc_old"], ["acc_none"]]
