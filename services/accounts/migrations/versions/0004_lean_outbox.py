"""accounts: the outbox loses an index that only repeated its primary key (published
rows are deleted, never marked)

Revision ID: 0004_lean_outbox
Revises: 0003_ledger_tenant_columns
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_lean_outbox"
down_revision: str | None = "0003_ledger_tenant_columns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("outbox_unpublished_idx", table_name="outbox", schema="accounts")


def downgrade() -> None:
    op.create_index(
        "outbox_unpublished_idx",
        "outbox",
        ["id"],
        schema="accounts",
        postgresql_where=sa.text("published_at IS NULL"),
    )
