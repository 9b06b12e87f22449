"""The optional database components, rendered through the overlays that include them:
`staging-pooled` (k8s/components/pgbouncer) and `production-ha`
(k8s/components/cloudnative-pg). Schema validity and checkov are scripts/check-deploy's;
this checks what they must say, and that the custom-resource check catches a mistake."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import yaml

from tests.edge.envoy_support import ROOT
from tests.edge.test_k8s import SERVICES, _of_kind, _pod_specs, render

VALIDATOR: Final = ROOT / "scripts" / "validate-custom-resources"


def env_of(objects: list[dict[str, Any]], workload: str) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = _pod_specs(objects)[workload]["containers"][0]["env"]
    return env


def config(objects: list[dict[str, Any]]) -> dict[str, str]:
    (engine_config,) = [
        item["data"]
        for name, item in _of_kind(objects, "ConfigMap").items()
        if name.startswith("payment-engine-config")
    ]
    return dict(engine_config)


def test_the_pooled_overlay_puts_pgbouncer_in_transaction_mode_before_postgres() -> None:
    objects = render("staging-pooled")
    assert "pgbouncer" in _of_kind(objects, "Deployment") and "pgbouncer" in _of_kind(objects, "Service")
    assert config(objects)["PE_DATABASE_PREPARED_STATEMENTS"] == "false"
    (ini,) = [
        item["data"]["pgbouncer.ini"]
        for name, item in _of_kind(objects, "ConfigMap").items()
        if name.startswith("pgbouncer-config")
    ]
    assert "pool_mode = transaction" in ini
    assert "ignore_startup_parameters = extra_float_digits,options" in ini
    for workload in (*SERVICES, "migrate"):
        direct = [entry for entry in env_of(objects, workload) if entry["name"] == "PE_DATABASE_DIRECT_URL"]
        assert direct and direct[0]["valueFrom"]["secretKeyRef"]["key"] == "database-direct-url", workload


def test_the_ha_overlay_runs_a_quorum_synchronous_cnpg_cluster_behind_its_pooler() -> None:
    objects = render("production-ha")
    (cluster,) = _of_kind(objects, "Cluster").values()
    assert cluster["spec"]["instances"] == 3
    synchronous = cluster["spec"]["postgresql"]["synchronous"]
    assert synchronous["method"] == "any" and synchronous["number"] >= 1
    assert synchronous["dataDurability"] == "required"
    assert cluster["spec"]["backup"]["barmanObjectStore"]["destinationPath"].startswith("s3://")
    (pooler,) = _of_kind(objects, "Pooler").values()
    assert pooler["spec"]["type"] == "rw" and pooler["spec"]["pgbouncer"]["poolMode"] == "transaction"
    assert _of_kind(objects, "ScheduledBackup")
    assert config(objects)["PE_DATABASE_PREPARED_STATEMENTS"] == "false"

    for workload in (*SERVICES, "migrate"):
        env = env_of(objects, workload)
        names = [entry["name"] for entry in env]
        # $(VAR) expands only variables defined earlier in the list.
        assert names.index("PE_DB_USER") < names.index("PE_DATABASE_URL"), workload
        assert names.index("PE_DB_PASSWORD") < names.index("PE_DATABASE_URL"), workload
        values = {entry["name"]: entry.get("value", "") for entry in env}
        assert "@payment-engine-db-rw:5432/" in values["PE_DATABASE_DIRECT_URL"], workload
        pooled = "@payment-engine-db-pooler-rw:5432/"
        assert (pooled in values["PE_DATABASE_URL"]) == (workload != "migrate"), workload


def test_a_misspelt_custom_resource_field_fails_the_check(tmp_path: Path) -> None:
    objects = render("production-ha")
    (cluster,) = _of_kind(objects, "Cluster").values()
    cluster["spec"]["instance"] = cluster["spec"].pop("instances")
    rendered = tmp_path / "broken.yaml"
    rendered.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(VALIDATOR), str(rendered)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "'instance' was unexpected" in result.stderr
