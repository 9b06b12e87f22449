"""Who owns an account and in which currency it is kept: the two facts of an account
that never change, so the payment path asks the ledger once per account and keeps the
answer. Whatever can change (status, balance) is decided by the ledger at each step."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from corelib.account_announcements import opened_account
from services.transactions.ledger_client import LedgerClient

ACCOUNTS_KEPT_MAX: Final = 100_000


@dataclass(frozen=True)
class AccountOwner:
    account_id: str
    tenant_id: str
    currency_code: str


class AccountDirectory:
    def __init__(self, ledger: LedgerClient) -> None:
        self._ledger = ledger
        self._kept: OrderedDict[str, AccountOwner] = OrderedDict()

    def on_announcement(self, payload: str) -> None:
        """An account the accounts service has just opened (corelib.account_announcements):
        kept, so its first payment need not ask the ledger."""
        opened = opened_account(payload)
        if opened is not None:
            self._keep(AccountOwner(opened.account_id, opened.tenant_id, opened.currency_code))

    async def resync(self) -> None:
        """Announcements missed while away only cost a question to the ledger later."""

    async def owners(self, account_ids: set[str]) -> dict[str, AccountOwner]:
        """The accounts that exist among `account_ids`; a missing one is absent (and not
        kept: it may be created later). Raises LedgerUnavailable."""
        found = {account_id: self._kept[account_id] for account_id in account_ids if account_id in self._kept}
        missing = [account_id for account_id in account_ids if account_id not in found]
        if missing:
            for account_id, facts in (await self._ledger.describe_accounts(sorted(missing))).items():
                owner = AccountOwner(account_id, facts.tenant_id, facts.currency_code)
                found[account_id] = owner
                self._keep(owner)
        return found

    def _keep(self, owner: AccountOwner) -> None:
        self._kept[owner.account_id] = owner
        while len(self._kept) > ACCOUNTS_KEPT_MAX:
            self._kept.popitem(last=False)
