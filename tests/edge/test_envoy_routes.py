"""Envoy routes every REST call where the Python gateway does.

Two checks: every `google.api.http` binding in the descriptor set (read here straight
from the descriptor set, not through the gateway) reaches the cluster of its proto
package's domain and names its RPC; and for a spread of paths and methods, Envoy's first
matching route agrees with the Python gateway's RouteTable on the RPC, on 405 with its
Allow list, on 404, on which routes skip authentication and on which answer 201.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, Final

import payment_engine_protos
import pytest
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2
from payment_engine_protos.common.v1 import auth_options_pb2

from gateway.http_rules import SegmentKind, parse_template
from gateway.routes import MethodNotAllowed, RouteMatch, RouteTable, build_route_table
from tests.edge.envoy_support import auth_disabled, load_yaml, match_route, routes

METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
SAMPLE_SEGMENT: Final = "abc_123"
SAMPLE_MULTI: Final = "x/y"
_PATTERN_METHODS: Final = {"get": "GET", "put": "PUT", "post": "POST", "delete": "DELETE", "patch": "PATCH"}


def _bindings(rule: http_pb2.HttpRule) -> Iterator[tuple[str, str]]:
    for binding in (rule, *rule.additional_bindings):
        kind = binding.WhichOneof("pattern")
        assert kind is not None
        if kind == "custom":
            yield binding.custom.kind.upper(), binding.custom.path
        else:
            yield _PATTERN_METHODS[kind], str(getattr(binding, kind))


def http_rules() -> list[tuple[str, str, str, str]]:
    """(domain, "/package.Service/Method", HTTP method, template) for every binding of
    every non-internal RPC in the descriptor set."""
    files = descriptor_pb2.FileDescriptorSet.FromString(payment_engine_protos.descriptor_set_bytes())
    found = []
    for file in files.file:
        if not file.package.startswith("payment_engine."):
            continue
        domain = file.package.split(".")[1]
        for service in file.service:
            for method in service.method:
                if not method.options.HasExtension(annotations_pb2.http):
                    continue
                if method.options.Extensions[auth_options_pb2.method_auth].internal:
                    continue
                rpc = f"/{file.package}.{service.name}/{method.name}"
                for http_method, template in _bindings(method.options.Extensions[annotations_pb2.http]):
                    found.append((domain, rpc, http_method, template))
    return found


def sample_path(template_source: str) -> str:
    template = parse_template(template_source)
    parts = []
    for segment in template.segments:
        if segment.kind is SegmentKind.LITERAL:
            parts.append(segment.literal)
        elif segment.kind is SegmentKind.SINGLE:
            parts.append(SAMPLE_SEGMENT)
        else:
            parts.append(SAMPLE_MULTI)
    path = "/" + "/".join(parts)
    return f"{path}:{template.verb}" if template.verb else path


RULES: Final = http_rules()
TABLE: Final[RouteTable] = build_route_table()


@pytest.fixture(scope="module")
def envoy_routes() -> list[dict[str, Any]]:
    return routes(load_yaml())


def test_the_contract_has_http_rules() -> None:
    assert len(RULES) >= 10
    assert {domain for domain, *_ in RULES} >= {"auth", "accounts"}


@pytest.mark.parametrize(
    ("domain", "rpc", "method", "template"), RULES, ids=[f"{m} {t}" for _, _, m, t in RULES]
)
def test_every_http_rule_reaches_its_service(
    envoy_routes: list[dict[str, Any]], domain: str, rpc: str, method: str, template: str
) -> None:
    route = match_route(envoy_routes, method, sample_path(template))
    assert route is not None and "route" in route, f"{method} {template} is not routed"
    assert route["route"]["cluster"] == domain
    assert route["metadata"]["filter_metadata"]["envoy.filters.http.lua"]["rpc"] == rpc


def _probe_paths() -> list[str]:
    paths = {sample_path(route.template.source) for route in TABLE.routes}
    tricky = set()
    for path in paths:
        tricky.add(path + "/")
        tricky.add(path + "/extra")
        tricky.add(path.replace(SAMPLE_SEGMENT, "a%2Fb"))
        tricky.add(path.replace(SAMPLE_SEGMENT, "k:rotate"))
        if ":" in path.rsplit("/", 1)[-1]:
            tricky.add(path.rsplit(":", 1)[0])
            tricky.add(path.rsplit(":", 1)[0] + ":unknownVerb")
    tricky |= {
        "/",
        "/api",
        "/api/v1",
        "/api/v1/",
        "/nope",
        "/api/v1/accounts//balance",
        "/.well-known/jwks.json?x=1",
    }
    return sorted(paths | tricky)


PROBES: Final = [(method, path) for path in _probe_paths() for method in METHODS]


def _disagreement(route: dict[str, Any] | None, method: str, path: str) -> str | None:
    """Why Envoy's answer to one request differs from the Python gateway's, or None."""
    expected = TABLE.resolve(method, path.split("?", 1)[0])
    if route is None:
        return "no route at all: the catch-all must answer everything"
    if isinstance(expected, RouteMatch):
        if "route" not in route:
            return f"Envoy answers {route.get('direct_response')}, Python calls {expected.route.full_method}"
        lua = route["metadata"]["filter_metadata"]["envoy.filters.http.lua"]
        got = (lua["rpc"], route["route"]["cluster"], auth_disabled(route), lua.get("success_status", 200))
        want = (
            expected.route.full_method,
            expected.route.domain,
            expected.route.public,
            expected.route.success_status,
        )
        return None if got == want else f"(rpc, cluster, public, status) {got} != {want}"
    if isinstance(expected, MethodNotAllowed):
        allow = ", ".join(expected.allowed)
        headers = [entry["header"] for entry in route.get("response_headers_to_add", [])]
        if route.get("direct_response") != {"status": 405} or headers != [{"key": "allow", "value": allow}]:
            return f"Envoy answers {route['name']}, Python 405 allowing {allow}"
        return None if auth_disabled(route) else "405 must not ask for credentials"
    if route.get("direct_response") != {"status": 404}:
        return f"Envoy answers {route['name']}, Python 404"
    return None if auth_disabled(route) else "404 must not ask for credentials"


def test_envoy_and_the_python_gateway_route_alike(envoy_routes: list[dict[str, Any]]) -> None:
    assert len(PROBES) > 500
    disagreements = []
    for method, path in PROBES:
        problem = _disagreement(match_route(envoy_routes, method, path), method, path)
        if problem is not None:
            disagreements.append(f"{method} {path}: {problem}")
    assert disagreements == []


def test_the_comparison_notices_a_misrouted_rpc(envoy_routes: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(envoy_routes)
    first_rpc = next(route for route in broken if "route" in route)
    first_rpc["route"]["cluster"] = "webhooks" if first_rpc["route"]["cluster"] != "webhooks" else "auth"
    path = sample_path(first_rpc["name"].split(" ", 1)[1])
    method = first_rpc["name"].split(" ", 1)[0]
    assert _disagreement(match_route(broken, method, path), method, path) is not None


def test_creates_answer_201_and_nothing_else_does(envoy_routes: list[dict[str, Any]]) -> None:
    created = {
        route["metadata"]["filter_metadata"]["envoy.filters.http.lua"]["rpc"]
        for route in envoy_routes
        if route.get("metadata", {})
        .get("filter_metadata", {})
        .get("envoy.filters.http.lua", {})
        .get("success_status")
        == 201
    }
    expected = {route.full_method for route in TABLE.routes if route.success_status == 201}
    assert created == expected
    assert any(rpc.endswith("/CreateAccount") for rpc in created)
