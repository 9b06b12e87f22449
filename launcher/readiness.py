"""Is a child ready to serve: gRPC health for services, /readyz for the gateway.

Each check is one quick attempt; the supervisor decides how long to keep asking.
"""

from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.request
from typing import Final, Protocol

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

PROBE_TIMEOUT_S: Final = 1.0


class Probe(Protocol):
    def check(self) -> bool: ...

    def describe(self) -> str: ...


class GrpcHealthProbe:
    def __init__(self, address: str) -> None:
        self.address = address

    def check(self) -> bool:
        # A fresh channel each time: a long-lived one backs off its reconnects (up to
        # minutes) while the server is down, and would notice a restarted server late.
        with grpc.insecure_channel(self.address) as channel:
            try:
                response = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=PROBE_TIMEOUT_S
                )
            except grpc.RpcError:
                return False
        serving: bool = response.status == health_pb2.HealthCheckResponse.SERVING
        return serving

    def describe(self) -> str:
        return f"gRPC health at {self.address}"


class HttpReadyProbe:
    def __init__(self, url: str) -> None:
        self.url = url

    def check(self) -> bool:
        try:
            with urllib.request.urlopen(self.url, timeout=PROBE_TIMEOUT_S) as response:  # noqa: S310 (our own loopback URL)
                ok: bool = response.status == 200
                return ok
        except (urllib.error.URLError, OSError, http.client.HTTPException):
            # Not an HTTP answer (another program on the port, or one cut short): not
            # ready, and the supervisor keeps asking within its own bound.
            return False

    def describe(self) -> str:
        return f"GET {self.url}"


class TcpProbe:
    """Ready once the port accepts connections; for processes with no health endpoint."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    def check(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=PROBE_TIMEOUT_S):
                return True
        except OSError:
            return False

    def describe(self) -> str:
        return f"TCP {self.host}:{self.port}"
