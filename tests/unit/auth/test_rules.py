"""Plain rules of the auth service, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from corelib.errors import ServiceError
from corelib.grpc_pipeline import authorize
from corelib.request_context import Principal
from services.auth.api_keys import key_status
from services.auth.login_throttle import USERNAME_WINDOW, window_start
from services.auth.repository import ApiKeyRow
from services.auth.scopes import ALL_SCOPES, ensure_grantable, validate_scopes
from services.auth.service_principals import authenticate_service

NOW = datetime(2026, 11, 28, 10, 7, 31, tzinfo=UTC)


def key(**changes: object) -> ApiKeyRow:
    values: dict[str, object] = {
        "id": "key_1",
        "tenant_id": "org_1",
        "name": "k",
        "scopes": ["account:read"],
        "secret_prefix": "pe_sandbox_abcd",
        "created_at": NOW - timedelta(days=1),
        "expires_at": None,
        "revoked_at": None,
        "last_used_at": None,
        "rotated_from_id": None,
    }
    values.update(changes)
    return ApiKeyRow(**values)  # type: ignore[arg-type]


def test_window_start_aligns_to_the_window() -> None:
    start = window_start(NOW, USERNAME_WINDOW)
    assert start == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert window_start(start + USERNAME_WINDOW - timedelta(seconds=1), USERNAME_WINDOW) == start


def test_scopes_are_validated_and_ordered() -> None:
    assert validate_scopes(["account:read", "transaction:read"]) == ["transaction:read", "account:read"]
    with pytest.raises(ServiceError) as unknown:
        validate_scopes(["account:read", "admin:all"])
    assert unknown.value.reason == "INVALID_REQUEST"
    assert unknown.value.details["unknown"] == ["admin:all"]
    with pytest.raises(ServiceError):
        validate_scopes([])


def test_a_key_cannot_grant_more_than_its_creator_holds() -> None:
    ensure_grantable(["account:read"], frozenset(ALL_SCOPES))
    with pytest.raises(ServiceError) as denied:
        ensure_grantable(["account:write"], frozenset({"account:read", "apikey:write"}))
    assert denied.value.reason == "FORBIDDEN"


def test_key_status_follows_revocation_and_expiry() -> None:
    assert key_status(key(), NOW) == "active"
    assert key_status(key(expires_at=NOW), NOW) == "expired"
    assert key_status(key(expires_at=NOW + timedelta(seconds=1)), NOW) == "active"
    assert key_status(key(revoked_at=NOW, expires_at=NOW - timedelta(days=1)), NOW) == "revoked"


def test_scope_checks() -> None:
    reader = Principal("key_1", "api_key", "org_1", frozenset({"account:read"}))
    authorize(reader, scope="account:read", internal=False)
    authorize(reader, scope="", internal=False)
    with pytest.raises(ServiceError) as missing:
        authorize(reader, scope="account:write", internal=False)
    assert missing.value.reason == "FORBIDDEN"
    with pytest.raises(ServiceError) as internal:
        authorize(reader, scope="", internal=True)
    assert internal.value.reason == "FORBIDDEN"
    service = Principal("svc:transactions", "service", "", frozenset())
    authorize(service, scope="", internal=True)


def test_service_principals_need_the_deployment_secret() -> None:
    assert authenticate_service("transactions", "s3cret", "s3cret").is_service
    for name, secret, configured in [
        ("transactions", "wrong", "s3cret"),
        ("stranger", "s3cret", "s3cret"),
        ("transactions", "", ""),
    ]:
        with pytest.raises(ServiceError) as denied:
            authenticate_service(name, secret, configured)
        assert denied.value.reason == "UNAUTHORIZED"
