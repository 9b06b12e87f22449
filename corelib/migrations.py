"""Alembic, once per service schema. Each service keeps its history in
`services/<name>/migrations/`; its `env.py` calls `run_migrations_online` here."""

from __future__ import annotations

from importlib import resources
from typing import Final

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool, text

from corelib.db import sync_url

SERVICE_SCHEMAS: Final = ("auth", "accounts", "transactions", "webhooks")
MIGRATION_LOCK_KEY: Final = 7_246_100


def alembic_config(service: str, database_url: str) -> Config:
    location = resources.files(f"services.{service}") / "migrations"
    config = Config()
    config.set_main_option("script_location", str(location))
    config.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    config.attributes["service_schema"] = service
    return config


def has_migrations(service: str) -> bool:
    try:
        return (resources.files(f"services.{service}") / "migrations" / "env.py").is_file()
    except ModuleNotFoundError:
        return False


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, database_url), revision)


def upgrade_all(database_url: str) -> list[str]:
    done = []
    for service in SERVICE_SCHEMAS:
        if has_migrations(service):
            upgrade(service, database_url)
            done.append(service)
    return done


def run_migrations_online(schema: str, target_metadata: MetaData) -> None:
    """Body of a service's env.py: one schema, its own version table, one advisory lock
    so that replicas starting together migrate once."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            connection.commit()
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                version_table_schema=schema,
                include_schemas=True,
                include_object=lambda obj, name, kind, reflected, compare_to: (
                    kind != "table" or getattr(obj, "schema", None) == schema
                ),
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
    engine.dispose()
