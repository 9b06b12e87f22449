"""`accounts_opened`: the accounts service announces each customer account it opens
(its id, owning tenant and currency — facts that never change), with PostgreSQL NOTIFY
in the transaction that opens it.

The payment path keeps those facts of every account it has paid from or to
(services/transactions/account_directory.py) and asks the ledger for an account it has
not seen. Hearing of an account when it is opened spares its first payment that round
trip. A lost announcement (a listener reconnecting) costs only that: the ledger is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import orjson

ACCOUNTS_OPENED_CHANNEL: Final = "accounts_opened"
# NOTIFY payloads hold at most 8,000 bytes; an announcement is far below, and a larger
# one (never written) is ignored.
PAYLOAD_BYTES_MAX: Final = 1024


@dataclass(frozen=True)
class OpenedAccount:
    account_id: str
    tenant_id: str
    currency_code: str


def announcement(account: OpenedAccount) -> str:
    return orjson.dumps(
        {"id": account.account_id, "tenantId": account.tenant_id, "currencyCode": account.currency_code}
    ).decode()


def opened_account(payload: str) -> OpenedAccount | None:
    """The account a payload announces; None for anything else."""
    if len(payload) > PAYLOAD_BYTES_MAX:
        return None
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    fields = (document.get("id"), document.get("tenantId"), document.get("currencyCode"))
    if not all(isinstance(value, str) and value for value in fields):
        return None
    account_id, tenant_id, currency_code = fields
    return OpenedAccount(str(account_id), str(tenant_id), str(currency_code))
