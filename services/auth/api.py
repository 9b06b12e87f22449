"""The AuthService servicer: proto in → use case → proto out. Errors are ServiceErrors,
mapped to gRPC statuses by the call pipeline."""

from __future__ import annotations

from payment_engine_protos.auth.v1 import auth_pb2, auth_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.grpc_pipeline import RpcContext
from corelib.request_context import client_address_var, current_principal
from corelib.timestamps import from_timestamp, to_timestamp, utc_now
from services.auth.api_keys import ApiKeys, key_status
from services.auth.identity_names import IdentityNames
from services.auth.repository import ApiKeyRow
from services.auth.revocation_log import revocations_since
from services.auth.service_principals import authenticate_service
from services.auth.sessions import Sessions
from services.auth.signing_keys import SigningKeyStore, jwk
from services.auth.tokens import SERVICE_TOKEN_TTL, TokenIssuer

TOKEN_TYPE = "Bearer"  # noqa: S105 — the OAuth token type, not a secret
_STATUS = {
    "active": auth_pb2.API_KEY_STATUS_ACTIVE,
    "revoked": auth_pb2.API_KEY_STATUS_REVOKED,
    "expired": auth_pb2.API_KEY_STATUS_EXPIRED,
}
_KIND = {
    "user": auth_pb2.PRINCIPAL_KIND_USER,
    "api_key": auth_pb2.PRINCIPAL_KIND_API_KEY,
    "service": auth_pb2.PRINCIPAL_KIND_SERVICE,
}


def api_key_message(key: ApiKeyRow) -> auth_pb2.ApiKey:
    return auth_pb2.ApiKey(
        id=key.id,
        name=key.name,
        scopes=key.scopes,
        status=_STATUS[key_status(key, utc_now())],
        secret_prefix=key.secret_prefix,
        create_time=to_timestamp(key.created_at),
        expire_time=to_timestamp(key.expires_at),
        revoke_time=to_timestamp(key.revoked_at),
        last_used_time=to_timestamp(key.last_used_at),
        rotated_from_id=key.rotated_from_id or "",
    )


def _first_client_address() -> str:
    forwarded = client_address_var.get()
    return forwarded.split(",")[0].strip()[:64]


class AuthApi(auth_pb2_grpc.AuthServiceServicer):
    def __init__(
        self,
        *,
        sessions: Sessions,
        api_keys: ApiKeys,
        signing_keys: SigningKeyStore,
        issuer: TokenIssuer,
        engine: AsyncEngine,
        service_secret: str,
    ) -> None:
        self._sessions = sessions
        self._api_keys = api_keys
        self._signing_keys = signing_keys
        self._issuer = issuer
        self._engine = engine
        self._names = IdentityNames(engine)
        self._service_secret = service_secret

    async def Login(self, request: auth_pb2.LoginRequest, context: RpcContext) -> auth_pb2.LoginResponse:
        pair = await self._sessions.login(
            request.username, request.password, client_address=_first_client_address()
        )
        return auth_pb2.LoginResponse(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            token_type=TOKEN_TYPE,
            expires_in=pair.expires_in,
            scope=pair.scope,
        )

    async def Refresh(
        self, request: auth_pb2.RefreshRequest, context: RpcContext
    ) -> auth_pb2.RefreshResponse:
        pair = await self._sessions.refresh(request.refresh_token)
        return auth_pb2.RefreshResponse(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            token_type=TOKEN_TYPE,
            expires_in=pair.expires_in,
            scope=pair.scope,
        )

    async def Logout(self, request: auth_pb2.LogoutRequest, context: RpcContext) -> auth_pb2.LogoutResponse:
        revoked = await self._sessions.logout(current_principal(), request.refresh_token)
        return auth_pb2.LogoutResponse(revoked=revoked)

    async def GetMe(self, request: auth_pb2.GetMeRequest, context: RpcContext) -> auth_pb2.GetMeResponse:
        principal = current_principal()
        scopes = sorted(principal.scopes)
        response = auth_pb2.GetMeResponse(
            principal=auth_pb2.Principal(
                id=principal.id,
                kind=_KIND[principal.kind],
                tenant_id=principal.tenant_id,
                scopes=scopes,
                display_name=principal.display_name,
            ),
            scopes=scopes,
        )
        if principal.tenant_id:
            tenant = await self._names.tenant(principal.tenant_id)
            if principal.kind == "user":
                username = await self._names.username(principal.id)
                if username is not None:
                    response.principal.display_name = username
            if tenant is not None:
                response.tenant.CopyFrom(
                    auth_pb2.Tenant(
                        id=tenant.id, name=tenant.name, create_time=to_timestamp(tenant.created_at)
                    )
                )
        return response

    async def GetJwks(
        self, request: auth_pb2.GetJwksRequest, context: RpcContext
    ) -> auth_pb2.GetJwksResponse:
        keys = await self._signing_keys.public_keys()
        return auth_pb2.GetJwksResponse(
            keys=[auth_pb2.JsonWebKey(**jwk(kid, key)) for kid, key in keys.items()]
        )

    async def CreateApiKey(
        self, request: auth_pb2.CreateApiKeyRequest, context: RpcContext
    ) -> auth_pb2.CreateApiKeyResponse:
        expires_at = from_timestamp(request.expire_time) if request.HasField("expire_time") else None
        issued = await self._api_keys.create(
            current_principal(), name=request.name, scopes=list(request.scopes), expires_at=expires_at
        )
        return auth_pb2.CreateApiKeyResponse(api_key=api_key_message(issued.key), secret=issued.secret)

    async def ListApiKeys(
        self, request: auth_pb2.ListApiKeysRequest, context: RpcContext
    ) -> auth_pb2.ListApiKeysResponse:
        keys, next_token = await self._api_keys.page(
            current_principal(), page_size=request.page_size, page_token=request.page_token
        )
        return auth_pb2.ListApiKeysResponse(
            api_keys=[api_key_message(k) for k in keys], next_page_token=next_token
        )

    async def GetApiKey(
        self, request: auth_pb2.GetApiKeyRequest, context: RpcContext
    ) -> auth_pb2.GetApiKeyResponse:
        key = await self._api_keys.get(current_principal(), request.id)
        return auth_pb2.GetApiKeyResponse(api_key=api_key_message(key))

    async def RevokeApiKey(
        self, request: auth_pb2.RevokeApiKeyRequest, context: RpcContext
    ) -> auth_pb2.RevokeApiKeyResponse:
        key = await self._api_keys.revoke(current_principal(), request.id)
        return auth_pb2.RevokeApiKeyResponse(api_key=api_key_message(key))

    async def RotateApiKey(
        self, request: auth_pb2.RotateApiKeyRequest, context: RpcContext
    ) -> auth_pb2.RotateApiKeyResponse:
        issued, previous = await self._api_keys.rotate(
            current_principal(), request.id, overlap_seconds=request.overlap_seconds
        )
        return auth_pb2.RotateApiKeyResponse(
            api_key=api_key_message(issued.key),
            secret=issued.secret,
            previous_api_key=api_key_message(previous),
        )

    async def IssueServiceToken(
        self, request: auth_pb2.IssueServiceTokenRequest, context: RpcContext
    ) -> auth_pb2.IssueServiceTokenResponse:
        principal = authenticate_service(request.service_name, request.service_secret, self._service_secret)
        token = await self._issuer.principal_assertion(principal, now=utc_now(), ttl=SERVICE_TOKEN_TTL)
        return auth_pb2.IssueServiceTokenResponse(
            access_token=token, expires_in=int(SERVICE_TOKEN_TTL.total_seconds())
        )

    async def ListCredentialRevocations(
        self, request: auth_pb2.ListCredentialRevocationsRequest, context: RpcContext
    ) -> auth_pb2.ListCredentialRevocationsResponse:
        since = from_timestamp(request.since) if request.HasField("since") else utc_now()
        entries = await revocations_since(self._engine, since)
        return auth_pb2.ListCredentialRevocationsResponse(
            revocations=[
                auth_pb2.CredentialRevocation(ref=ref, not_after=to_timestamp(not_after))
                for ref, not_after in entries
            ]
        )

    async def RotateSigningKey(
        self, request: auth_pb2.RotateSigningKeyRequest, context: RpcContext
    ) -> auth_pb2.RotateSigningKeyResponse:
        return auth_pb2.RotateSigningKeyResponse(kid=await self._signing_keys.rotate())
