"""Entry point of the portal process: `python -m portal.server`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Final

import structlog
import uvicorn

from corelib.logging import configure_logging
from portal.app import build_app
from portal.settings import load_portal_settings

log = structlog.get_logger("portal.server")

SHUTDOWN_GRACE_S: Final = 10
CONCURRENT_REQUESTS_MAX: Final = 512


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="portal", description="Payment Engine developer portal")
    parser.parse_args(argv)
    settings = load_portal_settings()
    configure_logging("portal", log_format=settings.log_format, level=settings.log_level)
    log.info(
        "portal_starting",
        host=settings.host,
        port=settings.port,
        api_url=settings.api_url,
        mode=settings.mode,
    )
    config = uvicorn.Config(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        loop="asyncio",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        limit_concurrency=CONCURRENT_REQUESTS_MAX,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
