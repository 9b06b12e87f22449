"""Where webhooks may be sent.

An endpoint URL is chosen by a tenant, and the engine connects to it from inside the
deployment, so in production a URL must not reach the engine's own network (SSRF):

* at registration: `https` only, a host, no credentials in the URL, and no host that
  is obviously internal (a loopback, private, link-local or metadata IP literal,
  `localhost`, a metadata host name);
* at delivery: the host name is resolved, every address must be public, and the
  connection goes to an address that passed the check (see sender.py) — so a DNS
  answer that changes between check and connect (rebinding) cannot slip through.

The sandbox runs on the integrator's machine and allows `http` and local hosts, so
`http://localhost:3000/webhooks` works while testing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Final
from urllib.parse import urlsplit

from corelib.errors import ServiceError

URL_LENGTH_MAX: Final = 2048
RESOLVED_ADDRESSES_MAX: Final = 16
SANDBOX_SCHEMES: Final = frozenset({"http", "https"})
PRODUCTION_SCHEMES: Final = frozenset({"https"})
# Cloud metadata services: link-local or private already, except these names.
METADATA_HOSTS: Final = frozenset({"metadata", "metadata.google.internal", "metadata.goog"})
METADATA_ADDRESSES: Final = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port → the addresses it resolves to.
Resolver = Callable[[str, int], Awaitable[list[str]]]


class UnsafeTarget(Exception):
    """The endpoint's host resolves to an address deliveries must not reach."""


def is_public_address(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast and address not in METADATA_ADDRESSES


def _invalid_url(message: str, url: str) -> ServiceError:
    return ServiceError("INVALID_REQUEST", message, {"field": "url", "value": url[:200]})


def validate_endpoint_url(url: str, *, production: bool) -> str:
    """The URL as stored, or INVALID_REQUEST saying what is wrong with it."""
    url = url.strip()
    if not url:
        raise _invalid_url("url is required", url)
    if len(url) > URL_LENGTH_MAX:
        raise _invalid_url(f"url must be at most {URL_LENGTH_MAX} characters", url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _invalid_url(f"url is not a valid URL: {exc}", url) from exc
    scheme = parts.scheme.lower()
    allowed = PRODUCTION_SCHEMES if production else SANDBOX_SCHEMES
    if scheme not in allowed:
        need = "https" if production else "http or https"
        raise _invalid_url(f"url must use {need}, not {scheme or 'no scheme'!r}", url)
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _invalid_url("url must name a host", url)
    if parts.username is not None or parts.password is not None:
        raise _invalid_url("url must not contain credentials", url)
    if port == 0:
        raise _invalid_url("url port must be 1 to 65535", url)
    if production:
        _refuse_internal_host(host, url)
    return url


def _refuse_internal_host(host: str, url: str) -> None:
    lowered = host.lower()
    if lowered == "localhost" or lowered.endswith(".localhost") or lowered in METADATA_HOSTS:
        raise _invalid_url(f"url host {host!r} is internal; production endpoints must be public", url)
    try:
        address = ipaddress.ip_address(lowered)
    except ValueError:
        return
    if not is_public_address(address):
        raise _invalid_url(
            f"url host {host} is a loopback, private, link-local or metadata address; "
            "production endpoints must be public",
            url,
        )


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _type, _proto, _canonical, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
        if len(addresses) >= RESOLVED_ADDRESSES_MAX:
            break
    return addresses


async def checked_addresses(host: str, port: int, resolver: Resolver, *, allow_internal: bool) -> list[str]:
    """The addresses to connect to. Refuses the host if any address it resolves to is
    internal: a name that mixes public and private answers is not trustworthy."""
    try:
        addresses = await resolver(host, port)
    except OSError as exc:
        raise UnsafeTarget(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise UnsafeTarget(f"{host} resolves to no address")
    if allow_internal:
        return addresses
    for text in addresses:
        if not is_public_address(ipaddress.ip_address(text.split("%", 1)[0])):
            raise UnsafeTarget(
                f"refused: {host} resolves to {text}, a loopback, private, link-local or metadata address"
            )
    return addresses
