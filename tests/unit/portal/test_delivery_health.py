"""An endpoint's health as the portal tells it: failing since when, disabled around when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal.delivery_health import DEFAULT_SCHEDULE, endpoint_health, retry_schedule_total


def attempt(at: str, *, ok: bool) -> dict[str, object]:
    return {"attemptedAt": at, "succeeded": ok, "statusCode": 200 if ok else 500}


def test_the_documented_schedule_lasts_about_three_days() -> None:
    total = retry_schedule_total(DEFAULT_SCHEDULE)
    assert total == timedelta(seconds=5 + 30 + 120 + 600 + 1800) + timedelta(
        hours=1 + 2 + 4 + 8 + 12 + 16 + 24
    )
    assert retry_schedule_total("1s,2s") == timedelta(seconds=3)
    assert retry_schedule_total("nonsense") == total


def test_a_healthy_endpoint_is_not_failing() -> None:
    health = endpoint_health({"consecutiveFailures": 0}, [], timedelta(days=3))
    assert not health.failing and health.failing_since is None and health.disabled_around is None


def test_a_failing_endpoint_says_since_when_and_when_it_will_be_disabled() -> None:
    deliveries = [
        {
            "status": "WEBHOOK_DELIVERY_STATUS_PENDING",
            "trigger": "WEBHOOK_DELIVERY_TRIGGER_EVENT",
            "attemptCount": 2,
            "attempts": [
                attempt("2026-12-01T10:00:05Z", ok=False),
                attempt("2026-12-01T10:00:00Z", ok=False),
            ],
        },
        {
            "status": "WEBHOOK_DELIVERY_STATUS_PENDING",
            "trigger": "WEBHOOK_DELIVERY_TRIGGER_TEST",
            "attemptCount": 1,
            "attempts": [attempt("2026-12-01T09:00:00Z", ok=False)],
        },
    ]
    health = endpoint_health({"consecutiveFailures": 3}, deliveries, timedelta(hours=1))
    assert health.failing
    # Tests never count towards disabling; the event delivery's first attempt does.
    assert health.disabled_around == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    assert health.failing_since == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
