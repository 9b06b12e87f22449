"""Entry point of the accounts service process: `python -m services.accounts.server`."""

from __future__ import annotations

import asyncio

import grpc
from payment_engine_protos.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.auth_client import remote_authenticator
from corelib.authentication import Authenticator
from corelib.config import DEFAULT_SERVICE_PORTS, Settings, load_settings
from corelib.db import create_engine
from corelib.grpc_server import ServiceProcess, serve_forever
from corelib.idempotency import IdempotentRequests, purge_job
from corelib.logging import configure_logging
from corelib.outbox_relay import outbox_relay_job
from services.accounts.accounts_book import AccountsBook
from services.accounts.api import AccountsApi, LedgerApi
from services.accounts.funding import Funding
from services.accounts.holds import Holds
from services.accounts.schema import idempotent_requests, outbox
from services.accounts.statements import Statements

SERVICE_NAMES = (
    accounts_pb2.DESCRIPTOR.services_by_name["AccountsService"].full_name,
    accounts_pb2.DESCRIPTOR.services_by_name["LedgerService"].full_name,
)


def build(settings: Settings, engine: AsyncEngine) -> tuple[ServiceProcess, Authenticator]:
    authenticator, auth_client = remote_authenticator(settings)
    book = AccountsBook(engine)
    accounts_api = AccountsApi(book, Statements(engine), Funding(engine), sandbox=settings.is_sandbox)
    ledger_api = LedgerApi(Holds(engine), book)

    def register(server: grpc.aio.Server) -> None:
        accounts_pb2_grpc.add_AccountsServiceServicer_to_server(accounts_api, server)
        accounts_pb2_grpc.add_LedgerServiceServicer_to_server(ledger_api, server)

    async def dispose() -> None:
        await engine.dispose()

    idempotency = IdempotentRequests(engine, idempotent_requests)
    process = ServiceProcess(
        name="accounts",
        service_names=SERVICE_NAMES,
        register=register,
        background=[
            outbox_relay_job(settings, engine, outbox, auth_client, service_name="accounts"),
            purge_job(idempotency),
        ],
        on_stop=[dispose],
        idempotency=idempotency,
    )
    return process, authenticator


async def run(settings: Settings) -> None:
    engine = create_engine(
        settings.database_url, application_name="accounts", pool_size=settings.db_pool_size
    )
    process, authenticator = build(settings, engine)
    await serve_forever(
        process,
        authenticator,
        host=settings.grpc_host,
        port=settings.grpc_port or DEFAULT_SERVICE_PORTS["accounts"],
        metrics_port=settings.metrics_port,
    )


def main() -> None:
    settings = load_settings()
    configure_logging("accounts", log_format=settings.log_format, level=settings.log_level)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
