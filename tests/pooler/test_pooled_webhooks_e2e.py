"""tests/e2e/webhooks/test_webhooks_e2e.py through PgBouncer (see conftest.py)."""

from tests.e2e.webhooks.test_webhooks_e2e import *  # noqa: F403
