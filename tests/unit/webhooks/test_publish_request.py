"""PublishEvents checks its request's strings for U+0000 itself, in place of the call
pipeline's walk: the same error for the same request, and no string left unchecked. An
event whose data arrives as JSON text is checked to be a JSON object jsonb can store."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from payment_engine_protos.webhooks.v1 import webhooks_pb2 as pb

from corelib.errors import ServiceError
from corelib.request_validation import reject_nul_characters, require_no_nul
from services.webhooks.api import incoming_events
from tests.integration.webhooks.stack import event, transaction_data

TENANT = "org_01JFX3K2Q8Z7N5B4C3D2E1F0GH"


def strings_below(descriptor: Descriptor, path: str = "") -> set[str]:
    """The string fields of a message, by path; JSON-like messages as a whole."""
    found: set[str] = set()
    for field in descriptor.fields:
        where = f"{path}{field.name}"
        if field.type == FieldDescriptor.TYPE_STRING:
            found.add(where)
        elif field.message_type is not None:
            if field.message_type.full_name == "google.protobuf.Struct":
                found.add(where)
            else:
                found |= strings_below(field.message_type, f"{where}.")
    return found


def test_every_string_of_the_request_is_one_incoming_events_checks() -> None:
    # A new string field must be checked in services/webhooks/api.py before it is added here.
    assert strings_below(pb.PublishEventsRequest.DESCRIPTOR) == {
        "events.event_id",
        "events.event_type",
        "events.tenant_id",
        "events.data",
        "encoded_events.event_id",
        "encoded_events.event_type",
        "encoded_events.tenant_id",
    }


def pipeline_error(request: pb.PublishEventsRequest) -> ServiceError:
    with pytest.raises(ServiceError) as refused:
        require_no_nul(request)
    return refused.value


def with_nul(where: str) -> pb.PublishEventsRequest:
    events = [event(TENANT), event(TENANT), event(TENANT)]
    target = events[1]
    if where == "event_id":
        target.event_id = "evt_\x00"
    elif where == "tenant_id":
        target.tenant_id = "org_\x00"
    elif where == "event_type":
        target.event_type = "transaction.\x00"
    elif where == "value":
        target.data.update({"description": "in\x00voice"})
    elif where == "key":
        target.data.update({"meta\x00": "x"})
    else:
        target.data.update({"nested": {"list": ["ok", {"deep": "\x00"}]}})
    # A later event's trouble is not what the caller hears of.
    events[2].data.update({"later": "\x00"})
    return pb.PublishEventsRequest(events=events)


@pytest.mark.parametrize("where", ["event_id", "tenant_id", "event_type", "value", "key", "nested"])
def test_a_nul_is_refused_with_the_pipelines_error(where: str) -> None:
    request = with_nul(where)
    expected = pipeline_error(request)
    assert expected.details["field"].startswith("events[1].")
    with pytest.raises(ServiceError) as refused:
        incoming_events(request)
    assert (refused.value.reason, refused.value.message, refused.value.details) == (
        expected.reason,
        expected.message,
        expected.details,
    )


def test_a_nul_is_heard_of_before_a_number_json_cannot_hold() -> None:
    events = [event(TENANT, data={"amount": math.inf}), event(TENANT, data={"note": "\x00"})]
    request = pb.PublishEventsRequest(events=events)
    with pytest.raises(ServiceError) as refused:
        incoming_events(request)
    assert refused.value.details == {"field": "events[1].data.note"}


def test_the_pipeline_leaves_publish_events_to_its_handler_and_walks_the_rest() -> None:
    request = with_nul("value")
    reject_nul_characters(request)
    other = pb.TestWebhookEndpointRequest(id="whe_\x00")
    with pytest.raises(ServiceError):
        reject_nul_characters(other)


def test_events_without_nul_are_read_in_full() -> None:
    data: dict[str, Any] = transaction_data(amount=100.0, note=None, tags=["a", "ü"])
    request = pb.PublishEventsRequest(events=[event(TENANT, data=data)])
    (incoming,) = incoming_events(request)
    assert incoming.tenant_id == TENANT and incoming.event_type == "transaction.completed"
    assert incoming.data == data and type(incoming.data["amount"]) is float
    assert incoming.created_at is not None


def encoded(data_json: bytes, **fields: str) -> pb.EncodedEvent:
    message = event(TENANT)
    values = {"event_id": message.event_id, "event_type": message.event_type, "tenant_id": TENANT, **fields}
    return pb.EncodedEvent(created_at=message.created_at, data_json=data_json, **values)


def test_encoded_events_are_read_with_their_json_as_it_came() -> None:
    data: dict[str, Any] = transaction_data(amount=100.0, count=3, note=None, tags=["a", "ü"])
    text = orjson.dumps(data).replace(b'":', b'": ')
    request = pb.PublishEventsRequest(events=[event(TENANT)], encoded_events=[encoded(text)])
    first, second = incoming_events(request)
    assert first.data_json == orjson.dumps(first.data)
    assert second.data_json == text and second.data == data
    assert (second.tenant_id, second.event_type) == (TENANT, "transaction.completed")
    assert second.created_at is not None


BACKSLASH = b"\\"
ESCAPED_NUL = BACKSLASH + b"u0000"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'{"amount": NaN}', "not valid JSON"),
        (b'{"amount": 1e400}', "not valid JSON"),
        (b'{"note": "' + bytes([0xFF]) + b'"}', "not valid JSON"),
        (b'{"note": "' + BACKSLASH + b'ud800"}', "not valid JSON"),
        (b'{"note": "raw ' + bytes([0]) + b' byte"}', "not valid JSON"),
    ],
)
def test_encoded_data_that_is_not_a_json_object_jsonb_stores_is_refused(text: bytes, problem: str) -> None:
    request = pb.PublishEventsRequest(encoded_events=[encoded(b"{}"), encoded(text)])
    with pytest.raises(ServiceError) as refused:
        incoming_events(request)
    assert refused.value.reason == "INVALID_REQUEST" and problem in refused.value.message
    assert refused.value.details["field"] == "encodedEvents[1].dataJson"


@pytest.mark.parametrize(
    "text",
    [
        b'{"note": "in' + ESCAPED_NUL + b'voice"}',
        b'{"a' + ESCAPED_NUL + b'": 1}',
        b'{"deep": [1, {"x": ["' + ESCAPED_NUL + b'"]}]}',
        b'{"n": ' + b"[" * 1000 + b'"' + ESCAPED_NUL + b'"' + b"]" * 1000 + b"}",
    ],
)
def test_an_escaped_nul_in_encoded_data_is_refused(text: bytes) -> None:
    request = pb.PublishEventsRequest(encoded_events=[encoded(text)])
    with pytest.raises(ServiceError) as refused:
        incoming_events(request)
    assert refused.value.details == {"field": "encodedEvents[0].dataJson"}
    assert "U+0000" in refused.value.message


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul() -> None:
    text = b'{"path": "C:' + BACKSLASH + ESCAPED_NUL + b'dir"}'
    (incoming,) = incoming_events(pb.PublishEventsRequest(encoded_events=[encoded(text)]))
    assert incoming.data == {"path": "C:\\u0000dir"}


@pytest.mark.parametrize(
    ("where", "json_name"), [("event_id", "eventId"), ("tenant_id", "tenantId"), ("event_type", "eventType")]
)
def test_a_nul_in_an_encoded_events_name_gets_the_pipelines_error(where: str, json_name: str) -> None:
    request = pb.PublishEventsRequest(encoded_events=[encoded(b"{}"), encoded(b"{}", **{where: "x\x00"})])
    expected = pipeline_error(request)
    assert expected.details["field"] == f"encodedEvents[1].{json_name}"
    with pytest.raises(ServiceError) as refused:
        incoming_events(request)
    assert (refused.value.message, refused.value.details) == (expected.message, expected.details)
