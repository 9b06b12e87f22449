"""transactions: payments, idempotency keys, debit authorizations, ACH batches, outbox

Revision ID: 0001_transactions_initial
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from corelib.outbox import create_outbox_table

revision: str = "0001_transactions_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "transactions"


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    now = sa.text("now()")
    op.create_table(
        "transactions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("payer_tenant_id", sa.Text, nullable=False),
        sa.Column("payee_tenant_id", sa.Text, nullable=False),
        sa.Column("from_account_id", sa.Text, nullable=False),
        sa.Column("to_account_id", sa.Text, nullable=False),
        sa.Column("payment_type", sa.Text, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("external_reference", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("metadata", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("failure_reason", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("saga_step", sa.Text, nullable=False),
        sa.Column("void_outcome", sa.Text),
        sa.Column("batch_id", sa.Text),
        sa.Column("debit_authorization_id", sa.Text),
        sa.Column("created_at", ts, nullable=False, server_default=now),
        sa.Column("updated_at", ts, nullable=False, server_default=now),
        sa.Column("completed_at", ts),
        sa.Column("expected_settlement_at", ts),
        sa.Column("next_attempt_at", ts),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELED', 'REJECTED')",
            name="known_status",
        ),
        schema=S,
    )
    op.create_index(
        "transactions_due_idx",
        "transactions",
        ["next_attempt_at"],
        schema=S,
        postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
    )
    op.create_index("transactions_payer_idx", "transactions", ["payer_tenant_id", "id"], schema=S)
    op.create_index("transactions_payee_idx", "transactions", ["payee_tenant_id", "id"], schema=S)
    op.create_index(
        "transactions_reference_idx", "transactions", ["tenant_id", "external_reference"], schema=S
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("request_hash", sa.LargeBinary, nullable=False),
        sa.Column("transaction_id", sa.Text),
        sa.Column("response", sa.LargeBinary),
        sa.Column("error", JSONB),
        sa.Column("created_at", ts, nullable=False, server_default=now),
        sa.Column("expires_at", ts, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key"),
        schema=S,
    )
    op.create_index("idempotency_keys_expiry_idx", "idempotency_keys", ["expires_at"], schema=S)
    op.create_table(
        "debit_authorizations",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("payer_tenant_id", sa.Text, nullable=False),
        sa.Column("payer_account_id", sa.Text, nullable=False),
        sa.Column("grantee_tenant_id", sa.Text, nullable=False),
        sa.Column("max_amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("created_at", ts, nullable=False, server_default=now),
        sa.Column("revoked_at", ts),
        schema=S,
    )
    op.create_index(
        "debit_authorizations_lookup_idx",
        "debit_authorizations",
        ["payer_account_id", "grantee_tenant_id"],
        schema=S,
    )
    op.create_table(
        "ach_batches",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("window_closes_at", ts, nullable=False),
        sa.Column("settles_at", ts, nullable=False),
        sa.Column("transaction_count", sa.Integer, nullable=False),
        sa.Column("created_at", ts, nullable=False, server_default=now),
        schema=S,
    )
    create_outbox_table(S)


def downgrade() -> None:
    for table in ("outbox", "ach_batches", "debit_authorizations", "idempotency_keys", "transactions"):
        op.drop_table(table, schema=S)
