"""auth: tenants, users, sessions, refresh tokens, API keys, signing keys, login throttling

Revision ID: 0001_auth_initial
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_auth_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "auth"


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "tenants",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", ts, nullable=False, server_default=sa.text("now()")),
        schema=S,
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, sa.ForeignKey(f"{S}.tenants.id"), nullable=False),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("scopes", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("created_at", ts, nullable=False, server_default=sa.text("now()")),
        sa.Column("disabled_at", ts),
        schema=S,
    )
    op.create_index("users_username_key", "users", [sa.text("lower(username)")], unique=True, schema=S)
    op.create_table(
        "sessions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("user_id", sa.Text, sa.ForeignKey(f"{S}.users.id"), nullable=False),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("created_at", ts, nullable=False, server_default=sa.text("now()")),
        sa.Column("revoked_at", ts),
        sa.Column("revoke_reason", sa.Text),
        schema=S,
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("session_id", sa.Text, sa.ForeignKey(f"{S}.sessions.id"), nullable=False),
        sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("created_at", ts, nullable=False, server_default=sa.text("now()")),
        sa.Column("expires_at", ts, nullable=False),
        sa.Column("used_at", ts),
        schema=S,
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, sa.ForeignKey(f"{S}.tenants.id"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("scopes", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("secret_prefix", sa.Text, nullable=False),
        sa.Column("created_at", ts, nullable=False, server_default=sa.text("now()")),
        sa.Column("expires_at", ts),
        sa.Column("revoked_at", ts),
        sa.Column("last_used_at", ts),
        sa.Column("rotated_from_id", sa.Text),
        sa.Column("created_by", sa.Text, nullable=False),
        schema=S,
    )
    op.create_index("api_keys_tenant_idx", "api_keys", ["tenant_id", "id"], schema=S)
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.Text, primary_key=True),
        sa.Column("private_key_pem", sa.LargeBinary, nullable=False),
        sa.Column("public_key_raw", sa.LargeBinary, nullable=False),
        sa.Column("created_at", ts, nullable=False, server_default=sa.text("now()")),
        sa.Column("retire_at", ts),
        schema=S,
    )
    op.create_table(
        "login_attempts",
        sa.Column("bucket", sa.Text, nullable=False),
        sa.Column("window_start", ts, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start"),
        schema=S,
    )
    op.create_table(
        "sandbox_credentials",
        sa.Column("tenant_id", sa.Text, sa.ForeignKey(f"{S}.tenants.id"), primary_key=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("password", sa.Text, nullable=False),
        sa.Column("api_key", sa.Text, nullable=False),
        schema=S,
    )


def downgrade() -> None:
    for table in (
        "sandbox_credentials",
        "login_attempts",
        "signing_keys",
        "api_keys",
        "refresh_tokens",
        "sessions",
        "users",
        "tenants",
    ):
        op.drop_table(table, schema=S)
