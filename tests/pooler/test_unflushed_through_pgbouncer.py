"""A statement that commits without waiting for its WAL flush does so through PgBouncer
in transaction pooling too: the setting and the server it names travel inside the
statement, where connection options (which PgBouncer does not pass on) cannot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from launcher.embedded_db import EmbeddedPostgres
from launcher.pooler import LocalPgBouncer
from launcher.ports import LOOPBACK_HOST
from tests.integration.corelib.test_direct_sql import commit_a_note, durable_postgres, server_at

__all__ = ["durable_postgres"]


@pytest.fixture(scope="module")
def pooled_url(durable_postgres: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pooler = LocalPgBouncer(
        tmp_path_factory.mktemp("pooled-durable"),
        upstream_host=LOOPBACK_HOST,
        upstream_port=durable_postgres.port,
    )
    pooler.start()
    try:
        yield pooler.pooled_url(durable_postgres.url())
    finally:
        pooler.stop()


async def test_through_pgbouncer_a_statement_commits_without_waiting_for_its_flush(
    pooled_url: str, durable_postgres: EmbeddedPostgres
) -> None:
    flushed = await commit_a_note(pooled_url, unflushed=False, prepared_statements=False)
    unflushed = await commit_a_note(pooled_url, unflushed=True, prepared_statements=False)
    assert all(c.flushed for c in flushed), flushed
    assert sum(not c.flushed for c in unflushed) >= 4, unflushed
    assert {c.synchronous_commit_after for c in flushed + unflushed} == {"on"}
    assert {c.server for c in flushed + unflushed} == {await server_at(durable_postgres.url())}
