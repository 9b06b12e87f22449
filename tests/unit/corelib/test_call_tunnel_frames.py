"""How calls and results are cut into frames: never an empty frame while any wait,
never more than FRAME_ITEMS_MAX items, never past FRAME_BYTES_MAX bytes but for one
item that alone is larger."""

from __future__ import annotations

from payment_engine_protos.common.v1 import call_tunnel_pb2

from corelib.call_tunnel import FRAME_BYTES_MAX, FRAME_ITEMS_MAX, frame_size


def _calls(count: int, request_bytes: int) -> list[call_tunnel_pb2.TunneledCall]:
    return [
        call_tunnel_pb2.TunneledCall(call_id=number + 1, method="/m", request=b"x" * request_bytes)
        for number in range(count)
    ]


def test_nothing_waiting_makes_no_frame() -> None:
    assert frame_size([]) == 0


def test_small_items_fill_a_frame_up_to_its_count() -> None:
    assert frame_size(_calls(3, 10)) == 3
    assert frame_size(_calls(FRAME_ITEMS_MAX + 5, 10)) == FRAME_ITEMS_MAX


def test_large_items_fill_a_frame_up_to_its_bytes() -> None:
    calls = _calls(10, FRAME_BYTES_MAX // 4)
    count = frame_size(calls)
    assert 1 <= count < 4
    assert sum(call.ByteSize() for call in calls[:count]) <= FRAME_BYTES_MAX


def test_one_item_larger_than_a_frame_still_goes_alone() -> None:
    calls = _calls(3, FRAME_BYTES_MAX + 1)
    assert frame_size(calls) == 1
