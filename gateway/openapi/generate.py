"""Writes the REST contract as OpenAPI (Swagger 2.0) — the one command for it.

    python -m gateway.openapi.generate          # rewrite gateway/openapi/openapi.json
    python -m gateway.openapi.generate --check  # exit 1 when the committed file is stale

The document comes from grpc-gateway's own generator, `protoc-gen-swagger` (Debian's
`golang-grpc-gateway`), run with `json_names_for_fields=true` over the compiled descriptor
set: that it accepts every annotation also proves the contracts are grpc-gateway
compatible. Then what the generator cannot know is added, each step from the one source
that owns it:

- which RPCs are served at all (internal ones never are), which are public, and which
  answer 201: the Python gateway's route table;
- the guide's error envelope as every operation's `default` response, with X-Request-Id,
  Retry-After and RateLimit-* headers;
- the proto3 JSON forms of google.protobuf.Struct/Value/ListValue/FieldMask (the
  generator describes their proto fields instead);
- what the engine requires of a request, so the contract is exactly as strict as the
  engine, both ways: fields marked `(google.api.field_behavior) = REQUIRED` in the
  protos become `required` (protoc-gen-swagger 1.6 predates that annotation); each
  request body gets its own definition without the fields the path binds, a body is
  required only when it has required fields, unknown fields are refused
  (`additionalProperties: false`, as the transcoder refuses them); no string may hold
  U+0000; and the enums and bounds of `field_rules.json` (currencies, scopes, payment
  types, statuses, lengths, amounts > 0 with at most two decimals, page sizes)
  are applied — tests/edge/test_openapi.py holds that file equal to the engine's own
  constants.

protoc-gen-swagger 1.6 predates proto3 `optional` and refuses files that use it, so it
reads a copy of the descriptor set with `optional` turned into plain fields: that only
changes presence tracking, never the JSON. It also handles one proto package per run, so
each file is generated alone and the documents are merged (a clash fails loudly).
Path variables bound to nested fields (`{endpoint.id}`) are renamed `{endpoint_id}`:
many OpenAPI tools (schemathesis among them) fill paths with Python's str.format, where
a dot means attribute access. The URLs are the same.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Final

import payment_engine_protos
from google.api import field_behavior_pb2
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gateway.routes import Route, build_route_table

ROOT: Final = Path(__file__).resolve().parent.parent.parent
OUTPUT: Final = ROOT / "gateway" / "openapi" / "openapi.json"
FIELD_RULES: Final = ROOT / "gateway" / "openapi" / "field_rules.json"
WELL_KNOWN_PREFIX: Final = "protobuf"
DEFINITION_PREFIX: Final = "#/definitions/"
# Headers the engine reads, with what it accepts (corelib.idempotency.validate_key).
IDEMPOTENCY_KEY_LENGTH_MAX: Final = 255
PRINTABLE_TEXT: Final = "^[\\x20-\\x7e]*$"
K8S_COPY: Final = ROOT / "k8s" / "base" / "gateway" / "openapi.json"
PLUGIN_NAME: Final = "protoc-gen-swagger"
PLUGIN_OPTIONS: Final = "json_names_for_fields=true"
OWN_PREFIX: Final = "payment_engine/"
PROTOC_TIMEOUT_S: Final = 120
ERROR_ENVELOPE: Final = "ErrorEnvelope"
API_TITLE: Final = "Payment Engine REST API"
API_VERSION: Final = "v1"
_NESTED_VARIABLE: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\}")

# The proto3 JSON mapping of the well-known types the contracts use.
WELL_KNOWN_JSON: Final[dict[str, dict[str, Any]]] = {
    "protobufStruct": {"type": "object", "description": "Any JSON object."},
    "protobufValue": {"description": "Any JSON value."},
    "protobufListValue": {"type": "array", "items": {}, "description": "Any JSON array."},
    "protobufNullValue": {"description": "JSON null."},
    "protobufFieldMask": {"type": "string", "description": "Comma-separated field names (lowerCamelCase)."},
}

ERROR_ENVELOPE_SCHEMA: Final = {
    "type": "object",
    "description": "The guide's error envelope (Error Handling → Error Response Format).",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details", "timestamp", "requestId"],
            "properties": {
                "code": {"type": "string", "description": "The guide's error code, e.g. INSUFFICIENT_FUNDS."},
                "message": {"type": "string"},
                "details": {"type": "object", "description": "What the code is about, e.g. accountId."},
                "timestamp": {"type": "string", "format": "date-time"},
                "requestId": {"type": "string", "description": "Also in the X-Request-Id header."},
            },
        }
    },
}

RESPONSE_HEADERS: Final = {
    "X-Request-Id": {"type": "string", "description": "The caller's X-Request-Id, or a new one."},
    "RateLimit-Limit": {"type": "integer", "description": "Requests allowed in the current window."},
    "RateLimit-Remaining": {"type": "integer", "description": "Requests left in the current window."},
    "RateLimit-Reset": {"type": "integer", "description": "Seconds until the window resets."},
}
ERROR_HEADERS: Final = {
    **RESPONSE_HEADERS,
    "Retry-After": {"type": "integer", "description": "Seconds to wait, on 429 RATE_LIMIT_EXCEEDED."},
}
SECURITY_DEFINITIONS: Final = {
    "BearerToken": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Bearer <access_token>` from POST /api/v1/auth/login.",
    },
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
IDEMPOTENCY_KEY_PARAMETER: Final = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "type": "string",
    "maxLength": IDEMPOTENCY_KEY_LENGTH_MAX,
    "pattern": PRINTABLE_TEXT,
    "description": "Same key and same request replay the first response; a different request is an error.",
}


def plugin() -> str:
    found = shutil.which(PLUGIN_NAME)
    if found is None:
        raise SystemExit(f"{PLUGIN_NAME} not found: apt-get install golang-grpc-gateway")
    return found


def _drop_proto3_optional(message: descriptor_pb2.DescriptorProto) -> None:
    synthetic = set()
    for field in message.field:
        if field.proto3_optional:
            synthetic.add(field.oneof_index)
            field.proto3_optional = False
            field.ClearField("oneof_index")
    if synthetic:
        # protoc puts synthetic oneofs after the real ones.
        first = len(message.oneof_decl) - len(synthetic)
        if synthetic != set(range(first, len(message.oneof_decl))):
            raise ValueError(f"{message.name}: synthetic oneofs are not last")
        del message.oneof_decl[first:]
    for nested in message.nested_type:
        _drop_proto3_optional(nested)


def descriptor_set_for_plugin() -> descriptor_pb2.FileDescriptorSet:
    files = descriptor_pb2.FileDescriptorSet.FromString(payment_engine_protos.descriptor_set_bytes())
    for file in files.file:
        for message in file.message_type:
            _drop_proto3_optional(message)
    return files


def run_plugin(scratch: Path) -> list[dict[str, Any]]:
    """One Swagger document per contract file with services."""
    files = descriptor_set_for_plugin()
    descriptor_path = scratch / "descriptor_set.binpb"
    descriptor_path.write_bytes(files.SerializeToString())
    out = scratch / "out"
    out.mkdir()
    executable = plugin()
    documents = []
    for file in files.file:
        if not file.name.startswith(OWN_PREFIX) or not any(service.method for service in file.service):
            continue
        result = subprocess.run(  # noqa: S603 — fixed executable and arguments
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                f"--descriptor_set_in={descriptor_path}",
                f"--plugin={PLUGIN_NAME}={executable}",
                f"--swagger_out={PLUGIN_OPTIONS}:{out}",
                file.name,
            ],
            capture_output=True,
            text=True,
            timeout=PROTOC_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"{PLUGIN_NAME} failed on {file.name}:\n{result.stderr}")
        generated = out / file.name.replace(".proto", ".swagger.json")
        documents.append(json.loads(generated.read_text()))
    return documents


def merge(documents: list[dict[str, Any]]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    definitions: dict[str, Any] = {}
    for document in documents:
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                if method in paths.get(path, {}):
                    raise ValueError(f"{method.upper()} {path} is defined twice")
                paths.setdefault(path, {})[method] = operation
        for name, schema in document.get("definitions", {}).items():
            if name in definitions and definitions[name] != schema:
                raise ValueError(f"two different definitions named {name}")
            definitions[name] = schema
    return {"paths": paths, "definitions": definitions}


def openapi_path(template: str) -> str:
    """The OpenAPI path of an http rule's template: `{a.b}` becomes `{a_b}`."""
    return _NESTED_VARIABLE.sub(lambda match: "{" + match.group(1).replace(".", "_") + "}", template)


def _rename_path_parameters(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path":
            parameter["name"] = parameter["name"].replace(".", "_")


def _routes_by_operation() -> dict[tuple[str, str], Route]:
    return {(route.http_method, route.template.source): route for route in build_route_table().routes}


def _error_response() -> dict[str, Any]:
    return {
        "description": "The guide's error envelope, with the HTTP status of its code.",
        "schema": {"$ref": f"#/definitions/{ERROR_ENVELOPE}"},
        "headers": ERROR_HEADERS,
    }


def _finish_operation(operation: dict[str, Any], route: Route) -> dict[str, Any]:
    responses = operation.get("responses", {})
    success = responses.pop("200", None)
    if success is None:
        raise ValueError(f"{route.full_method}: the generator gave no 200 response")
    success = {
        **success,
        "description": success.get("description") or "Success.",
        "headers": RESPONSE_HEADERS,
    }
    operation["responses"] = {str(route.success_status): success, "default": _error_response()}
    if route.public:
        operation["security"] = []
    if route.http_method == "POST":
        operation["parameters"] = [*operation.get("parameters", []), IDEMPOTENCY_KEY_PARAMETER]
    return operation


def load_field_rules() -> dict[str, Any]:
    rules: dict[str, Any] = json.loads(FIELD_RULES.read_text())
    return rules


def _resolve_rule(rule: Any, sets: dict[str, Any]) -> Any:
    """A rule with the names of `sets` ("CURRENCIES", "AMOUNT"…) replaced by their values."""
    if isinstance(rule, str):
        return copy.deepcopy(sets[rule]) if rule in sets else rule
    if isinstance(rule, dict):
        return {key: _resolve_rule(value, sets) for key, value in rule.items()}
    return rule


def _definition_name(message: Descriptor) -> str:
    """How protoc-gen-swagger names a message's definition: `v1CreateAccountRequest`."""
    return message.file.package.rsplit(".", 1)[-1] + message.name


def required_fields(routes: list[Route]) -> dict[str, list[str]]:
    """Definition name → JSON names of its REQUIRED fields, for every message a request
    can carry."""
    found: dict[str, list[str]] = {}
    pending = [route.request_descriptor for route in routes]
    seen: set[str] = set()
    while pending:
        message = pending.pop()
        if message.full_name in seen or message.full_name.startswith("google."):
            continue
        seen.add(message.full_name)
        names = []
        for field in message.fields:
            behaviors = field.GetOptions().Extensions[field_behavior_pb2.field_behavior]
            if field_behavior_pb2.REQUIRED in behaviors:
                names.append(field.json_name)
            if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type is not None:
                pending.append(field.message_type)
        if names:
            found[_definition_name(message)] = names
    return found


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"].removeprefix(DEFINITION_PREFIX)] if isinstance(node.get("$ref"), str) else []
        return own + [name for value in node.values() for name in _references(value)]
    if isinstance(node, list):
        return [name for item in node for name in _references(item)]
    return []


def _reachable(definitions: dict[str, Any], roots: list[str]) -> list[str]:
    reached: list[str] = []
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in reached or name not in definitions:
            continue
        reached.append(name)
        pending.extend(_references(definitions[name]))
    return reached


def _no_nul(schema: dict[str, Any], sets: dict[str, Any]) -> None:
    """Plain strings may not hold U+0000 (corelib.request_validation refuses it)."""
    if schema.get("type") == "string" and not {"enum", "pattern", "format"} & set(schema):
        schema["pattern"] = sets["NO_NUL"]
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        _no_nul(schema["items"], sets)


def _non_empty_when_required(schema: dict[str, Any]) -> None:
    """A required string or list is refused when empty, as the engine refuses it."""
    for name in schema.get("required", []):
        field_schema = schema.get("properties", {}).get(name, {})
        if field_schema.get("type") == "string" and "enum" not in field_schema:
            field_schema.setdefault("minLength", 1)
        if field_schema.get("type") == "array":
            field_schema.setdefault("minItems", 1)


def _body_message(route: Route) -> Descriptor:
    if route.body == "*":
        return route.request_descriptor
    message = route.request_descriptor.fields_by_name[route.body].message_type
    assert message is not None, route.full_method
    return message


def _body_definition(
    operation: dict[str, Any],
    route: Route,
    definitions: dict[str, Any],
    required: dict[str, list[str]],
    shared: set[str],
) -> str | None:
    """The definition of the operation's body: the request message without the fields
    its path binds, with the message's required fields. It keeps the message's name
    (`v1CreateTransactionRequest`, as the SDKs' contract tests know it) unless other
    operations use the same definition (`v1WebhookEndpoint` is also a response): then
    the body gets a copy named after its RPC (`UpdateWebhookEndpointBody`)."""
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "body":
            continue
        original = parameter["schema"]["$ref"].removeprefix(DEFINITION_PREFIX)
        schema = copy.deepcopy(definitions[original])
        prefix = () if route.body == "*" else (route.body,)
        message = _body_message(route)
        path_bound = set()
        for variable in route.template.variables:
            if variable.field_path[: len(prefix)] == prefix and len(variable.field_path) == len(prefix) + 1:
                path_bound.add(message.fields_by_name[variable.field_path[-1]].json_name)
        properties = schema.get("properties", {})
        for name in path_bound:
            properties.pop(name, None)
        names = [name for name in required.get(original, []) if name not in path_bound]
        if names:
            schema["required"] = names
        else:
            schema.pop("required", None)
        body_name = f"{route.method_name}Body" if original in shared else original
        definitions[body_name] = schema
        parameter["schema"] = {"$ref": DEFINITION_PREFIX + body_name}
        parameter["required"] = bool(names)
        return body_name
    return None


def apply_request_rules(
    paths: dict[str, dict[str, Any]], definitions: dict[str, Any], routes: dict[tuple[str, str], Route]
) -> None:
    """Makes the contract as strict as the engine: see the module docstring."""
    rules = load_field_rules()
    sets: dict[str, Any] = rules["sets"]
    required = required_fields(list(routes.values()))
    bodies = []
    # A body definition is named after its RPC (`CreateAccountBody`); its rules are
    # written against the request message (`v1CreateAccountRequest`).
    rule_names: dict[str, str] = {}
    counts: dict[str, int] = {}
    for name in _references(paths) + _references(definitions):
        counts[name] = counts.get(name, 0) + 1
    shared = {name for name, count in counts.items() if count > 1}
    for (method, path), route in routes.items():
        operation = paths[openapi_path(path)][method.lower()]
        body = _body_definition(operation, route, definitions, required, shared)
        if body is not None:
            bodies.append(body)
            rule_names[body] = _definition_name(_body_message(route))
        for parameter in operation.get("parameters", []):
            if parameter.get("in") not in ("query", "path"):
                continue
            rule = rules["query"].get(f"{route.method_name}.{parameter['name']}") or rules["query"].get(
                parameter["name"]
            )
            if parameter.get("in") == "query" and rule:
                parameter.update(_resolve_rule(rule, sets))
                if "enum" in parameter:
                    # An empty filter is no filter.
                    parameter["enum"] = ["", *parameter["enum"]]
            _no_nul(parameter, sets)
    for name in _reachable(definitions, bodies):
        if name.startswith(WELL_KNOWN_PREFIX):
            continue
        schema = definitions[name]
        if name not in bodies and required.get(name):
            schema["required"] = required[name]
        _non_empty_when_required(schema)
        # proto3 JSON reads null as "not set"; the engine refuses it for required fields only.
        for field_name, field_schema in schema.get("properties", {}).items():
            if field_name not in schema.get("required", []) and "$ref" not in field_schema:
                field_schema["x-nullable"] = True
        schema["additionalProperties"] = False
        own_rules = rules["definitions"].get(rule_names.get(name, name), {})
        for field_name, field_schema in schema.get("properties", {}).items():
            rule = _resolve_rule(own_rules.get(field_name, {}), sets)
            field_schema.update(rule)
            _no_nul(field_schema, sets)


def build_document(documents: list[dict[str, Any]]) -> dict[str, Any]:
    merged = merge(documents)
    routes = _routes_by_operation()
    paths: dict[str, dict[str, Any]] = {}
    for path, operations in merged["paths"].items():
        for method, operation in operations.items():
            route = routes.pop((method.upper(), path), None)
            if route is None:
                # Annotated but never served (an internal RPC): not part of the contract.
                continue
            _rename_path_parameters(operation)
            paths.setdefault(openapi_path(path), {})[method] = _finish_operation(operation, route)
    if routes:
        missing = ", ".join(f"{method} {path}" for method, path in sorted(routes))
        raise ValueError(f"routes the generator did not describe: {missing}")
    definitions = {**merged["definitions"], ERROR_ENVELOPE: ERROR_ENVELOPE_SCHEMA}
    for name, schema in WELL_KNOWN_JSON.items():
        if name in definitions:
            definitions[name] = schema
    apply_request_rules(paths, definitions, _routes_by_operation())
    document = {
        "swagger": "2.0",
        "info": {
            "title": API_TITLE,
            "version": API_VERSION,
            "description": "Generated from the protos: python -m gateway.openapi.generate",
        },
        "basePath": "/",
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "securityDefinitions": SECURITY_DEFINITIONS,
        "security": [{"BearerToken": []}, {"ApiKey": []}],
        "paths": paths,
        "definitions": definitions,
    }
    document["definitions"] = _reachable_definitions(document)
    return document


def _reachable_definitions(document: dict[str, Any]) -> dict[str, Any]:
    """Only the schemas an HTTP operation can reach: internal RPCs' messages share the
    proto files but are not part of the public contract."""
    definitions: dict[str, Any] = document["definitions"]
    reached: set[str] = set()
    pending = [document["paths"]]
    # Bounded: each definition is expanded at most once.
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/definitions/"):
                name = ref.removeprefix("#/definitions/")
                if name not in reached and name in definitions:
                    reached.add(name)
                    pending.append(definitions[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return {name: schema for name, schema in definitions.items() if name in reached}


def render() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        document = build_document(run_plugin(Path(tmp)))
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="fail when the committed document is stale")
    options = parser.parse_args()
    content = render()
    targets = (OUTPUT, K8S_COPY)
    if options.check:
        stale = [
            str(path.relative_to(ROOT))
            for path in targets
            if not path.is_file() or path.read_bytes() != content
        ]
        if stale:
            print(
                f"stale OpenAPI ({', '.join(stale)}): run `python -m gateway.openapi.generate`",
                file=sys.stderr,
            )
            return 1
        print("OpenAPI document is up to date")
        return 0
    for path in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
