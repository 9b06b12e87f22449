"""Numbers in requests are numbers: the checks the proto3 JSON parser is lenient about.

`json_format.ParseDict` lets a boolean into a double (`"amount": true` became a payment
of 1.00) and reads strings through Python's `float()`/`int()`, which also take
`"Infinity"`, `"1_000"` or `" 12 "`. The contract (OpenAPI) says `number`/`integer`, so
the edge holds requests to it before parsing:

- a double/float or 32-bit integer field (or its wrapper type) in a JSON body takes a
  JSON number and nothing else — no booleans, strings, objects or arrays; an integer
  field takes no fraction (`1.5`, `0.0`);
- a 64-bit integer field takes a JSON integer or a string of decimal digits (proto3
  renders int64 as a string, so the contract says string);
- a path segment or query value for a numeric field must be a plain decimal numeral
  (no `NaN`, `Infinity`, blanks or underscores).

JSON `null` keeps its proto3 meaning (the field's default); a field the engine requires
is checked for presence elsewhere. The walk visits only fields that can hold a number,
precomputed once per message type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gateway.fields import WRAPPER_TYPES, is_map, is_plain_message, message_type_of
from gateway.json_errors import NESTING_DEPTH_MAX, FieldProblem, expectation

_DOUBLE_TYPES: Final = frozenset({FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT})
_INT32_TYPES: Final = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_FIXED32,
    }
)
_INT64_TYPES: Final = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_SFIXED64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_FIXED64,
    }
)
DECIMAL_TEXT: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
INTEGER_TEXT: Final = re.compile(r"-?(?:0|[1-9][0-9]*)")

# What a numeric field is, once its wrapper (DoubleValue…) is looked through.
DOUBLE: Final = "double"
INT32: Final = "int32"
INT64: Final = "int64"


@dataclass(frozen=True)
class _NumericField:
    field: FieldDescriptor
    # DOUBLE / INT32 / INT64 for a number; "" for a message that contains numbers.
    kind: str
    repeated: bool
    map_values: bool


def numeric_kind(field: FieldDescriptor) -> str:
    """DOUBLE, INT32 or INT64 for a field whose JSON value is one number, else ""."""
    target = field
    if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
        message_type = message_type_of(field)
        if message_type.full_name not in WRAPPER_TYPES:
            return ""
        target = message_type.fields_by_name["value"]
    if target.type in _DOUBLE_TYPES:
        return DOUBLE
    if target.type in _INT32_TYPES:
        return INT32
    if target.type in _INT64_TYPES:
        return INT64
    return ""


@cache
def _numeric_fields(descriptor: Descriptor) -> dict[str, _NumericField]:
    """Keyed by every name a body may use for the field (JSON name and proto name)."""
    found: dict[str, _NumericField] = {}
    for field in descriptor.fields:
        entry: _NumericField | None = None
        if is_map(field):
            value_field = message_type_of(field).fields_by_name["value"]
            kind = numeric_kind(value_field)
            if kind or (is_plain_message(value_field) and _contains_numbers(message_type_of(value_field))):
                entry = _NumericField(value_field, kind, repeated=False, map_values=True)
        else:
            kind = numeric_kind(field)
            if kind or (is_plain_message(field) and _contains_numbers(message_type_of(field))):
                entry = _NumericField(field, kind, repeated=field.is_repeated, map_values=False)
        if entry is not None:
            found[field.json_name] = entry
            found[field.name] = entry
    return found


@cache
def _contains_numbers(descriptor: Descriptor, depth: int = 0) -> bool:
    if depth > NESTING_DEPTH_MAX:
        return False
    for field in descriptor.fields:
        target = message_type_of(field).fields_by_name["value"] if is_map(field) else field
        if numeric_kind(target):
            return True
        nested = is_plain_message(target) and target.message_type is not descriptor
        if nested and _contains_numbers(message_type_of(target), depth + 1):
            return True
    return False


def is_json_number(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return False
    if kind == DOUBLE:
        return isinstance(value, int | float)
    if kind == INT32:
        return isinstance(value, int)
    return isinstance(value, int) or (isinstance(value, str) and INTEGER_TEXT.fullmatch(value) is not None)


def is_numeral(text: str, kind: str) -> bool:
    """A path segment or query value for a numeric field."""
    pattern = DECIMAL_TEXT if kind == DOUBLE else INTEGER_TEXT
    return pattern.fullmatch(text) is not None


def find_number_problem(
    document: Any, descriptor: Descriptor, path: str = "", depth: int = 0
) -> FieldProblem | None:
    """The first numeric field of a JSON body that holds something other than a number."""
    if not isinstance(document, dict) or depth > NESTING_DEPTH_MAX:
        # Not an object, or nested too deep: the parser reports those with the field.
        return None
    numeric = _numeric_fields(descriptor)
    if not numeric:
        return None
    for key, value in document.items():
        entry = numeric.get(key) if isinstance(key, str) else None
        if entry is None or value is None:
            continue
        field_path = f"{path}.{key}" if path else key
        if entry.map_values:
            if isinstance(value, dict):
                for item_key, item in value.items():
                    problem = _check_one(item, entry, f"{field_path}.{item_key}", depth)
                    if problem is not None:
                        return problem
        elif entry.repeated:
            if isinstance(value, list):
                for index, item in enumerate(value):
                    problem = _check_one(item, entry, f"{field_path}[{index}]", depth)
                    if problem is not None:
                        return problem
        else:
            problem = _check_one(value, entry, field_path, depth)
            if problem is not None:
                return problem
    return None


def _check_one(value: Any, entry: _NumericField, path: str, depth: int) -> FieldProblem | None:
    if entry.kind:
        if value is None or is_json_number(value, entry.kind):
            return None
        return FieldProblem(path, expectation(entry.field))
    return find_number_problem(value, message_type_of(entry.field), path, depth + 1)
