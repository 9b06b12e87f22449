"""Entry point of the transactions service process: `python -m services.transactions.server`.

Besides the TransactionsService it runs the saga worker (rails, settlement windows,
recovery) and the purge of expired idempotency keys; every replica runs them and they
share the work through SKIP LOCKED claims.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import grpc
from payment_engine_protos.transactions.v1 import transactions_pb2, transactions_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.account_announcements import ACCOUNTS_OPENED_CHANNEL
from corelib.auth_client import ServiceTokenSource, remote_authenticator
from corelib.authentication import Authenticator
from corelib.config import Settings
from corelib.direct_sql import DirectPool
from corelib.grpc_server import ServiceProcess, periodic_job, run_service
from corelib.idempotency import IdempotentRequests, purge_job
from corelib.notification_feed import NotificationFeed
from corelib.outbox_relay import outbox_relay_job
from services.transactions.account_directory import AccountDirectory
from services.transactions.api import TransactionsApi, render_created
from services.transactions.cancellation import Cancellation
from services.transactions.debit_authorizations import DebitAuthorizations
from services.transactions.ledger_client import LedgerClient
from services.transactions.payment_queries import PaymentQueries
from services.transactions.payments import Payments, RailTiming
from services.transactions.saga_steps import SagaSteps
from services.transactions.saga_worker import SagaWorker
from services.transactions.schema import idempotent_requests, outbox
from services.transactions.settlement_windows import SettlementCalendar

SERVICE_NAMES = (transactions_pb2.DESCRIPTOR.services_by_name["TransactionsService"].full_name,)
IDEMPOTENCY_PURGE_INTERVAL_S: Final = 60.0
CREATE_TRANSACTION: Final = f"/{SERVICE_NAMES[0]}/CreateTransaction"
# Creation holds one connection per batch in flight, the outcome one per recording
# (payments.OUTCOME_WRITES_MAX), the saga worker one now and then.
DIRECT_CONNECTIONS_MAX: Final = 8


def rail_timing(settings: Settings) -> RailTiming:
    return RailTiming(
        calendar=SettlementCalendar.from_settings(
            settings.ach_window_seconds, settings.ach_windows_utc, settings.ach_settlement_seconds
        ),
        wire_delay=timedelta(seconds=settings.wire_processing_seconds),
    )


def build(settings: Settings, engine: AsyncEngine) -> tuple[ServiceProcess, Authenticator, SagaWorker]:
    feed = NotificationFeed(settings.direct_database_url, process_name="transactions")
    remote = remote_authenticator(settings, feed, service_name="transactions")
    authenticator, auth_client = remote.authenticator, remote.client
    tokens = ServiceTokenSource(
        auth_client, service_name="transactions", service_secret=settings.service_secret
    )
    ledger = LedgerClient(grpc.aio.insecure_channel(settings.accounts_addr), tokens)
    timing = rail_timing(settings)
    steps = SagaSteps(engine, ledger)
    directory = AccountDirectory(ledger)
    feed.subscribe(ACCOUNTS_OPENED_CHANNEL, on_message=directory.on_announcement, on_resync=directory.resync)
    direct = DirectPool(
        settings.database_url,
        application_name="transactions-payments",
        connections_max=DIRECT_CONNECTIONS_MAX,
        prepared_statements=settings.database_prepared_statements,
    )
    worker = SagaWorker(engine, direct, ledger, steps, timing, render_created, sandbox=settings.is_sandbox)
    api = TransactionsApi(
        Payments(
            engine,
            direct,
            ledger,
            directory,
            steps,
            timing,
            render=render_created,
            sandbox=settings.is_sandbox,
            # A create's first write: its durability comes with the ledger's commit.
            unflushed_first_writes=True,
        ),
        PaymentQueries(engine),
        Cancellation(engine),
        DebitAuthorizations(engine, ledger),
        on_cancel=worker.wake,
    )

    def register(server: grpc.aio.Server) -> None:
        transactions_pb2_grpc.add_TransactionsServiceServicer_to_server(api, server)

    async def dispose() -> None:
        await ledger.close()
        await direct.close()
        await engine.dispose()

    idempotency = IdempotentRequests(engine, idempotent_requests)
    process = ServiceProcess(
        name="transactions",
        service_names=SERVICE_NAMES,
        register=register,
        feed=feed,
        background=[
            worker.run,
            periodic_job(
                IDEMPOTENCY_PURGE_INTERVAL_S, worker.purge_idempotency_keys, name="idempotency_purge"
            ),
            outbox_relay_job(settings, outbox, auth_client, feed, service_name="transactions"),
            purge_job(idempotency),
        ],
        on_stop=[dispose],
        idempotency=idempotency,
        # Payment creation keeps each payment's key in the same transaction as the
        # payment. A batch's own key replays its whole answer like any POST's, and its
        # payments are keyed by it too (api.py), so a batch re-run after a crash creates
        # nothing twice.
        idempotency_exempt=frozenset({CREATE_TRANSACTION}),
    )
    return process, authenticator, worker


async def _build_process(settings: Settings, engine: AsyncEngine) -> tuple[ServiceProcess, Authenticator]:
    process, authenticator, _ = build(settings, engine)
    return process, authenticator


def main() -> None:
    run_service("transactions", _build_process)


if __name__ == "__main__":
    main()
