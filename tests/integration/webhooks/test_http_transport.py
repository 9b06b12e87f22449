"""The delivery transport against real sockets: HTTPS goes to the resolved address while
SNI and certificate verification use the URL's host name (a certificate that does not
verify fails the attempt); a keep-alive connection the receiver closed is replaced, not
counted as a failure; a huge answer is cut short; a trickling one is timed out."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.webhooks.sender import WebhookSender
from tests.integration.webhooks.receivers import Receiver

HOST = "receiver.test"


def self_signed(directory: Path, name: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


async def to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


@pytest.fixture
async def tls_receiver(tmp_path: Path) -> AsyncIterator[tuple[Receiver, str]]:
    cert, key = self_signed(tmp_path, HOST)
    receiver = await Receiver(tls=(cert, key)).start()
    yield receiver, cert
    await receiver.stop()


def trusting(cert: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cert)


async def test_https_goes_to_the_checked_address_with_the_names_certificate(
    tls_receiver: tuple[Receiver, str],
) -> None:
    receiver, cert = tls_receiver
    sender = WebhookSender(
        timeout_s=3, allow_internal_targets=True, resolver=to_loopback, ssl_context=trusting(cert)
    )
    try:
        url = f"https://{HOST}:{receiver.port}/hook"
        first = await sender.post(url, b'{"eventId":"evt_1"}', {"Content-Type": "application/json"})
        second = await sender.post(url, b'{"eventId":"evt_2"}', {"Content-Type": "application/json"})
    finally:
        await sender.aclose()
    assert first.succeeded and second.succeeded, (first, second)
    assert [r.headers["host"] for r in receiver.received] == [f"{HOST}:{receiver.port}"] * 2


async def test_a_certificate_that_does_not_verify_fails_the_attempt(
    tls_receiver: tuple[Receiver, str], tmp_path: Path
) -> None:
    receiver, _ = tls_receiver
    other_cert, _ = self_signed(tmp_path, "someone-else.test")
    for context in (None, trusting(other_cert)):
        sender = WebhookSender(
            timeout_s=3, allow_internal_targets=True, resolver=to_loopback, ssl_context=context
        )
        try:
            outcome = await sender.post(f"https://{HOST}:{receiver.port}/hook", b"{}", {})
        finally:
            await sender.aclose()
        assert not outcome.succeeded and outcome.status_code is None
        assert "TLS handshake with receiver.test failed" in outcome.error
    assert receiver.received == []


async def test_a_keep_alive_connection_the_receiver_closed_is_replaced() -> None:
    requests = 0

    async def answer_then_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        await reader.readuntil(b"\r\n\r\n")
        requests += 1
        # Keep-alive by HTTP/1.1 rules, closed anyway, as an idle timeout would.
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer_then_hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sender = WebhookSender(timeout_s=3, allow_internal_targets=True)
    try:
        outcomes = [await sender.post(f"http://127.0.0.1:{port}/hook", b"{}", {}) for _ in range(5)]
    finally:
        await sender.aclose()
        server.close()
    assert all(o.succeeded for o in outcomes), outcomes
    assert requests == 5


async def test_a_huge_answer_is_cut_short_and_a_trickling_one_timed_out() -> None:
    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n")
        chunk = b"y" * 65536
        try:
            for _ in range(50_000_000 // len(chunk)):
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        try:
            for _ in range(1000):
                writer.write(b"z")
                await writer.drain()
                await asyncio.sleep(0.05)
        except ConnectionError:
            pass
        writer.close()

    big = await asyncio.start_server(huge, "127.0.0.1", 0)
    slow = await asyncio.start_server(trickle, "127.0.0.1", 0)
    sender = WebhookSender(timeout_s=1, allow_internal_targets=True)
    try:
        started = time.monotonic()
        cut = await sender.post(f"http://127.0.0.1:{big.sockets[0].getsockname()[1]}/hook", b"{}", {})
        cut_s = time.monotonic() - started
        trickled = await sender.post(f"http://127.0.0.1:{slow.sockets[0].getsockname()[1]}/hook", b"{}", {})
    finally:
        await sender.aclose()
        big.close()
        slow.close()
    assert cut.succeeded and cut.response_body == "y" * 1024 and cut_s < 1
    assert not trickled.succeeded and trickled.status_code == 200
    assert trickled.error == "timed out after 1000 ms"
