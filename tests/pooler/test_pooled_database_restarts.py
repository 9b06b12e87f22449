"""tests/faults/test_database_restarts.py through PgBouncer (see conftest.py)."""

from tests.faults.test_database_restarts import *  # noqa: F403
