"""The gRPC core experiments every process of the engine runs with.

gRPC moved its TCP client and listener onto its EventEngine (the experiments
`event_engine_client` and `event_engine_listener`, on by default). Under grpc.aio those
connections cost more CPU per call than the iomgr ones they replaced: a unary call
between two uvloop processes at ~3,500 calls/s on 2 cores cost 230 µs of the client's
CPU and 330 µs of the server's with them, 190 and 270 µs without. The engine's costs are
per call (docs/scaling.md), so every process runs with both off.

gRPC reads GRPC_EXPERIMENTS once, when the grpc module is first imported, so the setting
has to be in a process's environment before it starts: the launcher adds it for every
process it starts and the image sets it (Dockerfile). This module does not import grpc,
so that an entry point may apply it to itself first. An operator's own GRPC_EXPERIMENTS
wins over ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

GRPC_EXPERIMENTS_VARIABLE: Final = "GRPC_EXPERIMENTS"
ENGINE_GRPC_EXPERIMENTS: Final = "-event_engine_client,-event_engine_listener"


def with_engine_grpc_experiments(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with the engine's experiments, unless it names its own."""
    env = dict(environ)
    if not env.get(GRPC_EXPERIMENTS_VARIABLE):
        env[GRPC_EXPERIMENTS_VARIABLE] = ENGINE_GRPC_EXPERIMENTS
    return env
