"""A lean HTTP/1.1 client for the load generator: one keep-alive connection, one request
at a time, requests written as bytes and answers read by Content-Length.

httpx spends several hundred microseconds of CPU per request on a machine of two cores
shared with the engine it measures — as much as the engine's own gateway. A load
generator that costs less leaves the engine the CPU it is being measured on. This
client speaks only what the engine's gateway answers (Content-Length bodies, keep-alive,
or a closed connection), to 127.0.0.1 only, with every read bounded in size and time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import orjson

HEADER_BYTES_MAX: Final = 64 * 1024
BODY_BYTES_MAX: Final = 64 * 1024 * 1024
DEFAULT_TIMEOUT_S: Final = 30.0


class HttpError(Exception):
    """The connection failed or answered something this client does not speak."""


class Response:
    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return orjson.loads(self.content)


class KeepAliveClient:
    def __init__(self, base_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname != "127.0.0.1" or parts.port is None:
            raise ValueError(f"the benchmark only loads http://127.0.0.1:<port>, not {base_url}")
        self._host = parts.hostname
        self._port = parts.port
        self._host_header = f"127.0.0.1:{parts.port}".encode()
        self._timeout_s = timeout_s
        self.headers: dict[str, str] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> KeepAliveClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def get(
        self, path: str, *, headers: Mapping[str, str] | None = None, params: Mapping[str, Any] | None = None
    ) -> Response:
        if params:
            path = f"{path}?{urlencode(params)}"
        return await self.request("GET", path, b"", headers)

    async def post(
        self,
        path: str,
        *,
        content: bytes | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        body = content if content is not None else orjson.dumps(json) if json is not None else b""
        merged = {"content-type": "application/json", **(headers or {})}
        return await self.request("POST", path, body, merged)

    async def delete(self, path: str, *, headers: Mapping[str, str] | None = None) -> Response:
        return await self.request("DELETE", path, b"", headers)

    async def request(
        self,
        method: str,
        path: str,
        body: bytes,
        headers: Mapping[str, str] | None,
    ) -> Response:
        lines = [f"{method} {path} HTTP/1.1".encode(), b"host: " + self._host_header]
        for name, value in {**self.headers, **(headers or {})}.items():
            lines.append(f"{name}: {value}".encode())
        if body or method == "POST":
            lines.append(b"content-length: " + str(len(body)).encode())
        payload = b"\r\n".join(lines) + b"\r\n\r\n" + body
        async with asyncio.timeout(self._timeout_s):
            try:
                return await self._exchange(payload)
            except (OSError, asyncio.IncompleteReadError, HttpError):
                # A keep-alive connection the server closed meanwhile: once more, anew.
                await self.aclose()
                return await self._exchange(payload)

    async def _exchange(self, payload: bytes) -> Response:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        self._writer.write(payload)
        head = await self._reader.readuntil(b"\r\n\r\n")
        if len(head) > HEADER_BYTES_MAX:
            raise HttpError("response headers too large")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise HttpError(f"not an HTTP/1.1 answer: {status_line[:80]!r}")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        length_text = headers.get("content-length")
        if headers.get("transfer-encoding", "").lower() == "chunked":
            content = await self._read_chunked()
        elif length_text is None:
            content = await self._reader.read(BODY_BYTES_MAX)
            await self.aclose()
        else:
            length = int(length_text)
            if length > BODY_BYTES_MAX:
                raise HttpError("response body too large")
            content = await self._reader.readexactly(length)
            if headers.get("connection", "").lower() == "close":
                await self.aclose()
        return Response(int(parts[1]), headers, content)

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        chunks: list[bytes] = []
        size_total = 0
        # Bounded: every chunk counts against BODY_BYTES_MAX, and a zero-size chunk ends it.
        while True:
            size_line = await self._reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(chunks)
            size_total += size
            if size_total > BODY_BYTES_MAX:
                raise HttpError("response body too large")
            chunks.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)
