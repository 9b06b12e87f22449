"""An ASGI app served by a real uvicorn server inside the test's event loop, on a free
loopback port: for the small sites and servers a test stands up beside the engine."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Final

import uvicorn

STARTUP_POLLS_MAX: Final = 500
STARTUP_POLL_S: Final = 0.01


@contextlib.asynccontextmanager
async def uvicorn_serving(config: uvicorn.Config) -> AsyncIterator[int]:
    """Serves `config`'s app until the block ends; yields the port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    for _ in range(STARTUP_POLLS_MAX):
        if server.started or serving.done():
            break
        await asyncio.sleep(STARTUP_POLL_S)
    assert server.started, "the server did not start"
    try:
        yield int(listener.getsockname()[1])
    finally:
        server.should_exit = True
        await serving
        listener.close()
