"""Fixtures the whole suite shares: the session's PostgreSQL, a migrated database, and the
running engine. Nothing is pre-installed: the suite starts the embedded PostgreSQL itself.
Under pytest-xdist every worker gets its own of each, so workers never share state.

    embedded_postgres      (session) the EmbeddedPostgres (fast, non-durable settings)
    database_url           (session) URL of a fresh database with every migration applied
    engine_stack           (session) EngineHandle of the full engine: base_url, grpc_addrs,
                                     credentials, database_url, supervisor (kill/restart)
    engine_stack_factory   (function) EngineFactory: start private engines for one test
    through_pooler         (session) False here; True under tests/pooler/, where the engines
                                     run behind PgBouncer in transaction pooling mode
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from launcher.embedded_db import EmbeddedPostgres
from tests.harness.engine import EngineFactory, EngineHandle, running_engine
from tests.harness.postgres import migrated_database, start_test_postgres


@pytest.fixture(scope="session")
def embedded_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    postgres = start_test_postgres(tmp_path_factory.mktemp("postgres"))
    try:
        yield postgres
    finally:
        postgres.stop()


@pytest.fixture(scope="session")
def database_url(embedded_postgres: EmbeddedPostgres) -> str:
    return migrated_database(embedded_postgres, "test")


@pytest.fixture(scope="session")
def through_pooler() -> bool:
    return False


@pytest.fixture(scope="session")
def engine_stack(
    embedded_postgres: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineHandle]:
    with running_engine(embedded_postgres, tmp_path_factory.mktemp("engine")) as engine:
        yield engine


@pytest.fixture
def engine_stack_factory(
    embedded_postgres: EmbeddedPostgres, tmp_path: Path, through_pooler: bool
) -> Iterator[EngineFactory]:
    with ExitStack() as exits:
        yield EngineFactory(embedded_postgres, tmp_path, exits, pooler=through_pooler)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that used an engine shows the engine's recent log: the services'
    side of the story is usually the explanation."""
    report = yield
    if report.failed:
        for engine in _engines_used_by(item):
            report.sections.append((f"engine log ({engine.log_path})", engine.log_tail()))
    return report


def _engines_used_by(item: pytest.Item) -> list[EngineHandle]:
    fixtures: dict[str, object] = getattr(item, "funcargs", {})
    engines: list[EngineHandle] = []
    shared = fixtures.get("engine_stack")
    if isinstance(shared, EngineHandle):
        engines.append(shared)
    factory = fixtures.get("engine_stack_factory")
    if isinstance(factory, EngineFactory):
        engines.extend(factory.handles)
    return engines
