"""The webhooks service's tables, in the `webhooks` schema: endpoints, the events they
are sent, one delivery per (event, endpoint, trigger), and the log of attempts."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from corelib.idempotency import idempotent_requests_table

SCHEMA = "webhooks"
metadata = MetaData(schema=SCHEMA)

endpoints = Table(
    "endpoints",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=text("''")),
    # Empty: every event type.
    Column("event_types", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    # Kept readable because every delivery is signed with it (HMAC needs the key itself).
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text),
    Column("previous_secret_expires_at", DateTime(timezone=True)),
    Column("status", Text, nullable=False),
    Column("disabled_reason", Text, nullable=False, server_default=text("''")),
    Column("disabled_at", DateTime(timezone=True)),
    # Failed attempts since the last success, and when that run of failures began.
    Column("consecutive_failures", Integer, nullable=False, server_default=text("0")),
    Column("failing_since", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("endpoints_tenant_idx", "tenant_id", "id"),
)

events = Table(
    "events",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    # When the producer recorded it (its commit), not when it arrived here.
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("events_tenant_created_idx", "tenant_id", "created_at", "id"),
    Index("events_created_idx", "created_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("endpoint_id", Text, ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", Text, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("trigger", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempt_count", Integer, nullable=False, server_default=text("0")),
    # Failed attempts in the current run of the retry schedule (reset on re-enable).
    Column("schedule_position", Integer, nullable=False, server_default=text("0")),
    Column("run_started_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    # Due time of a pending delivery; while a dispatcher holds it, the end of its lease.
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("claim_token", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("completed_at", DateTime(timezone=True)),
    Index(
        "deliveries_due_idx",
        "endpoint_id",
        "next_attempt_at",
        postgresql_where=text("status = 'pending'"),
    ),
    Index("deliveries_endpoint_idx", "endpoint_id", "id"),
    Index("deliveries_event_idx", "event_id"),
)

# No foreign key to deliveries: an attempt that finishes while its endpoint is being
# deleted is still recorded rather than failing the whole batch of results it is in.
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("delivery_id", Text, nullable=False),
    Column("endpoint_id", Text, nullable=False),
    Column("tenant_id", Text, nullable=False),
    Column("attempt_number", Integer, nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer),
    Column("latency_ms", Integer, nullable=False),
    Column("error", Text, nullable=False, server_default=text("''")),
    Column("response_body", Text, nullable=False, server_default=text("''")),
    Column("succeeded", Boolean, nullable=False),
    Index("delivery_attempts_delivery_idx", "delivery_id", "attempt_number"),
    Index("delivery_attempts_endpoint_idx", "endpoint_id"),
    Index("delivery_attempts_time_idx", "attempted_at"),
)

idempotent_requests = idempotent_requests_table(metadata)
