"""The caller's side of `payment_engine.common.v1.CallTunnelService`: unary calls to one
service process multiplexed on one stream (corelib/call_tunnel_server.py runs them).

`call` waits for its own result. A sender writes every call queued meanwhile in one
frame, so under load one message carries many calls; a receiver hands each result to
its waiter. The stream is opened on first use and again after it is lost; losing it,
whatever its status, fails the calls it carried as UNAVAILABLE, as a lost connection
fails unary calls. A call whose deadline passes
stops waiting and asks the service to cancel it.

A service without the tunnel answers UNIMPLEMENTED once; the tunnel then says so
(`TunnelUnsupported`) and the caller uses plain unary calls for good.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from typing import Any, Final, TypeAlias

import grpc
import structlog
from payment_engine_protos.common.v1 import call_tunnel_pb2

from corelib.call_tunnel import CALL_BYTES_MAX, CALLS_IN_FLIGHT_MAX, TUNNEL_METHOD, failed_result, frame_size

log = structlog.get_logger("corelib.call_tunnel")

CODES_BY_VALUE: Final = {code.value[0]: code for code in grpc.StatusCode}

TunneledResult = call_tunnel_pb2.TunneledResult
Exchange: TypeAlias = "grpc.aio.StreamStreamMultiCallable[Any, call_tunnel_pb2.ExchangeResponse]"


class TunnelUnsupported(Exception):
    """The service has no call tunnel: the call was not made, make it directly."""


def result_code(result: TunneledResult) -> grpc.StatusCode:
    return CODES_BY_VALUE.get(result.code, grpc.StatusCode.UNKNOWN)


class _Stream:
    """One open Exchange stream and the calls waiting on it."""

    def __init__(self, exchange: Exchange) -> None:
        self._call = exchange()
        self.waiting: dict[int, asyncio.Future[TunneledResult]] = {}
        self._queued: list[call_tunnel_pb2.TunneledCall] = []
        self._cancelled: list[int] = []
        self._wake = asyncio.Event()
        self.ended: TunneledResult | None = None
        self.unsupported = False
        self._sender = asyncio.create_task(self._send())
        self._receiver = asyncio.create_task(self._receive())

    def submit(self, call: call_tunnel_pb2.TunneledCall) -> asyncio.Future[TunneledResult]:
        future: asyncio.Future[TunneledResult] = asyncio.get_running_loop().create_future()
        self.waiting[call.call_id] = future
        self._queued.append(call)
        self._wake.set()
        return future

    def cancel(self, call_id: int) -> None:
        if self.waiting.pop(call_id, None) is not None and self.ended is None:
            self._cancelled.append(call_id)
            self._wake.set()

    async def _send(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queued or self._cancelled:
                    calls = self._queued[: frame_size(self._queued)]
                    del self._queued[: len(calls)]
                    cancelled, self._cancelled = self._cancelled, []
                    await self._call.write(
                        call_tunnel_pb2.ExchangeRequest(calls=calls, cancelled_call_ids=cancelled)
                    )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The receiver sees the stream's status; this only ends the sending.
            log.debug("call_tunnel_send_failed", error=repr(exc))

    async def _receive(self) -> None:
        ended = failed_result(grpc.StatusCode.UNAVAILABLE, "call tunnel closed")
        try:
            async for frame in self._call:
                for result in frame.results:
                    future = self.waiting.pop(result.call_id, None)
                    if future is not None and not future.done():
                        future.set_result(result)
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            self.unsupported = code == grpc.StatusCode.UNIMPLEMENTED
            # Whatever ended the stream (the service gone, or its transport torn down in
            # the middle of a write, which gRPC reports as INTERNAL), the calls it carried
            # may or may not have run: unavailable, for their callers to retry.
            ended = failed_result(grpc.StatusCode.UNAVAILABLE, f"call tunnel ended: {code.name}")
            if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED) and not self.unsupported:
                log.warning("call_tunnel_ended", grpc_code=code.name, details=exc.details())
        except asyncio.CancelledError:
            ended = failed_result(grpc.StatusCode.CANCELLED, "call tunnel closed")
            raise
        finally:
            self._end(ended)

    def _end(self, ended: TunneledResult) -> None:
        self.ended = ended
        self._sender.cancel()
        waiting, self.waiting = self.waiting, {}
        for future in waiting.values():
            if not future.done():
                if self.unsupported:
                    future.set_exception(TunnelUnsupported())
                else:
                    future.set_result(ended)

    async def close(self) -> None:
        self._call.cancel()
        self._sender.cancel()
        self._receiver.cancel()
        await asyncio.gather(self._sender, self._receiver, return_exceptions=True)


class CallTunnel:
    """Unary calls to the service behind `channel`, over one stream."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._exchange: Exchange = channel.stream_stream(
            TUNNEL_METHOD,
            request_serializer=call_tunnel_pb2.ExchangeRequest.SerializeToString,
            response_deserializer=call_tunnel_pb2.ExchangeResponse.FromString,
        )
        self._stream: _Stream | None = None
        self._ids = itertools.count(1)
        self.unsupported = False

    def has_room(self) -> bool:
        """Whether another call fits; the service refuses calls beyond its bound."""
        stream = self._stream
        return not self.unsupported and (stream is None or len(stream.waiting) < CALLS_IN_FLIGHT_MAX)

    async def call(
        self, method: str, request: bytes, metadata: Sequence[tuple[str, str]], timeout_s: float
    ) -> TunneledResult:
        """The call's result; a failure is a result too (its code, message and details).
        Raises TunnelUnsupported when the service has no tunnel (the call was not made)."""
        if self.unsupported:
            raise TunnelUnsupported()
        if len(request) > CALL_BYTES_MAX:
            # Too large for a frame; a unary call of this size fails as gRPC fails it.
            return failed_result(grpc.StatusCode.RESOURCE_EXHAUSTED, "request too large")
        stream = self._stream
        if stream is None or stream.ended is not None:
            if stream is not None and stream.unsupported:
                self.unsupported = True
                raise TunnelUnsupported()
            stream = self._stream = _Stream(self._exchange)
        call_id = next(self._ids)
        future = stream.submit(
            call_tunnel_pb2.TunneledCall(
                call_id=call_id,
                method=method,
                metadata=[call_tunnel_pb2.MetadataEntry(key=k, value=v) for k, v in metadata],
                request=request,
                timeout_ms=max(1, int(timeout_s * 1000)),
            )
        )
        try:
            async with asyncio.timeout(timeout_s):
                result = await future
        except TimeoutError:
            stream.cancel(call_id)
            return failed_result(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
        except asyncio.CancelledError:
            stream.cancel(call_id)
            raise
        except TunnelUnsupported:
            self.unsupported = True
            raise
        return result

    async def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.close()
