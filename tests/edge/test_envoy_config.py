"""The generated Envoy configs load as Envoy would load them, and say what they must.

No Envoy binary runs here, so each config is parsed into the v3 Bootstrap of the
xds-protos wheel with every typed_config resolved, checked against the protoc-gen-validate
rules Envoy enforces, and cross-checked for the references Envoy resolves at start-up.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Final

import payment_engine_protos
import pytest
from google.protobuf import descriptor_pb2, json_format

from corelib.config import DEFAULT_SERVICE_PORTS
from corelib.errors import ERROR_CODES
from gateway.envoy import generate
from gateway.routes import build_route_table
from tests.edge.envoy_support import (
    GENERATED_CONFIGS,
    ROOT,
    constraint_violations,
    http_connection_manager,
    http_filter,
    load_yaml,
    parse_bootstrap,
    routes,
)

CONFIG_IDS: Final = [str(path.relative_to(ROOT)) for path in GENERATED_CONFIGS]
# The order that makes the edge work (see gateway/envoy/generate.py): the envelope filter
# first, so it sees every local reply; the address limit before authentication, so
# floods never reach the auth service; the credential limit after it, on the verified
# principal; the transcoder last before the router.
FILTER_ORDER: Final = [
    "envoy.filters.http.health_check",
    "envoy.filters.http.lua",
    "payment_engine.rate_limit.address",
    "envoy.filters.http.ext_authz",
    "payment_engine.rate_limit_subject",
    "payment_engine.rate_limit.credential",
    "envoy.filters.http.grpc_json_transcoder",
    "envoy.filters.http.router",
]


@pytest.fixture(scope="module", params=GENERATED_CONFIGS, ids=CONFIG_IDS)
def document(request: pytest.FixtureRequest) -> dict[str, Any]:
    path: Path = request.param
    return load_yaml(path)


def test_generated_files_are_up_to_date() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, content in generate.outputs().items()
        if path.read_bytes() != content
    ]
    assert not stale, f"run `python -m gateway.envoy.generate`: {stale}"


def test_config_parses_into_bootstrap_with_every_typed_config(document: dict[str, Any]) -> None:
    bootstrap: Any = parse_bootstrap(document)
    assert (
        bootstrap.static_resources.listeners[0]
        .filter_chains[0]
        .filters[0]
        .typed_config.type_url.endswith("HttpConnectionManager")
    )


def test_config_breaks_no_validation_rule(document: dict[str, Any]) -> None:
    assert constraint_violations(parse_bootstrap(document)) == []


def test_an_unknown_field_in_a_filter_fails_to_load(document: dict[str, Any]) -> None:
    broken = copy.deepcopy(document)
    http_filter(broken, "envoy.filters.http.ext_authz")["failure_mode_alow"] = True
    with pytest.raises(json_format.ParseError):
        parse_bootstrap(broken)


def test_an_unknown_filter_type_fails_to_load(document: dict[str, Any]) -> None:
    broken = copy.deepcopy(document)
    http_filter(broken, "envoy.filters.http.router")["@type"] = (
        "type.googleapis.com/envoy.extensions.filters.http.nope.v3.Nope"
    )
    with pytest.raises(json_format.ParseError):
        parse_bootstrap(broken)


def test_a_broken_validation_rule_is_caught(document: dict[str, Any]) -> None:
    broken = copy.deepcopy(document)
    del http_filter(broken, "payment_engine.rate_limit.address")["descriptors"][0]["token_bucket"]
    assert any(
        "token_bucket: required" in problem for problem in constraint_violations(parse_bootstrap(broken))
    )


def test_filters_run_in_the_designed_order(document: dict[str, Any]) -> None:
    names = [entry["name"] for entry in http_connection_manager(document)["http_filters"]]
    assert names == FILTER_ORDER


def test_transcoder_uses_the_gateway_descriptor_set_and_json_options(document: dict[str, Any]) -> None:
    transcoder = http_filter(document, "envoy.filters.http.grpc_json_transcoder")
    path = transcoder["proto_descriptor"]
    assert path.startswith(generate.CONFIG_DIR_IN_CONTAINER + "/")
    mounted = ROOT / "k8s" / "base" / "gateway" / Path(path).name
    shipped = descriptor_pb2.FileDescriptorSet.FromString(mounted.read_bytes())
    compiled = descriptor_pb2.FileDescriptorSet.FromString(payment_engine_protos.descriptor_set_bytes())
    for file in compiled.file:
        file.ClearField("source_code_info")
    assert shipped == compiled
    # gateway/transcoding.py renders with always_print_fields_with_no_presence=True and
    # lowerCamelCase (json_name) keys, enums by name.
    assert transcoder["print_options"] == {
        "add_whitespace": False,
        "always_print_primitive_fields": True,
        "always_print_enums_as_ints": False,
        "preserve_proto_field_names": False,
    }
    expected_services = sorted({route.full_method.split("/")[1] for route in build_route_table().routes})
    assert transcoder["services"] == expected_services
    assert transcoder["match_incoming_request_route"] is True


def test_every_service_has_an_http2_cluster_with_health_checks(document: dict[str, Any]) -> None:
    clusters = {cluster["name"]: cluster for cluster in document["static_resources"]["clusters"]}
    for domain, port in DEFAULT_SERVICE_PORTS.items():
        cluster = clusters[domain]
        endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
        assert endpoint["socket_address"] == {"address": domain, "port_value": port}
        options = cluster["typed_extension_protocol_options"][
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
        ]
        assert "http2_protocol_options" in options["explicit_http_config"]
        assert cluster["health_checks"][0]["grpc_health_check"] == {}
        assert cluster["connect_timeout"]


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    clusters = {cluster["name"] for cluster in document["static_resources"]["clusters"]}
    assert document["cluster_manager"]["local_cluster_name"] in clusters
    authz = http_filter(document, "envoy.filters.http.ext_authz")
    assert authz["grpc_service"]["envoy_grpc"]["cluster_name"] == "auth"
    filter_names = {entry["name"] for entry in http_connection_manager(document)["http_filters"]}
    for route in routes(document):
        if "route" in route:
            assert route["route"]["cluster"] in clusters, route["name"]
        assert set(route.get("typed_per_filter_config", {})) <= filter_names, route["name"]


def test_only_safe_methods_are_retried(document: dict[str, Any]) -> None:
    retried = 0
    for route in routes(document):
        if "route" not in route or route["route"]["cluster"] == generate.PORTAL_CLUSTER:
            continue
        method = route["match"]["headers"][0]["string_match"]["exact"]
        policy = route["route"].get("retry_policy")
        if method in ("GET", "HEAD"):
            assert policy is not None and policy["num_retries"] >= 1, route["name"]
            retried += 1
        else:
            assert policy is None, f"{route['name']} must not be retried"
        assert route["route"]["timeout"] == f"{generate.ROUTE_TIMEOUT_S}s"
    assert retried > 0


def test_the_portal_is_served_under_its_prefix_without_the_apis_filters(document: dict[str, Any]) -> None:
    portal = [r for r in routes(document) if r.get("route", {}).get("cluster") == generate.PORTAL_CLUSTER]
    assert len(portal) == 1
    assert portal[0]["match"] == {"prefix": "/portal/"}
    disabled = portal[0]["typed_per_filter_config"]
    assert set(disabled) == {generate.EXT_AUTHZ_FILTER, generate.EDGE_LUA_FILTER, generate.SUBJECT_LUA_FILTER}
    assert all(config["disabled"] is True for config in disabled.values())
    # Before the catch-all 404, after every API route.
    names = [r["name"] for r in routes(document)]
    assert names.index(portal[0]["name"]) == len(names) - 2


def test_rate_limits_follow_the_environment(document: dict[str, Any]) -> None:
    address = http_filter(document, "payment_engine.rate_limit.address")
    credential = http_filter(document, "payment_engine.rate_limit.credential")
    limits = {
        name: (
            generate.load_environments()[name].address_per_minute,
            generate.load_environments()[name].credential_per_minute,
        )
        for name in (generate.DEFAULT_ENVIRONMENT, *generate.OVERLAYS)
    }
    configured = (
        address["descriptors"][0]["token_bucket"]["max_tokens"],
        credential["descriptors"][0]["token_bucket"]["max_tokens"],
    )
    assert configured in limits.values()
    for limiter, key in ((address, "remote_address"), (credential, "credential")):
        assert limiter["descriptors"][0]["entries"] == [{"key": key, "value": ""}]
        assert limiter["filter_enforced"]["default_value"]["numerator"] == 100
        assert limiter["enable_x_ratelimit_headers"] == "DRAFT_VERSION_03"
        assert "local_cluster_rate_limit" in limiter
    assert (
        credential["rate_limits"][0]["actions"][0]["request_headers"]["header_name"]
        == "x-pe-rate-limit-subject"
    )


def test_each_overlay_uses_its_own_limits() -> None:
    environments = generate.load_environments()
    for overlay in generate.OVERLAYS:
        document = load_yaml(ROOT / "k8s" / "overlays" / overlay / "gateway" / "envoy.yaml")
        bucket = http_filter(document, "payment_engine.rate_limit.credential")["descriptors"][0][
            "token_bucket"
        ]
        assert bucket["max_tokens"] == environments[overlay].credential_per_minute


def test_lua_error_table_is_corelib_errors(document: dict[str, Any]) -> None:
    source = http_filter(document, "envoy.filters.http.lua")["default_source_code"]["inline_string"]
    for reason, code in ERROR_CODES.items():
        assert (
            f'["{reason}"] = {{ status = {code.http_status}, message = "{code.default_message}" }}' in source
        )


def test_public_edge_settings(document: dict[str, Any]) -> None:
    manager = http_connection_manager(document)
    assert manager["use_remote_address"] is True
    assert manager["preserve_external_request_id"] is True
    assert manager["always_set_request_id_in_response"] is True
    assert document["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
