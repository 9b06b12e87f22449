"""The sandbox tenant's accounts, under the ids the guide uses: `test_acc_001` and
`test_acc_002` funded in USD, `test_acc_empty` at zero."""

from __future__ import annotations

from typing import Final

from corelib.db import create_engine, unit_of_work
from services.accounts import repository, rules
from services.accounts.funding import fund_in

# Enough for the guide's examples and sustained load tests (payments of up to 1,000.00).
SANDBOX_OPENING_BALANCE_MINOR: Final = 10_000_000_000_00
SANDBOX_ACCOUNTS: Final = (
    ("test_acc_001", "Sandbox payer", SANDBOX_OPENING_BALANCE_MINOR),
    ("test_acc_002", "Sandbox payee", SANDBOX_OPENING_BALANCE_MINOR),
    ("test_acc_empty", "Sandbox empty account", 0),
)
SANDBOX_CURRENCY: Final = "USD"


async def ensure_sandbox_accounts(database_url: str, tenant_id: str) -> list[str]:
    """Idempotent: an account that exists is left as it is (its balance included)."""
    engine = create_engine(database_url, application_name="admin", pool_size=1)
    created = []
    try:
        async with unit_of_work(engine) as conn:
            for account_id, name, opening_minor in SANDBOX_ACCOUNTS:
                account = await repository.insert_account(
                    conn,
                    account_id=account_id,
                    tenant_id=tenant_id,
                    kind=rules.CUSTOMER,
                    name=name,
                    currency_code=SANDBOX_CURRENCY,
                    metadata={"sandbox": True},
                )
                if account is None:
                    continue
                created.append(account_id)
                if opening_minor:
                    await fund_in(conn, account, opening_minor, "Sandbox opening balance")
    finally:
        await engine.dispose()
    return created
