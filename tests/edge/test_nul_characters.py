"""No string in any request may hold U+0000 (PostgreSQL text cannot): one rule at the
edge of every service, 400 INVALID_REQUEST naming the field — never a 5xx.

Generated from the descriptor set: every string field of every public route's request
(body fields at any depth, repeated elements, map and google.protobuf.Struct keys and
values, `{id}` path segments, query parameters such as list filters and page tokens)
gets a NUL where the route carries it. Direct gRPC callers meet the same rule, and so do
the gateway's own inputs (headers).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import urlsplit

import grpc
import httpx
import pytest
from google.protobuf.descriptor import FieldDescriptor
from payment_engine_protos.accounts.v1 import accounts_pb2
from payment_engine_protos.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc

from gateway.fields import is_map
from tests.edge.request_fields import FieldSlot, field_slots
from tests.harness.engine import EngineHandle
from tests.harness.grpc_clients import accounts_stub, channel, decoded_error, sandbox_tenant

NUL: Final = "\x00"
STRUCT: Final = "google.protobuf.Struct"
SOCKET_TIMEOUT_S: Final = 10.0
RESPONSE_BYTES_MAX: Final = 64 * 1024


def _carries_text(field: FieldDescriptor) -> bool:
    if field.type == FieldDescriptor.TYPE_STRING:
        return True
    message_type = field.message_type
    if message_type is None:
        return False
    if message_type.full_name == STRUCT:
        return True
    return is_map(field) and message_type.fields_by_name["key"].type == FieldDescriptor.TYPE_STRING


TEXT_SLOTS: Final = field_slots(_carries_text)


def _cases(slot: FieldSlot) -> list[tuple[str, tuple[str, str, str, Any], str]]:
    """(what, request, the field the answer must name) for one slot."""
    message_type = slot.field.message_type
    if message_type is not None:
        # A Struct or a map: a NUL in a key, and one in a value.
        value: Any = "ordinary"
        if message_type.full_name != STRUCT:
            value_field = message_type.fields_by_name["value"]
            if value_field.type != FieldDescriptor.TYPE_STRING:
                value = None
        cases = [("key", slot.map_key_request(f"in{NUL}voice"), f"{slot.name}.in\\u0000voice")]
        if value is not None:
            cases.append(("value", slot.request(f"INV{NUL}1"), f"{slot.name}.entry"))
        return cases
    # The service names the field in the request message, so a field of a `body: "x"`
    # binding carries its full path (`endpoint.url`).
    name = ".".join(f"{part}[0]" if i in slot.list_parts else part for i, part in enumerate(slot.json_path))
    expected = f"{name}[0]" if slot.field.is_repeated else name
    return [("value", slot.request(f"abc{NUL}def"), expected)]


@pytest.fixture(scope="module")
def http(engine_stack: EngineHandle) -> Iterator[httpx.Client]:
    headers = {"X-API-Key": engine_stack.credentials.api_key}
    with httpx.Client(base_url=engine_stack.base_url, headers=headers, timeout=30) as client:
        yield client


def test_every_place_a_string_travels_is_covered() -> None:
    places = {slot.where for slot in TEXT_SLOTS}
    assert places == {"body", "query", "path"}
    names = {slot.name for slot in TEXT_SLOTS}
    assert {"metadata", "description", "fromAccountId", "pageToken", "id", "url", "username"} <= names


@pytest.mark.parametrize("slot", TEXT_SLOTS, ids=lambda slot: slot.label)
def test_a_nul_is_refused_naming_the_field(http: httpx.Client, slot: FieldSlot) -> None:
    for what, (method, path, query, body), expected in _cases(slot):
        response = http.request(method, path + (f"?{query}" if query else ""), json=body)
        assert response.status_code == 400, (what, response.text)
        error = response.json()["error"]
        assert error["code"] == "INVALID_REQUEST", (what, error)
        assert error["details"].get("field") == expected, (what, error)


def test_direct_grpc_callers_meet_the_same_rule(engine_stack: EngineHandle) -> None:
    tenant = sandbox_tenant(engine_stack)
    with pytest.raises(grpc.RpcError) as caught:
        accounts_stub(engine_stack).CreateAccount(
            accounts_pb2.CreateAccountRequest(name=f"Ops{NUL}", currency_code="USD"), metadata=tenant.metadata
        )
    _assert_names_field(caught.value, "name")
    webhooks = webhooks_pb2_grpc.WebhooksServiceStub(channel(engine_stack, "webhooks"))
    with pytest.raises(grpc.RpcError) as caught:
        webhooks.ListEvents(webhooks_pb2.ListEventsRequest(page_token=NUL), metadata=tenant.metadata)
    _assert_names_field(caught.value, "pageToken")


def _assert_names_field(error: Any, field: str) -> None:
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    decoded = decoded_error(error)
    assert decoded.reason == "INVALID_REQUEST"
    assert decoded.details["field"] == field


def _raw_request(base_url: str, request: bytes) -> bytes:
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=SOCKET_TIMEOUT_S) as conn:
        conn.sendall(request)
        received = b""
        while len(received) < RESPONSE_BYTES_MAX:
            chunk = conn.recv(4096)
            if not chunk:
                break
            received += chunk
    return received


@pytest.mark.parametrize("header", ["Idempotency-Key", "X-Request-Id"])
def test_a_nul_in_a_header_is_never_a_server_error(engine_stack: EngineHandle, header: str) -> None:
    answer = _raw_request(
        engine_stack.base_url,
        (
            "POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"X-API-Key: {engine_stack.credentials.api_key}\r\nContent-Type: application/json\r\n"
            f"{header}: a{NUL}b\r\nContent-Length: 2\r\n\r\n{{}}"
        ).encode("latin-1"),
    )
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 400"), answer[:500]
    assert b'"INVALID_REQUEST"' in answer, answer[:500]
