"""The service side of `payment_engine.common.v1.CallTunnelService`: unary calls that
arrive as messages on one stream, each run as if it had arrived on its own.

A tunnelled call is dispatched to the handler gRPC itself would have chosen for its
method, behind the same `CallPipeline` (authentication by the call's own metadata, its
access rule, Idempotency-Key handling, validation, error mapping), in a task of its own
as grpc.aio runs each call. What the handler ends with — a response, or the status it
aborted with — goes back in the next frame of results; the writer gathers every result
that is ready into one frame, so under load one message carries many calls.

Bounds (corelib/call_tunnel.py): CALLS_IN_FLIGHT_MAX calls run at once per stream (more
are refused with RESOURCE_EXHAUSTED, as a server at its concurrency limit refuses), and
a frame of results holds at most FRAME_ITEMS_MAX of them and FRAME_BYTES_MAX bytes
unless one result alone is larger.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, NoReturn, TypeAlias, cast

import grpc
import structlog
from grpc_status import rpc_status
from payment_engine_protos.common.v1 import call_tunnel_pb2, call_tunnel_pb2_grpc

from corelib.call_tunnel import (
    CALL_BYTES_MAX,
    CALLS_IN_FLIGHT_MAX,
    FRAME_ITEMS_MAX,
    STATUS_DETAILS_KEY,
    TUNNEL_METHOD,
    failed_result,
    frame_size,
)
from corelib.errors import ServiceError
from corelib.grpc_pipeline import OWN_PACKAGE_PREFIX, RpcContext

log = structlog.get_logger("corelib.call_tunnel")

RESOLVED_METHODS_MAX: Final = 1_000
# Results waiting to be written beyond which the caller's next frame waits: more only
# piles up in memory when the caller does not read.
RESULTS_WAITING_MAX: Final = 2 * CALLS_IN_FLIGHT_MAX

Metadata: TypeAlias = tuple[tuple[str, str], ...]
MethodHandler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
HandlerLookup: TypeAlias = Callable[[str, Metadata], Awaitable["MethodHandler | None"]]
Resolver: TypeAlias = Callable[[grpc.HandlerCallDetails], Awaitable["MethodHandler | None"]]
UnaryBehaviour: TypeAlias = Callable[[Any, RpcContext], Awaitable[Any]]


@dataclass
class _Outcome:
    code: grpc.StatusCode = grpc.StatusCode.OK
    message: str = ""
    status_details: bytes = b""
    initial_metadata: tuple[tuple[str, str], ...] = ()


class TunneledCallContext(grpc.aio.ServicerContext[Any, Any]):
    """The ServicerContext of one tunnelled unary call: its metadata and deadline, and
    what the handler sets or aborts with. A unary call neither reads nor writes."""

    def __init__(self, metadata: tuple[tuple[str, str], ...], deadline: float | None, peer: str) -> None:
        self._metadata = metadata
        self._deadline = deadline
        self._peer = peer
        self.outcome = _Outcome()
        self._done = False
        self._cancelled = False

    async def read(self) -> Any:
        raise RuntimeError("a unary call has no stream to read")

    async def write(self, message: Any) -> None:
        raise RuntimeError("a unary call has no stream to write")

    async def send_initial_metadata(self, initial_metadata: Any) -> None:
        self.outcome.initial_metadata = tuple((str(k), str(v)) for k, v in initial_metadata)

    def add_done_callback(self, callback: Any) -> None:
        raise NotImplementedError("tunnelled calls take no done callbacks")

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata: Any = ()) -> NoReturn:
        if code == grpc.StatusCode.OK:
            raise ValueError("abort with OK")
        self.outcome.code = code
        self.outcome.message = details
        self.set_trailing_metadata(trailing_metadata)
        # What grpc.aio raises too: the pipeline lets it through untouched.
        raise grpc.aio.AbortError()

    async def abort_with_status(self, status: grpc.Status) -> NoReturn:
        await self.abort(status.code, status.details, status.trailing_metadata)
        raise AssertionError("unreachable")

    def set_trailing_metadata(self, trailing_metadata: Any) -> None:
        for key, value in trailing_metadata or ():
            if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
                self.outcome.status_details = value

    def invocation_metadata(self) -> Any:
        return self._metadata

    def set_code(self, code: grpc.StatusCode) -> None:
        self.outcome.code = code

    def set_details(self, details: str) -> None:
        self.outcome.message = details

    def set_compression(self, compression: grpc.Compression) -> None:
        return None

    def disable_next_message_compression(self) -> None:
        return None

    def peer(self) -> str:
        return self._peer

    def peer_identities(self) -> Iterable[bytes] | None:
        return None

    def peer_identity_key(self) -> str | None:
        return None

    def auth_context(self) -> Mapping[str, Iterable[bytes]]:
        return {}

    def time_remaining(self) -> float:
        if self._deadline is None:
            return float("inf")
        return max(0.0, self._deadline - time.monotonic())

    def trailing_metadata(self) -> Any:
        details = self.outcome.status_details
        return ((STATUS_DETAILS_KEY, details),) if details else ()

    def code(self) -> grpc.StatusCode:
        return self.outcome.code

    def details(self) -> str:
        return self.outcome.message

    def cancelled(self) -> bool:
        return self._cancelled

    def done(self) -> bool:
        return self._done

    def finish(self, *, cancelled: bool = False) -> None:
        self._done = True
        self._cancelled = cancelled


def _result(call_id: int, outcome: _Outcome, response: bytes = b"") -> call_tunnel_pb2.TunneledResult:
    return call_tunnel_pb2.TunneledResult(
        call_id=call_id,
        code=outcome.code.value[0],
        message=outcome.message,
        response=response,
        initial_metadata=[call_tunnel_pb2.MetadataEntry(key=k, value=v) for k, v in outcome.initial_metadata],
        status_details=outcome.status_details,
    )


def _failure(call_id: int, error: ServiceError) -> call_tunnel_pb2.TunneledResult:
    status = rpc_status.to_status(error.to_status_proto())
    details = next((v for k, v in status.trailing_metadata if k == STATUS_DETAILS_KEY), b"")
    return _result(
        call_id,
        _Outcome(
            code=status.code,
            message=status.details,
            status_details=details if isinstance(details, bytes) else b"",
        ),
    )


class _Session:
    """One open stream: its running calls and the results waiting to be written."""

    def __init__(self, lookup: HandlerLookup, peer: str, admission: _Admission) -> None:
        self._lookup = lookup
        self._peer = peer
        self._admission = admission
        self._running: dict[int, asyncio.Task[None]] = {}
        self._ready: list[call_tunnel_pb2.TunneledResult] = []
        self._wake = asyncio.Event()
        # Set while fewer than RESULTS_WAITING_MAX results wait: a caller that sends and
        # does not read is not read from either.
        self._room = asyncio.Event()
        self._room.set()
        self._closing = False
        # Why the caller's stream is refused, when it broke the protocol.
        self.violation = ""

    async def frames(
        self, requests: AsyncIterator[call_tunnel_pb2.ExchangeRequest]
    ) -> AsyncIterator[call_tunnel_pb2.ExchangeResponse]:
        """The frames of results, until the caller has sent its last call and every call
        has answered."""
        reader = asyncio.create_task(self._read(requests))
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._ready:
                    count = frame_size(self._ready)
                    frame = call_tunnel_pb2.ExchangeResponse(results=self._ready[:count])
                    del self._ready[:count]
                    if len(self._ready) < RESULTS_WAITING_MAX:
                        self._room.set()
                    yield frame
                if self._closing:
                    return
        finally:
            # A stream that ends early (cancelled, or lost) cancels what still runs, as
            # a lost connection cancels its unary calls.
            running = list(self._running.values())
            for task in running:
                task.cancel()
            reader.cancel()
            await asyncio.gather(*running, reader, return_exceptions=True)

    async def _read(self, requests: AsyncIterator[call_tunnel_pb2.ExchangeRequest]) -> None:
        try:
            async for frame in requests:
                if len(frame.calls) > FRAME_ITEMS_MAX or len(frame.cancelled_call_ids) > CALLS_IN_FLIGHT_MAX:
                    self.violation = "too many calls or cancellations in one frame"
                    return
                await self._room.wait()
                for call in frame.calls:
                    self._start(call)
                for call_id in frame.cancelled_call_ids:
                    task = self._running.get(call_id)
                    if task is not None:
                        task.cancel()
            # The caller sent its last call: the stream ends once these have answered.
            while self._running:
                await asyncio.wait(list(self._running.values()))
        finally:
            self._closing = True
            self._wake.set()

    def _start(self, call: call_tunnel_pb2.TunneledCall) -> None:
        if call.call_id in self._running:
            refusal = failed_result(grpc.StatusCode.INVALID_ARGUMENT, "call id already running", call.call_id)
            self._deliver(refusal)
        elif self._admission.draining:
            # As a server in its shutdown grace refuses new calls: the caller may retry
            # them elsewhere, where a call cut off at the end of the grace could not know.
            self._deliver(failed_result(grpc.StatusCode.UNAVAILABLE, "Server is shutting down", call.call_id))
        elif len(self._running) >= CALLS_IN_FLIGHT_MAX:
            self._deliver(
                failed_result(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many calls in flight", call.call_id)
            )
        else:
            task = asyncio.create_task(self._run(call))
            self._running[call.call_id] = task
            task.add_done_callback(partial(self._forget, call.call_id))

    def _forget(self, call_id: int, _task: asyncio.Task[None]) -> None:
        self._running.pop(call_id, None)

    async def _run(self, call: call_tunnel_pb2.TunneledCall) -> None:
        call_id = call.call_id
        if not call.method.startswith(OWN_PACKAGE_PREFIX) or call.method == TUNNEL_METHOD:
            self._deliver(failed_result(grpc.StatusCode.UNIMPLEMENTED, "Method not found!", call_id))
            return
        if len(call.request) > CALL_BYTES_MAX:
            self._deliver(failed_result(grpc.StatusCode.RESOURCE_EXHAUSTED, "request too large", call_id))
            return
        # gRPC hands handlers lower-case keys; so does the tunnel.
        metadata = tuple((entry.key.lower(), entry.value) for entry in call.metadata)
        handler = await self._lookup(call.method, metadata)
        if handler is None or handler.unary_unary is None:
            self._deliver(failed_result(grpc.StatusCode.UNIMPLEMENTED, "Method not found!", call_id))
            return
        deadline = time.monotonic() + call.timeout_ms / 1000 if call.timeout_ms else None
        context = TunneledCallContext(metadata, deadline, self._peer)
        try:
            request = (
                handler.request_deserializer(call.request) if handler.request_deserializer else call.request
            )
        except Exception:
            self._deliver(failed_result(grpc.StatusCode.INTERNAL, "Failed to parse request", call_id))
            return
        behaviour = cast(UnaryBehaviour, handler.unary_unary)
        try:
            if deadline is None:
                response = await behaviour(request, context)
            else:
                async with asyncio.timeout(call.timeout_ms / 1000):
                    response = await behaviour(request, context)
        except grpc.aio.AbortError:
            context.finish()
            self._deliver(_result(call_id, context.outcome))
            return
        except TimeoutError:
            context.finish(cancelled=True)
            self._deliver(failed_result(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded", call_id))
            return
        except asyncio.CancelledError:
            context.finish(cancelled=True)
            self._deliver(failed_result(grpc.StatusCode.CANCELLED, "Cancelled", call_id))
            raise
        except Exception as exc:  # the pipeline maps every failure; this is a handler outside it
            log.exception("tunneled_call_crashed", rpc=call.method)
            context.finish()
            self._deliver(_failure(call_id, ServiceError("INTERNAL_ERROR", repr(exc))))
            return
        context.finish()
        body = handler.response_serializer(response) if handler.response_serializer else response
        if len(body) > CALL_BYTES_MAX:
            self._deliver(failed_result(grpc.StatusCode.RESOURCE_EXHAUSTED, "response too large", call_id))
            return
        self._deliver(_result(call_id, context.outcome, body))

    def _deliver(self, result: call_tunnel_pb2.TunneledResult) -> None:
        self._ready.append(result)
        if len(self._ready) >= RESULTS_WAITING_MAX:
            self._room.clear()
        self._wake.set()


@dataclass
class _Admission:
    draining: bool = False


class CallTunnelServicer(call_tunnel_pb2_grpc.CallTunnelServiceServicer):
    def __init__(self, lookup: HandlerLookup) -> None:
        self._lookup = lookup
        self._admission = _Admission()

    def drain(self) -> None:
        """From now on new calls are refused; those running finish (the server's grace)."""
        self._admission.draining = True

    async def Exchange(  # noqa: N802 — the RPC's name
        self, request_iterator: AsyncIterator[call_tunnel_pb2.ExchangeRequest], context: RpcContext
    ) -> AsyncIterator[call_tunnel_pb2.ExchangeResponse]:
        session = _Session(self._lookup, context.peer(), self._admission)
        async for frame in session.frames(request_iterator):
            yield frame
        if session.violation:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, session.violation)


class _CallDetails(grpc.HandlerCallDetails):
    def __init__(self, method: str, metadata: tuple[tuple[str, str], ...]) -> None:
        self.method = method
        self.invocation_metadata = metadata


class TunnelTargets:
    """The methods a server registered, found the way gRPC finds them, then passed
    through the server's interceptors; resolved once per method."""

    def __init__(self, interceptors: Sequence[grpc.aio.ServerInterceptor]) -> None:
        self._interceptors = tuple(interceptors)
        self._generic: list[grpc.GenericRpcHandler] = []
        self._resolved: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def add(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self._generic.extend(handlers)
        self._resolved.clear()

    async def lookup(
        self, method: str, metadata: tuple[tuple[str, str], ...]
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        known = self._resolved.get(method)
        if known is not None:
            return known

        async def registered(call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[Any, Any] | None:
            for generic in self._generic:
                found = generic.service(call_details)
                if found is not None:
                    return found
            return None

        continuation: Resolver = registered
        for interceptor in reversed(self._interceptors):
            continuation = _chained(interceptor, continuation)
        handler = await continuation(_CallDetails(method, metadata))
        # Only methods that exist are kept: a service has a few dozen.
        if handler is not None and len(self._resolved) < RESOLVED_METHODS_MAX:
            self._resolved[method] = handler
        return handler


def _chained(interceptor: grpc.aio.ServerInterceptor, inner: Resolver) -> Resolver:
    async def call(details: grpc.HandlerCallDetails) -> MethodHandler | None:
        handler: MethodHandler | None = await interceptor.intercept_service(inner, details)
        return handler

    return call


class RecordingServer:
    """Stands for the grpc.aio server while a service registers its servicers: passes
    every registration on, and keeps the generic handlers for the tunnel."""

    def __init__(self, server: grpc.aio.Server, targets: TunnelTargets) -> None:
        self._server = server
        self._targets = targets

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._targets.add(handlers)
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        self._targets.add([grpc.method_handlers_generic_handler(service_name, method_handlers)])
        self._server.add_registered_method_handlers(service_name, method_handlers)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


def add_call_tunnel(server: grpc.aio.Server, targets: TunnelTargets) -> CallTunnelServicer:
    servicer = CallTunnelServicer(targets.lookup)
    call_tunnel_pb2_grpc.add_CallTunnelServiceServicer_to_server(servicer, server)
    return servicer
