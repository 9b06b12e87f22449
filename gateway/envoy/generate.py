"""Writes the Envoy edge config from the descriptor set — the one command for it.

    python -m gateway.envoy.generate          # rewrite every generated file
    python -m gateway.envoy.generate --check  # exit 1 when a committed file is stale

The routes come from the Python gateway's own route table (`gateway.routes`), built from
the same compiled descriptor set, so both edges expose the same RPCs on the same paths
with the same precedence, keep internal RPCs off HTTP alike, and agree on which routes
are public and which answer 201. The Lua filter's error table is generated from
`corelib.errors`, the table the Python gateway maps errors with.

Outputs: `gateway/envoy/envoy.yaml` (default limits) and, for kustomize, which only reads
files below a kustomization, `k8s/base/gateway/` (the default config and the descriptor
set) and `k8s/overlays/<environment>/gateway/envoy.yaml` (that environment's limits, from
`gateway/envoy/environments.toml`).
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import payment_engine_protos
import yaml
from google.protobuf import descriptor_pb2

from corelib.config import DEFAULT_SERVICE_PORTS, Settings
from corelib.errors import ERROR_CODES, ERROR_DOMAIN, REASON_BY_GRPC_CODE
from corelib.grpc_server import CONCURRENT_RPCS_MAX, MESSAGE_BYTES_MAX
from corelib.request_context import (
    CLIENT_ADDRESS_METADATA_KEY,
    REQUEST_ID_METADATA_KEY,
)
from gateway.app import PATH_SHOWN_MAX
from gateway.asgi import BODY_BYTES_MAX
from gateway.backends import BACKEND_CALL_TIMEOUT_S
from gateway.headers import CREDENTIAL_HEADERS, HEADERS_MAX, REQUEST_ID_LENGTH_MAX
from gateway.http_rules import PathTemplate, SegmentKind, parse_template
from gateway.openapi import OPENAPI_FILE_NAME, OPENAPI_PATH
from gateway.routes import Route, RouteTable, build_route_table

ROOT: Final = Path(__file__).resolve().parent.parent.parent
ENVOY_DIR: Final = ROOT / "gateway" / "envoy"
K8S_DIR: Final = ROOT / "k8s"
ENVIRONMENTS_FILE: Final = ENVOY_DIR / "environments.toml"
DEFAULT_ENVIRONMENT: Final = "default"
OVERLAYS: Final = ("sandbox", "staging", "production")
DESCRIPTOR_SET_NAME: Final = "descriptor_set.binpb"
# Where the gateway Deployment mounts its ConfigMap.
CONFIG_DIR_IN_CONTAINER: Final = "/etc/envoy"
DESCRIPTOR_PATH_IN_CONTAINER: Final = f"{CONFIG_DIR_IN_CONTAINER}/{DESCRIPTOR_SET_NAME}"
OPENAPI_PATH_IN_CONTAINER: Final = f"{CONFIG_DIR_IN_CONTAINER}/{OPENAPI_FILE_NAME}"
# Envoy caps direct response bodies (4 KiB by default); the OpenAPI document is larger.
DIRECT_RESPONSE_BYTES_MAX: Final = 1024 * 1024

LISTENER_PORT: Final = Settings().gateway_port
# Admin stays on loopback: it can drain and reconfigure the proxy.
ADMIN_PORT: Final = 9901
# The headless Service that lists every gateway replica (k8s/base/gateway/service.yaml);
# the local rate limiters share their buckets among its healthy members.
PEERS_CLUSTER: Final = "gateway_peers"
PEERS_SERVICE_HOST: Final = "gateway-peers"

# The developer portal (portal/, k8s/base/portal/portal.yaml) is served at the edge under
# this prefix: a plain HTTP upstream that signs users in itself and calls the public API
# like any client, so none of the API's filters apply to it.
PORTAL_PREFIX: Final = "/portal/"
PORTAL_CLUSTER: Final = "portal"
PORTAL_SERVICE_HOST: Final = "portal"
PORTAL_PORT: Final = 8081
PORTAL_TIMEOUT_S: Final = 30

EXT_AUTHZ_FILTER: Final = "envoy.filters.http.ext_authz"
# The edge Lua filter keeps the well-known name: route metadata for `handle:metadata()`
# is looked up under it by every Envoy version.
EDGE_LUA_FILTER: Final = "envoy.filters.http.lua"
SUBJECT_LUA_FILTER: Final = "payment_engine.rate_limit_subject"
RATE_LIMIT_SUBJECT_HEADER: Final = "x-pe-rate-limit-subject"

UPSTREAM_CONNECT_TIMEOUT: Final = "1s"
DNS_REFRESH_RATE: Final = "5s"
ROUTE_TIMEOUT_S: Final = int(BACKEND_CALL_TIMEOUT_S)
# The auth service's Check: the Python gateway allows it corelib.auth_client's 5 s.
EXT_AUTHZ_TIMEOUT: Final = "5s"
SAFE_RETRIES_MAX: Final = 2
SAFE_RETRY_PER_TRY_TIMEOUT_S: Final = 10
SAFE_RETRY_HOST_ATTEMPTS_MAX: Final = 3
# Only failures where the request surely did not run, or runs again harmlessly (GET).
SAFE_RETRY_ON: Final = "connect-failure,refused-stream,reset,unavailable,cancelled"
HEALTH_CHECK_INTERVAL: Final = "5s"
HEALTH_CHECK_TIMEOUT: Final = "1s"
HEALTH_CHECK_UNHEALTHY_THRESHOLD: Final = 3
HEALTH_CHECK_HEALTHY_THRESHOLD: Final = 1
UPSTREAM_KEEPALIVE_INTERVAL: Final = "30s"
UPSTREAM_KEEPALIVE_TIMEOUT: Final = "5s"
UPSTREAM_CONNECTIONS_MAX: Final = 1024
UPSTREAM_PENDING_REQUESTS_MAX: Final = 1024
UPSTREAM_RETRIES_MAX: Final = 64
OUTLIER_GATEWAY_FAILURES_MAX: Final = 5
OUTLIER_EJECTION_TIME: Final = "30s"
OUTLIER_EJECTION_PERCENT_MAX: Final = 50
DOWNSTREAM_CONNECTIONS_MAX: Final = 50_000
DOWNSTREAM_STREAMS_PER_CONNECTION_MAX: Final = 100
DOWNSTREAM_STREAM_WINDOW_BYTES: Final = 64 * 1024
DOWNSTREAM_CONNECTION_WINDOW_BYTES: Final = 1024 * 1024
# Bounded so that clients on long-lived connections spread over replicas, which the
# shared rate limit buckets assume.
DOWNSTREAM_REQUESTS_PER_CONNECTION_MAX: Final = 1000
DOWNSTREAM_IDLE_TIMEOUT: Final = "300s"
STREAM_IDLE_TIMEOUT: Final = "300s"
REQUEST_TIMEOUT: Final = "60s"
REQUEST_HEADERS_TIMEOUT: Final = "10s"
DRAIN_TIMEOUT: Final = "20s"
RATE_LIMIT_WINDOW_S: Final = 60
# Distinct credentials and addresses each limiter tracks before it evicts the least
# recently seen one.
RATE_LIMIT_TRACKED_KEYS_MAX: Final = 100_000
# Requests matching no descriptor (a public route without a principal, for the
# per-credential limiter) are bounded only by this per-environment ceiling.
RATE_LIMIT_CEILING_FACTOR: Final = 100
LOCAL_REPLY_TEXT_SHOWN_MAX: Final = 200
# Statuses Envoy answers by itself that no single guide code owns.
UPSTREAM_FAILURE_STATUSES: Final = (502, 504)

GENERATED_HEADER: Final = (
    "# Generated by `python -m gateway.envoy.generate` from the descriptor set, the Python\n"
    "# gateway's route table, corelib.errors and gateway/envoy/environments.toml.\n"
    "# Do not edit: change those and regenerate.\n"
)


@dataclass(frozen=True)
class Limits:
    credential_per_minute: int
    address_per_minute: int


def load_environments(path: Path = ENVIRONMENTS_FILE) -> dict[str, Limits]:
    document = tomllib.loads(path.read_text())
    environments = {}
    for name in (DEFAULT_ENVIRONMENT, *OVERLAYS):
        section = document.get(name)
        if not isinstance(section, dict):
            raise ValueError(f"{path.name} has no [{name}] section")
        limits = Limits(
            credential_per_minute=int(section["rate_limit_credential_per_minute"]),
            address_per_minute=int(section["rate_limit_address_per_minute"]),
        )
        if limits.credential_per_minute < 1 or limits.address_per_minute < 1:
            raise ValueError(f"{path.name} [{name}]: limits must be at least 1 per minute")
        environments[name] = limits
    return environments


# --- Lua ------------------------------------------------------------------------------


def lua_string(text: str) -> str:
    escaped = []
    for char in text:
        if char in ('"', "\\"):
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\{ord(char):03d}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def local_reply_reasons() -> dict[int, str]:
    """HTTP status of an Envoy local reply → the guide code it stands for: every status
    that exactly one code owns, plus the upstream failures that a service's UNAVAILABLE
    or DEADLINE_EXCEEDED would have been."""
    owners: dict[int, list[str]] = {}
    for reason, code in ERROR_CODES.items():
        owners.setdefault(code.http_status, []).append(reason)
    reasons = {status: names[0] for status, names in owners.items() if len(names) == 1}
    for status in UPSTREAM_FAILURE_STATUSES:
        reasons[status] = "SERVICE_UNAVAILABLE"
    return dict(sorted(reasons.items()))


def lua_prelude() -> str:
    lines = [
        "-- Generated by gateway/envoy/generate.py from corelib.errors and the gateway's limits.",
        f"local ERROR_DOMAIN = {lua_string(ERROR_DOMAIN)}",
        "local ERROR_CODES = {",
    ]
    for reason, code in ERROR_CODES.items():
        message = lua_string(code.default_message)
        lines.append(f"  [{lua_string(reason)}] = {{ status = {code.http_status}, message = {message} }},")
    lines.append("}")
    lines.append("local REASON_BY_GRPC_CODE = {")
    for grpc_code, reason in sorted(REASON_BY_GRPC_CODE.items(), key=lambda item: item[0].value[0]):
        lines.append(f"  [{grpc_code.value[0]}] = {lua_string(reason)}, -- {grpc_code.name}")
    lines.append("}")
    lines.append("local LOCAL_REPLY_REASONS = {")
    for status, reason in local_reply_reasons().items():
        lines.append(f"  [{status}] = {lua_string(reason)},")
    lines.append("}")
    lines.extend(
        [
            f"local BODY_BYTES_MAX = {BODY_BYTES_MAX}",
            f"local REQUEST_ID_LENGTH_MAX = {REQUEST_ID_LENGTH_MAX}",
            f"local PATH_SHOWN_MAX = {PATH_SHOWN_MAX}",
            f"local LOCAL_REPLY_TEXT_SHOWN_MAX = {LOCAL_REPLY_TEXT_SHOWN_MAX}",
            f"local RATE_LIMIT_WINDOW_S = {RATE_LIMIT_WINDOW_S}",
            "",
        ]
    )
    return "\n".join(lines)


def edge_lua_source() -> str:
    return lua_prelude() + (ENVOY_DIR / "edge.lua").read_text()


def subject_lua_source() -> str:
    return (ENVOY_DIR / "rate_limit_subject.lua").read_text()


# --- Routes ---------------------------------------------------------------------------

_REGEX_SPECIAL: Final = frozenset(".^$*+?()[]{}|\\")


def _regex_literal(text: str) -> str:
    return "".join("\\" + char if char in _REGEX_SPECIAL else char for char in text)


def template_regex(template: PathTemplate) -> str:
    """A path template as an RE2 pattern over the raw path (no query), matching what
    `PathTemplate.match` accepts: `*` is one non-empty segment, a trailing `**` any
    number of them, and a verb ends the last segment."""
    parts = []
    for segment in template.segments:
        if segment.kind is SegmentKind.LITERAL:
            parts.append("/" + _regex_literal(segment.literal))
        elif segment.kind is SegmentKind.SINGLE:
            parts.append("/[^/]+")
        else:
            parts.append("(/.*)?")
    if template.verb:
        parts.append(":" + _regex_literal(template.verb))
    return "".join(parts)


def _ordered(routes: tuple[Route, ...]) -> list[Route]:
    # Envoy takes the first route that matches. The Python gateway tries templates with
    # a verb first, then prefers the most specific template; a stable sort on the same
    # keys gives Envoy the same choice.
    return sorted(routes, key=lambda route: (not route.template.verb, route.template.specificity))


def _auth_disabled() -> dict[str, Any]:
    return {
        EXT_AUTHZ_FILTER: {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute",
            "disabled": True,
        }
    }


def _portal_route() -> dict[str, Any]:
    lua_disabled = {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute",
        "disabled": True,
    }
    return {
        "name": f"portal {PORTAL_PREFIX}",
        "match": {"prefix": PORTAL_PREFIX},
        "route": {"cluster": PORTAL_CLUSTER, "timeout": f"{PORTAL_TIMEOUT_S}s"},
        # Its pages are HTML with their own error pages: the edge's JSON envelopes and
        # the API's authentication are not for it.
        "typed_per_filter_config": {
            **_auth_disabled(),
            EDGE_LUA_FILTER: lua_disabled,
            SUBJECT_LUA_FILTER: lua_disabled,
        },
    }


def _rpc_route(route: Route) -> dict[str, Any]:
    action: dict[str, Any] = {"cluster": route.domain, "timeout": f"{ROUTE_TIMEOUT_S}s"}
    if route.http_method == "GET":
        action["retry_policy"] = {
            "retry_on": SAFE_RETRY_ON,
            "num_retries": SAFE_RETRIES_MAX,
            "per_try_timeout": f"{SAFE_RETRY_PER_TRY_TIMEOUT_S}s",
            "retry_host_predicate": [
                {
                    "name": "envoy.retry_host_predicates.previous_hosts",
                    "typed_config": {
                        "@type": "type.googleapis.com/"
                        "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
                    },
                }
            ],
            "host_selection_retry_max_attempts": SAFE_RETRY_HOST_ATTEMPTS_MAX,
        }
    lua_metadata: dict[str, Any] = {"rpc": route.full_method}
    if route.success_status != 200:
        lua_metadata["success_status"] = route.success_status
    entry: dict[str, Any] = {
        "name": f"{route.http_method} {route.template.source}",
        "match": {
            "safe_regex": {"regex": template_regex(route.template)},
            "headers": [{"name": ":method", "string_match": {"exact": route.http_method}}],
        },
        "route": action,
        "metadata": {"filter_metadata": {EDGE_LUA_FILTER: lua_metadata}},
    }
    if route.public:
        entry["typed_per_filter_config"] = _auth_disabled()
    return entry


def _method_not_allowed_route(template: PathTemplate, methods: list[str]) -> dict[str, Any]:
    # A path some RPC serves, asked with another method: 405 with Allow, before any
    # authentication, as the Python gateway answers it.
    return {
        "name": f"405 {template_regex(template)}",
        "match": {"safe_regex": {"regex": template_regex(template)}},
        "direct_response": {"status": 405},
        "response_headers_to_add": [
            {
                "header": {"key": "allow", "value": ", ".join(sorted(set(methods)))},
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
            }
        ],
        "typed_per_filter_config": _auth_disabled(),
    }


def build_routes(table: RouteTable) -> list[dict[str, Any]]:
    for route in table.routes:
        if route.domain not in DEFAULT_SERVICE_PORTS:
            raise ValueError(f"{route.full_method}: no service {route.domain!r} in DEFAULT_SERVICE_PORTS")
    ordered = _ordered(table.routes)
    entries: list[dict[str, Any]] = []
    for with_verb in (True, False):
        group = [route for route in ordered if bool(route.template.verb) is with_verb]
        entries.extend(_rpc_route(route) for route in group)
        # Templates that differ only in their variables' names (`{id}`, `{endpoint.id}`)
        # match the same paths: one 405 route answers for all of them, allowing the
        # methods of each, as the Python gateway's Allow lists every matching route.
        methods_by_shape: dict[str, list[str]] = {}
        templates: dict[str, PathTemplate] = {}
        for route in group:
            shape = template_regex(route.template)
            methods_by_shape.setdefault(shape, []).append(route.http_method)
            templates.setdefault(shape, route.template)
        entries.extend(
            _method_not_allowed_route(templates[shape], methods)
            for shape, methods in methods_by_shape.items()
        )
    entries.append(
        {
            "name": f"GET {OPENAPI_PATH}",
            "match": {
                "safe_regex": {"regex": _regex_literal(OPENAPI_PATH)},
                "headers": [{"name": ":method", "string_match": {"exact": "GET"}}],
            },
            "direct_response": {"status": 200, "body": {"filename": OPENAPI_PATH_IN_CONTAINER}},
            "response_headers_to_add": [
                {
                    "header": {"key": "content-type", "value": "application/json"},
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                }
            ],
            "typed_per_filter_config": _auth_disabled(),
        }
    )
    entries.append(_method_not_allowed_route(parse_template(OPENAPI_PATH), ["GET"]))
    entries.append(_portal_route())
    entries.append(
        {
            "name": "no endpoint",
            "match": {"prefix": "/"},
            "direct_response": {"status": 404},
            "typed_per_filter_config": _auth_disabled(),
        }
    )
    return entries


# --- Filters --------------------------------------------------------------------------


def _typed(type_name: str, **fields: Any) -> dict[str, Any]:
    return {"@type": f"type.googleapis.com/{type_name}", **fields}


def _always() -> dict[str, Any]:
    return {"default_value": {"numerator": 100, "denominator": "HUNDRED"}}


def _bucket(per_minute: int) -> dict[str, Any]:
    return {
        "max_tokens": per_minute,
        "tokens_per_fill": per_minute,
        "fill_interval": f"{RATE_LIMIT_WINDOW_S}s",
    }


def _rate_limiter(
    name: str, stat_prefix: str, action: dict[str, Any], descriptor_key: str, per_minute: int, ceiling: int
) -> dict[str, Any]:
    return {
        "name": name,
        "typed_config": _typed(
            "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
            stat_prefix=stat_prefix,
            token_bucket=_bucket(ceiling),
            filter_enabled={**_always(), "runtime_key": f"{stat_prefix}_enabled"},
            filter_enforced={**_always(), "runtime_key": f"{stat_prefix}_enforced"},
            rate_limits=[{"actions": [action]}],
            # An empty value makes the descriptor dynamic: one bucket per distinct value.
            descriptors=[
                {"entries": [{"key": descriptor_key, "value": ""}], "token_bucket": _bucket(per_minute)}
            ],
            max_dynamic_descriptors=RATE_LIMIT_TRACKED_KEYS_MAX,
            always_consume_default_token_bucket=False,
            local_cluster_rate_limit={},
            enable_x_ratelimit_headers="DRAFT_VERSION_03",
        ),
    }


def http_filters(table: RouteTable, limits: Limits) -> list[dict[str, Any]]:
    services = sorted({route.full_method.split("/")[1] for route in table.routes})
    ceiling = max(limits.credential_per_minute, limits.address_per_minute) * RATE_LIMIT_CEILING_FACTOR
    return [
        {
            # Envoy's own liveness, answered before anything else; it fails while the
            # proxy drains, which takes the replica out of the Service first.
            "name": "envoy.filters.http.health_check",
            "typed_config": _typed(
                "envoy.extensions.filters.http.health_check.v3.HealthCheck",
                pass_through_mode=False,
                headers=[{"name": ":path", "string_match": {"exact": "/healthz"}}],
            ),
        },
        {
            "name": EDGE_LUA_FILTER,
            "typed_config": _typed(
                "envoy.extensions.filters.http.lua.v3.Lua",
                default_source_code={"inline_string": edge_lua_source()},
            ),
        },
        _rate_limiter(
            "payment_engine.rate_limit.address",
            "rate_limit_address",
            {"remote_address": {}},
            "remote_address",
            limits.address_per_minute,
            ceiling,
        ),
        {
            "name": EXT_AUTHZ_FILTER,
            "typed_config": _typed(
                "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
                grpc_service={"envoy_grpc": {"cluster_name": "auth"}, "timeout": EXT_AUTHZ_TIMEOUT},
                transport_api_version="V3",
                failure_mode_allow=False,
                status_on_error={"code": "ServiceUnavailable"},
                # What the Python gateway sends to the same Check (gateway/headers.py).
                allowed_headers={
                    "patterns": [
                        {"exact": name}
                        for name in (
                            *CREDENTIAL_HEADERS,
                            REQUEST_ID_METADATA_KEY,
                            CLIENT_ADDRESS_METADATA_KEY,
                        )
                    ]
                },
            ),
        },
        {
            "name": SUBJECT_LUA_FILTER,
            "typed_config": _typed(
                "envoy.extensions.filters.http.lua.v3.Lua",
                default_source_code={"inline_string": subject_lua_source()},
            ),
        },
        _rate_limiter(
            "payment_engine.rate_limit.credential",
            "rate_limit_credential",
            {
                "request_headers": {
                    "header_name": RATE_LIMIT_SUBJECT_HEADER,
                    "descriptor_key": "credential",
                    "skip_if_absent": True,
                }
            },
            "credential",
            limits.credential_per_minute,
            ceiling,
        ),
        {
            "name": "envoy.filters.http.grpc_json_transcoder",
            "typed_config": _typed(
                "envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
                proto_descriptor=DESCRIPTOR_PATH_IN_CONTAINER,
                services=services,
                # The routes above already chose the RPC by the HTTP path, as the
                # Python gateway does; the transcoder must not re-route.
                match_incoming_request_route=True,
                # gateway/transcoding.py: MessageToDict(always_print_fields_with_no_presence=True,
                # preserving_proto_field_name=False), enums by name, compact.
                print_options={
                    "add_whitespace": False,
                    "always_print_primitive_fields": True,
                    "always_print_enums_as_ints": False,
                    "preserve_proto_field_names": False,
                },
                request_validation_options={
                    "reject_unknown_method": True,
                    "reject_unknown_query_parameters": True,
                    "reject_binding_body_field_collisions": True,
                },
                # The Python gateway decodes everything but %2F in multi-segment values.
                url_unescape_spec="ALL_CHARACTERS_EXCEPT_SLASH",
                query_param_unescape_plus=True,
                convert_grpc_status=False,
                max_request_body_size=BODY_BYTES_MAX,
                max_response_body_size=MESSAGE_BYTES_MAX,
            ),
        },
        {
            "name": "envoy.filters.http.router",
            "typed_config": _typed(
                "envoy.extensions.filters.http.router.v3.Router", suppress_envoy_headers=True
            ),
        },
    ]


# --- Bootstrap ------------------------------------------------------------------------


def _socket(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _cluster(name: str, host: str, port: int, *, grpc: bool) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": name,
        # Headless Services: one endpoint per pod, so requests (not connections) are
        # balanced over the replicas.
        "type": "STRICT_DNS",
        "dns_refresh_rate": DNS_REFRESH_RATE,
        "connect_timeout": UPSTREAM_CONNECT_TIMEOUT,
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _socket(host, port)}}]}],
        },
    }
    if not grpc:
        return cluster
    cluster |= {
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": _typed(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                explicit_http_config={
                    "http2_protocol_options": {
                        "connection_keepalive": {
                            "interval": UPSTREAM_KEEPALIVE_INTERVAL,
                            "timeout": UPSTREAM_KEEPALIVE_TIMEOUT,
                        }
                    }
                },
            )
        },
        "health_checks": [
            {
                "timeout": HEALTH_CHECK_TIMEOUT,
                "interval": HEALTH_CHECK_INTERVAL,
                "unhealthy_threshold": HEALTH_CHECK_UNHEALTHY_THRESHOLD,
                "healthy_threshold": HEALTH_CHECK_HEALTHY_THRESHOLD,
                # The services serve grpc.health.v1 (corelib/grpc_server.py).
                "grpc_health_check": {},
            }
        ],
        "circuit_breakers": {
            "thresholds": [
                {
                    "priority": "DEFAULT",
                    "max_connections": UPSTREAM_CONNECTIONS_MAX,
                    "max_pending_requests": UPSTREAM_PENDING_REQUESTS_MAX,
                    # A service refuses more concurrent RPCs than this anyway.
                    "max_requests": CONCURRENT_RPCS_MAX,
                    "max_retries": UPSTREAM_RETRIES_MAX,
                }
            ]
        },
        # Eject a replica that keeps failing at the transport level; an application
        # error (INTERNAL on one bad request) says nothing about the replica.
        "outlier_detection": {
            "consecutive_gateway_failure": OUTLIER_GATEWAY_FAILURES_MAX,
            "enforcing_consecutive_gateway_failure": 100,
            "enforcing_consecutive_5xx": 0,
            "base_ejection_time": OUTLIER_EJECTION_TIME,
            "max_ejection_percent": OUTLIER_EJECTION_PERCENT_MAX,
        },
    }
    return cluster


def _access_log() -> list[dict[str, Any]]:
    return [
        {
            "name": "envoy.access_loggers.stdout",
            "typed_config": _typed(
                "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
                # The same JSON lines, under the same request id, as structlog writes.
                log_format={
                    "json_format": {
                        "timestamp": "%START_TIME%",
                        "event": "http_request",
                        "logger": "gateway.envoy",
                        "request_id": "%REQ(X-REQUEST-ID)%",
                        "method": "%REQ(:METHOD)%",
                        "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
                        "status": "%RESPONSE_CODE%",
                        "duration_ms": "%DURATION%",
                        "upstream": "%UPSTREAM_CLUSTER%",
                        "flags": "%RESPONSE_FLAGS%",
                    }
                },
            ),
        }
    ]


def bootstrap(table: RouteTable, limits: Limits) -> dict[str, Any]:
    manager = _typed(
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix="edge",
        codec_type="AUTO",
        # The client's address is the connection's peer (x-forwarded-for is appended
        # to, never trusted), and no peer is "internal": every request is an edge
        # request, so clients' x-envoy-* headers are stripped.
        use_remote_address=True,
        xff_num_trusted_hops=0,
        internal_address_config={"unix_sockets": False},
        # Request ids: a caller's X-Request-Id is kept (the Lua filter replaces one that
        # is unsafe to echo), an absent one is generated.
        generate_request_id=True,
        preserve_external_request_id=True,
        always_set_request_id_in_response=True,
        request_id_extension={
            "typed_config": _typed(
                "envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig",
                pack_trace_reason=False,
                use_request_id_for_trace_sampling=False,
            )
        },
        stream_idle_timeout=STREAM_IDLE_TIMEOUT,
        request_timeout=REQUEST_TIMEOUT,
        request_headers_timeout=REQUEST_HEADERS_TIMEOUT,
        drain_timeout=DRAIN_TIMEOUT,
        common_http_protocol_options={
            "idle_timeout": DOWNSTREAM_IDLE_TIMEOUT,
            "headers_with_underscores_action": "REJECT_REQUEST",
            "max_headers_count": HEADERS_MAX,
            "max_requests_per_connection": DOWNSTREAM_REQUESTS_PER_CONNECTION_MAX,
        },
        http2_protocol_options={
            "max_concurrent_streams": DOWNSTREAM_STREAMS_PER_CONNECTION_MAX,
            "initial_stream_window_size": DOWNSTREAM_STREAM_WINDOW_BYTES,
            "initial_connection_window_size": DOWNSTREAM_CONNECTION_WINDOW_BYTES,
        },
        access_log=_access_log(),
        route_config={
            "name": "rest_v1",
            "max_direct_response_body_size_bytes": DIRECT_RESPONSE_BYTES_MAX,
            "virtual_hosts": [
                {
                    "name": "rest_v1",
                    "domains": ["*"],
                    "routes": build_routes(table),
                    # Only the rate limiter reads it; the services never see it.
                    "request_headers_to_remove": [RATE_LIMIT_SUBJECT_HEADER],
                }
            ],
        },
        http_filters=http_filters(table, limits),
    )
    clusters = [
        _cluster(domain, domain, port, grpc=True) for domain, port in sorted(DEFAULT_SERVICE_PORTS.items())
    ]
    clusters.append(_cluster(PEERS_CLUSTER, PEERS_SERVICE_HOST, LISTENER_PORT, grpc=False))
    clusters.append(_cluster(PORTAL_CLUSTER, PORTAL_SERVICE_HOST, PORTAL_PORT, grpc=False))
    return {
        "node": {"id": "gateway", "cluster": "gateway"},
        "admin": {"address": _socket("127.0.0.1", ADMIN_PORT)},
        "cluster_manager": {"local_cluster_name": PEERS_CLUSTER},
        "overload_manager": {
            "resource_monitors": [
                {
                    "name": "envoy.resource_monitors.global_downstream_max_connections",
                    "typed_config": _typed(
                        "envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig",
                        max_active_downstream_connections=DOWNSTREAM_CONNECTIONS_MAX,
                    ),
                }
            ]
        },
        "static_resources": {
            "listeners": [
                {
                    "name": "rest_v1",
                    "address": _socket("0.0.0.0", LISTENER_PORT),  # noqa: S104 — the pod's public port
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": manager,
                                }
                            ]
                        }
                    ],
                }
            ],
            "clusters": clusters,
        },
    }


# --- Output ---------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings, so the Lua source reads as Lua in review."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def render(document: dict[str, Any]) -> str:
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)
    return GENERATED_HEADER + body


def transcoder_descriptor_set() -> bytes:
    """The package's descriptor set without its comments: the transcoder never reads
    them, and a ConfigMap applied client-side must stay under Kubernetes' 256 KiB
    annotation limit."""
    files = descriptor_pb2.FileDescriptorSet.FromString(payment_engine_protos.descriptor_set_bytes())
    for file in files.file:
        file.ClearField("source_code_info")
    return files.SerializeToString(deterministic=True)


def outputs() -> dict[Path, bytes]:
    """Every generated file and its content."""
    table = build_route_table()
    environments = load_environments()
    default = render(bootstrap(table, environments[DEFAULT_ENVIRONMENT])).encode()
    files = {
        ENVOY_DIR / "envoy.yaml": default,
        K8S_DIR / "base" / "gateway" / "envoy.yaml": default,
        K8S_DIR / "base" / "gateway" / DESCRIPTOR_SET_NAME: transcoder_descriptor_set(),
    }
    for overlay in OVERLAYS:
        files[K8S_DIR / "overlays" / overlay / "gateway" / "envoy.yaml"] = render(
            bootstrap(table, environments[overlay])
        ).encode()
    return files


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="fail when a generated file is stale")
    options = parser.parse_args()
    stale = []
    for path, content in outputs().items():
        if options.check:
            if not path.is_file() or path.read_bytes() != content:
                stale.append(path.relative_to(ROOT))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        names = ", ".join(str(path) for path in stale)
        print(f"stale Envoy config ({names}): run `python -m gateway.envoy.generate`", file=sys.stderr)
        return 1
    if options.check:
        print("Envoy config is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
