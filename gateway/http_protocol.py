"""The gateway's HTTP/1.1 connection: uvicorn's httptools protocol, with what it lacks.

- A request the parser cannot read (a NUL or other control character in a header, a
  broken request line) is answered with the guide's envelope, `400 INVALID_REQUEST`,
  instead of uvicorn's plain-text page: every answer of the edge is the envelope.
"""

from __future__ import annotations

from typing import Final

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from corelib.errors import ServiceError
from corelib.ids import new_id
from gateway.envelope import error_body

MALFORMED_REQUEST_MESSAGE: Final = (
    "Malformed HTTP request: it cannot be parsed (control characters in a header?)"
)


def raw_error_response(error: ServiceError) -> bytes:
    """A complete HTTP/1.1 response carrying the envelope, for answers given below ASGI;
    the connection closes after it."""
    request_id = new_id("req")
    body = error_body(error, request_id)
    head = (
        b"content-type: application/json\r\n"
        + b"content-length: "
        + str(len(body)).encode("ascii")
        + b"\r\n"
        + b"x-request-id: "
        + request_id.encode("ascii")
        + b"\r\ncache-control: no-store\r\nconnection: close\r\n\r\n"
    )
    return STATUS_LINE[error.code.http_status] + head + body


class GatewayHttpProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        # uvicorn's text names its parser's complaint; the caller gets the envelope.
        del msg
        self.transport.write(raw_error_response(ServiceError("INVALID_REQUEST", MALFORMED_REQUEST_MESSAGE)))
        self.transport.close()
