"""Every field a caller can set on every public route, read from the descriptor set.

Class tests (a NUL in every string, a non-number in every number) are generated from
this, so a field or route added to the protos is covered without a line of test code.
Each slot says where the value travels (path segment, query parameter or JSON body) and
how to build a request that carries a chosen value there and nothing else odd.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gateway.fields import is_map, is_plain_message, is_scalar_like, message_type_of
from gateway.routes import Route, build_route_table

# Recursion guard for self-referencing messages; the contracts nest far less.
FIELD_DEPTH_MAX: Final = 4
PATH_PLACEHOLDER: Final = "ordinary_value_1"
Matcher = Callable[[FieldDescriptor], bool]


@dataclass(frozen=True)
class FieldSlot:
    route: Route
    # JSON names from the request message down to the field ("metadata", "endpoint.url").
    json_path: tuple[str, ...]
    field: FieldDescriptor
    where: str  # "path", "query" or "body"
    # Parts of json_path that are repeated messages: the value goes in their first element.
    list_parts: frozenset[int] = frozenset()

    @property
    def name(self) -> str:
        """The field as the gateway names it in an error: relative to a `body: "x"` field."""
        parts = [f"{part}[0]" if i in self.list_parts else part for i, part in enumerate(self.json_path)]
        if self.where == "body" and self.route.body not in ("", "*"):
            return ".".join(parts[1:]) or "(body)"
        return ".".join(parts)

    @property
    def label(self) -> str:
        where = f"{self.where}:{'.'.join(self.json_path)}"
        return f"{self.route.http_method} {self.route.template.source} {where}"

    def request(self, value: Any) -> tuple[str, str, str, Any]:
        """(method, path, query string, JSON body or None) carrying `value` in this field.

        For a repeated field the value is the one element; for a map field it is the
        value of one entry (see `map_key_request` for keys).
        """
        return self._request(self._wrap(value))

    def map_key_request(self, key: str) -> tuple[str, str, str, Any]:
        """A map or google.protobuf.Struct field with one entry under `key`."""
        return self._request({key: "ordinary"})

    def _wrap(self, value: Any) -> Any:
        if is_map(self.field) or _is_struct(self.field):
            return {"entry": value}
        if self.field.is_repeated and self.where == "body":
            return [value]
        return value

    def _request(self, wrapped: Any) -> tuple[str, str, str, Any]:
        route = self.route
        variables = {variable.name: PATH_PLACEHOLDER for variable in route.template.variables}
        query = ""
        body: Any = {} if route.body else None
        if self.where == "path":
            variables[".".join(_proto_names(route.request_descriptor, self.json_path))] = str(wrapped)
        elif self.where == "query":
            query = f"{quote('.'.join(self.json_path))}={quote(str(wrapped), safe='')}"
        else:
            skip = 1 if route.body != "*" else 0
            body = wrapped
            for index in reversed(range(skip, len(self.json_path))):
                if index in self.list_parts and index != len(self.json_path) - 1:
                    body = [body]
                body = {self.json_path[index]: body}
        return route.http_method, _fill(route, variables), query, body


def _is_struct(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.full_name == "google.protobuf.Struct"


def _fill(route: Route, variables: dict[str, str]) -> str:
    path = route.template.source
    for name, value in variables.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    return path


def _leaves(
    descriptor: Descriptor,
    matches: Matcher,
    prefix: tuple[str, ...],
    depth: int,
    list_parts: tuple[int, ...] = (),
) -> Iterator[tuple[tuple[str, ...], FieldDescriptor, frozenset[int]]]:
    """(json path, leaf field) for every field `matches` accepts."""
    if depth > FIELD_DEPTH_MAX:
        return
    for field in descriptor.fields:
        json_path = (*prefix, field.json_name)
        if matches(field):
            yield json_path, field, frozenset(list_parts)
        elif is_plain_message(field):
            lists = (*list_parts, len(prefix)) if field.is_repeated else list_parts
            yield from _leaves(message_type_of(field), matches, json_path, depth + 1, lists)


def public_routes() -> list[Route]:
    return list(build_route_table(sandbox=True).routes)


def field_slots(matches: Matcher) -> list[FieldSlot]:
    """Every field `matches` accepts, on every public route, where the route carries it."""
    slots = []
    for route in public_routes():
        path_fields = {variable.field_path for variable in route.template.variables}
        for json_path, field, lists in _leaves(route.request_descriptor, matches, (), 0):
            proto_path = _proto_names(route.request_descriptor, json_path)
            if proto_path in path_fields:
                slots.append(FieldSlot(route, json_path, field, "path"))
            elif route.body == "*" or (route.body and proto_path[0] == route.body):
                slots.append(FieldSlot(route, json_path, field, "body", lists))
            elif not route.body and is_scalar_like(field) and len(json_path) == 1:
                slots.append(FieldSlot(route, json_path, field, "query"))
    return slots


def _proto_names(descriptor: Descriptor, json_path: tuple[str, ...]) -> tuple[str, ...]:
    names = []
    for json_name in json_path:
        field = next(f for f in descriptor.fields if f.json_name == json_name)
        names.append(field.name)
        if field.message_type is not None:
            descriptor = field.message_type
    return tuple(names)
