"""The server interceptor every service runs: request id, logging, metrics, authentication,
scope checks and error mapping — cross-cutting concerns only, never business rules.

All of the engine's RPCs are unary; the pipeline wraps each unary handler of a
`payment_engine.*` service. Infrastructure services (health, reflection, Envoy's
ext_authz `Check`) pass through with error mapping only.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeAlias

import grpc
import structlog
from grpc_status import rpc_status
from prometheus_client import Counter, Histogram

from corelib.authentication import Authenticator
from corelib.db import is_database_unavailable
from corelib.errors import ServiceError, decode_status
from corelib.idempotency import IdempotentRequests, fingerprint, validate_key
from corelib.ids import new_id
from corelib.method_auth import is_http_post, response_class, rule_for
from corelib.request_context import (
    CLIENT_ADDRESS_METADATA_KEY,
    IDEMPOTENCY_KEY_METADATA_KEY,
    REQUEST_ID_METADATA_KEY,
    Principal,
    call_metadata_var,
    client_address_var,
    principal_var,
    request_id_var,
)
from corelib.request_validation import reject_nul_characters

log = structlog.get_logger("corelib.grpc")

REQUEST_ID_LENGTH_MAX: Final = 128
SLOW_RPC_S: Final = 0.5
OWN_PACKAGE_PREFIX: Final = "/payment_engine."
# Probes arrive every few hundred milliseconds from every supervisor and gateway; a log
# line each would bury the requests that matter.
UNLOGGED_PREFIX: Final = "/grpc.health."

RPC_HANDLED = Counter("pe_grpc_server_handled_total", "RPCs completed", ["method", "code"])
RPC_LATENCY = Histogram(
    "pe_grpc_server_handling_seconds",
    "RPC handling time",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

RpcContext: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
Handler = Callable[[Any, RpcContext], Awaitable[Any]]


def error_from_status(code: grpc.StatusCode, details: str, details_bin: bytes | None) -> ServiceError:
    """A downstream service's failure, carried on unchanged (reason, message, details),
    from its status however it travelled: a unary call's or a tunnelled call's."""
    decoded = decode_status(code, details, details_bin)
    return ServiceError(decoded.reason, decoded.message, decoded.details, decoded.metadata)


def error_from_rpc(exc: grpc.aio.AioRpcError) -> ServiceError:
    """A downstream service's failure, from the unary call that failed with it."""
    trailers = exc.trailing_metadata() or ()
    details_bin = next((v for k, v in trailers if k == "grpc-status-details-bin"), None)
    return error_from_status(
        exc.code(), exc.details() or "", details_bin if isinstance(details_bin, bytes) else None
    )


async def _run_once(
    store: IdempotentRequests,
    inner: Handler,
    request: Any,
    context: RpcContext,
    tenant_id: str,
    key: str,
    method: str,
) -> Any:
    replay = await store.begin(
        tenant_id, key, method, fingerprint(method, request.SerializeToString(deterministic=True))
    )
    if replay is not None:
        if replay.error is not None:
            raise replay.error
        assert replay.response is not None
        return response_class(method).FromString(replay.response)
    try:
        response = await inner(request, context)
    except ServiceError as error:
        if error.code.http_status < 500:
            await store.finish(tenant_id, key, error=error)
        else:
            await store.abandon(tenant_id, key)
        raise
    except Exception:
        await store.abandon(tenant_id, key)
        raise
    await store.finish(tenant_id, key, response=response.SerializeToString(deterministic=True))
    return response


def _validating(method: str, inner: Handler) -> Handler:
    """The handler, behind the rules every request obeys (corelib.request_validation);
    it runs after authentication, so an unauthenticated caller still hears 401 first."""
    if not method.startswith(OWN_PACKAGE_PREFIX):
        return inner

    async def call(request: Any, context: RpcContext) -> Any:
        reject_nul_characters(request)
        return await inner(request, context)

    return call


def unexpected_failure(exc: Exception) -> ServiceError:
    """What a caller is told about an exception no layer mapped, logged once here."""
    if is_database_unavailable(exc):
        # A restarting database is not a bug: no traceback, and a 503 the client may
        # retry (with its Idempotency-Key) once the database is back.
        log.warning("rpc_database_unavailable", error=repr(exc))
        return ServiceError("SERVICE_UNAVAILABLE")
    log.exception("rpc_crashed")
    return ServiceError("INTERNAL_ERROR")


# The metrics' children by label values: `labels()` takes a lock and builds a key on every
# call. Bounded: a service's methods times the guide's error codes.
_HANDLED_CHILDREN: dict[tuple[str, str], Any] = {}
_LATENCY_CHILDREN: dict[str, Any] = {}
# Wrapped handlers by method: grpc asks the pipeline for every call. A service has a few
# dozen methods; only those a handler exists for are kept.
WRAPPED_METHODS_MAX: Final = 1_000


def _record(method: str, code: str, elapsed_s: float, *, logged: bool) -> None:
    handled = _HANDLED_CHILDREN.get((method, code))
    if handled is None:
        handled = _HANDLED_CHILDREN[(method, code)] = RPC_HANDLED.labels(method, code)
    handled.inc()
    latency = _LATENCY_CHILDREN.get(method)
    if latency is None:
        latency = _LATENCY_CHILDREN[method] = RPC_LATENCY.labels(method)
    latency.observe(elapsed_s)
    if logged:
        # Like the edge (Envoy's access log aside), a service writes a line for each call
        # that failed or was slow, and for every call only when asked for debug logs.
        if code != "OK" or elapsed_s >= SLOW_RPC_S:
            log.info("rpc", code=code, duration_ms=round(elapsed_s * 1000, 2))
        else:
            log.debug("rpc", code=code, duration_ms=round(elapsed_s * 1000, 2))
    structlog.contextvars.unbind_contextvars("request_id", "rpc", "principal", "tenant_id")


_CallTokens: TypeAlias = tuple[
    "contextvars.Token[dict[str, str] | None]",
    "contextvars.Token[str]",
    "contextvars.Token[str]",
    "contextvars.Token[Principal | None]",
]


def _enter_call(metadata: dict[str, str], request_id: str) -> _CallTokens:
    """The call's values in its context (request_context), until `_leave_call`."""
    return (
        call_metadata_var.set(metadata),
        request_id_var.set(request_id),
        client_address_var.set(metadata.get(CLIENT_ADDRESS_METADATA_KEY, "")),
        principal_var.set(None),
    )


def _leave_call(tokens: _CallTokens) -> None:
    metadata_token, request_id_token, address_token, principal_token = tokens
    principal_var.reset(principal_token)
    client_address_var.reset(address_token)
    request_id_var.reset(request_id_token)
    call_metadata_var.reset(metadata_token)


def authorize(principal: Principal, *, scope: str, internal: bool) -> None:
    if internal:
        if not principal.is_service:
            raise ServiceError("FORBIDDEN", "This operation is reserved to the engine's services")
        return
    if principal.is_service:
        return
    if scope and scope not in principal.scopes:
        raise ServiceError("FORBIDDEN", f"Missing scope {scope}", {"requiredScope": scope})


class CallPipeline(grpc.aio.ServerInterceptor):
    def __init__(
        self,
        authenticator: Authenticator,
        *,
        idempotency: IdempotentRequests | None = None,
        idempotency_exempt: frozenset[str] = frozenset(),
    ) -> None:
        self._authenticator = authenticator
        self._idempotency = idempotency
        self._idempotency_exempt = idempotency_exempt
        # method → (the service's handler, the pipeline's around it).
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler[Any, Any], grpc.RpcMethodHandler[Any, Any]]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method: str = handler_call_details.method
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = grpc.unary_unary_rpc_method_handler(
            self._wrap(method, _validating(method, handler.unary_unary)),  # type: ignore[arg-type]
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        if len(self._wrapped) < WRAPPED_METHODS_MAX:
            self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, method: str, inner: Handler) -> Handler:
        own = method.startswith(OWN_PACKAGE_PREFIX)
        logged = not method.startswith(UNLOGGED_PREFIX)
        rule = rule_for(method) if own else None
        authenticator = self._authenticator
        idempotency = (
            self._idempotency
            if own
            and rule is not None
            and not rule.public
            and is_http_post(method)
            and method not in self._idempotency_exempt
            else None
        )

        async def call(request: Any, context: RpcContext) -> Any:
            metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
            request_id = metadata.get(REQUEST_ID_METADATA_KEY, "")[:REQUEST_ID_LENGTH_MAX] or new_id("req")
            entered = _enter_call(metadata, request_id)
            structlog.contextvars.bind_contextvars(request_id=request_id, rpc=method)
            started = time.perf_counter()
            code = "OK"
            try:
                if own:
                    if rule is None:
                        raise ServiceError("FORBIDDEN", "This operation declares no access rule")
                    if not rule.public:
                        principal = await authenticator.principal_for(metadata)
                        authorize(principal, scope=rule.scope, internal=rule.internal)
                        principal_var.set(principal)
                        structlog.contextvars.bind_contextvars(
                            principal=principal.id, tenant_id=principal.tenant_id
                        )
                        key = metadata.get(IDEMPOTENCY_KEY_METADATA_KEY, "")
                        if idempotency is not None and key and principal.tenant_id:
                            return await _run_once(
                                idempotency,
                                inner,
                                request,
                                context,
                                principal.tenant_id,
                                validate_key(key),
                                method,
                            )
                return await inner(request, context)
            except ServiceError as exc:
                code = exc.reason
                if exc.code.http_status >= 500:
                    log.warning("rpc_failed", reason=exc.reason, error=exc.message)
                await context.abort_with_status(rpc_status.to_status(exc.to_status_proto()))
            except grpc.aio.AioRpcError as exc:
                downstream = error_from_rpc(exc)
                code = downstream.reason
                log.warning("downstream_failed", reason=downstream.reason, grpc_code=exc.code().name)
                await context.abort_with_status(rpc_status.to_status(downstream.to_status_proto()))
            except (asyncio.CancelledError, grpc.aio.AbortError):
                code = "CANCELLED"
                raise
            except Exception as exc:
                failure = unexpected_failure(exc)
                code = failure.reason
                await context.abort_with_status(rpc_status.to_status(failure.to_status_proto()))
            finally:
                _record(method, code, time.perf_counter() - started, logged=logged)
                _leave_call(entered)

        return call
