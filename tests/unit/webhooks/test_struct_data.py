"""Event data read from its Struct: exactly what json_format.MessageToDict gives, and a
U+0000 anywhere in it refused."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2

from services.webhooks.struct_data import HoldsNul, struct_to_dict

SAMPLES: list[dict[str, Any]] = [
    {},
    {
        "transactionId": "txn_01JFX3K2Q8Z7N5B4C3D2E1F0GH",
        "amount": 100.25,
        "whole": 100.0,
        "integer": 7,
        "currencyCode": "USD",
        "failureReason": "",
        "settled": True,
        "reversed": False,
        "note": None,
    },
    {
        "large": 2.0**53,
        "larger": 1e16,
        "huge": 1.7976931348623157e308,
        "tiny": 5e-324,
        "small": 1e-7,
        "negative": -0.5,
        "negativeZero": -0.0,
        "bigInteger": 2**64,
    },
    {"unicode": "Zahlung für Ökostrom — ✓ 支付 🙂", "Schlüssel ü": "value", "": "empty key"},
    {
        "nested": {"deeper": {"deepest": [1.5, "two", None, True, {"k": []}]}},
        "list": [[], [[]], [1.0, [2.0, [3.0]]], {}],
        "empty": {},
    },
    {"escapes": 'quote " backslash \\ newline \n tab \t bell \x07 del \x7f \u2028'},
]


def struct_of(data: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(data)
    return struct


def random_value(rng: random.Random, depth: int) -> Any:
    choice = rng.randrange(8 if depth < 4 else 5)
    if choice == 0:
        return None
    if choice == 1:
        return rng.random() < 0.5
    if choice == 2:
        return rng.choice([0.0, 1.0, -3.0, 0.1, 1e21, 123456.789, float(rng.randrange(-(10**9), 10**9))])
    if choice == 3:
        return "".join(rng.choice('aZ09 -_.ü€😀"\\\n') for _ in range(rng.randrange(12)))
    if choice == 4:
        return rng.uniform(-1e6, 1e6)
    if choice == 5:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {f"k{rng.randrange(100)}": random_value(rng, depth + 1) for _ in range(rng.randrange(5))}


def same_json(left: Any, right: Any) -> bool:
    """Equal, with the same Python types throughout (100.0 is not 100, -0.0 is not 0.0)."""
    return json.dumps(left) == json.dumps(right) and type(left) is type(right)


@pytest.mark.parametrize("data", SAMPLES)
def test_the_data_is_what_message_to_dict_gives(data: dict[str, Any]) -> None:
    struct = struct_of(data)
    assert same_json(struct_to_dict(struct), json_format.MessageToDict(struct))


def test_random_structs_read_as_message_to_dict_reads_them() -> None:
    rng = random.Random(20261207)
    for _ in range(500):
        data = {f"f{i}": random_value(rng, 0) for i in range(rng.randrange(12))}
        struct = struct_of(data)
        assert same_json(struct_to_dict(struct), json_format.MessageToDict(struct))


def test_numbers_stay_the_floats_the_struct_holds() -> None:
    read = struct_to_dict(struct_of({"integer": 100, "whole": 100.0}))
    assert read == {"integer": 100.0, "whole": 100.0}
    assert all(type(value) is float for value in read.values())


def test_an_unset_value_reads_as_null() -> None:
    struct = struct_pb2.Struct()
    struct.fields["unset"].SetInParent()
    struct.fields["listed"].list_value.values.add()
    assert struct_to_dict(struct) == json_format.MessageToDict(struct) == {"unset": None, "listed": [None]}


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_a_number_json_cannot_hold_is_refused_like_message_to_dict_refuses_it(number: float) -> None:
    struct = struct_of({"nested": {"n": [number]}})
    with pytest.raises(ValueError, match=r"Value\.number_value"):
        json_format.MessageToDict(struct)
    with pytest.raises(ValueError, match=r"Value\.number_value") as refused:
        struct_to_dict(struct)
    assert not isinstance(refused.value, HoldsNul)


@pytest.mark.parametrize(
    "data",
    [
        {"note": "a\x00b"},
        {"k\x00": "v"},
        {"nested": {"deeper": ["fine", {"x": "\x00"}]}},
        {"nested": {"k\x00ey": 1.0}},
    ],
)
def test_a_nul_anywhere_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(HoldsNul):
        struct_to_dict(struct_of(data))
