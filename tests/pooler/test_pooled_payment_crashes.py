"""tests/faults/test_payment_crashes.py through PgBouncer (see conftest.py)."""

from tests.faults.test_payment_crashes import *  # noqa: F403
