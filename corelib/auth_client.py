"""Calls to the auth service that every other process needs: the JWKS, the ext_authz
`Check` for raw credentials, and service tokens for calls between services."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
from google.protobuf import timestamp_pb2
from payment_engine_protos.auth.v1 import auth_pb2, auth_pb2_grpc

from corelib.authentication import Authenticator
from corelib.config import Settings
from corelib.credential_revocations import CredentialRevocations, follow_revocations
from corelib.errors import ServiceError
from corelib.notification_feed import NotificationFeed
from corelib.principal_token import PublicKeyCache
from corelib.request_context import (
    CLIENT_ADDRESS_METADATA_KEY,
    PRINCIPAL_METADATA_KEY,
    REQUEST_ID_METADATA_KEY,
    request_id_var,
)

CHECK_TIMEOUT_S: Final = 5.0
FORWARDED_CREDENTIAL_HEADERS: Final = ("authorization", "x-api-key", CLIENT_ADDRESS_METADATA_KEY)
SERVICE_TOKEN_RENEW_BEFORE_S: Final = 60.0
UNAVAILABLE_CODES: Final = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def _b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def public_keys_from_jwks(response: auth_pb2.GetJwksResponse) -> dict[str, Ed25519PublicKey]:
    return {
        key.kid: Ed25519PublicKey.from_public_bytes(_b64url_decode(key.x))
        for key in response.keys
        if key.kty == "OKP" and key.crv == "Ed25519"
    }


class AuthClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._auth = auth_pb2_grpc.AuthServiceStub(channel)
        self._authz = external_auth_pb2_grpc.AuthorizationStub(channel)

    async def load_public_keys(self) -> dict[str, Ed25519PublicKey]:
        try:
            response = await self._auth.GetJwks(auth_pb2.GetJwksRequest(), timeout=CHECK_TIMEOUT_S)
        except grpc.aio.AioRpcError as exc:
            raise ServiceError("SERVICE_UNAVAILABLE", "Authentication service unavailable") from exc
        return public_keys_from_jwks(response)

    async def check(self, headers: Mapping[str, str]) -> external_auth_pb2.CheckResponse:
        request = external_auth_pb2.CheckRequest()
        http = request.attributes.request.http
        for name in FORWARDED_CREDENTIAL_HEADERS:
            if headers.get(name):
                http.headers[name] = headers[name]
        http.headers[REQUEST_ID_METADATA_KEY] = headers.get(REQUEST_ID_METADATA_KEY) or request_id_var.get()
        try:
            return await self._authz.Check(request, timeout=CHECK_TIMEOUT_S)
        except grpc.aio.AioRpcError as exc:
            raise ServiceError("SERVICE_UNAVAILABLE", "Authentication service unavailable") from exc

    async def exchange_credentials(self, headers: Mapping[str, str]) -> str:
        """Raw credential → principal assertion, or the ServiceError that Check denied with."""
        response = await self.check(headers)
        if response.HasField("ok_response"):
            for option in response.ok_response.headers:
                if option.header.key == PRINCIPAL_METADATA_KEY:
                    return str(option.header.value)
        raise denial_to_error(response)

    async def credential_revocations_since(
        self, since_epoch_s: float, tokens: ServiceTokenSource
    ) -> list[tuple[str, float]]:
        since = timestamp_pb2.Timestamp()
        since.FromNanoseconds(int(since_epoch_s * 1e9))
        try:
            response = await self._auth.ListCredentialRevocations(
                auth_pb2.ListCredentialRevocationsRequest(since=since),
                metadata=await tokens.metadata(),
                timeout=CHECK_TIMEOUT_S,
            )
        except grpc.aio.AioRpcError as exc:
            raise ServiceError("SERVICE_UNAVAILABLE", "Authentication service unavailable") from exc
        return [(entry.ref, entry.not_after.ToNanoseconds() / 1e9) for entry in response.revocations]

    async def issue_service_token(self, service_name: str, service_secret: str) -> tuple[str, int]:
        response = await self._auth.IssueServiceToken(
            auth_pb2.IssueServiceTokenRequest(service_name=service_name, service_secret=service_secret),
            timeout=CHECK_TIMEOUT_S,
        )
        return response.access_token, response.expires_in


def denial_to_error(response: external_auth_pb2.CheckResponse) -> ServiceError:
    status_code = response.denied_response.status.code if response.HasField("denied_response") else 0
    if status_code == 429:
        retry_after = next(
            (o.header.value for o in response.denied_response.headers if o.header.key == "retry-after"), "1"
        )
        return ServiceError("RATE_LIMIT_EXCEEDED", metadata={"retryAfterSeconds": retry_after})
    if status_code == 503:
        return ServiceError("SERVICE_UNAVAILABLE")
    return ServiceError("UNAUTHORIZED", "Invalid credentials")


class ServiceTokenSource:
    """Holds this service's token for calls to other services, renewed before expiry."""

    def __init__(self, client: AuthClient, *, service_name: str, service_secret: str) -> None:
        self._client = client
        self._service_name = service_name
        self._service_secret = service_secret
        self._token = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def metadata(self) -> tuple[tuple[str, str], ...]:
        if time.monotonic() > self._expires_at - SERVICE_TOKEN_RENEW_BEFORE_S:
            async with self._lock:
                if time.monotonic() > self._expires_at - SERVICE_TOKEN_RENEW_BEFORE_S:
                    token, expires_in = await self._client.issue_service_token(
                        self._service_name, self._service_secret
                    )
                    self._token = token
                    self._expires_at = time.monotonic() + expires_in
        return ((PRINCIPAL_METADATA_KEY, self._token), (REQUEST_ID_METADATA_KEY, request_id_var.get()))


@dataclass(frozen=True)
class RemoteAuthentication:
    """What a service other than auth needs to authenticate its callers: the
    Authenticator and the auth client it uses."""

    authenticator: Authenticator
    client: AuthClient


def remote_authenticator(
    settings: Settings, feed: NotificationFeed, *, service_name: str
) -> RemoteAuthentication:
    """The Authenticator of every service but auth: keys and credential checks come
    from the auth service over gRPC, revocations from its NOTIFY channel, followed on
    the process's `feed`."""
    client = AuthClient(grpc.aio.insecure_channel(settings.auth_addr))
    tokens = ServiceTokenSource(client, service_name=service_name, service_secret=settings.service_secret)

    async def catch_up(since_epoch_s: float) -> list[tuple[str, float]]:
        return await client.credential_revocations_since(since_epoch_s, tokens)

    revocations = CredentialRevocations(catch_up)
    authenticator = Authenticator(
        PublicKeyCache(client.load_public_keys),
        issuer=settings.token_issuer,
        exchange=client.exchange_credentials,
        revocations=revocations,
    )
    follow_revocations(feed, revocations)
    return RemoteAuthentication(authenticator, client)
