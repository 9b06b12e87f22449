"""The generated OpenAPI document is current, complete and says what the edges do."""

from __future__ import annotations

import json
import os
import shutil
from typing import Any, Final

import pytest
import schemathesis
from schemathesis.core.result import Ok

from corelib.money import CURRENCY_EXPONENTS
from corelib.pagination import PAGE_SIZE_MAX
from gateway.openapi import OPENAPI_PATH, openapi_json_bytes
from gateway.openapi import generate as openapi_generate
from gateway.routes import build_route_table
from services.accounts.accounts_book import NAME_LENGTH_MAX as ACCOUNT_NAME_LENGTH_MAX
from services.accounts.rules import STATUSES as ACCOUNT_STATUSES
from services.auth.api_keys import NAME_LENGTH_MAX as API_KEY_NAME_LENGTH_MAX
from services.auth.scopes import ALL_SCOPES
from services.transactions.lifecycle import PUBLIC_STATUSES
from services.transactions.payment_types import CATALOGUE
from services.transactions.payments import DESCRIPTION_LENGTH_MAX, EXTERNAL_REFERENCE_LENGTH_MAX
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


# --- the contract is as strict as the engine ----------------------------------------------


def _body_schema(path: str, method: str) -> dict[str, Any]:
    operation = DOCUMENT["paths"][path][method]
    body = next(p for p in operation["parameters"] if p["in"] == "body")
    schema: dict[str, Any] = DOCUMENT["definitions"][body["schema"]["$ref"].removeprefix("#/definitions/")]
    return schema


def test_required_fields_come_from_the_field_behavior_annotations() -> None:
    payment = _body_schema("/api/v1/transactions", "post")
    assert set(payment["required"]) == {"fromAccountId", "toAccountId", "paymentTypeId", "amount"}
    assert payment["additionalProperties"] is False
    assert set(_body_schema("/api/v1/accounts", "post")["required"]) == {"name", "currencyCode"}
    assert set(_body_schema("/api/v1/auth/login", "post")["required"]) == {"username", "password"}


def test_a_body_without_required_fields_is_optional_and_never_repeats_the_path() -> None:
    for path, method in [
        ("/api/v1/accounts/{id}:freeze", "post"),
        ("/api/v1/accounts/{id}:unfreeze", "post"),
        ("/api/v1/api-keys/{id}:rotate", "post"),
    ]:
        body = next(p for p in DOCUMENT["paths"][path][method]["parameters"] if p["in"] == "body")
        assert body["required"] is False, path
        assert "id" not in _body_schema(path, method)["properties"], path


def test_bounds_and_enums_are_in_the_contract() -> None:
    amount = _body_schema("/api/v1/transactions", "post")["properties"]["amount"]
    assert amount["minimum"] == 0 and amount["exclusiveMinimum"] is True
    page_size = next(
        p for p in DOCUMENT["paths"]["/api/v1/accounts"]["get"]["parameters"] if p["name"] == "page_size"
    )
    assert (page_size["minimum"], page_size["maximum"]) == (0, 100)
    name = _body_schema("/api/v1/accounts", "post")["properties"]["name"]
    assert name["maxLength"] == 200


def test_the_contract_rules_match_the_engine() -> None:
    rules = openapi_generate.load_field_rules()
    sets = rules["sets"]
    assert sets["CURRENCIES"] == sorted(CURRENCY_EXPONENTS)
    assert sets["SCOPES"] == list(ALL_SCOPES)
    assert sets["ACCOUNT_STATUSES"] == list(ACCOUNT_STATUSES)
    assert sets["TRANSACTION_STATUSES"] == list(PUBLIC_STATUSES)
    ids = [payment_type.id for payment_type in CATALOGUE]
    assert sets["PAYMENT_TYPES"] == ids + [payment_type_id.lower() for payment_type_id in ids]
    assert rules["query"]["page_size"]["maximum"] == PAGE_SIZE_MAX
    definitions = rules["definitions"]
    assert definitions["v1CreateAccountRequest"]["name"]["maxLength"] == ACCOUNT_NAME_LENGTH_MAX
    assert definitions["v1CreateApiKeyRequest"]["name"]["maxLength"] == API_KEY_NAME_LENGTH_MAX
    payment = definitions["v1CreateTransactionRequest"]
    assert payment["description"]["maxLength"] == DESCRIPTION_LENGTH_MAX
    assert payment["externalReference"]["maxLength"] == EXTERNAL_REFERENCE_LENGTH_MAX
