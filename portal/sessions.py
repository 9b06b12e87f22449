"""Signed-in sessions, kept in the portal's memory: the browser holds only a random id.

The API's tokens never reach the browser. One lock per session makes a silent refresh
happen once even when several requests of the same browser need it at the same moment:
the engine treats a refresh token used twice as stolen and ends the whole session.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Final

SESSION_ID_BYTES: Final = 32
CSRF_TOKEN_BYTES: Final = 32
# A session unused for this long is forgotten; the API's refresh token expires on its own.
SESSION_IDLE_S_MAX: Final = 8 * 3600
# Bounds the memory an unauthenticated visitor can make the portal hold.
SESSIONS_MAX: Final = 10_000
# One-time values (a new key's secret) kept until the page that shows them is opened.
FLASH_VALUES_MAX: Final = 8


@dataclass
class ApiTokens:
    access_token: str
    refresh_token: str
    # Monotonic seconds after which the access token is refreshed before use.
    refresh_after_s: float


@dataclass
class PortalSession:
    session_id: str
    csrf_token: str
    last_seen_s: float
    tokens: ApiTokens | None = None
    username: str = ""
    tenant_id: str = ""
    tenant_name: str = ""
    scopes: tuple[str, ...] = ()
    # Shown once, then dropped: a key's or an endpoint's secret right after it was made.
    flash: dict[str, dict[str, str]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def signed_in(self) -> bool:
        return self.tokens is not None

    def put_flash(self, key: str, value: dict[str, str]) -> None:
        while len(self.flash) >= FLASH_VALUES_MAX:
            self.flash.pop(next(iter(self.flash)))
        self.flash[key] = value

    def pop_flash(self, key: str) -> dict[str, str] | None:
        return self.flash.pop(key, None)


class SessionStore:
    def __init__(self, *, idle_s_max: float = SESSION_IDLE_S_MAX, sessions_max: int = SESSIONS_MAX) -> None:
        self._sessions: dict[str, PortalSession] = {}
        self._idle_s_max = idle_s_max
        self._sessions_max = sessions_max

    def get(self, session_id: str | None) -> PortalSession | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = time.monotonic()
        if now - session.last_seen_s > self._idle_s_max:
            self._sessions.pop(session_id, None)
            return None
        session.last_seen_s = now
        return session

    def create(self) -> PortalSession:
        self._evict()
        session = PortalSession(
            session_id=secrets.token_urlsafe(SESSION_ID_BYTES),
            csrf_token=secrets.token_urlsafe(CSRF_TOKEN_BYTES),
            last_seen_s=time.monotonic(),
        )
        self._sessions[session.session_id] = session
        return session

    def discard(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def _evict(self) -> None:
        now = time.monotonic()
        for sid in [s.session_id for s in self._sessions.values() if now - s.last_seen_s > self._idle_s_max]:
            self._sessions.pop(sid, None)
        while len(self._sessions) >= self._sessions_max:
            # Oldest first: dicts keep insertion order.
            self._sessions.pop(next(iter(self._sessions)))
