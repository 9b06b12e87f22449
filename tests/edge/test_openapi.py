"""The generated OpenAPI document is current, complete and says what the edges do."""

from __future__ import annotations

import json
import os
import shutil
from typing import Any, Final

import pytest
import schemathesis
from schemathesis.core.result import Ok

from gateway.openapi import OPENAPI_PATH, openapi_json_bytes
from gateway.openapi import generate as openapi_generate
from gateway.routes import build_route_table
from tests.edge.envoy_support import ROOT
from tests.edge.test_envoy_routes import RULES

DOCUMENT: Final[dict[str, Any]] = json.loads(openapi_json_bytes())


def operations_of(schema: Any) -> list[Any]:
    """Every operation schemathesis reads from the document; one it cannot read fails."""
    found = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise AssertionError(f"schemathesis cannot read an operation: {result.err()!r}")
        found.append(result.ok())
    return found


def _require_plugin() -> None:
    if shutil.which(openapi_generate.PLUGIN_NAME) is None:
        if os.environ.get("CI"):
            pytest.fail("protoc-gen-swagger is missing: CI must `apt-get install golang-grpc-gateway`")
        pytest.skip("protoc-gen-swagger is not installed (apt-get install golang-grpc-gateway)")


def test_document_is_up_to_date() -> None:
    _require_plugin()
    fresh = openapi_generate.render()
    assert (ROOT / "gateway" / "openapi" / "openapi.json").read_bytes() == fresh, (
        "run python -m gateway.openapi.generate"
    )
    assert (ROOT / "k8s" / "base" / "gateway" / "openapi.json").read_bytes() == fresh


def test_every_http_rule_is_an_operation() -> None:
    operations = {
        (method.upper(), path): operation
        for path, methods in DOCUMENT["paths"].items()
        for method, operation in methods.items()
    }
    expected = {(method, openapi_generate.openapi_path(template)): rpc for _, rpc, method, template in RULES}
    assert set(operations) == set(expected)
    for key, rpc in expected.items():
        assert operations[key]["operationId"] == rpc.rsplit("/", 1)[1]


def test_operations_say_how_the_gateway_answers() -> None:
    for route in build_route_table().routes:
        path = openapi_generate.openapi_path(route.template.source)
        operation = DOCUMENT["paths"][path][route.http_method.lower()]
        assert set(operation["responses"]) == {str(route.success_status), "default"}
        assert operation["responses"]["default"]["schema"] == {"$ref": "#/definitions/ErrorEnvelope"}
        assert ("security" in operation and operation["security"] == []) == route.public, route.full_method
        if route.http_method == "POST":
            assert any(parameter["name"] == "Idempotency-Key" for parameter in operation["parameters"])


def test_well_known_types_have_their_json_form() -> None:
    definitions = DOCUMENT["definitions"]
    assert definitions["protobufStruct"]["type"] == "object"
    assert "properties" not in definitions["protobufStruct"]
    assert set(DOCUMENT["definitions"]["ErrorEnvelope"]["properties"]["error"]["required"]) == {
        "code",
        "message",
        "details",
        "timestamp",
        "requestId",
    }


def test_every_reference_resolves() -> None:
    def references(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [ref for value in node.values() for ref in references(value)]
        if isinstance(node, list):
            return [ref for item in node for ref in references(item)]
        return []

    for reference in references(DOCUMENT):
        assert reference.startswith("#/definitions/")
        assert reference.removeprefix("#/definitions/") in DOCUMENT["definitions"], reference


def test_schemathesis_reads_every_operation() -> None:
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    operations = operations_of(schema)
    assert len(operations) == len(RULES)


def test_the_document_path_is_not_an_rpc_path() -> None:
    assert OPENAPI_PATH not in DOCUMENT["paths"]
