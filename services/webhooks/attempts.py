"""What one HTTP attempt to an endpoint came to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AttemptOutcome:
    attempted_at: datetime
    # None when no answer came (timeout, refused, TLS failure, unsafe target).
    status_code: int | None
    latency_ms: int
    # Why the attempt failed; empty on success.
    error: str
    # The first bytes of the answer's body, as text.
    response_body: str

    @property
    def succeeded(self) -> bool:
        # A 2xx whose body then stalls past the timeout is still a failed attempt.
        return not self.error and self.status_code is not None and 200 <= self.status_code < 300
