"""A REST client of the test engine's sandbox tenant, as a fixture: the end-to-end suites
and their runs through PgBouncer take it from their conftest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import httpx
import pytest

from tests.harness.engine import EngineHandle

# A batch of 1,000 payments is one request: generous, as a slow CI machine needs.
REQUEST_TIMEOUT_S: Final = 60.0


@pytest.fixture(scope="module")
def http(engine_stack: EngineHandle) -> Iterator[httpx.Client]:
    """Signed in with the sandbox API key."""
    headers = {"X-API-Key": engine_stack.credentials.api_key}
    with httpx.Client(base_url=engine_stack.base_url, headers=headers, timeout=REQUEST_TIMEOUT_S) as client:
        yield client
