"""tests/faults/test_database_crashes.py through PgBouncer (see conftest.py)."""

from tests.faults.test_database_crashes import *  # noqa: F403
