"""Where the children's output and the launcher's own messages go.

`up` streams everything to its terminal (or, when not a terminal, to whatever collects
JSON lines); tests send it to a file they show when a test fails.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Final, Protocol, TextIO

import orjson

LAUNCHER_NAME: Final = "launcher"
NAME_WIDTH: Final = len("transactions")


class LogSink(Protocol):
    def child_line(self, name: str, line: str) -> None:
        """One line a child wrote to stdout or stderr."""

    def event(self, level: str, message: str, **fields: object) -> None:
        """Something the launcher itself reports (a start, a crash, a restart)."""


class StreamSink:
    """Console format prefixes every line with the process name, so interleaved output
    stays readable; JSON format passes the children's JSON lines through untouched (they
    carry their own `service` field) and writes the launcher's events in the same shape."""

    def __init__(self, stream: TextIO, *, log_format: str) -> None:
        self._stream = stream
        self._json = log_format == "json"
        # Re-entrant: the signal handler of `up` reports on the main thread, which may be
        # half-way through a write of its own.
        self._lock = threading.RLock()

    def child_line(self, name: str, line: str) -> None:
        self._write(line if self._json else f"{name:<{NAME_WIDTH}} | {line}")

    def event(self, level: str, message: str, **fields: object) -> None:
        if self._json:
            document = {
                "timestamp": datetime.now(UTC).isoformat(),
                "level": level,
                "service": LAUNCHER_NAME,
                "event": message,
                **fields,
            }
            self._write(orjson.dumps(document, default=str).decode())
            return
        details = " ".join(f"{key}={value}" for key, value in fields.items())
        self._write(f"{LAUNCHER_NAME:<{NAME_WIDTH}} | {message}{' ' + details if details else ''}")

    def _write(self, text: str) -> None:
        with self._lock:
            self._stream.write(text + "\n")
            self._stream.flush()
