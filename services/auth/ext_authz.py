"""Envoy's `envoy.service.auth.v3.Authorization/Check`, served by the auth service.

Envoy's ext_authz filter and the Python gateway both call it for every request to a
non-public route, so the edge and the services authenticate through one code path. An
allowed request gets an `x-pe-principal` assertion to carry to the services; a denied
one gets the guide's error envelope, ready to be sent as the HTTP response.
"""

from __future__ import annotations

import orjson
import structlog
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
from envoy.type.v3 import http_status_pb2
from google.rpc import code_pb2, status_pb2

from corelib.error_envelope import envelope
from corelib.errors import ServiceError
from corelib.grpc_pipeline import RpcContext
from corelib.ids import new_id
from corelib.request_context import PRINCIPAL_METADATA_KEY, REQUEST_ID_METADATA_KEY
from services.auth.credentials import CredentialVerifier

log = structlog.get_logger("auth.ext_authz")


def _header(key: str, value: str) -> base_pb2.HeaderValueOption:
    return base_pb2.HeaderValueOption(
        header=base_pb2.HeaderValue(key=key, value=value),
        append_action=base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD,
    )


def denied(error: ServiceError, request_id: str) -> external_auth_pb2.CheckResponse:
    body = orjson.dumps(envelope(error.reason, error.message, error.details, request_id)).decode()
    headers = [_header("content-type", "application/json"), _header(REQUEST_ID_METADATA_KEY, request_id)]
    retry_after = error.metadata.get("retryAfterSeconds")
    if retry_after:
        headers.append(_header("retry-after", retry_after))
    return external_auth_pb2.CheckResponse(
        status=status_pb2.Status(code=error.code.grpc_code.value[0], message=error.message),
        denied_response=external_auth_pb2.DeniedHttpResponse(
            status=http_status_pb2.HttpStatus(code=error.code.http_status),
            headers=headers,
            body=body,
        ),
    )


class AuthorizationServicer(external_auth_pb2_grpc.AuthorizationServicer):  # type: ignore[misc]
    def __init__(self, verifier: CredentialVerifier) -> None:
        self._verifier = verifier

    async def Check(
        self, request: external_auth_pb2.CheckRequest, context: RpcContext
    ) -> external_auth_pb2.CheckResponse:
        headers = {k.lower(): v for k, v in request.attributes.request.http.headers.items()}
        request_id = headers.get(REQUEST_ID_METADATA_KEY) or new_id("req")
        try:
            assertion = await self._verifier.assertion_for(headers)
        except ServiceError as error:
            return denied(error, request_id)
        except Exception:
            log.exception("check_failed", request_id=request_id)
            return denied(ServiceError("SERVICE_UNAVAILABLE"), request_id)
        return external_auth_pb2.CheckResponse(
            status=status_pb2.Status(code=code_pb2.OK),
            ok_response=external_auth_pb2.OkHttpResponse(
                headers=[_header(PRINCIPAL_METADATA_KEY, assertion)]
            ),
        )
