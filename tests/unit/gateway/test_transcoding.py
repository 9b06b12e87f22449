"""HTTP → proto request and proto response → JSON, by the proto3 JSON mapping."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from payment_engine_protos.auth.v1 import auth_pb2

from corelib.errors import ServiceError
from gateway.routes import Route, RouteMatch, RouteTable
from gateway.transcoding import QUERY_PARAMS_MAX, build_request, parse_query_string, render_response


def resolve(table: RouteTable, method: str, path: str) -> RouteMatch:
    resolved = table.resolve(method, path)
    assert isinstance(resolved, RouteMatch), resolved
    return resolved


def transcode(table: RouteTable, method: str, path: str, body: Any = None, query: str = "") -> Any:
    resolved = resolve(table, method, path)
    raw = b"" if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))
    return build_request(resolved.route, resolved.path_params, parse_query_string(query.encode()), raw)


def refused(table: RouteTable, method: str, path: str, body: Any = None, query: str = "") -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        transcode(table, method, path, body, query)
    assert caught.value.reason == "INVALID_REQUEST"
    return caught.value


def route_of(table: RouteTable, name: str) -> Route:
    return next(r for r in table.routes if r.method_name == name)


# --- the real auth contract ---------------------------------------------------------------


def test_login_body_becomes_the_request(auth_table: RouteTable) -> None:
    request = transcode(auth_table, "POST", "/api/v1/auth/login", {"username": "ada", "password": "pw"})
    assert request == auth_pb2.LoginRequest(username="ada", password="pw")


def test_empty_body_is_an_empty_request(auth_table: RouteTable) -> None:
    request = transcode(auth_table, "POST", "/api/v1/api-keys/key_1:revoke", b"")
    assert request == auth_pb2.RevokeApiKeyRequest(id="key_1")


def test_login_response_uses_the_oauth_json_names(auth_table: RouteTable) -> None:
    response = auth_pb2.LoginResponse(
        access_token="at", refresh_token="rt", token_type="Bearer", expires_in=3600, scope="account:read"
    )
    rendered = orjson.loads(render_response(route_of(auth_table, "Login"), response))
    assert rendered == {
        "access_token": "at",
        "refresh_token": "rt",
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "account:read",
    }
    assert isinstance(rendered["expires_in"], int)


def test_fields_with_default_values_are_still_rendered(auth_table: RouteTable) -> None:
    rendered = orjson.loads(render_response(route_of(auth_table, "Login"), auth_pb2.LoginResponse()))
    assert rendered["expires_in"] == 0
    assert rendered["access_token"] == ""


def test_jwks_renders_as_a_plain_key_set(auth_table: RouteTable) -> None:
    response = auth_pb2.GetJwksResponse(
        keys=[auth_pb2.JsonWebKey(kty="OKP", crv="Ed25519", x="abc", kid="k1", use="sig", alg="EdDSA")]
    )
    rendered = orjson.loads(render_response(route_of(auth_table, "GetJwks"), response))
    assert rendered == {
        "keys": [{"kty": "OKP", "crv": "Ed25519", "x": "abc", "kid": "k1", "use": "sig", "alg": "EdDSA"}]
    }


def test_unknown_body_field_is_named(auth_table: RouteTable) -> None:
    error = refused(auth_table, "POST", "/api/v1/auth/login", {"username": "ada", "pasword": "pw"})
    assert error.message == "Unknown field 'pasword'"
    assert error.details == {"field": "pasword"}


def test_wrong_type_is_named_with_what_was_expected(auth_table: RouteTable) -> None:
    error = refused(auth_table, "POST", "/api/v1/auth/login", {"username": 42, "password": "pw"})
    assert error.message == "Invalid value for field 'username': expected a string"
    assert error.details == {"field": "username"}


def test_malformed_json_is_refused(auth_table: RouteTable) -> None:
    error = refused(auth_table, "POST", "/api/v1/auth/login", b'{"username": ')
    assert error.message.startswith("Request body is not valid JSON")


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"null"])
def test_body_must_be_an_object(auth_table: RouteTable, body: bytes) -> None:
    error = refused(auth_table, "POST", "/api/v1/auth/login", body)
    assert error.message == "Request body must be a JSON object"


def test_bad_timestamp_and_bad_repeated(auth_table: RouteTable) -> None:
    error = refused(auth_table, "POST", "/api/v1/api-keys", {"name": "k", "expireTime": "tomorrow"})
    assert error.details == {"field": "expireTime"}
    assert "RFC 3339" in error.message
    error = refused(auth_table, "POST", "/api/v1/api-keys", {"name": "k", "scopes": "account:read"})
    assert error.message == "Invalid value for field 'scopes': expected an array"
    error = refused(auth_table, "POST", "/api/v1/api-keys", {"name": "k", "scopes": ["a", 3]})
    assert error.details == {"field": "scopes[1]"}


def test_proto_field_names_are_accepted_in_bodies(auth_table: RouteTable) -> None:
    request = transcode(auth_table, "POST", "/api/v1/api-keys/key_1:rotate", {"overlap_seconds": 60})
    assert request == auth_pb2.RotateApiKeyRequest(id="key_1", overlap_seconds=60)


def test_the_path_names_the_resource_and_the_body_the_rest(auth_table: RouteTable) -> None:
    request = transcode(auth_table, "POST", "/api/v1/api-keys/key_1:rotate", {"overlapSeconds": 60})
    assert request.id == "key_1"
    assert request.overlap_seconds == 60


def test_query_parameters_fill_unbound_fields(auth_table: RouteTable) -> None:
    request = transcode(auth_table, "GET", "/api/v1/api-keys", query="pageSize=10&page_token=abc%2B1")
    assert request == auth_pb2.ListApiKeysRequest(page_size=10, page_token="abc+1")


def test_unknown_query_parameter_is_refused(auth_table: RouteTable) -> None:
    error = refused(auth_table, "GET", "/api/v1/api-keys", query="limit=10")
    assert error.message == "Unknown query parameter 'limit'"
    assert error.details == {"field": "limit"}


def test_bad_query_value_is_refused(auth_table: RouteTable) -> None:
    error = refused(auth_table, "GET", "/api/v1/api-keys", query="pageSize=ten")
    assert error.message == "Invalid value for query parameter 'pageSize': expected a 32-bit integer"
    error = refused(auth_table, "GET", "/api/v1/api-keys", query="pageSize=99999999999")
    assert error.details == {"field": "pageSize"}


def test_repeating_a_singular_query_parameter_is_refused(auth_table: RouteTable) -> None:
    error = refused(auth_table, "GET", "/api/v1/api-keys", query="pageSize=1&pageSize=2")
    assert "more than once" in error.message


def test_query_cannot_set_a_path_field(auth_table: RouteTable) -> None:
    error = refused(auth_table, "GET", "/api/v1/api-keys/key_1", query="id=key_2")
    assert error.details == {"field": "id"}


def test_whole_body_routes_take_no_query(auth_table: RouteTable) -> None:
    error = refused(auth_table, "POST", "/api/v1/auth/login", {"username": "a"}, query="username=b")
    assert "takes none" in error.message


def test_query_parameter_count_is_bounded() -> None:
    with pytest.raises(ServiceError) as caught:
        parse_query_string("&".join(f"p{i}=1" for i in range(QUERY_PARAMS_MAX + 1)).encode())
    assert caught.value.reason == "INVALID_REQUEST"


def test_query_must_be_valid_utf8() -> None:
    with pytest.raises(ServiceError):
        parse_query_string(b"name=%ff")


# --- the synthetic contract: nested fields, body field, response_body, bindings -------------


def test_body_field_and_nested_path_variable(synthetic_table: RouteTable) -> None:
    request = transcode(
        synthetic_table,
        "PATCH",
        "/v1/accounts/acc_1",
        {"displayName": "Main", "limit": {"amountMinor": "100", "currencyCode": "USD"}},
    )
    assert request.account.id == "acc_1"
    assert request.account.display_name == "Main"
    assert request.account.limit.amount_minor == 100
    assert request.account.limit.currency_code == "USD"


def test_errors_in_a_body_field_are_named_relative_to_the_body(synthetic_table: RouteTable) -> None:
    error = refused(synthetic_table, "PATCH", "/v1/accounts/acc_1", {"limit": {"amountMinor": "lots"}})
    assert error.details == {"field": "limit.amountMinor"}
    assert error.message == "Invalid value for field 'limit.amountMinor': expected a 64-bit integer"
    error = refused(synthetic_table, "PATCH", "/v1/accounts/acc_1", {"limit": {"bogus": 1}})
    assert error.message == "Unknown field 'limit.bogus'"


def test_additional_binding_with_whole_body(synthetic_table: RouteTable) -> None:
    request = transcode(
        synthetic_table,
        "POST",
        "/v1/accounts/acc_1:update",
        {"account": {"id": "acc_9", "displayName": "X"}, "tags": ["a"], "labels": {"k": "v"}},
    )
    assert request.account.id == "acc_1"
    assert request.account.display_name == "X"
    assert list(request.tags) == ["a"]
    assert dict(request.labels) == {"k": "v"}


def test_query_parameters_of_every_kind(synthetic_table: RouteTable) -> None:
    request = transcode(
        synthetic_table,
        "GET",
        "/v1/accounts/acc_1/search",
        query=(
            "tags=a&tags=b&active=true&color=COLOR_RED&since=2024-01-15T10:30:00Z&pageSize=5"
            "&threshold=7&numbers=1&numbers=2&account.displayName=Main&account.limit.currencyCode=EUR"
        ),
    )
    assert request.account.id == "acc_1"
    assert list(request.tags) == ["a", "b"]
    assert request.active is True
    assert request.color == 1
    assert request.since.seconds == 1705314600
    assert request.page_size == 5
    assert request.threshold.value == 7
    assert list(request.numbers) == [1, 2]
    assert request.account.display_name == "Main"
    assert request.account.limit.currency_code == "EUR"


@pytest.mark.parametrize(
    ("query", "field", "expected"),
    [
        ("active=maybe", "active", "expected true or false"),
        ("color=COLOR_PURPLE", "color", "expected one of COLOR_RED, COLOR_BLUE"),
        ("since=yesterday", "since", "RFC 3339"),
        ("numbers=1&numbers=x", "numbers", "64-bit integer"),
        ("threshold=1.5", "threshold", "64-bit integer"),
    ],
)
def test_bad_query_values_name_the_parameter(
    synthetic_table: RouteTable, query: str, field: str, expected: str
) -> None:
    error = refused(synthetic_table, "GET", "/v1/accounts/acc_1/search", query=query)
    assert error.details == {"field": field}
    assert expected in error.message


@pytest.mark.parametrize("name", ["account.id", "account", "labels", "metadata", "account.limit"])
def test_query_cannot_set_bound_or_structured_fields(synthetic_table: RouteTable, name: str) -> None:
    error = refused(synthetic_table, "GET", "/v1/accounts/acc_1/search", query=f"{name}=x")
    assert error.details == {"field": name}


def test_repeated_element_errors_carry_the_index(synthetic_table: RouteTable) -> None:
    error = refused(synthetic_table, "POST", "/v1/accounts/acc_1:update", {"numbers": [1, "x"]})
    assert error.details == {"field": "numbers[1]"}


def test_double_wildcard_path_variable(synthetic_table: RouteTable) -> None:
    request = transcode(synthetic_table, "GET", "/v1/files/reports/2024/jan.csv", query="pageSize=2")
    assert request.name == "reports/2024/jan.csv"
    assert request.page_size == 2


def test_the_most_specific_template_wins(synthetic_table: RouteTable) -> None:
    assert resolve(synthetic_table, "GET", "/v1/things/special").route.method_name == "GetSpecialThing"
    assert resolve(synthetic_table, "GET", "/v1/things/other").route.method_name == "GetThing"


def test_response_body_renders_one_field(synthetic_table: RouteTable) -> None:
    route = resolve(synthetic_table, "PATCH", "/v1/accounts/acc_1").route
    response = route.response_class()
    response.account.id = "acc_1"  # type: ignore[attr-defined]
    response.big = 12  # type: ignore[attr-defined]
    rendered = orjson.loads(render_response(route, response))
    assert rendered == {"id": "acc_1", "displayName": ""}


def test_int64_renders_as_a_string_by_the_proto3_mapping(synthetic_table: RouteTable) -> None:
    route = resolve(synthetic_table, "GET", "/v1/things/other").route
    response = route.response_class()
    response.big = 12  # type: ignore[attr-defined]
    assert orjson.loads(render_response(route, response))["big"] == "12"


def test_create_method_answers_201(synthetic_table: RouteTable) -> None:
    assert resolve(synthetic_table, "POST", "/v1/things").route.success_status == 201


def test_a_required_field_may_not_be_null(auth_table: RouteTable) -> None:
    error = refused(auth_table, "POST", "/api/v1/auth/login", {"username": None, "password": "pw"})
    assert error.details == {"field": "username"}


def test_a_body_may_not_repeat_a_field_the_path_binds(auth_table: RouteTable) -> None:
    error = refused(auth_table, "POST", "/api/v1/api-keys/key_1:rotate", {"id": None})
    assert error.details == {"field": "id"}
    error = refused(auth_table, "POST", "/api/v1/api-keys/key_1:rotate", {"id": "key_2"})
    assert error.details == {"field": "id"}
