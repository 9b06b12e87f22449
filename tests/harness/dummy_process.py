"""A stand-in for a service in supervisor tests: listens on a TCP port (its readiness),
prints a line, and misbehaves on request.

    python dummy_process.py --port N [--exit-after-s S] [--exit-code C] [--ignore-sigterm]
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import time
from typing import Final

LIFETIME_S_MAX: Final = 600.0
TICK_S: Final = 0.05


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--exit-after-s", type=float, default=None)
    parser.add_argument("--exit-code", type=int, default=3)
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--no-listen", action="store_true")
    args = parser.parse_args()

    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if not args.no_listen:
        listener.bind(("127.0.0.1", args.port))
        listener.listen()
    print(f"dummy listening on {args.port}", flush=True)
    started = time.monotonic()
    while time.monotonic() - started < LIFETIME_S_MAX:
        if args.exit_after_s is not None and time.monotonic() - started >= args.exit_after_s:
            print(f"dummy failing with exit code {args.exit_code}", flush=True)
            sys.exit(args.exit_code)
        time.sleep(TICK_S)


if __name__ == "__main__":
    main()
