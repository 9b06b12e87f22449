"""The engine's own proof that it runs behind PgBouncer: every service's connections are
PgBouncer's clients, and migrations run with the direct URL while the services' URL is
the pooler's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Final

import psycopg
from sqlalchemy import make_url

from corelib.db import libpq_url
from launcher.embedded_db import EmbeddedPostgres
from tests.harness.engine import EngineHandle
from tests.harness.postgres import fresh_database

SERVICES: Final = {"auth", "accounts", "transactions", "webhooks"}
COMMAND: Final = Path(sys.executable).parent / "payment-engine"


def pooler_console_url(engine: EngineHandle) -> str:
    return libpq_url(make_url(engine.service_database_url).set(database="pgbouncer").render_as_string(False))


def test_every_service_connects_through_pgbouncer(engine_stack: EngineHandle) -> None:
    assert engine_stack.service_database_url != engine_stack.database_url
    # The console speaks only the simple query protocol.
    with psycopg.connect(pooler_console_url(engine_stack), autocommit=True) as console:
        cursor = psycopg.ClientCursor(console)
        cursor.execute("SHOW CLIENTS")
        assert cursor.description is not None
        columns = [column.name for column in cursor.description]
        clients = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    names = {str(client["application_name"]) for client in clients}
    assert names >= SERVICES, names
    mode = {str(client["database"]) for client in clients if client["application_name"] in SERVICES}
    assert mode == {make_url(engine_stack.database_url).database}


def test_migrations_use_the_direct_url_when_the_services_use_the_pooler(
    engine_stack: EngineHandle, embedded_postgres: EmbeddedPostgres
) -> None:
    direct = fresh_database(embedded_postgres, "pooled_migrations")
    pooled = make_url(direct).set(port=make_url(engine_stack.service_database_url).port)
    environment = {
        **os.environ,
        "PE_DATABASE_URL": pooled.render_as_string(hide_password=False),
        "PE_DATABASE_DIRECT_URL": direct,
    }
    result = subprocess.run(
        [str(COMMAND), "migrate"], env=environment, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    with psycopg.connect(libpq_url(direct), autocommit=True) as db:
        versions = db.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'alembic_version'"
        ).fetchone()
    assert versions is not None and versions[0] == 4
