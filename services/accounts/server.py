"""Entry point of the accounts service process: `python -m services.accounts.server`."""

from __future__ import annotations

from typing import Final

import grpc
from payment_engine_protos.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.auth_client import remote_authenticator
from corelib.authentication import Authenticator
from corelib.config import Settings
from corelib.direct_sql import DirectPool
from corelib.grpc_server import ServiceProcess, run_service
from corelib.idempotency import IdempotentRequests, purge_job
from corelib.notification_feed import NotificationFeed
from corelib.outbox_relay import outbox_relay_job
from services.accounts.accounts_book import AccountsBook
from services.accounts.api import AccountsApi, LedgerApi
from services.accounts.funding import Funding
from services.accounts.holds import Holds
from services.accounts.schema import idempotent_requests, outbox
from services.accounts.statements import Statements

# Placing holds takes one connection per batch in flight; balance reads one each, up to
# the rest.
DIRECT_CONNECTIONS_MAX: Final = 8
SERVICE_NAMES = (
    accounts_pb2.DESCRIPTOR.services_by_name["AccountsService"].full_name,
    accounts_pb2.DESCRIPTOR.services_by_name["LedgerService"].full_name,
)


def build(settings: Settings, engine: AsyncEngine) -> tuple[ServiceProcess, Authenticator]:
    feed = NotificationFeed(settings.direct_database_url, process_name="accounts")
    remote = remote_authenticator(settings, feed, service_name="accounts")
    authenticator, auth_client = remote.authenticator, remote.client
    direct = DirectPool(
        settings.database_url,
        application_name="accounts-ledger",
        connections_max=DIRECT_CONNECTIONS_MAX,
        prepared_statements=settings.database_prepared_statements,
    )
    book = AccountsBook(engine, direct)
    accounts_api = AccountsApi(book, Statements(engine), Funding(engine), sandbox=settings.is_sandbox)
    ledger_api = LedgerApi(Holds(engine, direct), book)

    def register(server: grpc.aio.Server) -> None:
        accounts_pb2_grpc.add_AccountsServiceServicer_to_server(accounts_api, server)
        accounts_pb2_grpc.add_LedgerServiceServicer_to_server(ledger_api, server)

    async def dispose() -> None:
        await direct.close()
        await engine.dispose()

    idempotency = IdempotentRequests(engine, idempotent_requests)
    process = ServiceProcess(
        name="accounts",
        service_names=SERVICE_NAMES,
        register=register,
        feed=feed,
        background=[
            outbox_relay_job(settings, outbox, auth_client, feed, service_name="accounts"),
            purge_job(idempotency),
        ],
        on_stop=[dispose],
        idempotency=idempotency,
    )
    return process, authenticator


async def _build_process(settings: Settings, engine: AsyncEngine) -> tuple[ServiceProcess, Authenticator]:
    return build(settings, engine)


def main() -> None:
    run_service("accounts", _build_process)


if __name__ == "__main__":
    main()
