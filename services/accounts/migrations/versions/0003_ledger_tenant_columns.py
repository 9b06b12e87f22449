"""accounts: journal entries and postings carry their tenant, like every tenant-scoped
row (the schema is ready to be distributed by tenant_id; docs/scaling.md)

Revision ID: 0003_ledger_tenant_columns
Revises: 0002_idempotent_requests
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_ledger_tenant_columns"
down_revision: str | None = "0002_idempotent_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("journal_entries", "postings"):
        op.add_column(
            table,
            sa.Column("tenant_id", sa.Text(), nullable=False, server_default=sa.text("''")),
            schema="accounts",
        )
    # A posting belongs to its account's tenant ("" for the engine's system accounts).
    op.execute(
        "UPDATE accounts.postings AS p SET tenant_id = a.tenant_id "
        "FROM accounts.accounts AS a WHERE a.id = p.account_id"
    )
    # A transfer belongs to its payment's tenant (the hold's); funding to its account's.
    op.execute(
        "UPDATE accounts.journal_entries AS j SET tenant_id = h.tenant_id "
        "FROM accounts.holds AS h WHERE h.journal_entry_id = j.id"
    )
    op.execute(
        "UPDATE accounts.journal_entries AS j SET tenant_id = p.tenant_id "
        "FROM accounts.postings AS p "
        "WHERE p.journal_entry_id = j.id AND j.tenant_id = '' AND p.tenant_id <> ''"
    )


def downgrade() -> None:
    for table in ("journal_entries", "postings"):
        op.drop_column(table, "tenant_id", schema="accounts")
