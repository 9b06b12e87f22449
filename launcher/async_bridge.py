"""Calling the services' async provisioning code from the launcher's synchronous code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

COROUTINE_TIMEOUT_S: Final = 120.0

T = TypeVar("T")


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs `coroutine` to completion on a private event loop in its own thread, so it
    works the same whether or not the caller's thread already has a loop (pytest-asyncio
    keeps one for the session)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    worker = threading.Thread(target=run, name="launcher-async", daemon=True)
    worker.start()
    worker.join(COROUTINE_TIMEOUT_S)
    if worker.is_alive():
        raise TimeoutError(f"a database operation did not finish within {COROUTINE_TIMEOUT_S:.0f} s")
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value
