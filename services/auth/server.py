"""Entry point of the auth service process: `python -m services.auth.server`."""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
from payment_engine_protos.auth.v1 import auth_pb2, auth_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.authentication import Authenticator
from corelib.config import Settings
from corelib.credential_revocations import CredentialRevocations, follow_revocations
from corelib.grpc_server import ServiceProcess, periodic_job, run_service
from corelib.idempotency import IdempotentRequests, purge_job
from corelib.notification_feed import NotificationFeed
from services.auth.api import AuthApi
from services.auth.api_keys import LAST_USED_FLUSH_INTERVAL_S, ApiKeys
from services.auth.credentials import CredentialVerifier
from services.auth.ext_authz import AuthorizationServicer
from services.auth.login_throttle import ThrottlePolicy
from services.auth.repository import Revocation
from services.auth.revocation_log import revocations_since_epoch
from services.auth.schema import idempotent_requests
from services.auth.sessions import Sessions
from services.auth.signing_keys import SigningKeyStore
from services.auth.tokens import TokenIssuer

SERVICE_NAMES = (
    auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name,
    external_auth_pb2.DESCRIPTOR.services_by_name["Authorization"].full_name,
)

SECRET_BEARING_RPCS = frozenset(f"/{SERVICE_NAMES[0]}/{name}" for name in ("CreateApiKey", "RotateApiKey"))


async def build(settings: Settings, engine: AsyncEngine) -> tuple[ServiceProcess, Authenticator]:
    signing_keys = SigningKeyStore(engine)
    await signing_keys.ensure_signing_key()
    issuer = TokenIssuer(signing_keys, issuer=settings.token_issuer, audience=settings.token_audience)

    async def catch_up(since_epoch_s: float) -> list[tuple[str, float]]:
        return await revocations_since_epoch(engine, since_epoch_s)

    revocations = CredentialRevocations(catch_up)
    feed = NotificationFeed(settings.direct_database_url, process_name="auth")
    follow_revocations(feed, revocations)

    def on_revoked(revocation: Revocation) -> None:
        revocations.note(revocation[0], revocation[1].timestamp())

    api_keys = ApiKeys(engine, mode=settings.mode, on_revoked=on_revoked)
    verifier = CredentialVerifier(engine, issuer, api_keys, revocations)
    sessions = Sessions(
        engine,
        issuer,
        ThrottlePolicy(
            failures_per_username_max=settings.login_failures_per_username_max,
            attempts_per_address_max=settings.login_attempts_per_address_max,
        ),
        on_revoked=on_revoked,
    )
    api = AuthApi(
        sessions=sessions,
        api_keys=api_keys,
        signing_keys=signing_keys,
        issuer=issuer,
        engine=engine,
        service_secret=settings.service_secret,
    )

    async def exchange(headers: Mapping[str, str]) -> str:
        return await verifier.assertion_for(headers)

    authenticator = Authenticator(
        issuer.public_keys, issuer=settings.token_issuer, exchange=exchange, revocations=revocations
    )

    def register(server: grpc.aio.Server) -> None:
        auth_pb2_grpc.add_AuthServiceServicer_to_server(api, server)
        external_auth_pb2_grpc.add_AuthorizationServicer_to_server(AuthorizationServicer(verifier), server)

    async def dispose() -> None:
        await engine.dispose()

    idempotency = IdempotentRequests(engine, idempotent_requests)
    process = ServiceProcess(
        name="auth",
        service_names=SERVICE_NAMES,
        register=register,
        feed=feed,
        on_stop=[dispose],
        idempotency=idempotency,
        # Their answers carry a secret, which is never stored readable: a repeat makes a new key.
        idempotency_exempt=frozenset(
            {f"/{SERVICE_NAMES[0]}/CreateApiKey", f"/{SERVICE_NAMES[0]}/RotateApiKey"}
        ),
        background=[
            purge_job(idempotency),
            periodic_job(LAST_USED_FLUSH_INTERVAL_S, api_keys.flush_last_used, name="api_key_last_used"),
        ],
    )
    return process, authenticator


def main() -> None:
    run_service("auth", build)


if __name__ == "__main__":
    main()
