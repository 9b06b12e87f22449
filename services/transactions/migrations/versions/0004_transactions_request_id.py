"""transactions: a payment keeps the X-Request-Id of the request that created it

Revision ID: 0004_transactions_request_id
Revises: 0003_debit_authorizations_tenant
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_transactions_request_id"
down_revision: str | None = "0003_debit_authorizations_tenant"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "transactions",
        sa.Column("request_id", sa.Text(), nullable=False, server_default=sa.text("''")),
        schema="transactions",
    )


def downgrade() -> None:
    op.drop_column("transactions", "request_id", schema="transactions")
