"""The route table holds every annotated RPC of the descriptor set, and resolves paths
the way google.api.http asks (custom verbs, 405 for a known path)."""

from __future__ import annotations

import pytest
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2
from payment_engine_protos import descriptor_set_bytes
from payment_engine_protos.common.v1 import auth_options_pb2

from gateway.routes import MethodNotAllowed, RouteMatch, RouteTable, build_route_table


@pytest.fixture(scope="module")
def table() -> RouteTable:
    return build_route_table()


def _bindings(rule: http_pb2.HttpRule) -> list[tuple[str, str]]:
    out = []
    for binding in (rule, *rule.additional_bindings):
        kind = binding.WhichOneof("pattern")
        assert kind is not None
        if kind == "custom":
            out.append((binding.custom.kind.upper(), binding.custom.path))
        else:
            out.append((kind.upper(), getattr(binding, kind)))
    return out


def expected_routes() -> set[tuple[str, str, str]]:
    """(HTTP method, template, /pkg.Service/Method) for every annotated, non-internal RPC."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set_bytes())
    expected = set()
    for file in files.file:
        if not file.package.startswith("payment_engine."):
            continue
        for service in file.service:
            for method in service.method:
                if not method.options.HasExtension(annotations_pb2.http):
                    continue
                if method.options.Extensions[auth_options_pb2.method_auth].internal:
                    continue
                full_method = f"/{file.package}.{service.name}/{method.name}"
                for verb, path in _bindings(method.options.Extensions[annotations_pb2.http]):
                    expected.add((verb, path, full_method))
    return expected


def test_every_annotated_rpc_has_a_route(table: RouteTable) -> None:
    actual = {(r.http_method, r.template.source, r.full_method) for r in table.routes}
    expected = expected_routes()
    assert expected, "the descriptor set holds no annotated RPC"
    assert actual == expected


def test_routes_know_their_backend_and_auth_rule(table: RouteTable) -> None:
    by_method = {r.full_method: r for r in table.routes}
    login = by_method["/payment_engine.auth.v1.AuthService/Login"]
    assert login.domain == "auth"
    assert login.public
    assert login.body == "*"
    assert not by_method["/payment_engine.auth.v1.AuthService/GetMe"].public
    for route in table.routes:
        assert route.full_method.startswith(f"/payment_engine.{route.domain}.v1.")


def test_create_answers_201_and_other_methods_200(table: RouteTable) -> None:
    for route in table.routes:
        expected = 201 if route.http_method == "POST" and route.method_name.startswith("Create") else 200
        assert route.success_status == expected


def test_custom_verb_path_resolves_to_the_verb_method(table: RouteTable) -> None:
    resolved = table.resolve("POST", "/api/v1/api-keys/key_1:rotate")
    assert isinstance(resolved, RouteMatch)
    assert resolved.route.method_name == "RotateApiKey"
    assert resolved.path_params == {"id": "key_1"}


def test_plain_path_resolves_to_the_plain_method(table: RouteTable) -> None:
    resolved = table.resolve("GET", "/api/v1/api-keys/key_1")
    assert isinstance(resolved, RouteMatch)
    assert resolved.route.method_name == "GetApiKey"


def test_known_path_with_another_method_is_not_allowed(table: RouteTable) -> None:
    assert table.resolve("GET", "/api/v1/auth/login") == MethodNotAllowed(("POST",))
    assert table.resolve("GET", "/api/v1/api-keys/key_1:rotate") == MethodNotAllowed(("POST",))
    listing = table.resolve("DELETE", "/api/v1/api-keys")
    assert isinstance(listing, MethodNotAllowed)
    assert set(listing.allowed) == {"GET", "POST"}


def test_unknown_path_resolves_to_nothing(table: RouteTable) -> None:
    assert table.resolve("GET", "/api/v1/nothing-here") is None
    assert table.resolve("GET", "no-leading-slash") is None


def test_jwks_route_is_public(table: RouteTable) -> None:
    resolved = table.resolve("GET", "/.well-known/jwks.json")
    assert isinstance(resolved, RouteMatch)
    assert resolved.route.public
    assert resolved.route.method_name == "GetJwks"
