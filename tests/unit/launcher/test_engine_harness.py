"""The suite's shared engine fixture, as crash tests use it: kill one process, get it back."""

from __future__ import annotations

import signal

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.harness.engine import EngineHandle

HEALTH_TIMEOUT_S = 5.0


def serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=HEALTH_TIMEOUT_S
        )
    return bool(response.status == health_pb2.HealthCheckResponse.SERVING)


def test_the_engine_fixture_exposes_every_service(engine_stack: EngineHandle) -> None:
    assert engine_stack.base_url.startswith("http://127.0.0.1:")
    assert "auth" in engine_stack.grpc_addrs
    assert engine_stack.credentials.username
    assert all(serving(address) for address in engine_stack.grpc_addrs.values())


def test_a_killed_service_comes_back_on_its_address(engine_stack: EngineHandle) -> None:
    supervisor = engine_stack.supervisor
    old_pid = supervisor.kill("auth", signal.SIGKILL)

    new_pid = supervisor.wait_ready("auth", replacing_pid=old_pid)

    assert new_pid != old_pid
    assert serving(engine_stack.grpc_addrs["auth"])
    assert supervisor.crash_restarts("auth") >= 1
