"""The engine's error vocabulary and its one mapping table.

A failure is a gRPC status carrying `google.rpc.ErrorInfo` whose `reason` is one of the
guide's codes, plus `payment_engine.common.v1.ErrorDetails` for typed details. Both edges
(the Python gateway and Envoy's Lua filter) turn it into the guide's envelope with the HTTP
status below; they read this table, so the services and the edges cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import grpc
from google.protobuf import any_pb2, json_format, struct_pb2
from google.rpc import error_details_pb2, status_pb2
from payment_engine_protos.common.v1 import error_details_pb2 as pe_error_details_pb2

ERROR_DOMAIN: Final = "payment-engine"


@dataclass(frozen=True)
class ErrorCode:
    reason: str
    grpc_code: grpc.StatusCode
    http_status: int
    default_message: str


_CODES: Final[tuple[ErrorCode, ...]] = (
    ErrorCode("INVALID_REQUEST", grpc.StatusCode.INVALID_ARGUMENT, 400, "Request validation failed"),
    ErrorCode("UNAUTHORIZED", grpc.StatusCode.UNAUTHENTICATED, 401, "Authentication required"),
    ErrorCode("FORBIDDEN", grpc.StatusCode.PERMISSION_DENIED, 403, "Insufficient permissions"),
    ErrorCode("NOT_FOUND", grpc.StatusCode.NOT_FOUND, 404, "Resource not found"),
    ErrorCode("METHOD_NOT_ALLOWED", grpc.StatusCode.UNIMPLEMENTED, 405, "Method not allowed"),
    ErrorCode("CONFLICT", grpc.StatusCode.ALREADY_EXISTS, 409, "Resource already exists"),
    ErrorCode(
        "IDEMPOTENCY_KEY_REUSED",
        grpc.StatusCode.FAILED_PRECONDITION,
        422,
        "Idempotency-Key was already used with a different request",
    ),
    ErrorCode(
        "IDEMPOTENCY_KEY_IN_USE",
        grpc.StatusCode.ABORTED,
        409,
        "A request with this Idempotency-Key is still being processed",
    ),
    ErrorCode(
        "BATCH_ABORTED",
        grpc.StatusCode.ABORTED,
        424,
        "Not created: another payment of this all-or-none batch was refused",
    ),
    ErrorCode("PAYLOAD_TOO_LARGE", grpc.StatusCode.INVALID_ARGUMENT, 413, "Request body too large"),
    ErrorCode(
        "INSUFFICIENT_FUNDS",
        grpc.StatusCode.FAILED_PRECONDITION,
        422,
        "Account does not have sufficient funds for this transaction",
    ),
    ErrorCode("INVALID_ACCOUNT_STATUS", grpc.StatusCode.FAILED_PRECONDITION, 422, "Account is not active"),
    ErrorCode("RATE_LIMIT_EXCEEDED", grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "Too many requests"),
    ErrorCode("INTERNAL_ERROR", grpc.StatusCode.INTERNAL, 500, "Internal server error"),
    ErrorCode("SERVICE_UNAVAILABLE", grpc.StatusCode.UNAVAILABLE, 503, "Service temporarily unavailable"),
)

ERROR_CODES: Final[dict[str, ErrorCode]] = {code.reason: code for code in _CODES}

# A status that arrives without ErrorInfo (a crashed handler, a proxy, a deadline) still
# needs a guide code; these are the closest ones.
REASON_BY_GRPC_CODE: Final[dict[grpc.StatusCode, str]] = {
    grpc.StatusCode.INVALID_ARGUMENT: "INVALID_REQUEST",
    grpc.StatusCode.OUT_OF_RANGE: "INVALID_REQUEST",
    grpc.StatusCode.UNAUTHENTICATED: "UNAUTHORIZED",
    grpc.StatusCode.PERMISSION_DENIED: "FORBIDDEN",
    grpc.StatusCode.NOT_FOUND: "NOT_FOUND",
    grpc.StatusCode.ALREADY_EXISTS: "CONFLICT",
    grpc.StatusCode.FAILED_PRECONDITION: "INVALID_REQUEST",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "RATE_LIMIT_EXCEEDED",
    grpc.StatusCode.UNAVAILABLE: "SERVICE_UNAVAILABLE",
    grpc.StatusCode.DEADLINE_EXCEEDED: "SERVICE_UNAVAILABLE",
    grpc.StatusCode.CANCELLED: "SERVICE_UNAVAILABLE",
    grpc.StatusCode.UNIMPLEMENTED: "NOT_FOUND",
    grpc.StatusCode.ABORTED: "CONFLICT",
}

DETAILS_MAX_BYTES: Final = 4096


@dataclass
class ServiceError(Exception):
    """An expected failure with a guide code; raised by application logic."""

    reason: str
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.reason not in ERROR_CODES:
            raise ValueError(f"unknown error reason {self.reason!r}")
        if not self.message:
            self.message = ERROR_CODES[self.reason].default_message
        super().__init__(self.message)

    @property
    def code(self) -> ErrorCode:
        return ERROR_CODES[self.reason]

    def to_status_proto(self) -> status_pb2.Status:
        info = error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata)
        packed_info = any_pb2.Any()
        packed_info.Pack(info)
        details_struct = struct_pb2.Struct()
        details_struct.update(self.details)
        packed_details = any_pb2.Any()
        packed_details.Pack(pe_error_details_pb2.ErrorDetails(details=details_struct))
        return status_pb2.Status(
            code=self.code.grpc_code.value[0],
            message=self.message,
            details=[packed_info, packed_details],
        )


@dataclass(frozen=True)
class DecodedError:
    """What an edge needs from a failed RPC to build the guide's envelope."""

    reason: str
    message: str
    details: dict[str, Any]
    metadata: dict[str, str]

    @property
    def http_status(self) -> int:
        return ERROR_CODES[self.reason].http_status


def decode_status(code: grpc.StatusCode, message: str, status_details_bin: bytes | None) -> DecodedError:
    """Reads reason and details from a failed call's `grpc-status-details-bin` trailer."""
    reason = REASON_BY_GRPC_CODE.get(code, "INTERNAL_ERROR")
    details: dict[str, Any] = {}
    metadata: dict[str, str] = {}
    if status_details_bin:
        status = status_pb2.Status()
        try:
            status.ParseFromString(status_details_bin)
        except Exception:
            status = status_pb2.Status()
        for packed in status.details:
            if packed.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                packed.Unpack(info)
                if info.domain == ERROR_DOMAIN and info.reason in ERROR_CODES:
                    reason = info.reason
                    metadata = dict(info.metadata)
            elif packed.Is(pe_error_details_pb2.ErrorDetails.DESCRIPTOR):
                typed = pe_error_details_pb2.ErrorDetails()
                packed.Unpack(typed)
                details = json_format.MessageToDict(typed.details)
    if reason in ("INTERNAL_ERROR",) or not message:
        # Internal failures never leak their text to callers.
        message = ERROR_CODES[reason].default_message
    return DecodedError(reason=reason, message=message, details=details, metadata=metadata)
