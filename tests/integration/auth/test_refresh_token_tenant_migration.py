"""Migration 0003 gives refresh tokens their tenant, backfilled from their sessions."""

from __future__ import annotations

import psycopg

from corelib.db import libpq_url
from corelib.migrations import upgrade
from launcher.embedded_db import EmbeddedPostgres
from tests.harness.postgres import fresh_database


def test_existing_refresh_tokens_get_their_sessions_tenant(embedded_postgres: EmbeddedPostgres) -> None:
    url = fresh_database(embedded_postgres, "refresh_tenant")
    upgrade("auth", url, "0002_idempotent_requests")
    with psycopg.connect(libpq_url(url), autocommit=True) as db:
        for tenant in ("org_a", "org_b"):
            db.execute("INSERT INTO auth.tenants (id, name) VALUES (%s, %s)", (tenant, tenant))
            db.execute(
                "INSERT INTO auth.users (id, tenant_id, username, password_hash, scopes) "
                "VALUES (%s, %s, %s, 'x', '{}')",
                (f"usr_{tenant}", tenant, f"user_{tenant}"),
            )
            db.execute(
                "INSERT INTO auth.sessions (id, user_id, tenant_id) VALUES (%s, %s, %s)",
                (f"ses_{tenant}", f"usr_{tenant}", tenant),
            )
            db.execute(
                "INSERT INTO auth.refresh_tokens (id, session_id, token_hash, expires_at) "
                "VALUES (%s, %s, %s, now() + interval '1 day')",
                (f"rt_{tenant}", f"ses_{tenant}", tenant.encode()),
            )

    upgrade("auth", url)

    with psycopg.connect(libpq_url(url), autocommit=True) as db:
        rows = db.execute("SELECT id, tenant_id FROM auth.refresh_tokens ORDER BY id").fetchall()
        nullable = db.execute(
            "SELECT is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'auth' AND table_name = 'refresh_tokens' AND column_name = 'tenant_id'"
        ).fetchone()
    assert rows == [("rt_org_a", "org_a"), ("rt_org_b", "org_b")]
    assert nullable == ("NO",)
