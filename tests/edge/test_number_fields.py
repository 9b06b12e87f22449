"""Every number field of every route takes a number and nothing else (issue: `"amount":
true` was a payment of 1.00).

Generated from the descriptor set: for each numeric field on each public route, each
value below is sent where the route carries the field (JSON body, query or path) and
must answer 400 INVALID_REQUEST naming the field — never a 2xx, never a 5xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import httpx
import pytest

from gateway.json_numbers import numeric_kind
from tests.edge.request_fields import FieldSlot, field_slots
from tests.harness.engine import EngineHandle

NUMBER_SLOTS: Final = field_slots(lambda field: bool(numeric_kind(field)))
# JSON values that are not numbers; numeric strings are refused too (README: amounts).
NOT_NUMBERS_IN_BODY: Final[tuple[Any, ...]] = (
    True,
    False,
    "12.5",
    "abc",
    {"value": 1},
    [1],
    "NaN",
    "Infinity",
)
NOT_NUMBERS_IN_TEXT: Final = ("true", "abc", "NaN", "Infinity", "1_000", " 5")
NOT_INTEGERS_IN_BODY: Final[tuple[Any, ...]] = (1.5, 0.0)
NOT_INTEGERS_IN_TEXT: Final = ("0.0", "1e3")


def _bad_values(slot: FieldSlot) -> tuple[Any, ...]:
    kind = numeric_kind(slot.field)
    if slot.where == "body":
        strings_allowed = kind == "int64"
        values = tuple(v for v in NOT_NUMBERS_IN_BODY if not (strings_allowed and isinstance(v, str)))
        return values + (NOT_INTEGERS_IN_BODY if kind != "double" else ())
    return NOT_NUMBERS_IN_TEXT + (NOT_INTEGERS_IN_TEXT if kind != "double" else ())


@pytest.fixture(scope="module")
def http(engine_stack: EngineHandle) -> Iterator[httpx.Client]:
    headers = {"X-API-Key": engine_stack.credentials.api_key}
    with httpx.Client(base_url=engine_stack.base_url, headers=headers, timeout=30) as client:
        yield client


def test_the_contracts_have_number_fields_in_every_place() -> None:
    places = {slot.where for slot in NUMBER_SLOTS}
    names = {slot.name for slot in NUMBER_SLOTS}
    assert {"body", "query"} <= places
    assert {"amount", "pageSize"} <= names


@pytest.mark.parametrize("slot", NUMBER_SLOTS, ids=lambda slot: slot.label)
def test_a_non_number_is_refused_naming_the_field(http: httpx.Client, slot: FieldSlot) -> None:
    for value in _bad_values(slot):
        method, path, query, body = slot.request(value)
        response = http.request(
            method, path + (f"?{query}" if query else ""), json=body, headers={"Idempotency-Key": ""}
        )
        assert response.status_code == 400, (value, response.text)
        error = response.json()["error"]
        assert error["code"] == "INVALID_REQUEST", (value, error)
        assert error["details"].get("field") == slot.name, (value, error)


def test_json_numbers_are_still_amounts(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/transactions",
        json={
            "fromAccountId": "test_acc_001",
            "toAccountId": "test_acc_002",
            "paymentTypeId": "rtp",
            "amount": 1,
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == 1.0
