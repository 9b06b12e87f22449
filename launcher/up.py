"""`payment-engine up`: run the engine until Ctrl-C or SIGTERM, then stop it cleanly."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Final, TextIO

from launcher.errors import LaunchError
from launcher.instance_lock import InstanceLock
from launcher.output import StreamSink
from launcher.stack import EngineStack, RunningEngine, StackOptions

STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)
# How often the main thread looks up from waiting; signals are handled between looks.
FAILURE_POLL_S: Final = 1.0


class _StopRequested(Exception):
    pass


def _stop_handler(sink: StreamSink) -> Callable[[int, FrameType | None], None]:
    def request_stop(signum: int, _frame: FrameType | None) -> None:
        # One request is enough: the stop that follows is bounded, and a second Ctrl-C must
        # not interrupt it half-way and leave processes behind.
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        sink.event("info", f"{signal.Signals(signum).name} received; stopping")
        raise _StopRequested

    return request_stop


def run_up(options: StackOptions, *, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    sink = StreamSink(stream, log_format=options.log_format)
    options.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = InstanceLock(options.data_dir)
    lock.acquire()
    stack = EngineStack(options, sink)
    previous_handlers = {sig: signal.signal(sig, _stop_handler(sink)) for sig in STOP_SIGNALS}
    try:
        engine = stack.start()
        _announce(engine, options, stream, sink)
        while (failure := stack.wait_failure(FAILURE_POLL_S)) is None:
            pass
        print(f"error: {failure}", file=sys.stderr)
        return 1
    except _StopRequested:
        return 0
    except LaunchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        stack.stop()
        lock.release()
        sink.event("info", "stopped")
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)


def _announce(engine: RunningEngine, options: StackOptions, stream: TextIO, sink: StreamSink) -> None:
    credentials = engine.credentials
    if options.log_format == "json":
        fields: dict[str, object] = {
            "baseUrl": engine.base_url,
            "portalUrl": engine.portal_url,
            "grpc": engine.grpc_addrs,
        }
        if credentials is not None:
            fields |= {
                "username": credentials.username,
                "password": credentials.password,
                "apiKey": credentials.api_key,
                "tenantId": credentials.tenant_id,
                "credentialsFile": str(engine.credentials_file),
            }
        sink.event("info", "engine ready", **fields)
        return
    lines = ["", f"Payment Engine is running ({options.mode} mode)", "", f"  Base URL     {engine.base_url}"]
    if engine.portal_url is not None:
        lines.append(f"  Portal       {engine.portal_url}")
    if credentials is not None:
        lines += [
            f"  Username     {credentials.username}",
            f"  Password     {credentials.password}",
            f"  API key      {credentials.api_key}",
            f"  Tenant       {credentials.tenant_id}",
            f"  Saved in     {engine.credentials_file}",
        ]
    lines += [""] + [f"  gRPC         {name:<13}{addr}" for name, addr in engine.grpc_addrs.items()]
    if credentials is not None:
        body = f'{{"username":"{credentials.username}","password":"{credentials.password}"}}'
        lines += [
            "",
            "Log in:",
            f"  curl -s -X POST {engine.base_url}/api/v1/auth/login \\",
            f"       -H 'Content-Type: application/json' -d '{body}'",
        ]
    lines += ["", "Press Ctrl-C to stop.", ""]
    stream.write("\n".join(lines) + "\n")
    stream.flush()
