"""The REST route table, built at start-up from the compiled descriptor set.

Every method of every `payment_engine.*` service that carries a `google.api.http` rule
becomes one route per binding (the rule and its `additional_bindings`), so a new
annotated RPC is served without a line of gateway code. Internal RPCs (holds, postings)
are never exposed, even if someone annotates one by mistake.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

import payment_engine_protos
import structlog
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, MethodDescriptor
from google.protobuf.message import Message

from corelib.method_auth import rule_for
from gateway.fields import is_scalar_like, resolve_field_path
from gateway.http_rules import PathTemplate, TemplateError, parse_template, split_path
from gateway.route_index import TemplateIndex

log = structlog.get_logger("gateway.routes")

OWN_PACKAGE_PREFIX: Final = "payment_engine."
ROUTES_MAX: Final = 1024
_PATTERN_METHODS: Final = {"get": "GET", "put": "PUT", "post": "POST", "delete": "DELETE", "patch": "PATCH"}


@dataclass(frozen=True)
class Route:
    http_method: str
    template: PathTemplate
    # "/payment_engine.auth.v1.AuthService/Login", as gRPC names it.
    full_method: str
    # "auth", "accounts", …: the backend that serves it.
    domain: str
    # "", "*" or the name of the top-level request field the body sets.
    body: str
    response_body: str
    request_class: type[Message]
    response_class: type[Message]
    request_descriptor: Descriptor
    response_descriptor: Descriptor
    public: bool
    # Request fields set by the path or by a `body: "field"` binding, as proto field
    # paths; the query string may not set them again.
    bound_fields: tuple[tuple[str, ...], ...] = ()

    @property
    def method_name(self) -> str:
        return self.full_method.rsplit("/", 1)[-1]

    @property
    def success_status(self) -> int:
        # The guide's clients expect 201 from a create (its load test checks for it).
        if self.http_method == "POST" and self.method_name.startswith("Create"):
            return 201
        return 200


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_params: dict[str, str]


@dataclass(frozen=True)
class MethodNotAllowed:
    allowed: tuple[str, ...]


class RouteTable:
    def __init__(self, routes: Sequence[Route]) -> None:
        if len(routes) > ROUTES_MAX:
            raise ValueError(f"more than {ROUTES_MAX} routes")
        seen: set[tuple[str, str]] = set()
        for route in routes:
            key = (route.http_method, route.template.source)
            if key in seen:
                raise ValueError(f"two RPCs bind {route.http_method} {route.template.source}")
            seen.add(key)
        self._routes = tuple(routes)
        # A path whose last segment ends in ":verb" is tried against the templates with
        # that verb first, so "/api-keys/k:rotate" is RotateApiKey and not GetApiKey
        # with the id "k:rotate".
        self._with_verb = tuple(r for r in self._routes if r.template.verb)
        self._without_verb = tuple(r for r in self._routes if not r.template.verb)
        self._index = TemplateIndex([route.template for route in self._routes], self._resolution)
        self._single_variables = tuple(_single_variables(route.template) for route in self._routes)

    @property
    def routes(self) -> tuple[Route, ...]:
        return self._routes

    @property
    def domains(self) -> frozenset[str]:
        return frozenset(route.domain for route in self._routes)

    def resolve(self, http_method: str, raw_path: str) -> RouteMatch | MethodNotAllowed | None:
        """The route for the method and raw path; MethodNotAllowed when the path is known
        but not for this method; None when no route has the path. Answers exactly as
        `resolve_by_scan`, from an index instead of trying every template in turn."""
        segments = split_path(raw_path)
        if segments is None:
            return None
        found = self._index.lookup(segments)
        if found is None:
            return None
        resolution, matched_segments = found
        index = resolution.winners.get(http_method)
        if index is None:
            return resolution.not_allowed
        route = self._routes[index]
        singles = self._single_variables[index]
        if singles is None:
            params = route.template.match(segments)
            # The index matched this template against these very segments.
            assert params is not None, route.template.source
        else:
            params = {name: unquote(matched_segments[position]) for name, position in singles}
        return RouteMatch(route, params)

    def _resolution(self, indices: tuple[int, ...]) -> _Resolution:
        """What a path matched by these routes (in table order) resolves to, per method."""
        winners: dict[str, int] = {}
        for index in indices:
            route = self._routes[index]
            best = winners.get(route.http_method)
            # Strictly more specific only: of equals, the earlier route wins, as min() picks.
            if best is None or route.template.specificity < self._routes[best].template.specificity:
                winners[route.http_method] = index
        return _Resolution(winners, MethodNotAllowed(tuple(sorted(winners))))

    def resolve_by_scan(self, http_method: str, raw_path: str) -> RouteMatch | MethodNotAllowed | None:
        """`resolve` by trying every template: the definition the index is held to by
        the tests; nothing on the request path calls it."""
        segments = split_path(raw_path)
        if segments is None:
            return None
        matches = _matching(self._with_verb, segments) or _matching(self._without_verb, segments)
        if not matches:
            return None
        same_method = [m for m in matches if m.route.http_method == http_method]
        if not same_method:
            return MethodNotAllowed(tuple(sorted({m.route.http_method for m in matches})))
        return min(same_method, key=lambda m: m.route.template.specificity)


@dataclass(frozen=True)
class _Resolution:
    # HTTP method → index of the route that serves it.
    winners: dict[str, int]
    # The answer for any other method.
    not_allowed: MethodNotAllowed


def _single_variables(template: PathTemplate) -> tuple[tuple[str, int], ...] | None:
    """(name, segment position) of every variable when each binds one segment and no
    `**` follows, so its value is that segment fully decoded, as `PathTemplate.match`
    gives it; None for templates left to `match`."""
    if template.has_multi or any(variable.end - variable.start != 1 for variable in template.variables):
        return None
    return tuple((variable.name, variable.start) for variable in template.variables)


def _matching(routes: Iterable[Route], segments: list[str]) -> list[RouteMatch]:
    found = []
    for route in routes:
        params = route.template.match(segments)
        if params is not None:
            found.append(RouteMatch(route, params))
    return found


def load_generated_modules() -> None:
    """Imports every `*_pb2` module so the default descriptor pool knows every message
    and every option (`method_auth`) the route table reads."""
    for module in pkgutil.walk_packages(payment_engine_protos.__path__, prefix="payment_engine_protos."):
        if module.name.endswith("_pb2"):
            importlib.import_module(module.name)


def build_route_table(descriptor_set: bytes | None = None, *, sandbox: bool = True) -> RouteTable:
    """Every annotated RPC's routes; outside the sandbox, sandbox-only RPCs (test funding)
    get none, so they answer exactly like a route that never existed."""
    load_generated_modules()
    files = descriptor_pb2.FileDescriptorSet.FromString(
        payment_engine_protos.descriptor_set_bytes() if descriptor_set is None else descriptor_set
    )
    pool = descriptor_pool.Default()
    routes: list[Route] = []
    for file in files.file:
        if not file.package.startswith(OWN_PACKAGE_PREFIX):
            continue
        domain = file.package.split(".")[1]
        for service in file.service:
            for method_proto in service.method:
                if not method_proto.options.HasExtension(annotations_pb2.http):
                    continue
                full_name = f"{file.package}.{service.name}.{method_proto.name}"
                try:
                    method = pool.FindMethodByName(full_name)
                except KeyError as exc:
                    raise RuntimeError(
                        f"{full_name} is in the descriptor set but not in the generated stubs; "
                        "regenerate them with protos/generate.py"
                    ) from exc
                rule = method_proto.options.Extensions[annotations_pb2.http]
                routes.extend(_routes_for(method, domain, rule, sandbox=sandbox))
    return RouteTable(routes)


def _routes_for(
    method: MethodDescriptor, domain: str, rule: http_pb2.HttpRule, *, sandbox: bool
) -> list[Route]:
    full_method = f"/{method.containing_service.full_name}/{method.name}"
    auth_rule = rule_for(full_method)
    if auth_rule is not None and auth_rule.internal:
        log.warning("internal_rpc_not_exposed", rpc=full_method)
        return []
    if auth_rule is not None and auth_rule.sandbox_only and not sandbox:
        return []
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    routes = []
    for binding in (rule, *rule.additional_bindings):
        http_method, template_source = _pattern(binding, full_method)
        try:
            template = parse_template(template_source)
        except TemplateError as exc:
            raise ValueError(f"{full_method}: {exc}") from exc
        bound_fields = _check_binding(full_method, template, binding, method.input_type, method.output_type)
        routes.append(
            Route(
                http_method=http_method,
                template=template,
                full_method=full_method,
                domain=domain,
                body=binding.body,
                response_body=binding.response_body,
                request_class=request_class,
                response_class=response_class,
                request_descriptor=method.input_type,
                response_descriptor=method.output_type,
                # An RPC that declares no rule is treated as needing credentials; the
                # service then refuses it, which is the safe side.
                public=auth_rule is not None and auth_rule.public,
                bound_fields=bound_fields,
            )
        )
    return routes


def _pattern(binding: http_pb2.HttpRule, full_method: str) -> tuple[str, str]:
    kind = binding.WhichOneof("pattern")
    if kind is None:
        raise ValueError(f"{full_method}: an http binding without a pattern")
    if kind == "custom":
        return binding.custom.kind.upper(), binding.custom.path
    return _PATTERN_METHODS[kind], str(getattr(binding, kind))


def _check_binding(
    full_method: str,
    template: PathTemplate,
    binding: http_pb2.HttpRule,
    request: Descriptor,
    response: Descriptor,
) -> tuple[tuple[str, ...], ...]:
    """Refuses at start-up what would otherwise fail on every call; returns the bound fields."""
    bound: list[tuple[str, ...]] = []
    for variable in template.variables:
        fields = resolve_field_path(request, variable.field_path)
        if fields is None or fields[-1].is_repeated or not is_scalar_like(fields[-1]):
            raise ValueError(f"{full_method}: path variable {variable.name!r} is not a singular scalar field")
        bound.append(tuple(field.name for field in fields))
    if binding.body not in ("", "*") and binding.body not in request.fields_by_name:
        raise ValueError(f"{full_method}: body field {binding.body!r} is not a field of {request.full_name}")
    if binding.response_body and binding.response_body not in response.fields_by_name:
        raise ValueError(
            f"{full_method}: response_body {binding.response_body!r} is not a field of {response.full_name}"
        )
    if binding.body not in ("", "*"):
        bound.append((binding.body,))
    return tuple(bound)
