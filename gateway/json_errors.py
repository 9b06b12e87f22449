"""Finds the field a JSON document got wrong, so a 400 can name it.

`json_format.ParseDict` reports failures as nested prose that mixes proto type names and
paths. The happy path keeps using ParseDict; only after it refused a document does this
walk the document beside the message descriptor to find the first offending field and say
what was expected, in the caller's own field names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gateway.fields import (
    WRAPPER_TYPES,
    enum_type_of,
    find_field,
    is_map,
    is_plain_message,
    message_type_of,
)

NESTING_DEPTH_MAX: Final = 32
ENUM_NAMES_SHOWN_MAX: Final = 16
FIELD_PATH_SHOWN_MAX: Final = 200

_SCALAR_EXPECTATIONS: Final[dict[int, str]] = {
    FieldDescriptor.TYPE_DOUBLE: "expected a number",
    FieldDescriptor.TYPE_FLOAT: "expected a number",
    FieldDescriptor.TYPE_INT32: "expected a 32-bit integer",
    FieldDescriptor.TYPE_SINT32: "expected a 32-bit integer",
    FieldDescriptor.TYPE_SFIXED32: "expected a 32-bit integer",
    FieldDescriptor.TYPE_UINT32: "expected a non-negative 32-bit integer",
    FieldDescriptor.TYPE_FIXED32: "expected a non-negative 32-bit integer",
    FieldDescriptor.TYPE_INT64: "expected a 64-bit integer",
    FieldDescriptor.TYPE_SINT64: "expected a 64-bit integer",
    FieldDescriptor.TYPE_SFIXED64: "expected a 64-bit integer",
    FieldDescriptor.TYPE_UINT64: "expected a non-negative 64-bit integer",
    FieldDescriptor.TYPE_FIXED64: "expected a non-negative 64-bit integer",
    FieldDescriptor.TYPE_BOOL: "expected true or false",
    FieldDescriptor.TYPE_STRING: "expected a string",
    FieldDescriptor.TYPE_BYTES: "expected a base64 string",
}
_MESSAGE_EXPECTATIONS: Final[dict[str, str]] = {
    "google.protobuf.Timestamp": "expected an RFC 3339 timestamp such as 2024-01-15T10:30:00Z",
    "google.protobuf.Duration": 'expected a duration such as "1.5s"',
    "google.protobuf.FieldMask": "expected a comma-separated list of field names",
    "google.protobuf.Struct": "expected a JSON object",
    "google.protobuf.ListValue": "expected an array",
    "google.protobuf.Value": "expected a JSON value",
    "google.protobuf.Any": 'expected an object with "@type"',
    "google.protobuf.Empty": "expected an empty object",
}


@dataclass(frozen=True)
class FieldProblem:
    # As the caller wrote it: "metadata.invoiceId", "items[2].price".
    field: str
    problem: str

    @property
    def message(self) -> str:
        shown = self.field
        if len(shown) > FIELD_PATH_SHOWN_MAX:
            shown = shown[:FIELD_PATH_SHOWN_MAX] + "…"
        if self.problem == "unknown field":
            return f"Unknown field '{shown}'"
        return f"Invalid value for field '{shown}': {self.problem}"


def expectation(field: FieldDescriptor) -> str:
    """What a field's JSON value must look like, in words a caller can act on."""
    if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
        message_type = message_type_of(field)
        if message_type.full_name in WRAPPER_TYPES:
            return expectation(message_type.fields_by_name["value"])
        name = message_type.full_name
        return _MESSAGE_EXPECTATIONS.get(name, "expected a JSON object")
    if field.cpp_type == FieldDescriptor.CPPTYPE_ENUM:
        names = [value.name for value in enum_type_of(field).values if value.number != 0]
        shown = ", ".join(names[:ENUM_NAMES_SHOWN_MAX])
        return f"expected one of {shown}" if shown else "expected an enum value"
    return _SCALAR_EXPECTATIONS.get(field.type, "expected a different value")


def locate_problem(
    document: object, descriptor: Descriptor, path: str = "", depth: int = 0
) -> FieldProblem | None:
    """The first field of `document` that cannot become `descriptor`, or None."""
    if depth > NESTING_DEPTH_MAX:
        return FieldProblem(path, f"nested deeper than {NESTING_DEPTH_MAX} levels")
    if not isinstance(document, dict):
        return FieldProblem(path or "(body)", "expected a JSON object")
    claimed: dict[str, str] = {}
    oneofs: dict[str, str] = {}
    for key, value in document.items():
        field_path = f"{path}.{key}" if path else str(key)
        field = find_field(descriptor, str(key))
        if field is None:
            return FieldProblem(field_path, "unknown field")
        if field.name in claimed:
            return FieldProblem(field_path, f"given twice (also as '{claimed[field.name]}')")
        claimed[field.name] = str(key)
        if value is None:
            continue
        oneof = field.containing_oneof
        if oneof is not None:
            if oneof.name in oneofs:
                return FieldProblem(field_path, f"cannot be set together with '{oneofs[oneof.name]}'")
            oneofs[oneof.name] = str(key)
        problem = _locate_in_field(value, field, field_path, depth)
        if problem is not None:
            return problem
    return None


def _locate_in_field(value: Any, field: FieldDescriptor, path: str, depth: int) -> FieldProblem | None:
    if is_map(field):
        if not isinstance(value, dict):
            return FieldProblem(path, "expected a JSON object")
        value_field = message_type_of(field).fields_by_name["value"]
        for key, item in value.items():
            problem = _locate_in_single(item, value_field, f"{path}.{key}", depth, element=False)
            if problem is not None:
                return problem
        return None if _parses(field, value, element=False) else FieldProblem(path, "has an invalid key")
    if field.is_repeated:
        if not isinstance(value, list):
            return FieldProblem(path, "expected an array")
        for index, item in enumerate(value):
            problem = _locate_in_single(item, field, f"{path}[{index}]", depth, element=True)
            if problem is not None:
                return problem
        return None
    return _locate_in_single(value, field, path, depth, element=False)


def _locate_in_single(
    value: Any, field: FieldDescriptor, path: str, depth: int, *, element: bool
) -> FieldProblem | None:
    if is_plain_message(field) and value is not None:
        return locate_problem(value, message_type_of(field), path, depth + 1)
    if _parses(field, value, element=element):
        return None
    return FieldProblem(path, expectation(field))


def _parses(field: FieldDescriptor, value: Any, *, element: bool) -> bool:
    containing_type = field.containing_type
    assert containing_type is not None, field.full_name
    scratch = message_factory.GetMessageClass(containing_type)()
    try:
        json_format.ParseDict(
            {field.json_name: [value] if element else value}, scratch, max_recursion_depth=NESTING_DEPTH_MAX
        )
    except (json_format.ParseError, ValueError, TypeError):
        return False
    return True
