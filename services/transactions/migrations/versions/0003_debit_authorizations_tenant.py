"""transactions: a debit authorization carries its tenant (the payer's, who granted it),
like every tenant-scoped row (docs/scaling.md)

Revision ID: 0003_debit_authorizations_tenant
Revises: 0002_idempotent_requests
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_debit_authorizations_tenant"
down_revision: str | None = "0002_idempotent_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "debit_authorizations",
        sa.Column("tenant_id", sa.Text(), nullable=False, server_default=sa.text("''")),
        schema="transactions",
    )
    op.execute("UPDATE transactions.debit_authorizations SET tenant_id = payer_tenant_id")


def downgrade() -> None:
    op.drop_column("debit_authorizations", "tenant_id", schema="transactions")
