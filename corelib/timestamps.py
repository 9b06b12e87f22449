"""Timezone-aware UTC time and its protobuf form."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


def from_timestamp(stamp: timestamp_pb2.Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)
