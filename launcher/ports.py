"""Loopback TCP ports: is one free, and which one is."""

from __future__ import annotations

import random
import socket
from pathlib import Path
from typing import Final

from launcher.errors import LaunchError

LOOPBACK_HOST: Final = "127.0.0.1"
# Ports for the engine's servers when none is given; below Linux's default ephemeral
# range (32768-60999), which is read from the kernel when it says otherwise.
SERVER_PORT_RANGE: Final = (20_000, 32_000)
EPHEMERAL_RANGE_PATH: Final = "/proc/sys/net/ipv4/ip_local_port_range"
LINUX_EPHEMERAL_RANGE: Final = (32_768, 60_999)
PICK_ATTEMPTS_MAX: Final = 64


def port_is_free(port: int, host: str = LOOPBACK_HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR as the servers themselves set it: a port whose last user is in
        # TIME_WAIT is free for them, and must not be reported as taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _ephemeral_range() -> tuple[int, int]:
    """Where the kernel takes the local ports of outgoing connections from."""
    try:
        low, high = (int(part) for part in Path(EPHEMERAL_RANGE_PATH).read_text().split())
    except (OSError, ValueError):
        return LINUX_EPHEMERAL_RANGE
    return low, high


def free_port(host: str = LOOPBACK_HOST) -> int:
    """A port the kernel considers free now, below the range that outgoing connections
    take their local ports from: a port chosen inside it can be taken by any process's
    next connection before our child binds it (a test engine's gateway lost its port
    that way). Another server may still take it; callers that cannot tolerate that retry
    with a new one."""
    ephemeral_low, ephemeral_high = _ephemeral_range()
    low, high = SERVER_PORT_RANGE
    if high < ephemeral_low or low > ephemeral_high:
        for _ in range(PICK_ATTEMPTS_MAX):
            port = random.randint(low, high)
            if port_is_free(port, host):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        chosen: int = probe.getsockname()[1]
    return chosen


def require_free_port(port: int, *, flag: str) -> None:
    if not port_is_free(port):
        raise LaunchError(f"port {port} is already in use; choose another with {flag}")


def preferred_or_free_port(preferred: int) -> int:
    """`preferred` when it is free, else any free port; 0 asks for any free port."""
    if preferred and port_is_free(preferred):
        return preferred
    return free_port()


PORT_ALLOCATION_ATTEMPTS_MAX: Final = 50


def allocate_ports(preferred: dict[str, int], *, taken: set[int] | None = None) -> dict[str, int]:
    """A distinct free port for each name: its preferred one when free, else any free one
    (0 prefers none). Two free ports asked for one after the other may coincide; retry."""
    used = set(taken or ())
    chosen: dict[str, int] = {}
    for name, port in preferred.items():
        candidate = port if port and port not in used and port_is_free(port) else 0
        for _attempt in range(PORT_ALLOCATION_ATTEMPTS_MAX):
            if candidate and candidate not in used:
                break
            candidate = free_port()
        else:
            raise RuntimeError(f"no distinct free port for {name} after {PORT_ALLOCATION_ATTEMPTS_MAX} tries")
        used.add(candidate)
        chosen[name] = candidate
    return chosen
