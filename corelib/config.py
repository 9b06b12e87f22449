"""Process settings, read from the environment (PE_*) with command-line overrides.

Every process of the engine (each service, the gateway, the workers) reads the same
names, so `payment-engine up` and a Kubernetes Deployment configure them alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Final

MODES: Final = ("sandbox", "production")

DEFAULT_SERVICE_PORTS: Final[dict[str, int]] = {
    "auth": 50051,
    "accounts": 50052,
    "transactions": 50053,
    "webhooks": 50054,
}


@dataclass(frozen=True)
class Settings:
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/payment_engine"
    # A connection straight to PostgreSQL, never through a transaction-pooling PgBouncer:
    # migrations (advisory locks, DDL) and every LISTEN use it. Empty means database_url.
    database_direct_url: str = ""
    # Server-side prepared statements (psycopg prepares a statement run five times).
    # Behind PgBouncer in transaction mode: keep them on only when PgBouncer is 1.21+
    # with max_prepared_statements set; otherwise false (docs/deploy.md, "PgBouncer").
    database_prepared_statements: bool = True
    mode: str = "sandbox"
    log_format: str = "json"
    log_level: str = "info"
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 0
    metrics_port: int = 0
    auth_addr: str = "127.0.0.1:50051"
    accounts_addr: str = "127.0.0.1:50052"
    transactions_addr: str = "127.0.0.1:50053"
    webhooks_addr: str = "127.0.0.1:50054"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    # The Python gateway's connection bounds (gateway/http_protocol.py): a request's
    # head (request line and headers) and its body must each arrive within these
    # seconds, and one client address holds at most this many open connections.
    gateway_head_timeout_s: int = 10
    gateway_body_timeout_s: int = 30
    gateway_connections_per_address_max: int = 512
    # The local gateway's calls to the services go through their call tunnels, many
    # on one stream (corelib/call_tunnel_client.py); false makes each a unary call.
    gateway_call_tunnel: bool = True
    # The credential services present to auth's IssueServiceToken.
    service_secret: str = ""
    token_issuer: str = "https://payment-engine.local"  # noqa: S105 — a URL, not a secret
    token_audience: str = "payment-engine-api"  # noqa: S105 — an audience name
    db_pool_size: int = 10
    # Login throttling (per username: failures in a 15-minute window; per client
    # address: attempts per minute). Raise the address limit behind a shared NAT or
    # for load tests.
    login_failures_per_username_max: int = 5
    login_attempts_per_address_max: int = 60
    # Edge request quotas per minute (the sandbox's, from gateway/envoy/environments.toml).
    rate_limit_credential_per_minute: int = 6000
    rate_limit_address_per_minute: int = 12000
    # Payment rails. ACH collects payments into batches at settlement windows: every
    # `ach_window_seconds` when set (the sandbox: a few seconds), otherwise at the UTC
    # times of `ach_windows_utc`; a batch settles `ach_settlement_seconds` later.
    ach_window_seconds: int = 5
    ach_windows_utc: str = "14:00,18:00,20:45"
    ach_settlement_seconds: int = 2
    wire_processing_seconds: int = 1
    # Webhook delivery. The retry schedule is the delays after each failed attempt,
    # e.g. "5s,30s,2m,…,24h"; empty means the documented default (about three days).
    # Tests and the sandbox may compress it ("100ms,200ms,400ms").
    webhook_retry_schedule: str = ""
    # One attempt, connect to last byte; a slower endpoint counts as failed.
    webhook_timeout_ms: int = 5000

    @property
    def is_sandbox(self) -> bool:
        return self.mode == "sandbox"

    @property
    def direct_database_url(self) -> str:
        """Where migrations and LISTEN connect: `database_direct_url`, else `database_url`."""
        return self.database_direct_url or self.database_url


TRUE_WORDS: Final = ("1", "true", "yes", "on")
FALSE_WORDS: Final = ("0", "false", "no", "off")


def _parse(name: str, kind: object, raw: str) -> object:
    if kind in ("int", int):
        return int(raw)
    if kind in ("bool", bool):
        word = raw.strip().lower()
        if word not in TRUE_WORDS + FALSE_WORDS:
            raise ValueError(f"PE_{name.upper()} must be true or false, not {raw!r}")
        return word in TRUE_WORDS
    return raw


def load_settings(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from PE_<FIELD> variables, then explicit overrides (flags)."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = env.get(f"PE_{f.name.upper()}")
        if raw is None:
            continue
        values[f.name] = _parse(f.name, f.type, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = replace(Settings(), **values)  # type: ignore[arg-type]
    if settings.mode not in MODES:
        raise ValueError(f"PE_MODE must be one of {MODES}, not {settings.mode!r}")
    return settings
