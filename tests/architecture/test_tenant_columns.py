"""Every tenant-scoped table carries `tenant_id`, so the schemas can be distributed by
tenant (Citus, docs/scaling.md) without a rewrite: checked on a database migrated to
head, table by table, across the four service schemas. A new table must either carry
the column or be added below as genuinely global, with the reason."""

from __future__ import annotations

from typing import Final

import psycopg

from corelib.db import libpq_url
from corelib.migrations import SERVICE_SCHEMAS

# Tables with no tenant of their own: Citus reference tables or coordinator-local ones.
GLOBAL_TABLES: Final = {
    # The tenant directory itself; its `id` is every other row's tenant_id.
    "auth.tenants",
    # Token signing keys of the whole engine (one issuer, one JWKS for every tenant).
    "auth.signing_keys",
    # Login throttling runs before any tenant is known: buckets are per username (unique
    # across the engine) and per client address.
    "auth.login_attempts",
    # An ACH batch gathers the payments of every tenant due in one settlement window.
    "transactions.ach_batches",
}

# Alembic's own bookkeeping, one per schema.
BOOKKEEPING: Final = "alembic_version"


def tables_and_tenant_columns(database_url: str) -> dict[str, bool]:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as db:
        rows = db.execute(
            "SELECT t.table_schema, t.table_name, "
            "EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = t.table_schema "
            "AND c.table_name = t.table_name AND c.column_name = 'tenant_id') "
            "FROM information_schema.tables t "
            "WHERE t.table_schema = ANY(%s) AND t.table_type = 'BASE TABLE'",
            (list(SERVICE_SCHEMAS),),
        ).fetchall()
    return {f"{schema}.{table}": has for schema, table, has in rows if table != BOOKKEEPING}


def test_every_tenant_scoped_table_carries_tenant_id(database_url: str) -> None:
    tables = tables_and_tenant_columns(database_url)
    assert {name.split(".")[0] for name in tables} == set(SERVICE_SCHEMAS)
    missing = {name for name, has in tables.items() if not has}
    assert missing - GLOBAL_TABLES == set(), "tenant-scoped tables without tenant_id"


def test_the_exception_lists_name_real_tables_that_really_lack_the_column(database_url: str) -> None:
    tables = tables_and_tenant_columns(database_url)
    listed = GLOBAL_TABLES
    assert listed <= set(tables), listed - set(tables)
    already = {name for name in listed if tables[name]}
    assert already == set(), "already carries tenant_id: take it off the list"
