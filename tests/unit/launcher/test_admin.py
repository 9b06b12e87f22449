"""`payment-engine admin` and `migrate`, through the CLI, on a real database."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from launcher.cli import main
from launcher.embedded_db import EmbeddedPostgres
from tests.harness.postgres import fresh_database


def run_json(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(arguments) == 0, capsys.readouterr().err
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def test_an_operator_creates_a_tenant_a_user_and_an_api_key(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = ["--database-url", database_url]
    tenant = run_json(["admin", "create-tenant", "--name", "Acme Payments", *target], capsys)
    tenant_id = str(tenant["tenantId"])
    assert tenant_id.startswith("org_")

    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery staple\n"))
    user = run_json(
        [
            "admin",
            "create-user",
            "--tenant",
            tenant_id,
            "--username",
            "ops@acme.test",
            "--password-stdin",
            "--scope",
            "account:read,transaction:read",
            *target,
        ],
        capsys,
    )
    assert str(user["userId"]).startswith("usr_")
    assert user["scopes"] == ["account:read", "transaction:read"]

    key = run_json(
        [
            "admin",
            "create-api-key",
            "--tenant",
            tenant_id,
            "--name",
            "ci",
            "--scope",
            "account:read",
            "--expires-in-days",
            "30",
            *target,
        ],
        capsys,
    )
    assert str(key["keyId"]).startswith("key_")
    assert isinstance(key["apiKey"], str) and len(key["apiKey"]) > 20


def test_expected_failures_are_one_sentence_not_a_traceback(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "admin",
            "create-api-key",
            "--tenant",
            "org_missing",
            "--name",
            "x",
            "--scope",
            "account:read",
            "--database-url",
            database_url,
        ]
    )

    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("error: NOT_FOUND: tenant not found")
    assert "Traceback" not in err


def test_unknown_scopes_are_refused(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    tenant = run_json(["admin", "create-tenant", "--name", "Scoped", "--database-url", database_url], capsys)
    status = main(
        [
            *("admin", "create-api-key", "--tenant", str(tenant["tenantId"]), "--name", "x"),
            *("--scope", "everything", "--database-url", database_url),
        ]
    )
    assert status == 1
    assert "error: INVALID_REQUEST: Unknown scope: everything" in capsys.readouterr().err


def test_migrate_brings_an_empty_database_to_the_current_schema(
    embedded_postgres: EmbeddedPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    url = fresh_database(embedded_postgres, "migrate")
    result = run_json(["migrate", "--database-url", url], capsys)
    assert "auth" in list(result["migratedSchemas"])  # type: ignore[call-overload]
    # A tenant can be created right after: the schema is really there.
    run_json(["admin", "create-tenant", "--name", "After migrate", "--database-url", url], capsys)


def test_admin_on_a_data_dir_uses_its_embedded_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = str(tmp_path / "engine")
    tenant = run_json(["admin", "create-tenant", "--name", "Local", "--data-dir", data_dir], capsys)
    assert str(tenant["tenantId"]).startswith("org_")
    # The server it started for the command is stopped again, and its data kept.
    assert not (tmp_path / "engine" / "pgdata" / "postmaster.pid").exists()
    second = run_json(["admin", "create-tenant", "--name", "Local 2", "--data-dir", data_dir], capsys)
    assert second["tenantId"] != tenant["tenantId"]


def test_an_operator_rotates_the_signing_key(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    first = run_json(["admin", "rotate-signing-key", "--database-url", database_url], capsys)
    second = run_json(["admin", "rotate-signing-key", "--database-url", database_url], capsys)
    assert first["kid"] and second["kid"] and first["kid"] != second["kid"]
