"""Reaching a PostgreSQL server: a clear sentence when we cannot, and databases on it."""

from __future__ import annotations

import contextlib
from typing import Final

import psycopg
from psycopg import sql
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from corelib.db import async_url, libpq_url
from launcher.errors import LaunchError

CONNECT_TIMEOUT_S: Final = 5


def redacted(database_url: str) -> str:
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def normalised_url(database_url: str) -> str:
    """The URL the services expect (`postgresql+psycopg://`), or a LaunchError saying why not."""
    try:
        url = make_url(database_url)
    except ArgumentError as error:
        raise LaunchError(f"--database-url is not a valid PostgreSQL URL: {error}") from error
    if url.get_backend_name() != "postgresql":
        raise LaunchError(
            f"--database-url must be a PostgreSQL URL (postgresql://user:password@host:port/database), "
            f"not {url.drivername}://…"
        )
    if not url.database:
        raise LaunchError("--database-url names no database (postgresql://user@host:port/<database>)")
    return async_url(database_url)


def check_connection(database_url: str) -> None:
    try:
        with psycopg.connect(libpq_url(database_url), connect_timeout=CONNECT_TIMEOUT_S):
            pass
    except psycopg.Error as error:
        reason = " ".join(str(error).split())
        raise LaunchError(f"cannot connect to the database at {redacted(database_url)}: {reason}") from error


def with_database(database_url: str, database: str) -> str:
    return make_url(database_url).set(database=database).render_as_string(hide_password=False)


def create_database_if_missing(server_url: str, database: str) -> None:
    """`server_url` names any existing database on the server (usually `postgres`)."""
    with psycopg.connect(libpq_url(server_url), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists is None:
            # Another process may create it between our check and our CREATE.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
