"""webhooks: endpoints, events, deliveries, delivery attempts

Revision ID: 0001_webhooks_initial
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001_webhooks_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "webhooks"


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    now = sa.text("now()")
    op.create_table(
        "endpoints",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("event_types", sa.ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("previous_secret", sa.Text),
        sa.Column("previous_secret_expires_at", ts),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("disabled_reason", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("disabled_at", ts),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("failing_since", ts),
        sa.Column("created_at", ts, nullable=False, server_default=now),
        sa.Column("updated_at", ts, nullable=False, server_default=now),
        sa.CheckConstraint("status IN ('enabled', 'disabled')", name="endpoints_status_check"),
        schema=S,
    )
    op.create_index("endpoints_tenant_idx", "endpoints", ["tenant_id", "id"], schema=S)
    op.create_table(
        "events",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("received_at", ts, nullable=False, server_default=now),
        schema=S,
    )
    op.create_index("events_tenant_created_idx", "events", ["tenant_id", "created_at", "id"], schema=S)
    op.create_index("events_created_idx", "events", ["created_at"], schema=S)
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column(
            "endpoint_id", sa.Text, sa.ForeignKey(f"{S}.endpoints.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("event_id", sa.Text, sa.ForeignKey(f"{S}.events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempt_count", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("schedule_position", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("run_started_at", ts, nullable=False, server_default=now),
        sa.Column("next_attempt_at", ts),
        sa.Column("claim_token", sa.Text),
        sa.Column("created_at", ts, nullable=False, server_default=now),
        sa.Column("completed_at", ts),
        sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="deliveries_status_check"),
        sa.CheckConstraint("trigger IN ('event', 'redelivery', 'test')", name="deliveries_trigger_check"),
        schema=S,
    )
    op.create_index(
        "deliveries_due_idx",
        "deliveries",
        ["endpoint_id", "next_attempt_at"],
        schema=S,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("deliveries_endpoint_idx", "deliveries", ["endpoint_id", "id"], schema=S)
    op.create_index("deliveries_event_idx", "deliveries", ["event_id"], schema=S)
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("delivery_id", sa.Text, nullable=False),
        sa.Column("endpoint_id", sa.Text, nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("attempt_number", sa.Integer, nullable=False),
        sa.Column("attempted_at", ts, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("latency_ms", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("response_body", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("succeeded", sa.Boolean, nullable=False),
        schema=S,
    )
    op.create_index(
        "delivery_attempts_delivery_idx", "delivery_attempts", ["delivery_id", "attempt_number"], schema=S
    )
    op.create_index("delivery_attempts_endpoint_idx", "delivery_attempts", ["endpoint_id"], schema=S)
    op.create_index("delivery_attempts_time_idx", "delivery_attempts", ["attempted_at"], schema=S)


def downgrade() -> None:
    for table in ("delivery_attempts", "deliveries", "events", "endpoints"):
        op.drop_table(table, schema=S)
