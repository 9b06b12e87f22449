"""Proto responses → JSON documents, by a plan made once per message type.

The documents are exactly what `json_format.MessageToDict(message,
always_print_fields_with_no_presence=True)` makes — the same keys in the same order, the
same values — without its per-field work on every call: which name, which kind, whether
a map, which default. Those answers depend only on the message type, so they are looked
up once and kept, and an answer costs the walk over its set fields and the conversions.

Anything the plan does not cover (an extension, an `Any`, a closed enum's number that
names nothing, an infinite or NaN `Value`) is rendered by `json_format` itself, which
gives the same document or raises the same error as before.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any, Final, cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.internal import type_checkers
from google.protobuf.message import Message

Convert = Callable[[Any], Any]

_INT64_TYPES: Final = frozenset({FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64})
_FLOAT_TYPES: Final = frozenset({FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE})
_WRAPPERS_FILE: Final = "google/protobuf/wrappers.proto"
# Well-known types whose JSON form is one string, which the message makes itself.
_STRING_FORMED: Final = frozenset(
    {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"}
)
_STRUCT: Final = "google.protobuf.Struct"
_VALUE: Final = "google.protobuf.Value"
_LIST_VALUE: Final = "google.protobuf.ListValue"
_NULL_VALUE: Final = "google.protobuf.NullValue"
_ANY: Final = "google.protobuf.Any"


class NotPlanned(Exception):
    """A value the plan leaves to json_format."""


def render_message(message: Message) -> Any:
    """The proto3 JSON document of `message`, as MessageToDict makes it with fields
    without presence printed."""
    try:
        return planned_document(message)
    except (NotPlanned, ValueError):
        return json_format.MessageToDict(
            message, always_print_fields_with_no_presence=True, preserving_proto_field_name=False
        )


def planned_document(message: Message) -> Any:
    """The document by the plan alone; NotPlanned where json_format must decide."""
    return _converter_of(cast(Descriptor, message.DESCRIPTOR))(message)


_converters: dict[Descriptor, Convert] = {}


def _converter_of(descriptor: Descriptor) -> Convert:
    converter = _converters.get(descriptor)
    if converter is None:
        converter = _plan(descriptor)
        _converters[descriptor] = converter
    return converter


def _plan(descriptor: Descriptor) -> Convert:
    full_name = descriptor.full_name
    if descriptor.file.name == _WRAPPERS_FILE:
        inner = _value_converter(descriptor.fields_by_name["value"])
        return lambda message: inner(message.value)
    if full_name in _STRING_FORMED:
        return lambda message: message.ToJsonString()
    if full_name == _STRUCT:
        return _struct
    if full_name == _VALUE:
        return _value
    if full_name == _LIST_VALUE:
        return _list_value
    if full_name == _ANY:
        return _any
    if full_name.startswith("google.protobuf."):
        # The rest of the well-known types: json_format's own forms.
        return _left_to_json_format
    return _regular_message(descriptor)


def _any(message: Message) -> dict[str, Any]:
    if message.ListFields():
        # Its type is named inside: json_format looks it up.
        raise NotPlanned(_ANY)
    return {}


def _left_to_json_format(value: Any) -> Any:
    raise NotPlanned(type(value).__name__)


def _regular_message(descriptor: Descriptor) -> Convert:
    present: dict[int, tuple[str, Convert | None]] = {}
    absent: list[tuple[str, Any, type[list[Any]] | type[dict[str, Any]] | None]] = []
    for field in descriptor.fields:
        name = field.json_name
        empty: type[list[Any]] | type[dict[str, Any]] | None = None
        if _is_map(field):
            value_of, empty = _map_converter(field), dict
        elif field.is_repeated:
            value_of, empty = _repeated_converter(_value_converter(field)), list
        else:
            value_of = _value_converter(field)
        present[field.number] = (name, None if value_of is _same else value_of)
        if field.has_presence:
            continue
        if empty is not None:
            absent.append((name, None, empty))
            continue
        try:
            absent.append((name, value_of(field.default_value), None))
        except NotPlanned:
            return _left_to_json_format
    defaults = tuple(absent)

    def document_of(message: Message) -> dict[str, Any]:
        document: dict[str, Any] = {}
        for field, value in message.ListFields():
            planned = present.get(field.number)
            if planned is None:
                # An extension: its numbers are outside the declared fields'.
                raise NotPlanned(field.full_name)
            name, convert = planned
            document[name] = value if convert is None else convert(value)
        for name, default, empty in defaults:
            if name not in document:
                document[name] = default if empty is None else empty()
        return document

    return document_of


def _is_map(field: FieldDescriptor) -> bool:
    message_type = field.message_type
    return bool(field.is_repeated and message_type is not None and message_type.GetOptions().map_entry)


def _same(value: Any) -> Any:
    return value


def _repeated_converter(convert: Convert) -> Convert:
    if convert is _same:
        return list
    return lambda values: [convert(value) for value in values]


def _map_converter(field: FieldDescriptor) -> Convert:
    message_type = field.message_type
    assert message_type is not None
    convert = _value_converter(message_type.fields_by_name["value"])
    key_is_bool = message_type.fields_by_name["key"].cpp_type == FieldDescriptor.CPPTYPE_BOOL

    def map_document(entries: Any) -> dict[str, Any]:
        document = {}
        for key in entries:
            name = ("true" if key else "false") if key_is_bool else str(key)
            document[name] = convert(entries[key])
        return document

    return map_document


def _value_converter(field: FieldDescriptor) -> Convert:
    """How one value of `field` (an element, for a repeated field) becomes JSON."""
    cpp_type = field.cpp_type
    if cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
        message_type = field.message_type
        assert message_type is not None

        def nested(message: Message) -> Any:
            # Looked up at call time: a message type may contain itself.
            return _converter_of(message_type)(message)

        return nested
    if cpp_type == FieldDescriptor.CPPTYPE_ENUM:
        return _enum_converter(field)
    if cpp_type == FieldDescriptor.CPPTYPE_STRING:
        if field.type == FieldDescriptor.TYPE_BYTES:
            return lambda value: base64.b64encode(value).decode("utf-8")
        return _same
    if cpp_type == FieldDescriptor.CPPTYPE_BOOL:
        return bool
    if cpp_type in _INT64_TYPES:
        return str
    if cpp_type in _FLOAT_TYPES:
        return _float if cpp_type == FieldDescriptor.CPPTYPE_FLOAT else _double
    return _same


def _enum_converter(field: FieldDescriptor) -> Convert:
    enum_type = field.enum_type
    assert enum_type is not None
    if enum_type.full_name == _NULL_VALUE:
        return lambda value: None
    names = {number: value.name for number, value in enum_type.values_by_number.items()}
    if any(value.GetOptions().ListFields() for value in enum_type.values):
        # Options may rename a value in JSON: json_format knows how.
        return _left_to_json_format

    closed = enum_type.is_closed

    def enum_name(value: int) -> Any:
        name = names.get(value)
        if name is not None:
            return name
        if closed:
            # json_format refuses it.
            raise NotPlanned(enum_type.full_name)
        # An open enum keeps numbers it does not name; JSON carries the number.
        return value

    return enum_name


def _double(value: float) -> Any:
    if math.isfinite(value):
        return value
    return _non_finite(value)


def _float(value: float) -> Any:
    if math.isfinite(value):
        return type_checkers.ToShortestFloat(value)
    return _non_finite(value)


def _non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "-Infinity" if value < 0 else "Infinity"


def _value_number(value: float) -> float:
    if not math.isfinite(value):
        # It would read back as a string; json_format refuses it.
        raise NotPlanned("non-finite number in a Value")
    return value


def _struct(message: Any) -> dict[str, Any]:
    fields = message.fields
    return {key: _value(fields[key]) for key in fields}


def _list_value(message: Any) -> list[Any]:
    return [_value(value) for value in message.values]


def _value(message: Any) -> Any:
    which = message.WhichOneof("kind")
    if which is None or which == "null_value":
        return None
    if which == "number_value":
        return _value_number(message.number_value)
    if which == "string_value":
        return message.string_value
    if which == "bool_value":
        return message.bool_value
    if which == "struct_value":
        return _struct(message.struct_value)
    if which == "list_value":
        return _list_value(message.list_value)
    raise NotPlanned(which)
