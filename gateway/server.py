"""Entry point of the gateway process: `python -m gateway.server`.

uvicorn with uvloop and the httptools parser (gateway.http_protocol adds what
uvicorn's connection handling lacks); on SIGTERM/SIGINT it stops
accepting, lets in-flight requests finish (up to SHUTDOWN_GRACE_S), then the app's
lifespan shutdown closes the gRPC channels.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
from collections.abc import Sequence
from typing import Final, cast

import structlog
import uvicorn

from corelib.config import load_settings
from corelib.garbage_collection import freeze_startup_objects
from corelib.logging import configure_logging
from gateway.app import build_app
from gateway.http_protocol import ConnectionBounds, GatewayHttpProtocol

log = structlog.get_logger("gateway.server")

SHUTDOWN_GRACE_S: Final = 10
KEEP_ALIVE_S: Final = 30
CONCURRENT_REQUESTS_MAX: Final = 4096


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gateway", description="Payment Engine REST gateway")
    parser.add_argument("--host", help="listen address (PE_GATEWAY_HOST)")
    parser.add_argument("--port", type=int, help="listen port (PE_GATEWAY_PORT)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    settings = load_settings(gateway_host=args.host, gateway_port=args.port)
    configure_logging("gateway", log_format=settings.log_format, level=settings.log_level)
    app = build_app(settings)
    freeze_startup_objects()
    log.info(
        "gateway_starting",
        host=settings.gateway_host,
        port=settings.gateway_port,
        mode=settings.mode,
        routes=len(app.routes.routes),
    )
    config = uvicorn.Config(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        loop="uvloop",
        http=cast(
            "type[asyncio.Protocol]",
            functools.partial(
                GatewayHttpProtocol,
                bounds=ConnectionBounds(
                    head_timeout_s=settings.gateway_head_timeout_s,
                    connections_per_address_max=settings.gateway_connections_per_address_max,
                ),
            ),
        ),
        lifespan="on",
        # structlog writes the access line, with its request id (gateway.app: at info
        # for failed or slow requests, at debug for the rest); uvicorn's own logging
        # config would replace the process's.
        log_config=None,
        access_log=False,
        server_header=False,
        date_header=True,
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        limit_concurrency=CONCURRENT_REQUESTS_MAX,
    )
    # On SIGTERM uvicorn drains, runs the lifespan shutdown, then re-raises the signal
    # so the process ends with the status a supervisor expects.
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
