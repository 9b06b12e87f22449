"""The running Python gateway keeps the OpenAPI contract (schemathesis, bounded).

A private engine (engine_stack_factory) takes the fuzzing, so no other test sees the
accounts, keys and payments it creates. Every operation gets a bounded number of
generated requests with the sandbox API key; no answer may be a 5xx, and every answer
must match the document (status, schema, content type).
"""

from __future__ import annotations

import json
from typing import Any, Final

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.openapi import OPENAPI_PATH, openapi_json_bytes
from tests.edge.test_openapi import operations_of

CASES_PER_OPERATION: Final = 15
REQUEST_TIMEOUT_S: Final = 10.0
# Operations that would end the credential the run itself uses.
CREDENTIAL_ENDING_OPERATIONS: Final = frozenset({"RevokeApiKey", "RotateApiKey", "Logout"})
# Fuzzing logs in with wrong passwords on purpose; the throttle must not end the run.
FUZZ_ENV: Final = {
    "PE_LOGIN_ATTEMPTS_PER_ADDRESS_MAX": "100000",
    "PE_LOGIN_FAILURES_PER_USERNAME_MAX": "100000",
}
CHECKS: Final = (
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
)


def _fixture(request: pytest.FixtureRequest, name: str) -> Any:
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        pytest.skip(f"needs the {name} fixture of tests/conftest.py")


@pytest.fixture
def private_engine(request: pytest.FixtureRequest) -> Any:
    return _fixture(request, "engine_stack_factory")(extra_env=FUZZ_ENV)


def test_gateway_serves_the_document(request: pytest.FixtureRequest) -> None:
    # Read-only: the shared engine serves it.
    engine = _fixture(request, "engine_stack")
    response = httpx.get(engine.base_url + OPENAPI_PATH, timeout=REQUEST_TIMEOUT_S)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == json.loads(openapi_json_bytes())


def test_gateway_keeps_the_contract_under_fuzzing(private_engine: Any) -> None:
    schema = schemathesis.openapi.from_dict(json.loads(openapi_json_bytes()))
    headers = {"X-API-Key": private_engine.credentials.api_key}
    failures: list[str] = []
    # Proof that the run reached the services: some generated requests must succeed.
    successes = 0
    operations = operations_of(schema)
    assert operations
    for operation in operations:
        if operation.definition.raw.get("operationId") in CREDENTIAL_ENDING_OPERATIONS:
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=CASES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: Any) -> None:
            nonlocal successes
            response = case.call(base_url=private_engine.base_url, headers=headers, timeout=REQUEST_TIMEOUT_S)
            case.validate_response(response, checks=CHECKS)
            successes += response.status_code < 300

        try:
            exercise()
        except Exception as failure:  # each operation's failures are collected, then shown together
            failures.append(f"{operation.label}: {failure}")
    assert failures == []
    assert successes > 0
