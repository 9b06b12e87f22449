"""An event's data from its `google.protobuf.Struct`: the dict `json_format.MessageToDict`
gives, read directly.

MessageToDict walks a Struct through its generic, descriptor-driven printer, several
Python calls per value; PublishEvents reads every event's data, so this reads the three
JSON messages (Struct, ListValue, Value) by their oneof alone. The result is the same,
value for value: numbers stay the floats `number_value` holds (100 arrives as 100.0),
an unset Value is None, and a non-finite number is refused with the same ValueError.

While it reads every key and string anyway, it also refuses U+0000 in any of them
(`HoldsNul`): PostgreSQL's jsonb cannot store it, and the caller turns this into the
error the call pipeline's own check gives (corelib.request_validation).
"""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import struct_pb2

NUL = "\x00"


class HoldsNul(ValueError):
    """A key or string of the data holds U+0000."""


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in struct.fields.items():
        if NUL in key:
            raise HoldsNul(key)
        result[key] = _value(value)
    return result


def _value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    # In the order of how often event data holds them.
    if kind == "string_value":
        text = value.string_value
        if NUL in text:
            raise HoldsNul(text)
        return text
    if kind == "number_value":
        number = value.number_value
        if not math.isfinite(number):
            # JSON has no such number; MessageToDict refuses it the same way.
            raise ValueError(f"Fail to serialize {number} for Value.number_value")
        return number
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return struct_to_dict(value.struct_value)
    if kind == "list_value":
        return [_value(item) for item in value.list_value.values]
    # null_value, or no kind set at all (MessageToDict reads both as null).
    return None
