"""accounts: accounts with derived balances, holds, journal entries, postings, outbox

Revision ID: 0001_accounts_initial
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from corelib.outbox import create_outbox_table

revision: str = "0001_accounts_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "accounts"


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    now = sa.text("now()")
    op.create_table(
        "accounts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("metadata", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("current_balance_minor", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("held_balance_minor", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", ts, nullable=False, server_default=now),
        sa.Column("updated_at", ts, nullable=False, server_default=now),
        sa.CheckConstraint("held_balance_minor >= 0", name="held_not_negative"),
        sa.CheckConstraint(
            "kind <> 'customer' OR current_balance_minor - held_balance_minor >= 0",
            name="available_not_negative",
        ),
        sa.CheckConstraint("status IN ('ACTIVE', 'FROZEN', 'CLOSED')", name="known_status"),
        schema=S,
    )
    op.create_index("accounts_tenant_idx", "accounts", ["tenant_id", "id"], schema=S)
    op.create_table(
        "holds",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text, sa.ForeignKey(f"{S}.accounts.id"), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("payee_account_id", sa.Text, sa.ForeignKey(f"{S}.accounts.id")),
        sa.Column("journal_entry_id", sa.Text),
        sa.Column("description", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("created_at", ts, nullable=False, server_default=now),
        sa.Column("updated_at", ts, nullable=False, server_default=now),
        sa.CheckConstraint("amount_minor > 0", name="hold_amount_positive"),
        sa.CheckConstraint("status IN ('HELD', 'POSTED', 'VOIDED')", name="hold_known_status"),
        schema=S,
    )
    op.create_index(
        "holds_open_idx", "holds", ["account_id"], schema=S, postgresql_where=sa.text("status = 'HELD'")
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("transaction_id", sa.Text, unique=True),
        sa.Column("description", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("created_at", ts, nullable=False, server_default=now),
        schema=S,
    )
    op.create_table(
        "postings",
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("journal_entry_id", sa.Text, sa.ForeignKey(f"{S}.journal_entries.id"), nullable=False),
        sa.Column("account_id", sa.Text, sa.ForeignKey(f"{S}.accounts.id"), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("balance_after_minor", sa.BigInteger, nullable=False),
        sa.Column("transaction_id", sa.Text),
        sa.Column("description", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("created_at", ts, nullable=False, server_default=now),
        sa.CheckConstraint("amount_minor <> 0", name="posting_amount_nonzero"),
        schema=S,
    )
    op.create_index("postings_account_idx", "postings", ["account_id", "seq"], schema=S)
    create_outbox_table(S)


def downgrade() -> None:
    for table in ("outbox", "postings", "journal_entries", "holds", "accounts"):
        op.drop_table(table, schema=S)
