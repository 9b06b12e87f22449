"""The engine under test, hosted in its own process: `python -m bench.engine_host`.

It runs the launcher's EngineStack (embedded PostgreSQL, migrations, sandbox seed, every
service and the gateway as separate processes) exactly as `payment-engine up` does, and
writes one JSON line describing it (addresses, credentials, pids) to stdout. It stops the
engine when its stdin closes — so a benchmark that ends, fails or is killed never leaves
an engine behind — or on SIGTERM.

Why a separate process: the launcher reads every child's log lines on threads of the
process that started it. In the load generator's process those threads would compete
for its GIL and put their cost into the latencies being measured.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Final

from launcher.embedded_db import PostgresTuning
from launcher.errors import LaunchError
from launcher.output import StreamSink
from launcher.stack import EngineStack, StackOptions

# The services, the gateway, the relays and the benchmark's own connections (pgbench
# uses up to 32) must all fit; the launcher's default of 200 would be tight.
CONNECTIONS_MAX: Final = 300
# How often the host looks up from waiting to see whether the engine still runs.
FAILURE_POLL_S: Final = 1.0
LOG_FILE_NAME: Final = "engine.log"


class _Stop(Exception):
    pass


def _raise_stop(_signum: int, _frame: FrameType | None) -> None:
    raise _Stop


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.engine_host")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--pooler", action="store_true", help="services through PgBouncer (transaction mode)")
    return parser.parse_args(argv)


def _wait_for_stdin_close(closed: threading.Event) -> None:
    # Nothing is ever written to stdin: the parent only closes it.
    sys.stdin.read()
    closed.set()


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    extra_env = dict(item.split("=", 1) for item in args.env)
    data_dir: Path = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    options = StackOptions(
        data_dir=data_dir,
        gateway_port=0,
        # The benchmark drives the API; the portal would only take memory.
        portal_port=None,
        grpc_ports={},
        # Durable, as `payment-engine up` runs it: fsync and synchronous commit on, so
        # the comparison with pgbench on the same server is fair.
        postgres_tuning=PostgresTuning(durable=True, connections_max=CONNECTIONS_MAX),
        postgres_port=0,
        mode="sandbox",
        log_format="json",
        extra_env=extra_env,
        pooler=bool(args.pooler),
    )
    signal.signal(signal.SIGTERM, _raise_stop)
    with (data_dir / LOG_FILE_NAME).open("a", encoding="utf-8") as log:
        stack = EngineStack(options, StreamSink(log, log_format="json"))
        try:
            running = stack.start()
            postgres = stack.postgres
            assert postgres is not None and running.credentials is not None
            postmaster_pid = int((postgres.pgdata / "postmaster.pid").read_text().split()[0])
            names = [*running.grpc_addrs, "gateway"]
            pids = {name: stack.supervisor.pid(name) for name in names}
            description = {
                "baseUrl": running.base_url,
                "grpcAddrs": running.grpc_addrs,
                "databaseUrl": running.database_url,
                "serviceSecret": running.service_secret,
                "username": running.credentials.username,
                "password": running.credentials.password,
                "apiKey": running.credentials.api_key,
                "tenantId": running.credentials.tenant_id,
                "pids": {name: pid for name, pid in pids.items() if pid is not None},
                "postmasterPid": postmaster_pid,
                "postgresPort": postgres.port,
                "postgresLog": str(postgres.log_path),
                "logPath": str(data_dir / LOG_FILE_NAME),
            }
            print(json.dumps(description), flush=True)
            closed = threading.Event()
            threading.Thread(target=_wait_for_stdin_close, args=(closed,), daemon=True).start()
            while not closed.is_set():
                failure = stack.wait_failure(FAILURE_POLL_S)
                if failure is not None:
                    print(f"engine failed: {failure}", file=sys.stderr, flush=True)
                    return 1
            return 0
        except _Stop:
            return 0
        except LaunchError as error:
            print(json.dumps({"error": str(error)}), flush=True)
            return 1
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            stack.stop()


if __name__ == "__main__":
    raise SystemExit(main())
