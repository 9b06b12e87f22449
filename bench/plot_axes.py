"""Axes of bench/plot.py: round linear ends and ticks, and a logarithmic ms axis."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

LOG_DECADES_MAX: Final = 6
LOG_DEFAULT_MS: Final = (1.0, 100.0)
LOG_MINOR_LABELS_DECADES: Final = 2
# A clipped axis ends at most this many times the median value (see clipped_top).
CLIP_FACTOR: Final = 4.0


def compact(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above value: round axis ends."""
    if value <= 0:
        return 1.0
    base = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0):
        if value <= step * base * (1 + 1e-9):
            return step * base
    return 10.0 * base


def linear_ticks(top: float, *, narrow: bool = False) -> list[float]:
    """Evenly spaced round values from 0 to top; a narrow panel gets only its ends and middle."""
    lead = round(top / 10.0 ** math.floor(math.log10(top)), 1)
    count = 2 if narrow else 4 if lead == 2.0 else 5
    return [top * index / count for index in range(count + 1)]


def clipped_top(values: Sequence[float]) -> float:
    """The end of a linear axis for values of which one may dwarf the rest: a batch of
    1,000 payments costs hundreds of times the CPU of one request, and would flatten
    every other bar to nothing. Bars beyond the end are drawn broken, with their value."""
    if not values:
        return 1.0
    ordered = sorted(values)
    median = ordered[(len(ordered) - 1) // 2]
    return nice_ceiling(min(ordered[-1], median * CLIP_FACTOR) if median > 0 else ordered[-1])


@dataclass(frozen=True)
class LogAxis:
    low_exponent: int
    high_exponent: int

    @classmethod
    def covering(cls, values: Sequence[float]) -> LogAxis:
        positive = [value for value in values if value > 0]
        low, high = (min(positive), max(positive)) if positive else LOG_DEFAULT_MS
        low_exponent = math.floor(math.log10(low))
        high_exponent = max(math.ceil(math.log10(high)), low_exponent + 1)
        # A near-zero sample would squash every other row into the axis' right end.
        low_exponent = max(low_exponent, high_exponent - LOG_DECADES_MAX)
        return cls(low_exponent, high_exponent)

    def fraction(self, value: float) -> float:
        """0 at the axis' left end, 1 at its right; values outside sit at the ends."""
        if value <= 0:
            return 0.0
        span = self.high_exponent - self.low_exponent
        return min(max((math.log10(value) - self.low_exponent) / span, 0.0), 1.0)

    def ticks(self) -> list[tuple[float, bool]]:
        """(value, labelled) at 1, 2 and 5 of each decade; 2 and 5 unlabelled when the
        axis spans many decades, or their labels would run together."""
        label_minor = self.high_exponent - self.low_exponent <= LOG_MINOR_LABELS_DECADES
        marks = []
        for exponent in range(self.low_exponent, self.high_exponent + 1):
            for step in (1, 2, 5):
                if exponent == self.high_exponent and step > 1:
                    break
                marks.append((step * 10.0**exponent, step == 1 or label_minor))
        return marks


def ms_tick(value: float) -> str:
    # "1 s" rather than "1,000": the labels of 1, 2 and 5 s must fit between their ticks.
    if value >= 1000:
        return f"{value / 1000:g} s"
    return f"{value:g}"
