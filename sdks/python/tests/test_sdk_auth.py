"""Credentials: API key, and the username/password session that logs in, renews before
expiry and after a 401, and starts over when its refresh token is refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from engine_double import (
    API_KEY,
    EngineDouble,
    FakeClock,
    error_response,
    json_response,
    make_async_client,
    make_client,
    run,
    token_json,
    transaction_json,
)

from payment_engine import PaymentEngineClient, UnauthorizedError

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
GET_TXN = "/api/v1/transactions/txn_1"


def test_api_key_goes_in_x_api_key() -> None:
    engine = EngineDouble().on("GET", GET_TXN, json_response(200, transaction_json()))
    client = make_client(engine)

    client.transactions.get("txn_1")

    request = engine.requests[0]
    assert request.headers["X-API-Key"] == API_KEY
    assert "Authorization" not in request.headers


def test_api_key_401_is_raised_without_retry() -> None:
    engine = EngineDouble().on("GET", GET_TXN, error_response(401, "UNAUTHORIZED"))
    client = make_client(engine)

    with pytest.raises(UnauthorizedError):
        client.transactions.get("txn_1")

    assert len(engine.requests) == 1


def test_password_client_logs_in_once_and_sends_the_bearer_token() -> None:
    engine = (
        EngineDouble()
        .on("POST", LOGIN, json_response(200, token_json("at_1", "rt_1")))
        .on("GET", GET_TXN, json_response(200, transaction_json()))
    )
    client = make_client(engine, username="alice", password="s3cret")

    client.transactions.get("txn_1")
    client.transactions.get("txn_1")

    login, first, second = engine.requests
    assert (login.method, login.path) == ("POST", LOGIN)
    assert login.json == {"username": "alice", "password": "s3cret"}
    assert "Authorization" not in login.headers
    assert first.headers["Authorization"] == second.headers["Authorization"] == "Bearer at_1"


def test_token_is_refreshed_before_it_expires() -> None:
    engine = (
        EngineDouble()
        .on("POST", LOGIN, json_response(200, token_json("at_1", "rt_1", expires_in=3600)))
        .on("POST", REFRESH, json_response(200, token_json("at_2", "rt_2", expires_in=3600)))
        .on("GET", GET_TXN, json_response(200, transaction_json()))
    )
    clock = FakeClock()
    client = make_client(engine, clock=clock, username="alice", password="s3cret")

    client.transactions.get("txn_1")
    clock.now += 3500  # still more than a minute left: no renewal
    client.transactions.get("txn_1")
    clock.now += 50  # within the last minute: renew first
    client.transactions.get("txn_1")

    assert [r.path for r in engine.requests] == [LOGIN, GET_TXN, GET_TXN, REFRESH, GET_TXN]
    assert engine.calls("POST", REFRESH)[0].json == {"refresh_token": "rt_1"}
    assert engine.requests[-1].headers["Authorization"] == "Bearer at_2"


def test_a_401_refreshes_and_replays_the_request_once_with_the_same_key() -> None:
    engine = (
        EngineDouble()
        .on("POST", LOGIN, json_response(200, token_json("at_1", "rt_1")))
        .on("POST", REFRESH, json_response(200, token_json("at_2", "rt_2")))
        .on(
            "POST",
            "/api/v1/transactions",
            error_response(401, "UNAUTHORIZED", "Token revoked"),
            json_response(201, transaction_json()),
        )
    )
    client = make_client(engine, username="alice", password="s3cret")

    transaction = client.transactions.create(
        from_account_id="acc_123", to_account_id="acc_456", payment_type_id="rtp", amount=5
    )

    assert transaction.id == "txn_1"
    first, second = engine.calls("POST", "/api/v1/transactions")
    assert first.headers["Authorization"] == "Bearer at_1"
    assert second.headers["Authorization"] == "Bearer at_2"
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]


def test_a_refused_refresh_token_logs_in_again() -> None:
    engine = (
        EngineDouble()
        .on(
            "POST",
            LOGIN,
            json_response(200, token_json("at_1", "rt_1")),
            json_response(200, token_json("at_3", "rt_3")),
        )
        .on("POST", REFRESH, error_response(401, "UNAUTHORIZED", "Refresh token already used"))
        .on("GET", GET_TXN, error_response(401, "UNAUTHORIZED"), json_response(200, transaction_json()))
    )
    client = make_client(engine, username="alice", password="s3cret")

    client.transactions.get("txn_1")

    assert [r.path for r in engine.requests] == [LOGIN, GET_TXN, REFRESH, LOGIN, GET_TXN]
    assert engine.requests[-1].headers["Authorization"] == "Bearer at_3"


def test_a_second_401_is_raised() -> None:
    engine = (
        EngineDouble()
        .on("POST", LOGIN, json_response(200, token_json("at_1", "rt_1")))
        .on("POST", REFRESH, json_response(200, token_json("at_2", "rt_2")))
        .on("GET", GET_TXN, error_response(401, "UNAUTHORIZED"))
    )
    client = make_client(engine, username="alice", password="s3cret")

    with pytest.raises(UnauthorizedError):
        client.transactions.get("txn_1")

    assert [r.path for r in engine.requests] == [LOGIN, GET_TXN, REFRESH, GET_TXN]


def test_wrong_password_is_unauthorized() -> None:
    engine = EngineDouble().on("POST", LOGIN, error_response(401, "UNAUTHORIZED", "Invalid credentials"))
    client = make_client(engine, username="alice", password="wrong")

    with pytest.raises(UnauthorizedError, match="Invalid credentials"):
        client.transactions.get("txn_1")

    assert len(engine.requests) == 1


def test_logout_ends_the_session_and_the_next_call_logs_in_again() -> None:
    engine = (
        EngineDouble()
        .on(
            "POST",
            LOGIN,
            json_response(200, token_json("at_1", "rt_1")),
            json_response(200, token_json("at_2", "rt_2")),
        )
        .on("POST", "/api/v1/auth/logout", json_response(200, {"revoked": True}))
        .on("GET", GET_TXN, json_response(200, transaction_json()))
    )
    client = make_client(engine, username="alice", password="s3cret")

    client.transactions.get("txn_1")
    assert client.auth.logout() is True
    client.transactions.get("txn_1")

    assert [r.path for r in engine.requests] == [LOGIN, GET_TXN, "/api/v1/auth/logout", LOGIN, GET_TXN]
    assert engine.requests[-1].headers["Authorization"] == "Bearer at_2"


def test_async_password_client_refreshes_on_401() -> None:
    engine = (
        EngineDouble()
        .on("POST", LOGIN, json_response(200, token_json("at_1", "rt_1")))
        .on("POST", REFRESH, json_response(200, token_json("at_2", "rt_2")))
        .on("GET", GET_TXN, error_response(401, "UNAUTHORIZED"), json_response(200, transaction_json()))
    )

    async def scenario() -> None:
        async with make_async_client(engine, username="alice", password="s3cret") as client:
            await client.transactions.get("txn_1")

    run(scenario())

    assert [r.path for r in engine.requests] == [LOGIN, GET_TXN, REFRESH, GET_TXN]
    assert engine.requests[-1].headers["Authorization"] == "Bearer at_2"


def test_access_token_is_sent_as_is() -> None:
    engine = EngineDouble().on("GET", GET_TXN, json_response(200, transaction_json()))
    client = make_client(engine, access_token="at_static")

    client.transactions.get("txn_1")

    assert engine.requests[0].headers["Authorization"] == "Bearer at_static"


def test_credentials_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAYMENT_ENGINE_API_KEY", raising=False)
    with pytest.raises(ValueError, match="no credentials"):
        PaymentEngineClient(base_url="https://api.test")
    with pytest.raises(ValueError, match="one way"):
        PaymentEngineClient(api_key="k", username="u", password="p", base_url="https://api.test")
    with pytest.raises(ValueError, match="together"):
        PaymentEngineClient(username="u", base_url="https://api.test")


def test_api_key_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_ENGINE_API_KEY", "pe_from_env")
    engine = EngineDouble().on("GET", GET_TXN, json_response(200, transaction_json()))
    client = make_client(engine, access_token=None)

    client.transactions.get("txn_1")

    assert engine.requests[0].headers["X-API-Key"] == "pe_from_env"


def test_threads_sharing_a_client_log_in_once() -> None:
    engine = (
        EngineDouble()
        .on("POST", LOGIN, json_response(200, token_json("at_1", "rt_1")))
        .on("GET", GET_TXN, json_response(200, transaction_json()))
    )
    client = make_client(engine, username="alice", password="s3cret")

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda _: client.transactions.get("txn_1").id, range(16)))

    assert ids == ["txn_1"] * 16
    assert len(engine.calls("POST", LOGIN)) == 1
