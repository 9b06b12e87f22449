"""The database an operator command works on: an explicit URL, or the embedded one of a
data directory (used where `up` left it running, started for the command otherwise)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import OperationalError

from corelib.migrations import upgrade_all
from launcher.database import check_connection, normalised_url, redacted
from launcher.embedded_db import EmbeddedPostgres
from launcher.errors import LaunchError


@contextmanager
def operator_database(database_url: str | None, data_dir: Path) -> Iterator[str]:
    if database_url is not None:
        url = normalised_url(database_url)
        check_connection(url)
        yield url
        return
    postgres = EmbeddedPostgres(data_dir)
    started = postgres.attach_or_start()
    try:
        # The embedded database is ours: keep it at the current schema, so that an admin
        # command works before the first `up` too. An external one is migrated on purpose.
        upgrade_all(postgres.url())
        yield postgres.url()
    finally:
        if started:
            postgres.stop()


def migrate(database_url: str | None, data_dir: Path) -> dict[str, object]:
    with operator_database(database_url, data_dir) as url:
        try:
            migrated = upgrade_all(url)
        except OperationalError as error:
            raise LaunchError(f"migrations failed on {redacted(url)}: {error.orig}") from error
        return {"database": redacted(url), "migratedSchemas": migrated}
