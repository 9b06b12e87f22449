"""HTTP headers in, gRPC metadata out.

Metadata is built from an allow-list, so nothing a client sends reaches a service unless
named here; in particular a client's `x-pe-principal` (the assertion only the auth
service may mint) is dropped without a look.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from corelib.errors import ServiceError
from corelib.ids import new_id
from corelib.request_context import (
    CLIENT_ADDRESS_METADATA_KEY,
    IDEMPOTENCY_KEY_METADATA_KEY,
    PRINCIPAL_METADATA_KEY,
    REQUEST_ID_METADATA_KEY,
)

REQUEST_ID_LENGTH_MAX: Final = 128
HEADER_VALUE_LENGTH_MAX: Final = 8 * 1024
HEADERS_MAX: Final = 128
FORWARDED_HEADERS: Final = ("authorization", "x-api-key", IDEMPOTENCY_KEY_METADATA_KEY)
CREDENTIAL_HEADERS: Final = ("authorization", "x-api-key")


def decode_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """ASGI header pairs → one lower-cased name per entry, repeats joined as RFC 9110 allows."""
    headers: dict[str, str] = {}
    for count, (name_bytes, value_bytes) in enumerate(raw):
        if count >= HEADERS_MAX:
            raise ServiceError("INVALID_REQUEST", f"More than {HEADERS_MAX} request headers")
        name = name_bytes.decode("latin-1").lower()
        value = value_bytes.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _is_printable_ascii(value: str, *, spaces: bool) -> bool:
    """Every character in 0x21..0x7E, or 0x20..0x7E with `spaces`; true for "".

    Checked on every forwarded header of every request (a bearer token is hundreds of
    characters), so by str methods that run in C: among ASCII characters exactly the
    controls 0x00..0x1F and DEL 0x7F are not printable, and the space is."""
    return value.isascii() and value.isprintable() and (spaces or " " not in value)


def request_id_from(headers: Mapping[str, str]) -> str:
    """The caller's X-Request-Id when it is safe to echo and to log, else a new one."""
    offered = headers.get(REQUEST_ID_METADATA_KEY, "")
    if 0 < len(offered) <= REQUEST_ID_LENGTH_MAX and _is_printable_ascii(offered, spaces=False):
        return offered
    return new_id("req")


def forwarded_for(headers: Mapping[str, str], client: tuple[str, int] | None) -> str:
    """The caller's chain with the socket's address appended: the last hop is the one we saw."""
    chain = headers.get(CLIENT_ADDRESS_METADATA_KEY, "").strip()
    if client is None:
        return chain
    return f"{chain}, {client[0]}" if chain else client[0]


def _checked(name: str, value: str) -> str:
    # gRPC refuses metadata outside printable ASCII; a 400 that names the header is
    # better than a 500, and better than dropping an Idempotency-Key silently.
    if len(value) > HEADER_VALUE_LENGTH_MAX or not _is_printable_ascii(value, spaces=True):
        raise ServiceError(
            "INVALID_REQUEST",
            f"Header '{name}' must be printable ASCII of at most {HEADER_VALUE_LENGTH_MAX} characters",
            {"header": name},
        )
    return value


def credential_headers(headers: Mapping[str, str], *, request_id: str, client_chain: str) -> dict[str, str]:
    """What the auth service's Check needs to judge the caller."""
    checked = {name: _checked(name, headers[name]) for name in CREDENTIAL_HEADERS if headers.get(name)}
    checked[REQUEST_ID_METADATA_KEY] = request_id
    if client_chain:
        checked[CLIENT_ADDRESS_METADATA_KEY] = _checked(CLIENT_ADDRESS_METADATA_KEY, client_chain)
    return checked


def has_credential(headers: Mapping[str, str]) -> bool:
    return any(headers.get(name) for name in CREDENTIAL_HEADERS)


def backend_metadata(
    headers: Mapping[str, str], *, request_id: str, client_chain: str, principal: str | None
) -> tuple[tuple[str, str], ...]:
    metadata = [(name, _checked(name, headers[name])) for name in FORWARDED_HEADERS if headers.get(name)]
    metadata.append((REQUEST_ID_METADATA_KEY, request_id))
    if client_chain:
        metadata.append((CLIENT_ADDRESS_METADATA_KEY, _checked(CLIENT_ADDRESS_METADATA_KEY, client_chain)))
    if principal is not None:
        metadata.append((PRINCIPAL_METADATA_KEY, principal))
    return tuple(metadata)
