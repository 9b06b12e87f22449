"""Per-request values that travel with the call: its id and who is calling."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any, Final

REQUEST_ID_METADATA_KEY: Final = "x-request-id"
PRINCIPAL_METADATA_KEY: Final = "x-pe-principal"
CLIENT_ADDRESS_METADATA_KEY: Final = "x-forwarded-for"
IDEMPOTENCY_KEY_METADATA_KEY: Final = "idempotency-key"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, as asserted by the auth service."""

    id: str
    kind: str  # "user" | "api_key" | "service"
    tenant_id: str
    scopes: frozenset[str]
    display_name: str = ""
    session_id: str = ""

    @property
    def is_service(self) -> bool:
        return self.kind == "service"


request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
principal_var: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)
client_address_var: contextvars.ContextVar[str] = contextvars.ContextVar("client_address", default="")
# The call's text metadata, as the server's call pipeline read it once for everything.
call_metadata_var: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "call_metadata", default=None
)


def call_metadata(context: Any) -> dict[str, str]:
    """The text metadata of the call `context` serves: the pipeline's reading of it, or
    (a servicer called without the pipeline) read from the context here."""
    metadata = call_metadata_var.get()
    if metadata is None:
        metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
    return metadata


def current_principal() -> Principal:
    principal = principal_var.get()
    if principal is None:
        raise LookupError("no authenticated principal in this context")
    return principal
