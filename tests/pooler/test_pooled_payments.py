"""tests/e2e/test_payments.py through PgBouncer (see conftest.py)."""

from tests.e2e.test_payments import *  # noqa: F403
