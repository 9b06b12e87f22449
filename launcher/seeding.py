"""The sandbox tenant every local engine starts with: its login, its API key, and the
guide's accounts (`test_acc_001`, `test_acc_002` funded, `test_acc_empty`)."""

from __future__ import annotations

from launcher.async_bridge import run_coroutine
from launcher.credentials import SandboxCredentials
from services.accounts.sandbox_seed import ensure_sandbox_accounts
from services.auth import provisioning


def seed_sandbox(database_url: str) -> SandboxCredentials:
    """Idempotent: the same credentials on every restart of the same database."""
    seeded = run_coroutine(provisioning.ensure_sandbox(database_url))
    run_coroutine(ensure_sandbox_accounts(database_url, seeded.tenant_id))
    return SandboxCredentials(
        username=seeded.username,
        password=seeded.password,
        api_key=seeded.api_key,
        tenant_id=seeded.tenant_id,
    )
