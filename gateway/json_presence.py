"""What the contract says about presence that proto3 JSON does not enforce.

proto3 JSON reads `null` as "the default value", so `{"amount": null}` used to mean
"no amount" and `{"id": null}` was quietly ignored. The contract (OpenAPI) says
otherwise, and the edge holds requests to it:

- a field the protos mark `(google.api.field_behavior) = REQUIRED` may not be `null`;
- a body may not set a field that the path already binds (`{"id": …}` on
  `POST /accounts/{id}:freeze`): the path names the resource, the body only its changes.

Optional fields may still be `null` (the contract marks them `x-nullable`).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gateway.fields import is_plain_message, message_type_of
from gateway.json_errors import NESTING_DEPTH_MAX, FieldProblem

REQUIRED_PROBLEM: Final = "is required and may not be null"
PATH_BOUND_PROBLEM: Final = "is set by the path; leave it out of the body"


def is_required(field: FieldDescriptor) -> bool:
    return field_behavior_pb2.REQUIRED in field.GetOptions().Extensions[field_behavior_pb2.field_behavior]


@cache
def _fields_by_name(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    found: dict[str, FieldDescriptor] = {}
    for field in descriptor.fields:
        found[field.json_name] = field
        found[field.name] = field
    return found


def find_null_required(
    document: Any, descriptor: Descriptor, path: str = "", depth: int = 0
) -> FieldProblem | None:
    """The first REQUIRED field given as null, at any depth of plain messages."""
    if not isinstance(document, dict) or depth > NESTING_DEPTH_MAX:
        return None
    fields = _fields_by_name(descriptor)
    for key, value in document.items():
        field = fields.get(key) if isinstance(key, str) else None
        if field is None:
            continue
        field_path = f"{path}.{key}" if path else key
        if value is None:
            if is_required(field):
                return FieldProblem(field_path, REQUIRED_PROBLEM)
            continue
        if not is_plain_message(field):
            continue
        items = value if field.is_repeated and isinstance(value, list) else [value]
        for index, item in enumerate(items):
            item_path = f"{field_path}[{index}]" if field.is_repeated else field_path
            problem = find_null_required(item, message_type_of(field), item_path, depth + 1)
            if problem is not None:
                return problem
    return None


def find_path_bound(document: Any, descriptor: Descriptor, bound: frozenset[str]) -> FieldProblem | None:
    """A key of the body naming one of the (proto) field names the path binds."""
    if not isinstance(document, dict):
        return None
    fields = _fields_by_name(descriptor)
    for key in document:
        field = fields.get(key) if isinstance(key, str) else None
        if field is not None and field.name in bound:
            return FieldProblem(key, PATH_BOUND_PROBLEM)
    return None
