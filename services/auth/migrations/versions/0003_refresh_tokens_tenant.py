"""auth: refresh tokens carry their tenant, like every tenant-scoped row (the schema is
ready to be distributed by tenant_id; docs/scaling.md)

Revision ID: 0003_refresh_tokens_tenant
Revises: 0002_idempotent_requests
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_refresh_tokens_tenant"
down_revision: str | None = "0002_idempotent_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("refresh_tokens", sa.Column("tenant_id", sa.Text(), nullable=True), schema="auth")
    # Backfilled from each token's session, then required.
    op.execute(
        "UPDATE auth.refresh_tokens AS token SET tenant_id = session.tenant_id "
        "FROM auth.sessions AS session WHERE session.id = token.session_id"
    )
    op.alter_column("refresh_tokens", "tenant_id", nullable=False, schema="auth")


def downgrade() -> None:
    op.drop_column("refresh_tokens", "tenant_id", schema="auth")
