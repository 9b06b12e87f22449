"""HTTP request → proto request, and proto response → JSON, by the proto3 JSON mapping.

The request is assembled as google/api/http.proto describes: the body (all of it for
`body: "*"`, or one field), then path variables, then query parameters for the fields
neither of those binds. Anything that does not fit the message is an INVALID_REQUEST
that names the field, never a silently dropped value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from corelib.errors import ServiceError
from gateway.fields import WRAPPER_TYPES, is_scalar_like, message_type_of, resolve_field_path
from gateway.json_errors import NESTING_DEPTH_MAX, FieldProblem, expectation, locate_problem
from gateway.json_numbers import find_number_problem, is_numeral, numeric_kind
from gateway.json_presence import find_null_required, find_path_bound
from gateway.response_json import render_message
from gateway.routes import Route

QUERY_PARAMS_MAX: Final = 64
QUERY_STRING_BYTES_MAX: Final = 8 * 1024
QUERY_VALUES_PER_PARAM_MAX: Final = 64
_TRUE_WORDS: Final = frozenset({"true", "1"})
_FALSE_WORDS: Final = frozenset({"false", "0"})


def _invalid(message: str, field: str | None = None) -> ServiceError:
    return ServiceError("INVALID_REQUEST", message, {"field": field} if field is not None else {})


def parse_query_string(raw: bytes) -> list[tuple[str, str]]:
    if not raw:
        return []
    if len(raw) > QUERY_STRING_BYTES_MAX:
        raise _invalid(f"Query string longer than {QUERY_STRING_BYTES_MAX} bytes")
    try:
        text = raw.decode("ascii")
        return parse_qsl(
            text, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=QUERY_PARAMS_MAX
        )
    except UnicodeDecodeError as exc:
        raise _invalid("Query string must be percent-encoded UTF-8") from exc
    except ValueError as exc:
        raise _invalid(f"At most {QUERY_PARAMS_MAX} query parameters are allowed") from exc


def build_request(
    route: Route, path_params: Mapping[str, str], query: Sequence[tuple[str, str]], body: bytes
) -> Message:
    request = route.request_class()
    _merge_body(route, body, request)
    for name, value in path_params.items():
        fields = resolve_field_path(route.request_descriptor, name.split("."))
        # The route table checked every variable at start-up.
        assert fields is not None, name
        _merge_text(route, request, fields, [value], label="path parameter", name=name)
    _merge_query(route, query, request)
    return request


def render_response(route: Route, response: Message) -> bytes:
    document: Any = render_message(response)
    if route.response_body:
        field = route.response_descriptor.fields_by_name[route.response_body]
        absent: Any = {} if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE else None
        document = document.get(field.json_name, absent)
    return orjson.dumps(document)


def _merge_body(route: Route, body: bytes, request: Message) -> None:
    # A body sent to a route that binds none is ignored, as grpc-gateway and Envoy do.
    if not route.body or not body.strip():
        return
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _invalid(f"Request body is not valid JSON: {exc}") from exc
    if route.body == "*":
        if not isinstance(document, dict):
            raise _invalid("Request body must be a JSON object")
        _refuse_path_bound(route, document, route.request_descriptor, ())
        _parse_json(route, document, request, prefix="")
        return
    field = route.request_descriptor.fields_by_name[route.body]
    if field.message_type is not None:
        _refuse_path_bound(route, document, field.message_type, (field.name,))
    _parse_json(route, {field.json_name: document}, request, prefix=field.json_name)


def _refuse_path_bound(route: Route, document: Any, descriptor: Descriptor, prefix: tuple[str, ...]) -> None:
    bound = frozenset(
        path[len(prefix)]
        for path in route.bound_fields
        if len(path) == len(prefix) + 1 and path[: len(prefix)] == prefix
    )
    problem = find_path_bound(document, descriptor, bound) if bound else None
    if problem is not None:
        raise _invalid(problem.message, problem.field)


def _field_in_body(field: str, prefix: str) -> str:
    # The caller sent only the inner value; name fields relative to it.
    return (field.removeprefix(prefix).removeprefix(".") or "(body)") if prefix else field


def _parse_json(route: Route, document: dict[str, Any], request: Message, *, prefix: str) -> None:
    number_problem = find_number_problem(document, route.request_descriptor) or find_null_required(
        document, route.request_descriptor
    )
    if number_problem is not None:
        field = _field_in_body(number_problem.field, prefix)
        raise _invalid(FieldProblem(field, number_problem.problem).message, field)
    try:
        json_format.ParseDict(
            document, request, ignore_unknown_fields=False, max_recursion_depth=NESTING_DEPTH_MAX
        )
    except (json_format.ParseError, ValueError, TypeError) as exc:
        problem = locate_problem(document, route.request_descriptor)
        if problem is None:
            raise _invalid("Request body does not match the expected fields") from exc
        field = _field_in_body(problem.field, prefix)
        raise _invalid(FieldProblem(field, problem.problem).message, field) from exc


def _merge_query(route: Route, query: Sequence[tuple[str, str]], request: Message) -> None:
    if not query:
        return
    if route.body == "*":
        raise _invalid(f"Unknown query parameter '{query[0][0]}': this endpoint takes none", query[0][0])
    grouped: dict[str, list[str]] = {}
    for name, value in query:
        grouped.setdefault(name, []).append(value)
    for name, values in grouped.items():
        fields = resolve_field_path(route.request_descriptor, name.split("."))
        if fields is None:
            raise _invalid(f"Unknown query parameter '{name}'", name)
        if not is_scalar_like(fields[-1]):
            raise _invalid(
                f"Query parameter '{name}' names a structured field; set its fields one by one", name
            )
        proto_path = tuple(field.name for field in fields)
        if any(_overlaps(proto_path, bound) for bound in route.bound_fields):
            raise _invalid(f"Query parameter '{name}' sets a field the path or body already sets", name)
        if len(values) > 1 and not fields[-1].is_repeated:
            raise _invalid(f"Query parameter '{name}' is given more than once", name)
        if len(values) > QUERY_VALUES_PER_PARAM_MAX:
            raise _invalid(
                f"Query parameter '{name}' is given more than {QUERY_VALUES_PER_PARAM_MAX} times", name
            )
        _merge_text(route, request, fields, values, label="query parameter", name=name)


def _overlaps(left: tuple[str, ...], right: tuple[str, ...]) -> bool:
    shorter = min(len(left), len(right))
    return left[:shorter] == right[:shorter]


def _merge_text(
    route: Route,
    request: Message,
    fields: Sequence[FieldDescriptor],
    values: Sequence[str],
    *,
    label: str,
    name: str,
) -> None:
    """Sets text values (path segments, query values) on a possibly nested field, through
    the JSON mapping so they convert exactly as the same value in a body would."""
    leaf = fields[-1]
    kind = numeric_kind(leaf)
    if kind and not all(is_numeral(value, kind) for value in values):
        raise _invalid(f"Invalid value for {label} '{name}': {expectation(leaf)}", name)
    converted = [_text_to_json(leaf, value) for value in values]
    document: Any = converted if leaf.is_repeated else converted[0]
    for field in reversed(fields):
        document = {field.json_name: document}
    scratch = route.request_class()
    try:
        json_format.ParseDict(document, scratch, max_recursion_depth=NESTING_DEPTH_MAX)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise _invalid(f"Invalid value for {label} '{name}': {expectation(leaf)}", name) from exc
    # Merging replaces singular values and appends repeated ones, which is the order
    # of precedence http.proto gives (path and query over body).
    request.MergeFrom(scratch)


def _text_to_json(field: FieldDescriptor, text: str) -> Any:
    target = field
    if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
        message_type = message_type_of(field)
        if message_type.full_name in WRAPPER_TYPES:
            target = message_type.fields_by_name["value"]
    if target.cpp_type == FieldDescriptor.CPPTYPE_BOOL:
        lowered = text.lower()
        if lowered in _TRUE_WORDS:
            return True
        if lowered in _FALSE_WORDS:
            return False
        return text
    if target.cpp_type == FieldDescriptor.CPPTYPE_ENUM:
        try:
            return int(text)
        except ValueError:
            return text
    return text
