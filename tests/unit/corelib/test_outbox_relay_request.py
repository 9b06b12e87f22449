"""The relay's PublishEvents requests: the events' data as the outbox's JSON text, passed
on as it is; and, for a webhooks service older than that, the same events as Structs —
byte for byte what building each one apart with Struct.update and Timestamp.FromDatetime
gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from google.protobuf import struct_pb2
from payment_engine_protos.webhooks.v1 import webhooks_pb2 as pb

from corelib.outbox import OutboxEvent
from corelib.outbox_relay import publish_request, struct_publish_request
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


def outbox_events() -> list[OutboxEvent]:
    return [
        OutboxEvent(
            row_id=index,
            event_id=f"evt_{index}",
            tenant_id="org_1",
            event_type="transaction.completed",
            # As PostgreSQL writes jsonb out as text: a space after each colon and comma.
            data_json=orjson.dumps(DATA[index % len(DATA)]).replace(b'":', b'": '),
            created_at=moment,
        )
        for index, moment in enumerate(MOMENTS)
    ]


def test_the_struct_request_is_what_building_each_event_apart_gives() -> None:
    events = outbox_events()
    built = struct_publish_request(events)
    expected = one_by_one(events)
    assert built == expected
    assert built.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)
    assert all(message.HasField("data") and message.HasField("created_at") for message in built.events)
    assert not built.encoded_events


def test_the_encoded_request_passes_each_events_json_on_as_it_is() -> None:
    events = outbox_events()
    built = publish_request(events)
    assert not built.events
    assert [message.data_json for message in built.encoded_events] == [event.data_json for event in events]
    assert [orjson.loads(message.data_json) for message in built.encoded_events] == [e.data for e in events]
    # Everything but the data is what the Struct request carries.
    for encoded, structured in zip(built.encoded_events, struct_publish_request(events).events, strict=True):
        assert (encoded.event_id, encoded.event_type, encoded.tenant_id, encoded.created_at) == (
            structured.event_id,
            structured.event_type,
            structured.tenant_id,
            structured.created_at,
        )


def test_no_events_make_an_empty_request() -> None:
    assert publish_request([]).SerializeToString() == b""
    assert struct_publish_request([]).SerializeToString() == b""
