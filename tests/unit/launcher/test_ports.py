from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher.errors import LaunchError
from launcher.ports import (
    EPHEMERAL_RANGE_PATH,
    allocate_ports,
    free_port,
    port_is_free,
    require_free_port,
)


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_listening_port_is_not_free(taken_port: int) -> None:
    assert not port_is_free(taken_port)
    assert port_is_free(free_port())


def test_a_free_port_is_chosen_where_outgoing_connections_never_take_theirs() -> None:
    """An outgoing connection takes its local port from the kernel's ephemeral range; a
    port chosen there could be gone before the server it was chosen for binds it."""
    low, high = (int(part) for part in Path(EPHEMERAL_RANGE_PATH).read_text().split())
    chosen = {free_port() for _ in range(20)}
    assert all(port < low or port > high for port in chosen)
    assert all(port_is_free(port) for port in chosen)
    # Spread out, so that two engines starting side by side rarely pick the same one.
    assert len(chosen) > 10


def test_taken_port_error_names_the_port_and_the_flag(taken_port: int) -> None:
    with pytest.raises(LaunchError) as raised:
        require_free_port(taken_port, flag="--port")
    assert str(raised.value) == f"port {taken_port} is already in use; choose another with --port"


def test_allocation_keeps_a_free_preferred_port_and_replaces_a_taken_one(taken_port: int) -> None:
    preferred_free = free_port()
    ports = allocate_ports({"auth": preferred_free, "accounts": taken_port, "webhooks": 0})

    assert ports["auth"] == preferred_free
    assert ports["accounts"] != taken_port
    assert len(set(ports.values())) == 3


def test_allocation_avoids_ports_already_handed_out() -> None:
    gateway = free_port()
    ports = allocate_ports({"auth": gateway}, taken={gateway})
    assert ports["auth"] != gateway
