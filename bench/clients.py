"""The load generator's connections: one HTTP/1.1 keep-alive connection or one gRPC
channel per simulated client, to 127.0.0.1 only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Final

import grpc
import orjson
from payment_engine_protos.auth.v1 import auth_pb2, auth_pb2_grpc

from bench.engine import EngineInfo
from bench.keepalive_http import KeepAliveClient, Response
from bench.load import OP_TIMEOUT_S, OpFailed

LOOPBACK_PREFIXES: Final = ("http://127.0.0.1:", "127.0.0.1:")
SETUP_TIMEOUT_S: Final = 30.0
ERROR_BODY_CHARS_MAX: Final = 120
# Separate connections per channel (gRPC would otherwise share one subchannel, and so
# one TCP connection, between channels to the same address), and never a proxy.
GRPC_CHANNEL_OPTIONS: Final = (("grpc.use_local_subchannel_pool", 1), ("grpc.enable_http_proxy", 0))
PRINCIPAL_METADATA_KEY: Final = "x-pe-principal"
# The internal RPCs (holds and postings) accept this service's token.
SERVICE_NAME: Final = "transactions"

Metadata = tuple[tuple[str, str], ...]


def _require_loopback(address: str) -> None:
    if not address.startswith(LOOPBACK_PREFIXES):
        raise ValueError(f"the benchmark only loads 127.0.0.1, not {address}")


def http_client(base_url: str) -> KeepAliveClient:
    """One client = one keep-alive connection, to loopback only (no proxy is ever used)."""
    _require_loopback(base_url)
    return KeepAliveClient(base_url, timeout_s=OP_TIMEOUT_S)


def grpc_channel(address: str) -> grpc.aio.Channel:
    _require_loopback(address)
    return grpc.aio.insecure_channel(address, options=GRPC_CHANNEL_OPTIONS)


@asynccontextmanager
async def http_clients(base_url: str, count: int) -> AsyncIterator[list[KeepAliveClient]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(http_client(base_url)) for _ in range(count)]


@asynccontextmanager
async def grpc_channels(address: str, count: int) -> AsyncIterator[list[grpc.aio.Channel]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(grpc_channel(address)) for _ in range(count)]


def expect_status(response: Response, expected: int) -> None:
    """Raises OpFailed naming the status and the guide's error code, if any."""
    if response.status_code == expected:
        return
    code = ""
    try:
        document = orjson.loads(response.content)
        if isinstance(document, dict) and isinstance(document.get("error"), dict):
            code = str(document["error"].get("code", ""))
    except orjson.JSONDecodeError:
        code = response.text[:ERROR_BODY_CHARS_MAX]
    raise OpFailed(f"HTTP {response.status_code} {code}".strip())


async def login_token(engine: EngineInfo) -> str:
    async with http_client(engine.base_url) as client:
        response = await client.post(
            "/api/v1/auth/login",
            json={"username": engine.username, "password": engine.password},
        )
        expect_status(response, 200)
        token: str = response.json()["access_token"]
        return token


async def service_metadata(engine: EngineInfo) -> Metadata:
    """A service principal for the internal LedgerService RPCs, as the transactions
    service itself obtains one."""
    async with grpc_channel(engine.grpc_addrs["auth"]) as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        response = await stub.IssueServiceToken(
            auth_pb2.IssueServiceTokenRequest(
                service_name=SERVICE_NAME, service_secret=engine.service_secret
            ),
            timeout=SETUP_TIMEOUT_S,
        )
    return ((PRINCIPAL_METADATA_KEY, response.access_token),)


def api_key_metadata(engine: EngineInfo) -> Metadata:
    return (("x-api-key", engine.api_key),)
