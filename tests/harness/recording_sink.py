"""A LogSink that keeps what the launcher reported, for assertions."""

from __future__ import annotations

import threading


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.lines: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def child_line(self, name: str, line: str) -> None:
        with self._lock:
            self.lines.append((name, line))

    def event(self, level: str, message: str, **fields: object) -> None:
        with self._lock:
            self.events.append((level, message))

    def messages(self) -> list[str]:
        with self._lock:
            return [message for _level, message in self.events]
