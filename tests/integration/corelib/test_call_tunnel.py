"""The call tunnel on a real auth server over real PostgreSQL: a tunnelled call answers
exactly as the same unary call (responses, codes, messages and the engine's error
details), keeps the pipeline's rules (credentials, access rules, Idempotency-Keys,
validation), reaches only the service's own unary methods, cancels a call whose caller
stopped waiting, and fails over cleanly when the service goes away or has no tunnel."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Final

import grpc
import psycopg
import pytest
from google.protobuf.message import Message
from payment_engine_protos.auth.v1 import auth_pb2
from payment_engine_protos.common.v1 import call_tunnel_pb2

from corelib.authentication import Authenticator
from corelib.call_tunnel import FRAME_ITEMS_MAX, TUNNEL_METHOD
from corelib.call_tunnel_client import CallTunnel, Exchange, TunnelUnsupported, result_code
from corelib.config import Settings
from corelib.db import create_engine, libpq_url
from corelib.errors import ServiceError, decode_status
from corelib.grpc_pipeline import CallPipeline
from corelib.grpc_server import ServiceProcess, StartedServer, start_service_server
from gateway.backends import Backends
from gateway.routes import build_route_table
from services.auth import provisioning
from services.auth import server as auth_server
from services.auth.scopes import ALL_SCOPES

AUTH: Final = "/payment_engine.auth.v1.AuthService/"
TIMEOUT_S: Final = 10.0
LOCK_WAIT_POLLS: Final = 100
LOCK_WAIT_POLL_S: Final = 0.05

Metadata = tuple[tuple[str, str], ...]


@dataclass
class Served:
    started: StartedServer
    address: str
    process: ServiceProcess
    authenticator: Authenticator
    tenant_id: str
    api_key: str
    database_url: str

    @property
    def metadata(self) -> Metadata:
        return (("x-api-key", self.api_key),)


@pytest.fixture
async def auth_service(database_url: str) -> AsyncIterator[Served]:
    settings = replace(Settings(), database_url=database_url, service_secret=secrets.token_urlsafe(16))
    engine = create_engine(database_url, application_name="test-call-tunnel", pool_size=4)
    process, authenticator = await auth_server.build(settings, engine)
    started = await start_service_server(process, authenticator, host="127.0.0.1", port=0)
    # What keeps the service's caches current (the revocation feed), as serve_forever runs it.
    listening = asyncio.create_task(process.feed.run())
    name = f"tunnel {secrets.token_hex(4)}"
    tenant_id = await provisioning.create_tenant(database_url, name)
    _, api_key = await provisioning.create_api_key(database_url, tenant_id, name, list(ALL_SCOPES), None)
    try:
        yield Served(
            started, f"127.0.0.1:{started.port}", process, authenticator, tenant_id, api_key, database_url
        )
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await started.server.stop(0)
        await engine.dispose()


@asynccontextmanager
async def tunnel_to(address: str) -> AsyncIterator[tuple[grpc.aio.Channel, CallTunnel]]:
    async with grpc.aio.insecure_channel(address) as channel:
        tunnel = CallTunnel(channel)
        try:
            yield channel, tunnel
        finally:
            await tunnel.close()


def raw_exchange(channel: grpc.aio.Channel) -> Exchange:
    """The tunnel's RPC itself, for tests of its wire format."""
    exchange: Exchange = channel.stream_stream(
        TUNNEL_METHOD,
        request_serializer=call_tunnel_pb2.ExchangeRequest.SerializeToString,
        response_deserializer=call_tunnel_pb2.ExchangeResponse.FromString,
    )
    return exchange


@dataclass(frozen=True)
class Answer:
    code: grpc.StatusCode
    message: str
    status_details: bytes
    response: bytes


def _serialized(message: Message) -> bytes:
    return message.SerializeToString()


async def unary(channel: grpc.aio.Channel, method: str, request: Message, metadata: Metadata) -> Answer:
    call: grpc.aio.UnaryUnaryMultiCallable[Message, bytes] = channel.unary_unary(
        method, request_serializer=_serialized
    )
    try:
        response = await call(request, metadata=metadata, timeout=TIMEOUT_S)
    except grpc.aio.AioRpcError as exc:
        trailers = exc.trailing_metadata() or ()
        details = next((v for k, v in trailers if k == "grpc-status-details-bin"), b"")
        assert isinstance(details, bytes)
        return Answer(exc.code(), exc.details() or "", details, b"")
    return Answer(grpc.StatusCode.OK, "", b"", response)


async def tunnelled(tunnel: CallTunnel, method: str, request: Message, metadata: Metadata) -> Answer:
    result = await tunnel.call(method, request.SerializeToString(), metadata, TIMEOUT_S)
    return Answer(result_code(result), result.message, result.status_details, result.response)


def reason(answer: Answer) -> str:
    return decode_status(answer.code, answer.message, answer.status_details or None).reason


async def test_a_tunnelled_call_answers_as_the_same_unary_call(auth_service: Served) -> None:
    own = auth_service.metadata
    cases: list[tuple[str, Message, Metadata, str]] = [
        ("GetJwks", auth_pb2.GetJwksRequest(), (), "OK"),
        ("GetMe", auth_pb2.GetMeRequest(), own, "OK"),
        ("GetMe", auth_pb2.GetMeRequest(), (), "UNAUTHORIZED"),
        ("GetMe", auth_pb2.GetMeRequest(), (("x-api-key", auth_service.api_key + "x"),), "UNAUTHORIZED"),
        ("GetMe", auth_pb2.GetMeRequest(), (("authorization", "Bearer not.a.token"),), "UNAUTHORIZED"),
        ("RotateSigningKey", auth_pb2.RotateSigningKeyRequest(), own, "FORBIDDEN"),
        ("GetApiKey", auth_pb2.GetApiKeyRequest(id="key_does_not_exist"), own, "NOT_FOUND"),
        ("GetApiKey", auth_pb2.GetApiKeyRequest(id="bad\x00id"), own, "INVALID_REQUEST"),
    ]
    async with tunnel_to(auth_service.address) as (channel, tunnel):
        for name, request, metadata, expected in cases:
            direct = await unary(channel, AUTH + name, request, metadata)
            through = await tunnelled(tunnel, AUTH + name, request, metadata)
            assert through.code == direct.code, name
            assert through.message == direct.message, name
            assert through.status_details == direct.status_details, name
            if expected == "OK":
                assert direct.code == grpc.StatusCode.OK
                assert through.response == direct.response
                assert through.response, name
            else:
                assert reason(through) == expected, name


async def _new_key(served: Served, name: str) -> str:
    key_id, _secret = await provisioning.create_api_key(
        served.database_url, served.tenant_id, name, ["account:read"], None
    )
    return key_id


async def test_idempotency_keys_hold_across_the_tunnel_and_direct_calls(auth_service: Served) -> None:
    key = f"tunnel-{secrets.token_hex(6)}"
    metadata = (*auth_service.metadata, ("idempotency-key", key))
    request = auth_pb2.RevokeApiKeyRequest(id=await _new_key(auth_service, "revoked once"))
    async with tunnel_to(auth_service.address) as (channel, tunnel):
        first = await tunnelled(tunnel, AUTH + "RevokeApiKey", request, metadata)
        again = await tunnelled(tunnel, AUTH + "RevokeApiKey", request, metadata)
        direct = await unary(channel, AUTH + "RevokeApiKey", request, metadata)
        assert first.code == again.code == direct.code == grpc.StatusCode.OK
        assert first.response == again.response == direct.response
        other = auth_pb2.RevokeApiKeyRequest(id=await _new_key(auth_service, "another"))
        reused = await tunnelled(tunnel, AUTH + "RevokeApiKey", other, metadata)
        assert reason(reused) == "IDEMPOTENCY_KEY_REUSED"


async def test_only_the_services_own_unary_methods_can_be_tunnelled(auth_service: Served) -> None:
    async with tunnel_to(auth_service.address) as (_, tunnel):
        for method in (
            "/grpc.health.v1.Health/Check",
            TUNNEL_METHOD,
            AUTH + "NoSuchMethod",
            "/payment_engine.accounts.v1.AccountsService/GetAccount",
        ):
            result = await tunnel.call(method, b"", auth_service.metadata, TIMEOUT_S)
            assert result_code(result) == grpc.StatusCode.UNIMPLEMENTED, method
            assert not result.response


async def test_concurrent_calls_each_get_their_own_answer(auth_service: Served) -> None:
    created = []
    for number in range(5):
        key_id, _secret = await provisioning.create_api_key(
            auth_service.database_url, auth_service.tenant_id, f"k{number}", ["account:read"], None
        )
        created.append(key_id)
    async with tunnel_to(auth_service.address) as (_, tunnel):
        wanted = [created[number % len(created)] for number in range(300)]
        answers = await asyncio.gather(
            *(
                tunnelled(
                    tunnel,
                    AUTH + "GetApiKey",
                    auth_pb2.GetApiKeyRequest(id=key_id),
                    auth_service.metadata,
                )
                for key_id in wanted
            )
        )
        for key_id, answer in zip(wanted, answers, strict=True):
            assert answer.code == grpc.StatusCode.OK
            assert auth_pb2.GetApiKeyResponse.FromString(answer.response).api_key.id == key_id


async def test_a_call_past_its_deadline_is_cancelled_in_the_service(auth_service: Served) -> None:
    """The call waits on a row lock; when its caller stops waiting, the service cancels
    it (its statement too), and it has written nothing."""
    key = f"tunnel-{secrets.token_hex(6)}"
    metadata = (*auth_service.metadata, ("idempotency-key", key))
    request = auth_pb2.RevokeApiKeyRequest(id=await _new_key(auth_service, "deadline"))
    url = libpq_url(auth_service.database_url)
    async with tunnel_to(auth_service.address) as (_, tunnel):
        first = await tunnelled(tunnel, AUTH + "RevokeApiKey", request, metadata)
        assert first.code == grpc.StatusCode.OK
        async with await psycopg.AsyncConnection.connect(url) as holder:
            locked = await holder.execute(
                "SELECT 1 FROM auth.idempotent_requests WHERE tenant_id = %s AND key = %s FOR UPDATE",
                (auth_service.tenant_id, key),
            )
            assert await locked.fetchone() is not None
            waited = await tunnel.call(AUTH + "RevokeApiKey", request.SerializeToString(), metadata, 0.5)
            assert result_code(waited) == grpc.StatusCode.DEADLINE_EXCEEDED
            for _ in range(LOCK_WAIT_POLLS):
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as observer:
                    waiting = await observer.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                    row = await waiting.fetchone()
                if row is not None and row[0] == 0:
                    break
                await asyncio.sleep(LOCK_WAIT_POLL_S)
            else:
                pytest.fail("the abandoned call still waits in PostgreSQL")
            await holder.rollback()
        replayed = await tunnelled(tunnel, AUTH + "RevokeApiKey", request, metadata)
        assert replayed.code == grpc.StatusCode.OK
        assert replayed.response == first.response
        # The stream carried on: other calls still answer.
        jwks = await tunnelled(tunnel, AUTH + "GetJwks", auth_pb2.GetJwksRequest(), ())
        assert jwks.code == grpc.StatusCode.OK


async def test_a_lost_service_fails_calls_as_unavailable_then_a_new_stream_serves(
    auth_service: Served,
) -> None:
    async with tunnel_to(auth_service.address) as (_, tunnel):
        ok = await tunnelled(tunnel, AUTH + "GetJwks", auth_pb2.GetJwksRequest(), ())
        assert ok.code == grpc.StatusCode.OK
        await auth_service.started.server.stop(0)
        gone = await tunnelled(tunnel, AUTH + "GetJwks", auth_pb2.GetJwksRequest(), ())
        assert gone.code == grpc.StatusCode.UNAVAILABLE
        assert reason(gone) == "SERVICE_UNAVAILABLE"
        auth_service.started = await start_service_server(
            auth_service.process,
            auth_service.authenticator,
            host="127.0.0.1",
            port=auth_service.started.port,
        )
        back = None
        for _ in range(LOCK_WAIT_POLLS):
            back = await tunnelled(tunnel, AUTH + "GetJwks", auth_pb2.GetJwksRequest(), ())
            if back.code == grpc.StatusCode.OK:
                break
            await asyncio.sleep(LOCK_WAIT_POLL_S)
        assert back is not None and back.code == grpc.StatusCode.OK


async def test_a_stream_ended_by_any_error_fails_its_calls_as_unavailable() -> None:
    """gRPC reports a transport torn down in the middle of a write as INTERNAL: the calls
    the stream carried are still unavailable (503, to retry), never an internal error."""

    async def end_with_internal(
        requests: AsyncIterator[call_tunnel_pb2.ExchangeRequest],
        context: grpc.aio.ServicerContext[call_tunnel_pb2.ExchangeRequest, call_tunnel_pb2.ExchangeResponse],
    ) -> AsyncIterator[call_tunnel_pb2.ExchangeResponse]:
        async for _frame in requests:
            await context.abort(grpc.StatusCode.INTERNAL, "Internal error from Core")
        yield call_tunnel_pb2.ExchangeResponse()

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                TUNNEL_METHOD.split("/")[1],
                {
                    "Exchange": grpc.stream_stream_rpc_method_handler(
                        end_with_internal,
                        request_deserializer=call_tunnel_pb2.ExchangeRequest.FromString,
                        response_serializer=call_tunnel_pb2.ExchangeResponse.SerializeToString,
                    )
                },
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with tunnel_to(f"127.0.0.1:{port}") as (_, tunnel):
            ended = await tunnelled(tunnel, AUTH + "GetJwks", auth_pb2.GetJwksRequest(), ())
        assert ended.code == grpc.StatusCode.UNAVAILABLE
        assert reason(ended) == "SERVICE_UNAVAILABLE"
    finally:
        await server.stop(0)


async def test_a_draining_service_refuses_new_calls_as_unavailable(auth_service: Served) -> None:
    async with tunnel_to(auth_service.address) as (_, tunnel):
        assert (
            await tunnelled(tunnel, AUTH + "GetJwks", auth_pb2.GetJwksRequest(), ())
        ).code == grpc.StatusCode.OK
        auth_service.started.tunnel.drain()
        refused = await tunnelled(tunnel, AUTH + "GetJwks", auth_pb2.GetJwksRequest(), ())
        assert refused.code == grpc.StatusCode.UNAVAILABLE


async def test_a_service_without_the_tunnel_gets_unary_calls(auth_service: Served) -> None:
    """A service process of a version before the tunnel: the gateway's calls still work."""
    plain = grpc.aio.server(interceptors=[CallPipeline(auth_service.authenticator)])
    auth_service.process.register(plain)
    port = plain.add_insecure_port("127.0.0.1:0")
    await plain.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            tunnel = CallTunnel(channel)
            with pytest.raises(TunnelUnsupported):
                await tunnel.call(AUTH + "GetJwks", b"", (), TIMEOUT_S)
            assert not tunnel.has_room()
            await tunnel.close()
        table = build_route_table(sandbox=True)
        route = next(r for r in table.routes if r.full_method == AUTH + "GetMe")
        backends = Backends({"auth": f"127.0.0.1:{port}"})
        try:
            for _ in range(2):
                response, _headers = await backends.call(
                    route, auth_pb2.GetMeRequest(), auth_service.metadata
                )
                assert isinstance(response, auth_pb2.GetMeResponse)
                assert response.tenant.id == auth_service.tenant_id
        finally:
            await backends.close()
    finally:
        await plain.stop(0)


async def test_a_stream_frame_may_carry_many_calls_and_cancellations(auth_service: Served) -> None:
    """The wire format itself: several calls in one frame, results matched by id, and a
    cancellation of an id that is not running is ignored."""
    async with grpc.aio.insecure_channel(auth_service.address) as channel:
        exchange = raw_exchange(channel)
        calls = [
            call_tunnel_pb2.TunneledCall(
                call_id=number,
                method=AUTH + ("GetJwks" if number % 2 else "GetMe"),
                metadata=[call_tunnel_pb2.MetadataEntry(key="X-Api-Key", value=auth_service.api_key)],
                request=b"",
                timeout_ms=int(TIMEOUT_S * 1000),
            )
            for number in range(1, 11)
        ]
        stream = exchange()
        await stream.write(call_tunnel_pb2.ExchangeRequest(calls=calls, cancelled_call_ids=[999]))
        await stream.done_writing()
        results = {result.call_id: result async for frame in stream for result in frame.results}
        assert sorted(results) == list(range(1, 11))
        for call_id, result in results.items():
            assert result.code == 0, (call_id, result.message)
            if call_id % 2 == 0:
                # Metadata keys arrive lower-case, as gRPC hands them to handlers.
                assert auth_pb2.GetMeResponse.FromString(result.response).tenant.id == auth_service.tenant_id
        assert await stream.code() == grpc.StatusCode.OK


async def test_the_gateway_can_be_told_to_make_unary_calls(auth_service: Served) -> None:
    """PE_GATEWAY_CALL_TUNNEL=false: with the service's tunnel refusing every call
    (draining), a gateway told not to use it still gets its answers."""
    auth_service.started.tunnel.drain()
    table = build_route_table(sandbox=True)
    route = next(r for r in table.routes if r.full_method == AUTH + "GetMe")
    tunnelling = Backends({"auth": auth_service.address})
    direct = Backends({"auth": auth_service.address}, call_tunnel=False)
    try:
        with pytest.raises(ServiceError) as refused:
            await tunnelling.call(route, auth_pb2.GetMeRequest(), auth_service.metadata)
        assert refused.value.reason == "SERVICE_UNAVAILABLE"
        response, _ = await direct.call(route, auth_pb2.GetMeRequest(), auth_service.metadata)
        assert isinstance(response, auth_pb2.GetMeResponse)
        assert response.tenant.id == auth_service.tenant_id
    finally:
        await tunnelling.close()
        await direct.close()


async def test_a_frame_of_more_calls_than_the_protocol_allows_ends_the_stream(auth_service: Served) -> None:
    async with grpc.aio.insecure_channel(auth_service.address) as channel:
        exchange = raw_exchange(channel)
        calls = [
            call_tunnel_pb2.TunneledCall(call_id=number, method=AUTH + "GetJwks", timeout_ms=1000)
            for number in range(1, FRAME_ITEMS_MAX + 2)
        ]
        stream = exchange()
        await stream.write(call_tunnel_pb2.ExchangeRequest(calls=calls))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for frame in stream:
                assert not frame.results
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
