"""The service bootstrap on a real auth server: gRPC health, server reflection, and the
Prometheus metrics the call pipeline records."""

from __future__ import annotations

import secrets
from dataclasses import replace

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from payment_engine_protos.auth.v1 import auth_pb2, auth_pb2_grpc
from prometheus_client import start_http_server

from corelib.config import Settings
from corelib.db import create_engine
from corelib.grpc_server import start_server
from launcher.ports import free_port
from services.auth import server as auth_server


async def test_health_reflection_and_metrics(database_url: str) -> None:
    settings = replace(Settings(), database_url=database_url, service_secret=secrets.token_urlsafe(16))
    engine = create_engine(database_url, application_name="test-auth-server", pool_size=2)
    process, authenticator = await auth_server.build(settings, engine)
    server, port = await start_server(process, authenticator, host="127.0.0.1", port=0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="payment_engine.auth.v1.AuthService")
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            listed = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            )
            names = {
                service.name async for answer in listed for service in answer.list_services_response.service
            }
            assert {"payment_engine.auth.v1.AuthService", "envoy.service.auth.v3.Authorization"} <= names
            stub = auth_pb2_grpc.AuthServiceStub(channel)
            await stub.GetJwks(auth_pb2.GetJwksRequest())
            try:
                await stub.GetMe(auth_pb2.GetMeRequest())
            except grpc.aio.AioRpcError as denied:
                assert denied.code() == grpc.StatusCode.UNAUTHENTICATED
        metrics_port = free_port()
        start_http_server(metrics_port, addr="127.0.0.1")
        async with httpx.AsyncClient() as http:
            exposed = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)).text
        handled = "pe_grpc_server_handled_total"
        assert f'{handled}{{code="OK",method="/payment_engine.auth.v1.AuthService/GetJwks"}}' in exposed
        assert (
            f'{handled}{{code="UNAUTHORIZED",method="/payment_engine.auth.v1.AuthService/GetMe"}}' in exposed
        )
        assert "pe_grpc_server_handling_seconds_bucket" in exposed
    finally:
        await server.stop(0)
        await engine.dispose()
