"""tests/e2e/test_auth.py through PgBouncer (see conftest.py)."""

from tests.e2e.test_auth import *  # noqa: F403
