"""The engine's own services as principals: they prove themselves with the deployment's
service secret and get a token that internal RPCs accept."""

from __future__ import annotations

import hmac
from typing import Final

from corelib.errors import ServiceError
from corelib.request_context import Principal

ENGINE_SERVICES: Final = frozenset({"auth", "accounts", "transactions", "webhooks", "gateway", "admin"})


def authenticate_service(name: str, presented_secret: str, configured_secret: str) -> Principal:
    known = name in ENGINE_SERVICES
    # Compare even for an unknown name, so timing does not reveal which names exist.
    matches = hmac.compare_digest(presented_secret.encode(), configured_secret.encode())
    if not configured_secret or not known or not matches:
        raise ServiceError("UNAUTHORIZED", "Invalid service credentials")
    return Principal(id=f"svc:{name}", kind="service", tenant_id="", scopes=frozenset(), display_name=name)
