"""The embedded PostgreSQL itself: a real server from the wheel, in a temporary directory."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from corelib.db import autocommit, create_engine, libpq_url
from launcher.embedded_db import DURABLE, FAST_UNSAFE, EmbeddedPostgres
from launcher.ports import free_port


@pytest.fixture
def postgres_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def test_a_restart_keeps_the_data_and_the_port(postgres_dir: Path) -> None:
    port = free_port()
    (postgres_dir).mkdir(parents=True)
    (postgres_dir / "postgres.json").write_text(json.dumps({"port": port}))
    first = EmbeddedPostgres(postgres_dir)
    first.start()
    try:
        assert first.port == port
        query(first.url(), "CREATE TABLE ledger (amount_minor bigint)")
        query(first.url(), "INSERT INTO ledger VALUES (1000)")
    finally:
        first.stop()
    assert first.exit_code() is None  # stopped and forgotten, not crashed

    second = EmbeddedPostgres(postgres_dir)
    second.start()
    try:
        assert second.port == port
        assert query(second.url(), "SELECT amount_minor FROM ledger") == [(1000,)]
    finally:
        second.stop()


def test_tuning_chooses_durability(tmp_path: Path) -> None:
    fast = EmbeddedPostgres(tmp_path / "fast", tuning=FAST_UNSAFE, port=0)
    fast.start()
    try:
        assert query(fast.url(), "SHOW fsync") == [("off",)]
        assert query(fast.url(), "SHOW max_connections") == [("200",)]
        assert query(fast.url(), "SHOW listen_addresses") == [("127.0.0.1",)]
    finally:
        fast.stop()
    durable = EmbeddedPostgres(tmp_path / "fast", tuning=DURABLE, port=0)
    durable.start()
    try:
        assert query(durable.url(), "SHOW fsync") == [("on",)]
        assert query(durable.url(), "SHOW synchronous_commit") == [("on",)]
        assert query(durable.url(), "SHOW wal_segment_size") == [("1MB",)]
    finally:
        durable.stop()


def test_a_taken_saved_port_falls_back_to_a_free_one_and_is_remembered(postgres_dir: Path) -> None:
    blocker = EmbeddedPostgres(postgres_dir.parent / "blocker", tuning=FAST_UNSAFE, port=0)
    blocker.start()
    try:
        postgres_dir.mkdir(parents=True)
        (postgres_dir / "postgres.json").write_text(json.dumps({"port": blocker.port}))
        postgres = EmbeddedPostgres(postgres_dir, tuning=FAST_UNSAFE)
        postgres.start()
        try:
            assert postgres.port != blocker.port
            saved = json.loads((postgres_dir / "postgres.json").read_text())
            assert saved == {"port": postgres.port}
        finally:
            postgres.stop()
    finally:
        blocker.stop()


def test_attach_uses_a_running_server_and_leaves_it_running(postgres_dir: Path) -> None:
    owner = EmbeddedPostgres(postgres_dir, tuning=FAST_UNSAFE, port=0)
    owner.start()
    try:
        visitor = EmbeddedPostgres(postgres_dir)
        assert visitor.attach_or_start() is False
        assert visitor.port == owner.port
        assert query(visitor.url(), "SELECT 1") == [(1,)]
        visitor.stop()
        assert owner.exit_code() is None  # still serving
    finally:
        owner.stop()


def test_start_replaces_a_server_left_behind_by_a_killed_launcher(postgres_dir: Path) -> None:
    orphan = EmbeddedPostgres(postgres_dir, tuning=FAST_UNSAFE, port=0)
    orphan.start()
    orphan_pid = orphan._process.pid if orphan._process else 0
    try:
        successor = EmbeddedPostgres(postgres_dir, tuning=FAST_UNSAFE, port=0)
        successor.start()
        try:
            assert orphan.exit_code() is not None
            assert query(successor.url(), "SELECT 1") == [(1,)]
        finally:
            successor.stop()
    finally:
        orphan.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(orphan_pid, signal.SIG_DFL)


def test_create_database_is_idempotent(tmp_path: Path) -> None:
    postgres = EmbeddedPostgres(tmp_path / "data", tuning=FAST_UNSAFE, port=0)
    postgres.start()
    try:
        url = postgres.create_database("pe_extra")
        assert postgres.create_database("pe_extra") == url
        assert query(url, "SELECT current_database()") == [("pe_extra",)]
        assert query(postgres.url(), "SELECT current_database()") == [("payment_engine",)]
    finally:
        postgres.stop()


def test_the_engines_processes_reach_it_over_its_unix_socket(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "data", tuning=FAST_UNSAFE, port=0)
    server.start()
    try:
        # A connection over a unix socket has no client address.
        assert query(server.socket_url(), "SELECT inet_client_addr() IS NULL") == [(True,)]
        assert query(server.url(), "SELECT inet_client_addr() IS NULL") == [(False,)]
        assert asyncio.run(_through_sqlalchemy(server.socket_url())) is None
        server.restart()
        assert query(server.socket_url(), "SELECT inet_client_addr() IS NULL") == [(True,)]
    finally:
        server.stop()


def test_a_socket_in_a_temporary_directory_serves_across_restarts(tmp_path: Path) -> None:
    # Too long a path for a socket: the server's socket goes to a temporary directory,
    # which it keeps until it is stopped.
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    server = EmbeddedPostgres(deep, tuning=FAST_UNSAFE, port=0)
    server.start()
    try:
        url = server.socket_url()
        assert str(deep) not in url
        assert query(url, "SELECT inet_client_addr() IS NULL") == [(True,)]
        server.restart()
        assert server.socket_url() == url
        assert query(url, "SELECT inet_client_addr() IS NULL") == [(True,)]
    finally:
        server.stop()


async def _through_sqlalchemy(url: str) -> object:
    """What a service does with the URL: an SQLAlchemy engine on psycopg."""
    engine = create_engine(url, application_name="socket-url-test", pool_size=1)
    try:
        async with autocommit(engine) as conn:
            return (await conn.execute(text("SELECT inet_client_addr()"))).scalar_one()
    finally:
        await engine.dispose()
