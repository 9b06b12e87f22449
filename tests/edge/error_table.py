"""The table of failed gRPC calls that both edges must turn into the same HTTP answer.

`error_cases.json` holds, per case, what a service sent (grpc-status, grpc-message and
the `grpc-status-details-bin` bytes, base64) and what the caller must get (HTTP status,
envelope code, message, details, Retry-After). The Python gateway
(tests/edge/test_error_table_python.py) and Envoy's Lua filter
(tests/edge/test_lua_filter.py) are both run over it, so the edges cannot drift apart.

Each case also spells its details bytes out readably ("status"), and a test checks that
the base64 encodes exactly that, so the table can be reviewed without a decoder.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Final

from google.protobuf import any_pb2, struct_pb2
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from payment_engine_protos.common.v1 import error_details_pb2 as pe_error_details_pb2

CASES_FILE: Final = Path(__file__).with_name("error_cases.json")
TYPE_URL_PREFIX: Final = "type.googleapis.com/"


def load_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(CASES_FILE.read_text())
    return cases


def _packed(detail: dict[str, Any]) -> any_pb2.Any:
    if "errorInfo" in detail:
        info = detail["errorInfo"]
        message = error_details_pb2.ErrorInfo(
            reason=info["reason"], domain=info["domain"], metadata=info.get("metadata", {})
        )
        type_url = detail.get("typeUrl", TYPE_URL_PREFIX + "google.rpc.ErrorInfo")
        return any_pb2.Any(type_url=type_url, value=message.SerializeToString())
    if "errorDetails" in detail:
        struct = struct_pb2.Struct()
        struct.update(detail["errorDetails"])
        typed = pe_error_details_pb2.ErrorDetails(details=struct)
        type_url = detail.get("typeUrl", TYPE_URL_PREFIX + "payment_engine.common.v1.ErrorDetails")
        return any_pb2.Any(type_url=type_url, value=typed.SerializeToString())
    raw = detail["any"]
    return any_pb2.Any(type_url=raw["typeUrl"], value=base64.b64decode(raw["valueBase64"]))


def encode_status(readable: dict[str, Any]) -> bytes:
    """The google.rpc.Status bytes a readable "status" entry describes."""
    status = status_pb2.Status(code=readable["code"], message=readable.get("message", ""))
    status.details.extend(_packed(detail) for detail in readable.get("details", []))
    data: bytes = status.SerializeToString()
    return data


def details_bin(case: dict[str, Any]) -> bytes | None:
    encoded = case.get("statusDetailsBin")
    return None if encoded is None else base64.b64decode(encoded)


def _canonical(data: bytes) -> tuple[int, str, list[tuple[str, object]]]:
    # Maps (Struct fields, ErrorInfo metadata) serialize in no fixed order, so two
    # encodings of one status are compared as messages, not as bytes.
    status = status_pb2.Status.FromString(data)
    details: list[tuple[str, object]] = []
    for packed in status.details:
        parsers = {
            "google.rpc.ErrorInfo": error_details_pb2.ErrorInfo,
            "payment_engine.common.v1.ErrorDetails": pe_error_details_pb2.ErrorDetails,
        }
        parser = parsers.get(packed.type_url.rpartition("/")[2])
        content: object = packed.value
        if parser is not None:
            try:
                content = parser.FromString(packed.value)
            except DecodeError:
                # Broken on purpose (a case of its own): compared as bytes.
                content = packed.value
        details.append((packed.type_url, content))
    return status.code, status.message, details


def same_status(left: bytes, right: bytes) -> bool:
    return _canonical(left) == _canonical(right)
