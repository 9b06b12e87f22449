"""One more process of a service beside a test engine, as another replica would run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from corelib.grpc_experiments import with_engine_grpc_experiments
from launcher.ports import free_port
from tests.harness.engine import EngineHandle

READY_DEADLINE_S: Final = 30.0


@contextmanager
def extra_replica(engine: EngineHandle, service: str) -> Iterator[str]:
    """Another process of `service` on its own port, configured like the engine's."""
    port = free_port()
    env = {
        **with_engine_grpc_experiments(os.environ),
        "PE_DATABASE_URL": engine.database_url,
        "PE_SERVICE_SECRET": engine.service_secret,
        "PE_GRPC_PORT": str(port),
        "PE_LOG_FORMAT": "json",
        **{f"PE_{name.upper()}_ADDR": addr for name, addr in engine.grpc_addrs.items()},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", f"services.{service}.server"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    addr = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_DEADLINE_S
        with grpc.insecure_channel(addr) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                try:
                    if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                        break
                except grpc.RpcError:
                    pass
                assert time.monotonic() < deadline, f"replica of {service} did not start"
                time.sleep(0.2)
        yield addr
    finally:
        process.terminate()
        process.wait(timeout=10)
