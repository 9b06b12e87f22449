"""The relay's PublishEvents request: the same message, byte for byte, as events built one
by one with Struct.update and Timestamp.FromDatetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from google.protobuf import struct_pb2
from payment_engine_protos.webhooks.v1 import webhooks_pb2 as pb

from corelib.outbox import OutboxEvent
from corelib.outbox_relay import publish_request
from corelib.timestamps import to_timestamp

DATA: list[dict[str, Any]] = [
    {
        "transactionId": "txn_1",
        "amount": 100.25,
        "whole": 100.0,
        "count": 3,
        "failureReason": None,
        "settled": True,
        "description": "Zahlung für Ökostrom 🙂",
    },
    {},
    {"nested": {"list": [1, "two", None, False, {"deep": []}]}, "empty": {}},
]
MOMENTS = [
    datetime(2026, 12, 7, 3, 4, 5, 678_901, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2026, 12, 7, 5, 4, 5, 1, tzinfo=timezone(timedelta(hours=2))),
    datetime(1969, 7, 20, 20, 17, 40, 999_999, tzinfo=UTC),
]


def one_by_one(events: list[OutboxEvent]) -> pb.PublishEventsRequest:
    messages = []
    for event in events:
        data = struct_pb2.Struct()
        data.update(event.data)
        messages.append(
            pb.Event(
                event_id=event.event_id,
                event_type=event.event_type,
                tenant_id=event.tenant_id,
                created_at=to_timestamp(event.created_at),
                data=data,
            )
        )
    return pb.PublishEventsRequest(events=messages)


def test_the_request_is_what_building_each_event_apart_gives() -> None:
    events = [
        OutboxEvent(
            row_id=index,
            event_id=f"evt_{index}",
            tenant_id="org_1",
            event_type="transaction.completed",
            data=DATA[index % len(DATA)],
            created_at=moment,
        )
        for index, moment in enumerate(MOMENTS)
    ]
    built = publish_request(events)
    expected = one_by_one(events)
    assert built == expected
    assert built.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)
    assert all(message.HasField("data") and message.HasField("created_at") for message in built.events)


def test_no_events_make_an_empty_request() -> None:
    assert publish_request([]).SerializeToString() == b""
