"""`payment-engine`: the command line of the engine (console script `launcher.cli:main`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from corelib.config import MODES
from launcher import admin
from launcher.errors import LaunchError
from launcher.instance_status import inspect_instance, render_report, report_document
from launcher.operator_db import migrate
from launcher.stack import GATEWAY_PORT_DEFAULT, PORTAL_PORT_DEFAULT, StackOptions
from launcher.up import run_up

DATA_DIR_DEFAULT: Final = Path(".payment-engine")
PORT_MAX: Final = 65535

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except LaunchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="payment-engine", description="Run and operate the Payment Engine.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="run the engine locally until Ctrl-C")
    up.add_argument(
        "--port", type=_port, default=GATEWAY_PORT_DEFAULT, help="gateway port (default %(default)s)"
    )
    up.add_argument(
        "--portal-port",
        type=_port,
        default=None,
        help=f"developer portal port (PE_PORTAL_PORT; default {PORTAL_PORT_DEFAULT}, or a free one if taken)",
    )
    _add_data_dir(up)
    up.add_argument(
        "--database-url",
        help="use this PostgreSQL instead of the embedded one (postgresql://user:pass@host:port/db)",
    )
    up.add_argument("--mode", choices=MODES, default="sandbox", help="default %(default)s")
    up.add_argument(
        "--pooler",
        action="store_true",
        help="run the services through a local PgBouncer in transaction pooling mode "
        "(Debian's pgbouncer, installed when missing)",
    )
    up.add_argument(
        "--log-format",
        choices=("auto", "console", "json"),
        default="auto",
        help="console on a terminal, JSON lines otherwise (default %(default)s)",
    )
    up.set_defaults(handler=_up)

    status = commands.add_parser(
        "status",
        help="each process of the running engine: pid, address, health, restarts "
        "(exit 0 healthy, 1 not healthy, 3 not running)",
    )
    _add_data_dir(status)
    status.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    status.set_defaults(handler=_status)

    migrate = commands.add_parser(
        "migrate", help="apply every service's database migrations ($PE_DATABASE_DIRECT_URL first)"
    )
    # Migrations hold a session advisory lock: never through a transaction pooler.
    _add_database_target(migrate, default_url=os.environ.get("PE_DATABASE_DIRECT_URL"))
    migrate.set_defaults(handler=_migrate)

    admin = commands.add_parser("admin", help="operator actions: tenants, users, API keys, reconciliation")
    actions = admin.add_subparsers(dest="action", required=True, metavar="ACTION")

    tenant = actions.add_parser("create-tenant", help="create a tenant (organisation)")
    tenant.add_argument("--name", required=True)
    _add_database_target(tenant)
    tenant.set_defaults(handler=_create_tenant)

    user = actions.add_parser("create-user", help="create a user in a tenant")
    user.add_argument("--tenant", required=True, help="tenant id (org_…)")
    user.add_argument("--username", required=True)
    password = user.add_mutually_exclusive_group(required=True)
    password.add_argument("--password", help="visible in the process list; prefer --password-stdin")
    password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _add_scopes(user)
    _add_database_target(user)
    user.set_defaults(handler=_create_user)

    key = actions.add_parser("create-api-key", help="create an API key; its secret is shown once")
    key.add_argument("--tenant", required=True, help="tenant id (org_…)")
    key.add_argument("--name", required=True)
    _add_scopes(key)
    key.add_argument("--expires-in-days", type=int, help="default: never expires")
    _add_database_target(key)
    key.set_defaults(handler=_create_api_key)

    reconcile = actions.add_parser(
        "reconcile", help="recompute every balance from postings; exit 0 only when nothing drifted"
    )
    _add_database_target(reconcile)
    reconcile.set_defaults(handler=_reconcile)

    rotate = actions.add_parser("rotate-signing-key", help="make a new token signing key current")
    _add_database_target(rotate)
    rotate.set_defaults(handler=_rotate_signing_key)
    return parser


def _portal_port(given: int | None) -> int:
    if given is not None:
        return given
    try:
        return _port(os.environ.get("PE_PORTAL_PORT", str(PORTAL_PORT_DEFAULT)))
    except argparse.ArgumentTypeError as error:
        raise LaunchError(f"PE_PORTAL_PORT: {error}") from None


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= PORT_MAX:
        raise argparse.ArgumentTypeError(f"port must be 1 to {PORT_MAX}, not {port}")
    return port


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, default=DATA_DIR_DEFAULT, help="engine data (default %(default)s)"
    )


def _add_database_target(parser: argparse.ArgumentParser, *, default_url: str | None = None) -> None:
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--database-url",
        default=default_url or os.environ.get("PE_DATABASE_URL"),
        help="the engine's PostgreSQL (default: $PE_DATABASE_URL, else the embedded one of --data-dir)",
    )
    target.add_argument(
        "--data-dir", type=Path, default=DATA_DIR_DEFAULT, help="embedded database (default %(default)s)"
    )


def _add_scopes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        required=True,
        help="a scope such as account:read; repeat it, or separate scopes with commas",
    )


def _scopes(values: list[str]) -> list[str]:
    return [scope for value in values for scope in value.replace(",", " ").split()]


def _print_json(document: dict[str, object]) -> int:
    print(json.dumps(document, indent=2))
    return 0


def _up(args: argparse.Namespace) -> int:
    log_format = args.log_format
    if log_format == "auto":
        log_format = "console" if sys.stdout.isatty() else "json"
    options = StackOptions(
        data_dir=args.data_dir,
        gateway_port=args.port,
        portal_port=_portal_port(args.portal_port),
        portal_port_exact=args.portal_port is not None or "PE_PORTAL_PORT" in os.environ,
        database_url=args.database_url,
        mode=args.mode,
        log_format=log_format,
        pooler=args.pooler,
    )
    return run_up(options)


def _status(args: argparse.Namespace) -> int:
    report = inspect_instance(args.data_dir.resolve())
    if args.json:
        print(json.dumps(report_document(report), indent=2))
    else:
        sys.stdout.write(render_report(report))
    return report.exit_code


def _migrate(args: argparse.Namespace) -> int:
    return _print_json(migrate(args.database_url, args.data_dir))


def _create_tenant(args: argparse.Namespace) -> int:
    return _print_json(admin.create_tenant(args.database_url, args.data_dir, name=args.name))


def _create_user(args: argparse.Namespace) -> int:
    password: str = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else args.password
    return _print_json(
        admin.create_user(
            args.database_url,
            args.data_dir,
            tenant_id=args.tenant,
            username=args.username,
            password=password,
            scopes=_scopes(args.scopes),
        )
    )


def _rotate_signing_key(args: argparse.Namespace) -> int:
    return _print_json(admin.rotate_signing_key(args.database_url, args.data_dir))


def _reconcile(args: argparse.Namespace) -> int:
    clean, document = admin.reconcile_ledger(args.database_url, args.data_dir)
    print(json.dumps(document, indent=2, default=str))
    return 0 if clean else 1


def _create_api_key(args: argparse.Namespace) -> int:
    return _print_json(
        admin.create_api_key(
            args.database_url,
            args.data_dir,
            tenant_id=args.tenant,
            name=args.name,
            scopes=_scopes(args.scopes),
            expires_in_days=args.expires_in_days,
        )
    )
