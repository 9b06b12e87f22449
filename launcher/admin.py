"""`payment-engine admin`: operator actions on tenants, users and API keys.

They act as the operator, straight on the database through the auth service's
provisioning functions — there is no tenant principal to authenticate yet when the first
tenant is made.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import ProgrammingError

from corelib.db import create_engine
from corelib.errors import ServiceError
from launcher.async_bridge import run_coroutine
from launcher.database import redacted
from launcher.errors import LaunchError
from launcher.operator_db import operator_database
from services.accounts.reconciliation import ReconciliationReport, reconcile
from services.auth import provisioning
from services.auth.signing_keys import SigningKeyStore


def create_tenant(database_url: str | None, data_dir: Path, *, name: str) -> dict[str, object]:
    with operator_database(database_url, data_dir) as url, _operator_errors(url):
        tenant_id = run_coroutine(provisioning.create_tenant(url, name))
    return {"tenantId": tenant_id, "name": name.strip()}


def create_user(
    database_url: str | None,
    data_dir: Path,
    *,
    tenant_id: str,
    username: str,
    password: str,
    scopes: list[str],
) -> dict[str, object]:
    with operator_database(database_url, data_dir) as url, _operator_errors(url):
        user_id = run_coroutine(provisioning.create_user(url, tenant_id, username, password, scopes))
    return {"userId": user_id, "tenantId": tenant_id, "username": username, "scopes": scopes}


def create_api_key(
    database_url: str | None,
    data_dir: Path,
    *,
    tenant_id: str,
    name: str,
    scopes: list[str],
    expires_in_days: int | None,
) -> dict[str, object]:
    with operator_database(database_url, data_dir) as url, _operator_errors(url):
        key_id, secret = run_coroutine(
            provisioning.create_api_key(url, tenant_id, name, scopes, expires_in_days)
        )
    return {
        "keyId": key_id,
        # Shown this once: only its hash is stored.
        "apiKey": secret,
        "tenantId": tenant_id,
        "name": name,
        "scopes": scopes,
        "expiresInDays": expires_in_days,
    }


def reconcile_ledger(database_url: str | None, data_dir: Path) -> tuple[bool, dict[str, object]]:
    """Recomputes every balance from postings and holds; (clean, report)."""
    with operator_database(database_url, data_dir) as url, _operator_errors(url):
        report = run_coroutine(_reconcile(url))
    document: dict[str, object] = {
        "clean": report.clean,
        "balanceDrift": report.balance_drift,
        "unbalancedJournalEntries": report.unbalanced_entries,
        "nonZeroCurrencies": report.nonzero_currencies,
        "inconsistentHolds": report.inconsistent_holds,
        "currencyTotals": report.currency_totals,
    }
    return report.clean, document


def rotate_signing_key(database_url: str | None, data_dir: Path) -> dict[str, object]:
    """A new token signing key becomes current; older keys keep verifying until every
    token they signed has expired. Running auth replicas pick it up within their cache
    interval, and verifiers fetch it the first time they see its kid."""
    with operator_database(database_url, data_dir) as url, _operator_errors(url):
        kid = run_coroutine(_rotate(url))
    return {"kid": kid}


async def _rotate(database_url: str) -> str:
    engine = create_engine(database_url, application_name="admin-rotate", pool_size=1)
    try:
        return await SigningKeyStore(engine).rotate()
    finally:
        await engine.dispose()


async def _reconcile(database_url: str) -> ReconciliationReport:
    engine = create_engine(database_url, application_name="admin-reconcile", pool_size=1)
    try:
        return await reconcile(engine)
    finally:
        await engine.dispose()


@contextmanager
def _operator_errors(database_url: str) -> Iterator[None]:
    """Turns the expected failures (a taken username, an unknown tenant, an unmigrated
    database) into one sentence for the operator."""
    try:
        yield
    except ServiceError as error:
        details = f" {error.details}" if error.details else ""
        raise LaunchError(f"{error.reason}: {error.message}{details}") from error
    except ProgrammingError as error:
        raise LaunchError(
            f"the database at {redacted(database_url)} is not ready for this ({error.orig}); "
            f"run `payment-engine migrate --database-url …` first"
        ) from error
