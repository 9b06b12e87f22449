"""transactions: a payment keeps the Idempotency-Key it was created with, so that
recovery finds the key by its primary key; the outbox loses an index that only repeated
its primary key (published rows are deleted, never marked)

Revision ID: 0005_payment_keys_lean_outbox
Revises: 0004_transactions_request_id
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_payment_keys_lean_outbox"
down_revision: str | None = "0004_transactions_request_id"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "transactions",
        sa.Column("idempotency_key", sa.Text(), nullable=False, server_default=sa.text("''")),
        schema="transactions",
    )
    op.drop_index("outbox_unpublished_idx", table_name="outbox", schema="transactions")


def downgrade() -> None:
    op.create_index(
        "outbox_unpublished_idx",
        "outbox",
        ["id"],
        schema="transactions",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_column("transactions", "idempotency_key", schema="transactions")
