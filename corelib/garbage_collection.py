"""How a long-running engine process has its cyclic garbage collector run.

Once a process has imported its modules and built its servicers, it holds about 100,000
objects that live as long as it does (modules, classes, protobuf descriptors, SQLAlchemy
metadata, gRPC). Left in the collector's oldest generation, each full collection walks
them all again: 30 to 60 ms on this engine's machines, during which the process answers
nobody, which lands straight in a payment's p99. Frozen after start-up, they are never
walked again; a full collection then walks only what the process made since (a few
thousand objects).

The young generations keep CPython's thresholds: almost everything a request allocates
is freed by reference counting the moment the request ends, so young collections are
cheap, and a larger threshold would only make each of them a longer pause.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Called once the process is built and before it serves: collects what start-up left
    as garbage, then moves every surviving object out of the collector's reach for good."""
    gc.collect()
    gc.freeze()
