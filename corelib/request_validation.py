"""Rules every request to every service obeys, checked once in the call pipeline.

One rule today: no string in a request contains U+0000. PostgreSQL `text` cannot hold
it, so without this a NUL in a description, a metadata key, an `{id}` path segment or a
page token surfaced as a 500 (or a 503 that told the client to retry a permanent
error). Checking the decoded message — every string field, repeated element, map key
and value, and `google.protobuf.Struct` key and value, at any depth — covers REST and
direct gRPC callers alike, and names the field by its JSON path (`metadata.invoiceId`,
`transactions[2].description`) as the caller wrote it.

It runs on every call, so the walk is planned once per message type: only fields that
can hold a string somewhere below them are visited at all. A request type whose handler
reads every one of its strings anyway can take the check over (`checked_by_handler`):
the handler looks for U+0000 as it reads, and only when it finds one calls
`require_no_nul`, which gives the very error the pipeline would have.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from corelib.errors import ServiceError

NUL: Final = "\x00"
# Deeper than any contract nests; protobuf itself stops decoding at 100 levels.
MESSAGE_DEPTH_MAX: Final = 64
STRUCT: Final = "google.protobuf.Struct"
VALUE: Final = "google.protobuf.Value"
LIST_VALUE: Final = "google.protobuf.ListValue"
_JSON_TYPES: Final = frozenset({STRUCT, VALUE, LIST_VALUE})

# How a planned field is walked.
_STRING: Final = 0
_MESSAGE: Final = 1
_MAP: Final = 2


@dataclass(frozen=True)
class _Step:
    name: str
    json_name: str
    how: int
    repeated: bool
    # For _MESSAGE: the field's message type; for _MAP: the value's message type, if any.
    message_type: Descriptor | None = None
    map_key_is_string: bool = False
    map_value_is_string: bool = False


# Full names of the request types whose handlers check for U+0000 themselves.
_checked_by_handlers: set[str] = set()


def checked_by_handler(request_type: type[Message]) -> None:
    """The pipeline skips its walk for requests of this type: their handler checks every
    string of them, at any depth, and calls `require_no_nul` when one holds U+0000."""
    _checked_by_handlers.add(request_type.DESCRIPTOR.full_name)


def reject_nul_characters(request: Message) -> None:
    """The call pipeline's check (see `require_no_nul`), left to the handler for the
    request types it takes over."""
    if request.DESCRIPTOR.full_name not in _checked_by_handlers:
        require_no_nul(request)


def require_no_nul(request: Message) -> None:
    """INVALID_REQUEST naming the first string field that holds U+0000."""
    field = _first_nul(request, "", 0)
    if field is not None:
        raise ServiceError(
            "INVALID_REQUEST",
            f"Field '{field}' must not contain the NUL character (U+0000)",
            {"field": field},
        )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _shown_key(key: str) -> str:
    return key.replace(NUL, "\\u0000")


def _first_nul(message: Message, path: str, depth: int) -> str | None:
    if depth > MESSAGE_DEPTH_MAX:
        return None
    descriptor = message.DESCRIPTOR
    if descriptor.full_name in _JSON_TYPES:
        return _first_nul_in_json(message, path, depth)
    for step in _plan(descriptor):
        value: Any = getattr(message, step.name)
        where = _join(path, step.json_name)
        if step.how == _STRING:
            if step.repeated:
                for index, item in enumerate(value):
                    if NUL in item:
                        return f"{where}[{index}]"
            elif NUL in value:
                return where
        elif step.how == _MESSAGE:
            if step.repeated:
                for index, item in enumerate(value):
                    found = _first_nul(item, f"{where}[{index}]", depth + 1)
                    if found is not None:
                        return found
            elif message.HasField(step.name):
                found = _first_nul(value, where, depth + 1)
                if found is not None:
                    return found
        else:
            found = _first_nul_in_map(step, value, where, depth)
            if found is not None:
                return found
    return None


def _first_nul_in_map(step: _Step, entries: Any, path: str, depth: int) -> str | None:
    for key in entries:
        entry_path = f"{path}.{_shown_key(key) if isinstance(key, str) else key}"
        if step.map_key_is_string and NUL in key:
            return entry_path
        if step.map_value_is_string:
            if NUL in entries[key]:
                return entry_path
        elif step.message_type is not None:
            found = _first_nul(entries[key], entry_path, depth + 1)
            if found is not None:
                return found
    return None


def _first_nul_in_json(message: Any, path: str, depth: int) -> str | None:
    """Struct, Value and ListValue by their JSON form: keys and values, no `fields`/`stringValue`."""
    name = message.DESCRIPTOR.full_name
    if name == STRUCT:
        for key, value in message.fields.items():
            entry_path = _join(path, _shown_key(key))
            if NUL in key:
                return entry_path
            found = _first_nul_in_json(value, entry_path, depth + 1)
            if found is not None:
                return found
        return None
    if name == LIST_VALUE:
        for index, value in enumerate(message.values):
            found = _first_nul_in_json(value, f"{path}[{index}]", depth + 1)
            if found is not None:
                return found
        return None
    if depth > MESSAGE_DEPTH_MAX:
        return None
    kind = message.WhichOneof("kind")
    if kind == "string_value":
        return path if NUL in message.string_value else None
    if kind in ("struct_value", "list_value"):
        return _first_nul_in_json(getattr(message, kind), path, depth + 1)
    return None


@cache
def _plan(descriptor: Descriptor) -> tuple[_Step, ...]:
    steps = []
    for field in descriptor.fields:
        repeated = field.is_repeated
        if field.type == FieldDescriptor.TYPE_STRING:
            steps.append(_Step(field.name, field.json_name, _STRING, repeated))
            continue
        message_type = field.message_type
        if message_type is None:
            continue
        if message_type.GetOptions().map_entry:
            key_field = message_type.fields_by_name["key"]
            value_field = message_type.fields_by_name["value"]
            value_type = value_field.message_type
            key_is_string = key_field.type == FieldDescriptor.TYPE_STRING
            value_is_string = value_field.type == FieldDescriptor.TYPE_STRING
            value_has_strings = value_type is not None and _holds_strings(value_type)
            if key_is_string or value_is_string or value_has_strings:
                steps.append(
                    _Step(
                        field.name,
                        field.json_name,
                        _MAP,
                        False,
                        value_type if value_has_strings else None,
                        key_is_string,
                        value_is_string,
                    )
                )
        elif _holds_strings(message_type):
            steps.append(_Step(field.name, field.json_name, _MESSAGE, repeated, message_type))
    return tuple(steps)


@cache
def _holds_strings(descriptor: Descriptor) -> bool:
    """Whether a string can appear anywhere inside a message of this type."""
    seen: set[str] = set()
    pending = [descriptor]
    while pending:
        current = pending.pop()
        if current.full_name in seen:
            continue
        seen.add(current.full_name)
        if current.full_name in _JSON_TYPES:
            return True
        for field in current.fields:
            if field.type == FieldDescriptor.TYPE_STRING:
                return True
            if field.message_type is not None:
                pending.append(field.message_type)
    return False
