"""Real webhook receivers on loopback for the webhooks tests.

* `Receiver`: an ASGI app under uvicorn in the test's event loop. It records every
  request (raw body, headers, arrival time), answers from a script (statuses, or "hang"
  to hold the request open), and can verify each request with a given function, answering
  401 when it fails — as the guide's handlers do. It can be stopped and started again on
  the same port to play an endpoint that is down for a while.
* `NodeReceiver`: the guide's Node.js `verifyWebhookSignature`, as written, under `node`,
  in a plain `http` server that hands it the raw body as a Buffer (what express.raw does).
* The guide's Python `verify_webhook_signature`, as written, is below.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import uvicorn
from standardwebhooks import Webhook

HANG_S: Final = 60.0
WAIT_DEADLINE_S: Final = 20.0
NODE_START_TIMEOUT_S: Final = 15.0
NODE_RECEIVER_JS: Final = Path(__file__).with_name("node_receiver.js")


# The guide's Python example, verbatim ("Webhook Integration" → "Python Example").
def verify_webhook_signature(payload, signature, secret):  # type: ignore[no-untyped-def]
    expected_signature = hmac.new(secret.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256).hexdigest()

    expected_header = f"sha256={expected_signature}"

    return hmac.compare_digest(expected_header, signature)


def guide_verify(payload: str, signature: str, secret: str) -> bool:
    """The verbatim function above, called with types."""
    return bool(verify_webhook_signature(payload, signature, secret))  # type: ignore[no-untyped-call]


def guide_python_verifier(secret: str) -> Verifier:
    """The guide's Flask handler's checks: the body as text, the X-Webhook-Signature header."""

    def verify(body: bytes, headers: Mapping[str, str]) -> bool:
        signature = headers.get("x-webhook-signature")
        payload = body.decode("utf-8")
        return signature is not None and guide_verify(payload, signature, secret)

    return verify


def standard_webhooks_verifier(secret: str) -> Verifier:
    webhook = Webhook(secret)

    def verify(body: bytes, headers: Mapping[str, str]) -> bool:
        try:
            webhook.verify(body, dict(headers))
        except Exception:
            return False
        return True

    return verify


# raw body, lower-cased headers → verified?
Verifier = Callable[[bytes, Mapping[str, str]], bool]


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    monotonic_at: float
    wall_at: float
    verified: bool | None
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Answers `script` in order (an int status or "hang"), then `default`."""

    script: list[int | str] = field(default_factory=list)
    default: int | str = 200
    verifier: Verifier | None = None
    reply_body: bytes = b"OK"
    # PEM files to serve HTTPS with.
    tls: tuple[str, str] | None = None
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _arrived: asyncio.Condition | None = None
    _release: asyncio.Event | None = None

    def _released(self) -> asyncio.Event:
        if self._release is None:
            self._release = asyncio.Event()
        return self._release

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/payment-engine"

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        action = self.script.pop(0) if self.script else self.default
        verified = self.verifier(body, headers) if self.verifier is not None else None
        status = 401 if verified is False else (action if isinstance(action, int) else 200)
        record = Received(body, headers, time.monotonic(), time.time(), verified, status)
        if action == "hang":
            record.answered = 0
            await self._note(record)
            # Held open until the sender gives up, or the receiver stops.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released().wait(), HANG_S)
            return
        await self._note(record)
        reply = b"Invalid signature" if verified is False else self.reply_body
        extra = [(b"location", b"http://127.0.0.1:1/elsewhere")] if 300 <= status < 400 else []
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain"), *extra],
            }
        )
        await send({"type": "http.response.body", "body": reply})

    async def _note(self, record: Received) -> None:
        assert self._arrived is not None
        async with self._arrived:
            self.received.append(record)
            self._arrived.notify_all()

    async def start(self) -> Receiver:
        if self._arrived is None:
            self._arrived = asyncio.Condition()
        self._release = asyncio.Event()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit it: without it every answer waits on delayed ACKs.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        certfile, keyfile = self.tls if self.tls else (None, None)
        config = uvicorn.Config(
            self,
            log_level="error",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=0,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        for _ in range(500):
            if self._server.started:
                break
            await asyncio.sleep(0.01)
        assert self._server.started, "receiver did not start"
        return self

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._released().set()
        self._server.should_exit = True
        self._server.force_exit = True
        await asyncio.gather(self._task, return_exceptions=True)
        self._server = None
        self._task = None

    async def wait_for(
        self, predicate: Callable[[list[Received]], bool], *, timeout_s: float = WAIT_DEADLINE_S
    ) -> list[Received]:
        assert self._arrived is not None, "start the receiver first"
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: predicate(self.received)), timeout_s)
        return list(self.received)

    async def wait_count(self, count: int, *, timeout_s: float = WAIT_DEADLINE_S) -> list[Received]:
        return await self.wait_for(lambda r: len(r) >= count, timeout_s=timeout_s)

    def event_ids(self) -> list[str]:
        return [r.event["eventId"] for r in self.received]


@dataclass
class NodeReceiver:
    """`node node_receiver.js`: one JSON line on stdout per request it verified or refused."""

    secret: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    _process: asyncio.subprocess.Process | None = None
    _reader: asyncio.Task[None] | None = None
    _changed: asyncio.Condition | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/payment-engine"

    async def start(self) -> NodeReceiver:
        self._changed = asyncio.Condition()
        self._process = await asyncio.create_subprocess_exec(
            "node",
            str(NODE_RECEIVER_JS),
            env={"WEBHOOK_SECRET": self.secret, "PATH": "/usr/bin:/bin:/usr/local/bin"},
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        first = await asyncio.wait_for(self._process.stdout.readline(), NODE_START_TIMEOUT_S)
        self.port = int(json.loads(first)["listening"])
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None and self._changed is not None
        while line := await self._process.stdout.readline():
            async with self._changed:
                self.lines.append(json.loads(line))
                self._changed.notify_all()

    async def wait_count(self, count: int, *, timeout_s: float = WAIT_DEADLINE_S) -> list[dict[str, Any]]:
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.lines) >= count), timeout_s)
        return list(self.lines)

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
