"""The REST v1 edge as an ASGI app: route → authenticate → transcode → call → render.

Every answer, success or failure, is JSON and carries `X-Request-Id`; every failure is
the guide's envelope, and nothing about the gateway's own insides (stack traces, gRPC
transport text) ever reaches a caller — it goes to the log, under the same request id.
"""

from __future__ import annotations

import time
from typing import Final
from urllib.parse import quote

import orjson
import structlog

from corelib.auth_client import AuthClient
from corelib.config import Settings
from corelib.errors import ServiceError
from corelib.request_context import request_id_var
from gateway.asgi import (
    BODY_TIMEOUT_S_DEFAULT,
    ClientDisconnected,
    HttpResponse,
    Receive,
    Scope,
    Send,
    read_body,
    send_response,
)
from gateway.backends import Backends, backend_addresses
from gateway.checked_credentials import CheckedCredentials
from gateway.envelope import error_response
from gateway.headers import (
    backend_metadata,
    credential_headers,
    decode_headers,
    forwarded_for,
    has_credential,
    request_id_from,
)
from gateway.openapi import OPENAPI_PATH, openapi_json_bytes
from gateway.rate_limits import FixedWindowLimiter, Quota, quota_headers, tightest
from gateway.routes import MethodNotAllowed, RouteTable, build_route_table
from gateway.transcoding import build_request, parse_query_string, render_response

log = structlog.get_logger("gateway")

HEALTH_PATH: Final = "/healthz"
READY_PATH: Final = "/readyz"
OPENAPI_METHODS: Final = ("GET",)
PROBE_METHODS: Final = ("GET", "HEAD")
# The lifespan protocol sends exactly a startup and then a shutdown.
LIFESPAN_MESSAGES_MAX: Final = 2
PATH_SHOWN_MAX: Final = 200
# A success taking at least this long is logged at info like a failure; quicker ones
# only at debug.
SLOW_REQUEST_S: Final = 1.0
_PATH_SAFE_CHARS: Final = "/:@!$&'()*+,;=-._~"


class GatewayApp:
    def __init__(
        self,
        routes: RouteTable,
        backends: Backends,
        *,
        openapi_document: bytes = b"",
        address_limiter: FixedWindowLimiter | None = None,
        credential_limiter: FixedWindowLimiter | None = None,
        body_timeout_s: float = BODY_TIMEOUT_S_DEFAULT,
    ) -> None:
        self.routes = routes
        self._body_timeout_s = body_timeout_s
        self.backends = backends
        self._openapi_document = openapi_document
        self._address_limiter = address_limiter
        self._credential_limiter = credential_limiter
        self._auth: AuthClient | None = None
        self._checked = CheckedCredentials()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._serve_http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._serve_lifespan(receive, send)
        # Anything else (websockets) is not served: returning unaccepted makes the
        # server refuse it.

    async def _serve_lifespan(self, receive: Receive, send: Send) -> None:
        for _ in range(LIFESPAN_MESSAGES_MAX):
            message = await receive()
            if message["type"] == "lifespan.startup":
                log.info(
                    "gateway_ready", routes=len(self.routes.routes), backends=list(self.backends.domains)
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.backends.close()
                log.info("gateway_stopped")
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _serve_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        method: str = scope["method"]
        header_error: ServiceError | None = None
        try:
            headers = decode_headers(scope.get("headers", ()))
        except ServiceError as exc:
            headers, header_error = {}, exc
        request_id = request_id_from(headers)
        quotas: list[Quota] = []
        request_id_token = request_id_var.set(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            try:
                if header_error is not None:
                    raise header_error
                response = await self._dispatch(scope, receive, headers, request_id, quotas)
            except ServiceError as exc:
                response = error_response(exc, request_id)
            except ClientDisconnected:
                log.info("client_disconnected", method=method, path=scope.get("path", ""))
                return
            except Exception:
                log.exception("request_crashed", method=method, path=scope.get("path", ""))
                response = error_response(ServiceError("INTERNAL_ERROR"), request_id)
            quota = tightest(quotas)
            if quota is not None:
                response = HttpResponse(
                    response.status, response.body, (*response.headers, *quota_headers(quota))
                )
            await send_response(send, response, request_id=request_id, head_only=method == "HEAD")
            elapsed_s = time.perf_counter() - started
            # The access line is written at info for failures (status >= 400) and slow
            # requests, and for a quick success only when debug logs are asked for: one
            # info line per request cost a tenth of the gateway's CPU under load, and the
            # services log every failed or slow call alike (corelib.grpc_pipeline).
            access = log.info if response.status >= 400 or elapsed_s >= SLOW_REQUEST_S else log.debug
            access(
                "http_request",
                method=method,
                path=scope.get("path", ""),
                status=response.status,
                duration_ms=round(elapsed_s * 1000, 2),
            )
        finally:
            structlog.contextvars.unbind_contextvars("request_id", "rpc")
            request_id_var.reset(request_id_token)

    def _charge(self, limiter: FixedWindowLimiter | None, key: str, quotas: list[Quota]) -> None:
        if limiter is None or not key:
            return
        quota = limiter.charge(key)
        quotas.append(quota)
        if quota.exceeded:
            raise ServiceError(
                "RATE_LIMIT_EXCEEDED",
                details={"retryAfterSeconds": quota.reset_s},
                metadata={"retryAfterSeconds": str(quota.reset_s)},
            )

    async def _dispatch(
        self, scope: Scope, receive: Receive, headers: dict[str, str], request_id: str, quotas: list[Quota]
    ) -> HttpResponse:
        method: str = scope["method"]
        raw_path = _raw_path(scope)
        if raw_path in (HEALTH_PATH, READY_PATH):
            if method not in PROBE_METHODS:
                return _method_not_allowed(method, PROBE_METHODS, request_id)
            return await self._probe(raw_path)
        # Probes are exempt, as behind Envoy's health-check filter; everything else,
        # unknown routes included, counts against the caller's address.
        client = scope.get("client")
        self._charge(self._address_limiter, client[0] if client else "", quotas)
        if raw_path == OPENAPI_PATH and self._openapi_document:
            if method not in OPENAPI_METHODS:
                return _method_not_allowed(method, OPENAPI_METHODS, request_id)
            return HttpResponse(200, self._openapi_document, (("cache-control", "public, max-age=300"),))
        resolved = self.routes.resolve(method, raw_path)
        if resolved is None:
            shown_path = str(scope.get("path", ""))[:PATH_SHOWN_MAX]
            raise ServiceError("NOT_FOUND", f"No endpoint {method} {shown_path}")
        if isinstance(resolved, MethodNotAllowed):
            return _method_not_allowed(method, resolved.allowed, request_id)
        route = resolved.route
        structlog.contextvars.bind_contextvars(rpc=route.full_method)
        body = await read_body(receive, headers, timeout_s=self._body_timeout_s)
        client_chain = forwarded_for(headers, scope.get("client"))
        principal = None
        if not route.public:
            principal, subject = await self._authenticate(headers, request_id, client_chain)
            self._charge(self._credential_limiter, subject, quotas)
        query = parse_query_string(scope.get("query_string", b""))
        request = build_request(route, resolved.path_params, query, body)
        metadata = backend_metadata(
            headers, request_id=request_id, client_chain=client_chain, principal=principal
        )
        response, passed_headers = await self.backends.call(route, request, metadata)
        return HttpResponse(route.success_status, render_response(route, response), passed_headers)

    async def _authenticate(
        self, headers: dict[str, str], request_id: str, client_chain: str
    ) -> tuple[str, str]:
        """The principal assertion for the caller's credential and its subject, from the
        auth service's Check — the same RPC Envoy's ext_authz calls, so both edges judge
        alike — or from the verdict kept for that credential."""
        if not has_credential(headers):
            # Nothing to check: spare the auth service a round trip it would deny.
            raise ServiceError("UNAUTHORIZED", "Authentication required")
        credential = (headers.get("authorization", ""), headers.get("x-api-key", ""))
        kept = self._checked.get(credential)
        if kept is not None:
            return kept
        if self._auth is None:
            self._auth = AuthClient(self.backends.channel("auth"))
        check_headers = credential_headers(headers, request_id=request_id, client_chain=client_chain)
        assertion = await self._auth.exchange_credentials(check_headers)
        return assertion, self._checked.keep(credential, assertion)

    async def _probe(self, path: str) -> HttpResponse:
        if path == HEALTH_PATH:
            return HttpResponse(200, orjson.dumps({"status": "ok"}))
        statuses = await self.backends.health()
        down = sorted(domain for domain, status in statuses.items() if status != "SERVING")
        if down:
            raise ServiceError(
                "SERVICE_UNAVAILABLE", f"Not ready: {', '.join(down)} unavailable", {"backends": statuses}
            )
        return HttpResponse(200, orjson.dumps({"status": "ready", "backends": statuses}))


def _method_not_allowed(method: str, allowed: tuple[str, ...], request_id: str) -> HttpResponse:
    error = ServiceError(
        "METHOD_NOT_ALLOWED", f"Method {method} is not allowed here", {"allowedMethods": list(allowed)}
    )
    return error_response(error, request_id, headers=[("allow", ", ".join(allowed))])


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    if isinstance(raw, bytes):
        # Some servers and test transports include the query string in raw_path.
        return raw.decode("latin-1").split("?", 1)[0]
    return quote(str(scope.get("path", "")), safe=_PATH_SAFE_CHARS)


def build_app(settings: Settings, *, routes: RouteTable | None = None) -> GatewayApp:
    table = build_route_table(sandbox=settings.is_sandbox) if routes is None else routes
    backends = Backends(backend_addresses(settings, table.domains), call_tunnel=settings.gateway_call_tunnel)
    return GatewayApp(
        table,
        backends,
        openapi_document=openapi_json_bytes(),
        address_limiter=FixedWindowLimiter(settings.rate_limit_address_per_minute),
        credential_limiter=FixedWindowLimiter(settings.rate_limit_credential_per_minute),
        body_timeout_s=settings.gateway_body_timeout_s,
    )
