"""`payment-engine admin reconcile` on a real ledger: zero drift exits 0; a balance that
disagrees with its postings, or an unbalanced journal entry, is reported and exits 1."""

from __future__ import annotations

import json

import psycopg
import pytest

from corelib.db import libpq_url
from launcher.cli import main
from launcher.embedded_db import EmbeddedPostgres
from launcher.seeding import seed_sandbox
from tests.harness.postgres import migrated_database

SHIFT_BALANCE = (
    "UPDATE accounts.accounts SET current_balance_minor = current_balance_minor + %s WHERE id = %s"
)
SHIFT_POSTINGS = (
    "UPDATE accounts.postings SET amount_minor = amount_minor + %s, "
    "balance_after_minor = balance_after_minor + %s WHERE account_id = %s"
)


def reconcile(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = main(["admin", "reconcile", "--database-url", url])
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return code, document


def test_reconcile_reports_drift_and_only_drift(
    embedded_postgres: EmbeddedPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    url = migrated_database(embedded_postgres, "reconcile")
    seed_sandbox(url)
    code, report = reconcile(url, capsys)
    assert code == 0 and report["clean"] is True
    assert report["currencyTotals"] == [{"currency_code": "USD", "total": 0, "postings": 4}]

    with psycopg.connect(libpq_url(url), autocommit=True) as db:
        db.execute(SHIFT_BALANCE, (1, "test_acc_002"))
        code, report = reconcile(url, capsys)
        assert code == 1
        drift = report["balanceDrift"]
        assert isinstance(drift, list) and [row["id"] for row in drift] == ["test_acc_002"]
        db.execute(SHIFT_BALANCE, (-1, "test_acc_002"))
        # A posting changed on one side only: balances still match postings, but the
        # journal entry and the currency no longer sum to zero.
        db.execute(SHIFT_POSTINGS, (5, 5, "test_acc_001"))
        db.execute(SHIFT_BALANCE, (5, "test_acc_001"))
        code, report = reconcile(url, capsys)
        assert code == 1
        assert report["unbalancedJournalEntries"] and report["nonZeroCurrencies"]
        assert report["balanceDrift"] == []
