"""Which pytest-xdist worker this is; each worker runs its own PostgreSQL and engine."""

from __future__ import annotations

import os


def worker_id() -> str:
    """`gw0`, `gw1`… under pytest-xdist, `main` without it."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")
