"""Everything under tests/pooler/ runs the engine behind PgBouncer (Debian's, installed by
.ci/ensure-pgbouncer when missing) in transaction pooling mode, as many operators run it:
the services connect through it with PE_DATABASE_PREPARED_STATEMENTS=false, migrations
and LISTEN go straight to PostgreSQL (PE_DATABASE_DIRECT_URL). The modules here import
existing suites so that the very same tests run through it, marked `pooler`
(`./run-tests -m pooler` runs only them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from launcher.embedded_db import EmbeddedPostgres
from tests.harness.engine import EngineHandle, running_engine
from tests.harness.rest_client import http

# The end-to-end suites imported here find their REST client in tests/e2e/conftest.py,
# which is not above this directory: it is offered here too.
__all__ = ["http"]


@pytest.fixture(scope="session")
def through_pooler() -> bool:
    return True


@pytest.fixture(scope="session")
def engine_stack(
    embedded_postgres: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineHandle]:
    with running_engine(embedded_postgres, tmp_path_factory.mktemp("pooled-engine"), pooler=True) as engine:
        yield engine


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/pooler/" in item.nodeid:
            item.add_marker(pytest.mark.pooler)
