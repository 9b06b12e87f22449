"""The test session's PostgreSQL: the embedded one, tuned for speed over durability, with a
fresh database for each purpose."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Final

from corelib.migrations import upgrade_all
from launcher.embedded_db import EmbeddedPostgres, PostgresTuning
from tests.harness.workers import worker_id

# Services, the gateway and tests each hold pools; two stacks per worker fit comfortably.
TEST_CONNECTIONS_MAX: Final = 300
# Durability is irrelevant for a database thrown away after the session.
TEST_TUNING: Final = PostgresTuning(durable=False, connections_max=TEST_CONNECTIONS_MAX)

_database_numbers = itertools.count(1)


def start_test_postgres(data_dir: Path) -> EmbeddedPostgres:
    """On a free port: xdist workers and other checkouts on the machine must not collide."""
    postgres = EmbeddedPostgres(data_dir, tuning=TEST_TUNING, port=0)
    postgres.start()
    return postgres


def fresh_database(postgres: EmbeddedPostgres, purpose: str) -> str:
    """A new, empty database; its URL."""
    name = f"pe_{purpose}_{worker_id()}_{next(_database_numbers)}"
    return postgres.create_database(name)


def migrated_database(postgres: EmbeddedPostgres, purpose: str) -> str:
    url = fresh_database(postgres, purpose)
    upgrade_all(url)
    return url
