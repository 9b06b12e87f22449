"""What both ends of `payment_engine.common.v1.CallTunnelService` agree on: its name and
its bounds (the service side is call_tunnel_server, the caller's call_tunnel_client)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import grpc
from google.protobuf.message import Message
from payment_engine_protos.common.v1 import call_tunnel_pb2

TUNNEL_SERVICE_NAME: Final = "payment_engine.common.v1.CallTunnelService"
TUNNEL_METHOD: Final = f"/{TUNNEL_SERVICE_NAME}/Exchange"
# Calls running at once on one stream; the service refuses more with RESOURCE_EXHAUSTED
# (as a server at its concurrency limit does), so a caller keeps below it.
CALLS_IN_FLIGHT_MAX: Final = 1024
# What one call's request or response may weigh: a unary call's 4 MiB, less room for
# the frame around it.
CALL_BYTES_MAX: Final = 4 * 1024 * 1024 - 64 * 1024
STATUS_DETAILS_KEY: Final = "grpc-status-details-bin"
# One frame (a message on the stream, either way) holds at most this many calls or
# results, and this many bytes unless one alone is larger (CALL_BYTES_MAX bounds that).
FRAME_ITEMS_MAX: Final = 256
FRAME_BYTES_MAX: Final = 1024 * 1024


def frame_size(items: Sequence[Message]) -> int:
    """How many of the first items make the next frame: at least one (when there are any)."""
    size = 0
    count = 0
    for item in items[:FRAME_ITEMS_MAX]:
        size += item.ByteSize()
        if count and size > FRAME_BYTES_MAX:
            break
        count += 1
    return count


def failed_result(code: grpc.StatusCode, message: str, call_id: int = 0) -> call_tunnel_pb2.TunneledResult:
    """A call's result that no handler gave: a refusal, a deadline, a lost stream."""
    return call_tunnel_pb2.TunneledResult(call_id=call_id, code=code.value[0], message=message)
