"""The edge's request quotas: a full bucket per window, Retry-After until it refills."""

from __future__ import annotations

import base64
import json

from gateway.rate_limits import WINDOW_S, FixedWindowLimiter, principal_subject, quota_headers, tightest


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_holds_limit_requests_per_window() -> None:
    clock = Clock()
    limiter = FixedWindowLimiter(3, clock=clock)
    quotas = [limiter.charge("1.2.3.4") for _ in range(4)]
    assert [q.remaining for q in quotas] == [2, 1, 0, -1]
    assert [q.exceeded for q in quotas] == [False, False, False, True]
    assert quotas[-1].reset_s == 60
    clock.now += 45.5
    assert limiter.charge("1.2.3.4").reset_s == 15
    assert limiter.charge("5.6.7.8").remaining == 2
    clock.now += WINDOW_S
    assert limiter.charge("1.2.3.4").remaining == 2


def test_forgotten_keys_are_bounded() -> None:
    limiter = FixedWindowLimiter(1, clock=Clock(), keys_max=2)
    for key in ("a", "b", "c"):
        limiter.charge(key)
    # "a" was the least recently seen and was dropped: its bucket starts full again.
    assert not limiter.charge("a").exceeded
    assert limiter.charge("c").exceeded


def test_headers_show_the_tightest_quota() -> None:
    clock = Clock()
    address, credential = FixedWindowLimiter(10, clock=clock), FixedWindowLimiter(2, clock=clock)
    quota = tightest([address.charge("ip"), credential.charge("usr_1")])
    assert quota is not None
    assert dict(quota_headers(quota)) == {
        "ratelimit-limit": "2",
        "ratelimit-remaining": "1",
        "ratelimit-reset": "60",
    }
    assert tightest([]) is None


def test_principal_subject_reads_the_assertion() -> None:
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "key_123"}).encode()).decode().rstrip("=")
    assert principal_subject(f"header.{payload}.signature") == "key_123"
    assert principal_subject("garbage") == ""
    assert principal_subject("a.!!!.c") == ""
