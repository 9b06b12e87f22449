"""The HTTP readiness probe on real sockets: only a 200 from an HTTP server is ready;
a port that answers something that is not HTTP, or nothing, is not ready yet."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from launcher.readiness import HttpReadyProbe

NOT_HTTP = b"\x00\x00\x12\x04\x00\x00\x00\x00\x00@\x00\x00\x00\xfe\x00\x00\x00?"
EMPTY_ANSWER = b"Content-Length: 0\r\nConnection: close\r\n\r\n"
ACCEPT_WAIT_S = 0.05


@contextmanager
def answering(reply: bytes) -> Iterator[int]:
    """A server on a free port that answers every connection with `reply`, then closes it."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(ACCEPT_WAIT_S)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_a_200_is_ready() -> None:
    with answering(b"HTTP/1.1 200 OK\r\n" + EMPTY_ANSWER) as port:
        assert HttpReadyProbe(f"http://127.0.0.1:{port}/readyz").check()


def test_a_503_is_not_ready() -> None:
    with answering(b"HTTP/1.1 503 Service Unavailable\r\n" + EMPTY_ANSWER) as port:
        assert not HttpReadyProbe(f"http://127.0.0.1:{port}/readyz").check()


def test_an_answer_that_is_not_http_is_not_ready() -> None:
    with answering(NOT_HTTP) as port:
        assert not HttpReadyProbe(f"http://127.0.0.1:{port}/readyz").check()


def test_a_connection_closed_without_an_answer_is_not_ready() -> None:
    with answering(b"") as port:
        assert not HttpReadyProbe(f"http://127.0.0.1:{port}/readyz").check()
