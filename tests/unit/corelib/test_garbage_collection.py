"""A process's start-up objects are frozen out of the collector's reach, so that a full
collection while it serves walks only what it made since."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Run in a fresh interpreter: freezing is for the life of a process, and the test
# runner's own heap must not be frozen by a test.
_PROGRAM = textwrap.dedent(
    """
    import gc
    from corelib.garbage_collection import freeze_startup_objects

    startup = [[i] for i in range(50_000)]
    cycle = []
    cycle.append(cycle)
    del cycle
    freeze_startup_objects()
    frozen = gc.get_freeze_count()
    walked = len(gc.get_objects())
    serving = [[i] for i in range(1_000)]
    print(frozen, walked, len(gc.get_objects()) - walked, gc.collect(), len(startup), len(serving))
    """
)


def test_startup_objects_are_frozen_and_later_ones_are_not() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM], capture_output=True, text=True, check=True, timeout=60
    )
    frozen, walked, made_since, collected_after, _, _ = (int(n) for n in done.stdout.split())
    assert frozen > 50_000
    # What a collection still walks right after the freeze: next to nothing.
    assert walked < 1_000
    # Objects made after the freeze are tracked (and collected) as usual.
    assert made_since >= 1_000
    # The start-up cycle was collected before the freeze, not frozen with the rest.
    assert collected_after == 0
