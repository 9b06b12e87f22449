"""gRPC channels to the services, generic unary calls over them, and their health.

One channel per backend, opened on first use: grpc.aio binds a channel to the event
loop that creates it, and only the serving loop (uvicorn's, or a test's) should own them.
Calls travel in the backend's call tunnel (corelib/call_tunnel_client.py), many on one
stream, and answer exactly as the same unary call would; a backend without a tunnel, or
one whose tunnel is full, gets plain unary calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any, Final

import grpc
import structlog
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from corelib.call_tunnel_client import CallTunnel, TunneledResult, TunnelUnsupported, result_code
from corelib.config import Settings
from corelib.errors import ServiceError, decode_status
from gateway.routes import Route

log = structlog.get_logger("gateway.backends")

BACKEND_CALL_TIMEOUT_S: Final = 30.0
HEALTH_CHECK_TIMEOUT_S: Final = 1.0
MESSAGE_BYTES_MAX: Final = 4 * 1024 * 1024
STATUS_DETAILS_KEY: Final = "grpc-status-details-bin"
# The gateway itself calls auth's Check for every non-public route.
ALWAYS_NEEDED: Final = frozenset({"auth"})
# Response metadata a service may hand to the HTTP client (the payment-type catalogue's
# caching policy); everything else stays inside.
PASSED_RESPONSE_HEADERS: Final = frozenset({"cache-control", "etag"})
_CHANNEL_OPTIONS: Final = (
    ("grpc.max_receive_message_length", MESSAGE_BYTES_MAX),
    ("grpc.max_send_message_length", MESSAGE_BYTES_MAX),
)


def backend_addresses(settings: Settings, domains: Iterable[str]) -> dict[str, str]:
    """domain → host:port from `<domain>_addr`; a domain with no setting stops start-up."""
    addresses = {}
    for domain in sorted(ALWAYS_NEEDED | set(domains)):
        address = getattr(settings, f"{domain}_addr", None)
        if not isinstance(address, str) or not address:
            raise ValueError(f"protos define payment_engine.{domain} but settings have no {domain}_addr")
        addresses[domain] = address
    return addresses


def error_from_rpc(exc: grpc.aio.AioRpcError) -> ServiceError:
    trailers = exc.trailing_metadata() or ()
    details_bin = next((value for key, value in trailers if key == STATUS_DETAILS_KEY), None)
    return _error(exc.code(), exc.details() or "", details_bin if isinstance(details_bin, bytes) else None)


def error_from_result(result: TunneledResult) -> ServiceError:
    return _error(result_code(result), result.message, result.status_details or None)


def _error(code: grpc.StatusCode, details: str, details_bin: bytes | None) -> ServiceError:
    # Without the engine's ErrorInfo the text comes from gRPC itself ("failed to connect
    # to all addresses; …") and names hosts and ports; the code's default message is
    # what a caller gets instead.
    message = details if details_bin else ""
    decoded = decode_status(code, message, details_bin)
    return ServiceError(decoded.reason, decoded.message, decoded.details, decoded.metadata)


def _logged(route: Route, code: grpc.StatusCode, error: ServiceError) -> ServiceError:
    """The error, said in the log when it is the backend's fault (5xx)."""
    if error.code.http_status >= 500:
        log.warning("backend_failed", rpc=route.full_method, grpc_code=code.name, reason=error.reason)
    return error


def _passed_headers(metadata: Iterable[tuple[object, object]]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (str(key), str(value))
        for key, value in metadata
        if key in PASSED_RESPONSE_HEADERS and isinstance(value, str)
    )


class Backends:
    def __init__(self, addresses: Mapping[str, str], *, call_tunnel: bool = True) -> None:
        self._addresses = dict(addresses)
        self._call_tunnel = call_tunnel
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._calls: dict[str, grpc.aio.UnaryUnaryMultiCallable[Message, Message]] = {}
        self._tunnels: dict[str, CallTunnel] = {}

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(sorted(self._addresses))

    def channel(self, domain: str) -> grpc.aio.Channel:
        channel = self._channels.get(domain)
        if channel is None:
            channel = grpc.aio.insecure_channel(self._addresses[domain], options=_CHANNEL_OPTIONS)
            self._channels[domain] = channel
        return channel

    async def call(
        self, route: Route, request: Message, metadata: tuple[tuple[str, str], ...]
    ) -> tuple[Message, tuple[tuple[str, str], ...]]:
        """The response, and the HTTP headers the service asked to pass on (caching)."""
        tunnel = self._tunnels.get(route.domain)
        if tunnel is None and self._call_tunnel:
            tunnel = self._tunnels[route.domain] = CallTunnel(self.channel(route.domain))
        if tunnel is not None and tunnel.has_room():
            try:
                result = await tunnel.call(
                    route.full_method, request.SerializeToString(), metadata, BACKEND_CALL_TIMEOUT_S
                )
            except TunnelUnsupported:
                log.info("backend_without_call_tunnel", domain=route.domain)
            else:
                if result.code == 0:
                    return route.response_class.FromString(result.response), _passed_headers(
                        (entry.key, entry.value) for entry in result.initial_metadata
                    )
                raise _logged(route, result_code(result), error_from_result(result))
        return await self._unary(route, request, metadata)

    async def _unary(
        self, route: Route, request: Message, metadata: tuple[tuple[str, str], ...]
    ) -> tuple[Message, tuple[tuple[str, str], ...]]:
        multicallable = self._calls.get(route.full_method)
        if multicallable is None:
            multicallable = self.channel(route.domain).unary_unary(
                route.full_method,
                request_serializer=_serialize,
                response_deserializer=route.response_class.FromString,
            )
            self._calls[route.full_method] = multicallable
        try:
            call = multicallable(request, metadata=metadata, timeout=BACKEND_CALL_TIMEOUT_S)
            response = await call
            initial = await call.initial_metadata() or ()
            return response, _passed_headers(initial)
        except grpc.aio.AioRpcError as exc:
            raise _logged(route, exc.code(), error_from_rpc(exc)) from exc

    async def health(self) -> dict[str, str]:
        """domain → "SERVING" or what it answered instead, asked of all at once."""
        domains = self.domains
        answers = await asyncio.gather(*(self._health_of(domain) for domain in domains))
        return dict(zip(domains, answers, strict=True))

    async def _health_of(self, domain: str) -> str:
        stub: Any = health_pb2_grpc.HealthStub(self.channel(domain))
        try:
            request = health_pb2.HealthCheckRequest(service="")
            response = await stub.Check(request, timeout=HEALTH_CHECK_TIMEOUT_S)
        except grpc.aio.AioRpcError as exc:
            return str(exc.code().name)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))

    async def close(self) -> None:
        tunnels = list(self._tunnels.values())
        self._tunnels.clear()
        await asyncio.gather(*(tunnel.close() for tunnel in tunnels))
        channels = list(self._channels.values())
        self._channels.clear()
        self._calls.clear()
        await asyncio.gather(*(channel.close() for channel in channels))


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()
