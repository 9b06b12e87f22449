"""The running Python gateway keeps the OpenAPI contract, both ways (schemathesis with
every check it has, bounded).

A private engine (engine_stack_factory) takes the fuzzing, so no other test sees the
accounts, keys and payments it creates. Every operation gets a bounded number of
generated requests with the sandbox API key, valid ones (positive mode) and invalid
ones (negative mode), and every answer goes through all of schemathesis's checks: no
5xx; status, schema, headers and content type as documented; input the contract allows
is accepted and input it forbids is refused; missing credentials are refused.
"""

from __future__ import annotations

import json
from typing import Any, Final

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks, positive_data_acceptance
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from gateway.openapi import OPENAPI_PATH, openapi_json_bytes
from tests.edge.test_openapi import operations_of

CASES_PER_OPERATION: Final = 8
REQUEST_TIMEOUT_S: Final = 10.0
FAILURE_SHOWN_MAX: Final = 600
# Operations that would end the credential the run itself uses.
# Beside what schemathesis counts as accepting valid input, 422: the guide's code for a
# well-formed request the state of things refuses (INSUFFICIENT_FUNDS, a frozen account,
# an Idempotency-Key already used for another request). 400 stays a failure.
REFUSED_BY_STATE: Final = 422
# Rules the engine checks that no JSON schema can state (another field, the clock, a
# URL's host): a 400 naming exactly this field for exactly this operation is not a
# contract breach. Everything else the engine checks is in the contract.
RULES_BEYOND_SCHEMA: Final = {
    ("CreateApiKey", "expireTime"): "must lie within the next ten years",
    ("ListEvents", "createdAfter"): "must be before createdBefore",
    ("ListTransactions", "createdAfter"): "must be before createdBefore",
    ("CreateTransaction", "toAccountId"): "must differ from fromAccountId",
    ("CreateWebhookEndpoint", "url"): "must be a URL to a host the mode allows",
    ("UpdateWebhookEndpoint", "url"): "must be a URL to a host the mode allows",
}
# Swagger 2.0 cannot constrain the keys of a free-form object (no propertyNames), so a
# NUL in a metadata key or nested value is refused by the engine beyond the contract.
FREE_FORM_FIELDS: Final = ("metadata.", "transactions[")
CREDENTIAL_ENDING_OPERATIONS: Final = frozenset({"RevokeApiKey", "RotateApiKey", "Logout"})
# Fuzzing logs in with wrong passwords on purpose; the throttle must not end the run.
FUZZ_ENV: Final = {
    "PE_LOGIN_ATTEMPTS_PER_ADDRESS_MAX": "100000",
    "PE_LOGIN_FAILURES_PER_USERNAME_MAX": "100000",
}


def _fuzz(
    operation: Any, mode: GenerationMode, base_url: str, checks: list[Any], seen: dict[str, str]
) -> int:
    """Runs one operation's generated requests through every check; the count of 2xx."""
    operation_id = operation.definition.raw.get("operationId")
    successes = 0
    # Page tokens are issued by the engine, never made up: a generated one is refused
    # (400) however well it fits the schema, so valid requests ask for the first page.
    takes_token = any(p["name"] == "page_token" for p in operation.definition.raw.get("parameters", []))
    fixed_query = {"page_token": ""} if takes_token and mode is GenerationMode.POSITIVE else None

    @given(case=operation.as_strategy(generation_mode=mode, query=fixed_query))
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
        response = case.call(base_url=base_url, timeout=REQUEST_TIMEOUT_S)
        sent = f"{case.path_parameters} {case.query} {case.body!r}"
        seen["seen"] = f"{response.status_code} {response.text[:FAILURE_SHOWN_MAX]} ← {sent}"[
            :FAILURE_SHOWN_MAX
        ]
        case_checks = checks
        refused_by_state = response.status_code == REFUSED_BY_STATE
        if refused_by_state or (response.status_code == 400 and _beyond_schema(operation_id, response)):
            case_checks = [check for check in checks if check is not positive_data_acceptance]
        case.validate_response(response, checks=case_checks)
        successes += response.status_code < 300

    exercise()
    return successes


def _beyond_schema(operation_id: str, response: Any) -> bool:
    try:
        field = response.json()["error"]["details"].get("field")
    except (ValueError, KeyError, AttributeError):
        return False
    if (operation_id, field) in RULES_BEYOND_SCHEMA:
        return True
    free_form = isinstance(field, str) and field.startswith(FREE_FORM_FIELDS) and ".metadata" in f".{field}"
    return free_form and "NUL" in response.json()["error"]["message"]


def all_checks() -> list[Any]:
    """Every check schemathesis has (what `--checks all` runs)."""
    load_all_checks()
    return list(CHECKS.get_all())


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
    # The sandbox API key through schemathesis's own auth configuration, so its auth
    # checks know the credentials and can probe the engine without them.
    config = SchemathesisConfig.from_dict(
        {
            "auth": {
                "openapi": {"ApiKey": {"api_key": private_engine.credentials.api_key}},
                "auto-signup": False,
            }
        }
    )
    schema = schemathesis.openapi.from_dict(json.loads(openapi_json_bytes()), config=config)
    failures: list[str] = []
    # Proof that the run reached the services: some generated requests must succeed.
    successes = 0
    operations = operations_of(schema)
    assert operations
    checks = all_checks()
    # What the last generated request and its answer were, to show beside a failure.
    last_exchange: dict[str, str] = {}
    assert len(checks) >= 14
    for operation, mode in [(op, mode) for op in operations for mode in GenerationMode]:
        if operation.definition.raw.get("operationId") in CREDENTIAL_ENDING_OPERATIONS:
            continue
        try:
            successes += _fuzz(operation, mode, private_engine.base_url, checks, last_exchange)
        except Unsatisfiable:
            # Nothing of this operation can be made invalid (no parameters, no body).
            assert mode is GenerationMode.NEGATIVE, operation.label
        except FailureGroup as group:  # each operation's failures are collected, then shown together
            shown = "; ".join(
                f"{type(failure).__name__}: {failure.message[:FAILURE_SHOWN_MAX]}"
                for failure in group.exceptions
            )
            failures.append(
                f"{operation.label} ({mode.value}): {shown} — last: {last_exchange.get('seen', '')}"
            )
        except Exception as failure:
            failures.append(f"{operation.label} ({mode.value}): {failure!r}"[:FAILURE_SHOWN_MAX])
    assert not failures, f"{len(failures)} failing:\n" + "\n".join(failures)
    assert successes > 0
