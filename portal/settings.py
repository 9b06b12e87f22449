"""The portal's settings, from the same PE_* environment as every engine process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

PORTAL_PORT_DEFAULT: Final = 8081
# Every page lives under this prefix, so that the edge can route it to the portal as is.
PATH_PREFIX: Final = "/portal"
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class PortalSettings:
    host: str
    port: int
    # Where the portal reaches the public REST API (the gateway locally, the edge in Kubernetes).
    api_url: str
    # The base URL integrators use, shown on the overview; the same as api_url unless the
    # portal reaches the API by an internal address.
    public_api_url: str
    mode: str
    log_format: str
    log_level: str
    # Cookies are Secure unless the portal is served on loopback over plain HTTP.
    secure_cookies: bool

    @property
    def is_sandbox(self) -> bool:
        return self.mode == "sandbox"


def load_portal_settings(environ: Mapping[str, str] | None = None) -> PortalSettings:
    env = os.environ if environ is None else environ
    host = env.get("PE_PORTAL_HOST", "127.0.0.1")
    gateway_host = env.get("PE_GATEWAY_HOST", "127.0.0.1")
    gateway_port = env.get("PE_GATEWAY_PORT", "8080")
    api_url = env.get("PE_PORTAL_API_URL") or f"http://{gateway_host}:{gateway_port}"
    secure_default = "false" if host in LOOPBACK_HOSTS else "true"
    return PortalSettings(
        host=host,
        port=int(env.get("PE_PORTAL_PORT", str(PORTAL_PORT_DEFAULT))),
        api_url=api_url.rstrip("/"),
        public_api_url=(env.get("PE_PORTAL_PUBLIC_API_URL") or api_url).rstrip("/"),
        mode=env.get("PE_MODE", "sandbox"),
        log_format=env.get("PE_LOG_FORMAT", "console"),
        log_level=env.get("PE_LOG_LEVEL", "info"),
        secure_cookies=env.get("PE_PORTAL_SECURE_COOKIES", secure_default).lower() == "true",
    )
