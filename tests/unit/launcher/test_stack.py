"""`payment-engine up`'s promises on the real engine: every process started, the sandbox
credentials printed and saved, and a restart that keeps every piece of data."""

from __future__ import annotations

import dataclasses
import io
import json
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from launcher.embedded_db import FAST_UNSAFE
from launcher.errors import LaunchError
from launcher.output import StreamSink
from launcher.stack import EngineStack, RunningEngine, StackOptions
from launcher.topology import (
    GATEWAY_NAME,
    PORTAL_NAME,
    gateway_installed,
    installed_services,
    portal_installed,
)
from tests.harness.engine import read_tail

HTTP_TIMEOUT_S = 10.0


@pytest.fixture
def options(tmp_path: Path) -> StackOptions:
    return StackOptions(
        data_dir=tmp_path / "engine",
        gateway_port=0,
        portal_port=0,
        grpc_ports={},
        postgres_tuning=FAST_UNSAFE,
        postgres_port=0,
        log_format="json",
    )


@pytest.fixture
def run_engine() -> Iterator[list[EngineStack]]:
    """Engines started by the test, all stopped at its end whatever happens."""
    stacks: list[EngineStack] = []
    yield stacks
    for stack in stacks:
        stack.stop()


def start(stacks: list[EngineStack], options: StackOptions, log_path: Path) -> RunningEngine:
    log = log_path.open("a", encoding="utf-8")
    stack = EngineStack(options, StreamSink(log, log_format="json"))
    stacks.append(stack)
    try:
        return stack.start()
    except Exception as error:
        raise AssertionError(f"engine did not start: {error}\n{read_tail(log_path)}") from error


def test_up_starts_every_process_and_its_saved_credentials_log_in(
    options: StackOptions, run_engine: list[EngineStack], tmp_path: Path
) -> None:
    # The portal's preferred port is taken: it takes another and says which.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        running = start(run_engine, dataclasses.replace(options, portal_port=taken), tmp_path / "engine.log")

    expected = [*installed_services(), *([GATEWAY_NAME, PORTAL_NAME] if gateway_installed() else [])]
    assert sorted(run_engine[0].supervisor.names) == sorted(expected)
    assert (running.portal_url is not None) == gateway_installed()
    if running.portal_url is not None:
        assert f":{taken}/" not in running.portal_url
        assert httpx.get(running.portal_url + "signin", timeout=HTTP_TIMEOUT_S).status_code == 200
    assert running.credentials is not None and running.credentials_file is not None
    assert stat.S_IMODE(running.credentials_file.stat().st_mode) == 0o600
    saved = json.loads(running.credentials_file.read_text())
    assert saved == {
        "baseUrl": running.base_url,
        "username": running.credentials.username,
        "password": running.credentials.password,
        "apiKey": running.credentials.api_key,
        "tenantId": running.credentials.tenant_id,
    }
    if not gateway_installed():
        pytest.skip("the gateway is not installed yet: no REST login to try")

    response = httpx.post(
        f"{saved['baseUrl']}/api/v1/auth/login",
        json={"username": saved["username"], "password": saved["password"]},
        timeout=HTTP_TIMEOUT_S,
    )

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


def test_a_taken_portal_port_the_user_asked_for_is_an_error(options: StackOptions) -> None:
    if not portal_installed():
        pytest.skip("the portal is not installed")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        stack = EngineStack(
            dataclasses.replace(options, portal_port=taken, portal_port_exact=True),
            StreamSink(io.StringIO(), log_format="json"),
        )
        with pytest.raises(LaunchError, match="--portal-port"):
            stack.start()


def test_a_restart_keeps_credentials_secrets_and_the_database(
    options: StackOptions, run_engine: list[EngineStack], tmp_path: Path
) -> None:
    options = dataclasses.replace(options, postgres_port=None)  # `up`'s own choice: the saved port
    first = start(run_engine, options, tmp_path / "engine.log")
    first_postgres = run_engine[0].postgres
    assert first_postgres is not None
    postgres_port = first_postgres.port
    run_engine[0].stop()

    second = start(run_engine, options, tmp_path / "engine.log")

    assert second.credentials == first.credentials
    assert second.service_secret == first.service_secret
    assert second.database_url == first.database_url
    second_postgres = run_engine[1].postgres
    assert second_postgres is not None and second_postgres.port == postgres_port
