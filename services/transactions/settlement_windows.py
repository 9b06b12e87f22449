"""When an ACH payment's batch window closes and when the batch settles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final

WINDOWS_PER_DAY_MAX: Final = 48


@dataclass(frozen=True)
class SettlementCalendar:
    window_seconds: int
    windows_utc: tuple[time, ...]
    settlement_delay: timedelta

    @staticmethod
    def from_settings(window_seconds: int, windows_utc: str, settlement_seconds: int) -> SettlementCalendar:
        times = tuple(
            sorted(time.fromisoformat(part.strip()) for part in windows_utc.split(",") if part.strip())
        )[:WINDOWS_PER_DAY_MAX]
        if window_seconds <= 0 and not times:
            raise ValueError("ACH needs either a window interval or window times")
        return SettlementCalendar(window_seconds, times, timedelta(seconds=settlement_seconds))

    def window_closing_after(self, moment: datetime) -> datetime:
        """The first window boundary strictly after `moment`: the payment's batch."""
        if self.window_seconds > 0:
            epoch = moment.timestamp()
            closes = (int(epoch) // self.window_seconds + 1) * self.window_seconds
            return datetime.fromtimestamp(closes, tz=moment.tzinfo)
        for day_offset in range(2):
            day = (moment + timedelta(days=day_offset)).date()
            for window in self.windows_utc:
                candidate = datetime.combine(day, window, tzinfo=moment.tzinfo)
                if candidate > moment:
                    return candidate
        raise AssertionError("no ACH window within two days")

    def settles_at(self, window_closes_at: datetime) -> datetime:
        return window_closes_at + self.settlement_delay
