"""webhooks: Idempotency-Keys of POSTs that keep no key of their own

Revision ID: 0002_idempotent_requests
Revises: 0001_webhooks_initial
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

from corelib.idempotency import create_idempotent_requests_table

revision: str = "0002_idempotent_requests"
down_revision: str | None = "0001_webhooks_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_idempotent_requests_table("webhooks")


def downgrade() -> None:
    op.drop_table("idempotent_requests", schema="webhooks")
