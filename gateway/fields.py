"""Request fields addressed by name from outside the body: path variables and query
parameters (`{account.id}`, `?filter.status=ACTIVE`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

WRAPPER_TYPES: Final = frozenset(
    f"google.protobuf.{name}"
    for name in (
        "DoubleValue",
        "FloatValue",
        "Int64Value",
        "UInt64Value",
        "Int32Value",
        "UInt32Value",
        "BoolValue",
        "StringValue",
        "BytesValue",
    )
)
# Message types whose JSON form is a single string or number, so one query value or
# path segment can set them.
SCALAR_MESSAGE_TYPES: Final = WRAPPER_TYPES | {
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
}
FIELD_PATH_DEPTH_MAX: Final = 8


def message_type_of(field: FieldDescriptor) -> Descriptor:
    message_type = field.message_type
    assert message_type is not None, field.full_name
    return message_type


def enum_type_of(field: FieldDescriptor) -> EnumDescriptor:
    enum_type = field.enum_type
    assert enum_type is not None, field.full_name
    return enum_type


def is_map(field: FieldDescriptor) -> bool:
    message_type = field.message_type
    return message_type is not None and message_type.GetOptions().map_entry


def is_scalar_like(field: FieldDescriptor) -> bool:
    """True when one text value can set the field (or one element of it, if repeated)."""
    if is_map(field):
        return False
    if field.cpp_type != FieldDescriptor.CPPTYPE_MESSAGE:
        return True
    return message_type_of(field).full_name in SCALAR_MESSAGE_TYPES


def is_plain_message(field: FieldDescriptor) -> bool:
    """A message field whose JSON form is an object of its own fields."""
    return (
        field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE
        and not is_map(field)
        and not message_type_of(field).full_name.startswith("google.protobuf.")
    )


def find_field(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    """By JSON name, else by proto name: the order proto3 JSON parsers use."""
    by_json_name = next((f for f in descriptor.fields if f.json_name == name), None)
    return by_json_name if by_json_name is not None else descriptor.fields_by_name.get(name)


def resolve_field_path(descriptor: Descriptor, parts: Sequence[str]) -> list[FieldDescriptor] | None:
    """`("account", "id")` → the fields it walks through; None unless every step but the
    last is a singular plain message field."""
    if not parts or len(parts) > FIELD_PATH_DEPTH_MAX:
        return None
    fields: list[FieldDescriptor] = []
    current = descriptor
    for index, name in enumerate(parts):
        field = find_field(current, name)
        if field is None:
            return None
        fields.append(field)
        if index < len(parts) - 1:
            if field.is_repeated or not is_plain_message(field):
                return None
            current = message_type_of(field)
    return fields
