from __future__ import annotations

import sys

import pytest

from corelib.grpc_experiments import ENGINE_GRPC_EXPERIMENTS, GRPC_EXPERIMENTS_VARIABLE
from launcher.readiness import GrpcHealthProbe, HttpReadyProbe
from launcher.topology import EngineConfig, Topology, installed_services, process_stages

CONFIG = EngineConfig(
    database_url="postgresql+psycopg://postgres@127.0.0.1:5/pe",
    mode="sandbox",
    log_format="json",
    service_secret="s3cret",
    extra_env={"PE_LOGIN_ATTEMPTS_PER_ADDRESS_MAX": "1000"},
)
TOPOLOGY = Topology(
    grpc_ports={"auth": 1001, "accounts": 1002, "transactions": 1003, "webhooks": 1004},
    gateway_port=8088,
    with_gateway=True,
)


def test_each_process_starts_after_the_ones_it_calls() -> None:
    stages = process_stages(TOPOLOGY, CONFIG)
    # auth: everyone's tokens; webhooks: where the relays publish; accounts: the ledger
    # the saga drives; the gateway in front of them all.
    assert [[spec.name for spec in stage] for stage in stages] == [
        ["auth"],
        ["webhooks"],
        ["accounts"],
        ["transactions"],
        ["gateway"],
    ]
    assert stages[0][0].argv == (sys.executable, "-m", "services.auth.server")
    assert stages[-1][0].argv == (sys.executable, "-m", "gateway.server")


def test_every_process_learns_every_address_and_its_own_port() -> None:
    auth, accounts = process_stages(TOPOLOGY, CONFIG)[0][0], process_stages(TOPOLOGY, CONFIG)[2][0]
    for spec in (auth, accounts):
        assert spec.env["PE_DATABASE_URL"] == CONFIG.database_url
        assert spec.env["PE_MODE"] == "sandbox"
        assert spec.env["PE_SERVICE_SECRET"] == "s3cret"
        assert spec.env["PE_AUTH_ADDR"] == "127.0.0.1:1001"
        assert spec.env["PE_TRANSACTIONS_ADDR"] == "127.0.0.1:1003"
        assert spec.env["PE_GATEWAY_PORT"] == "8088"
        assert spec.env["PE_LOGIN_ATTEMPTS_PER_ADDRESS_MAX"] == "1000"
    assert auth.env["PE_GRPC_PORT"] == "1001"
    assert accounts.env["PE_GRPC_PORT"] == "1002"


def test_every_process_runs_with_the_engines_grpc_experiments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GRPC_EXPERIMENTS_VARIABLE, raising=False)
    specs = [spec for stage in process_stages(TOPOLOGY, CONFIG) for spec in stage]
    assert {spec.env[GRPC_EXPERIMENTS_VARIABLE] for spec in specs} == {ENGINE_GRPC_EXPERIMENTS}
    # An operator who names their own experiments keeps them.
    monkeypatch.setenv(GRPC_EXPERIMENTS_VARIABLE, "tcp_rcv_lowat")
    specs = [spec for stage in process_stages(TOPOLOGY, CONFIG) for spec in stage]
    assert {spec.env[GRPC_EXPERIMENTS_VARIABLE] for spec in specs} == {"tcp_rcv_lowat"}


def test_probes_match_what_each_process_serves() -> None:
    stages = process_stages(TOPOLOGY, CONFIG)
    auth_probe, gateway_probe = stages[0][0].probe, stages[-1][0].probe
    assert isinstance(auth_probe, GrpcHealthProbe) and auth_probe.address == "127.0.0.1:1001"
    assert isinstance(gateway_probe, HttpReadyProbe) and gateway_probe.url == "http://127.0.0.1:8088/readyz"


def test_only_webhook_delivery_yields_the_cores_to_the_payment_path() -> None:
    specs = {spec.name: spec for stage in process_stages(TOPOLOGY, CONFIG) for spec in stage}
    assert {name: spec.nice for name, spec in specs.items() if spec.nice} == {"webhooks": 5}
    assert all(specs[name].nice == 0 for name in ("auth", "accounts", "transactions", "gateway"))


def test_without_a_gateway_no_gateway_process() -> None:
    topology = Topology(grpc_ports={"auth": 1001}, gateway_port=8088, with_gateway=False)
    assert [[spec.name for spec in stage] for stage in process_stages(topology, CONFIG)] == [["auth"]]


def test_only_services_with_an_entry_point_are_started() -> None:
    services = installed_services()
    assert "auth" in services
    assert set(services) <= {"auth", "accounts", "transactions", "webhooks"}


def test_the_portal_starts_last_and_calls_only_the_gateway() -> None:
    topology = Topology(
        grpc_ports={"auth": 1001, "accounts": 1002}, gateway_port=8088, with_gateway=True, portal_port=8089
    )
    stages = process_stages(topology, CONFIG)
    assert [[spec.name for spec in stage] for stage in stages][-2:] == [["gateway"], ["portal"]]
    (portal,) = stages[-1]
    assert portal.argv == (sys.executable, "-m", "portal.server")
    assert portal.env["PE_PORTAL_PORT"] == "8089"
    assert portal.env["PE_PORTAL_API_URL"] == "http://127.0.0.1:8088"
    assert isinstance(portal.probe, HttpReadyProbe)
    assert portal.probe.url == "http://127.0.0.1:8089/portal/readyz"
    assert topology.portal_url == "http://127.0.0.1:8089/portal/"


def test_no_portal_without_a_port_or_without_the_gateway() -> None:
    assert Topology(grpc_ports={"auth": 1001}, gateway_port=8088).portal_url is None
    without_gateway = Topology(
        grpc_ports={"auth": 1001}, gateway_port=8088, with_gateway=False, portal_port=8089
    )
    assert [[spec.name for spec in stage] for stage in process_stages(without_gateway, CONFIG)] == [["auth"]]
