from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher.cli import _scopes, build_parser, main
from launcher.ports import free_port


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_up_defaults_match_the_readme() -> None:
    args = build_parser().parse_args(["up"])
    assert args.port == 8080
    assert args.data_dir == Path(".payment-engine")
    assert args.database_url is None
    assert args.mode == "sandbox"


def test_bad_port_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["up", "--port", "70000"])
    assert "port must be 1 to 65535" in capsys.readouterr().err


def test_up_on_a_taken_port_says_so_and_fails(
    taken_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handler_before = signal.getsignal(signal.SIGINT)

    status = main(["up", "--port", str(taken_port), "--data-dir", str(tmp_path), "--log-format", "json"])

    assert status == 1
    assert (
        f"error: port {taken_port} is already in use; choose another with --port" in capsys.readouterr().err
    )
    assert signal.getsignal(signal.SIGINT) is handler_before
    assert not (tmp_path / "pgdata").exists()  # nothing started before the check


def test_up_with_an_unreachable_database_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    url = f"postgresql://nobody:hunter2@127.0.0.1:{dead_port}/payment_engine"

    port = str(free_port())
    status = main(["up", "--port", port, "--data-dir", str(tmp_path), "--database-url", url])

    err = capsys.readouterr().err
    assert status == 1
    assert (
        f"error: cannot connect to the database at postgresql+psycopg://nobody:***@127.0.0.1:{dead_port}"
        in err
    )
    assert "hunter2" not in err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/pe", "--database-url must be a PostgreSQL URL"),
        ("not a url", "--database-url is not a valid PostgreSQL URL"),
        ("postgresql://postgres@127.0.0.1:5432", "--database-url names no database"),
    ],
)
def test_malformed_database_urls_are_explained(
    url: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = str(free_port())
    assert main(["up", "--port", port, "--data-dir", str(tmp_path), "--database-url", url]) == 1
    assert message in capsys.readouterr().err


def test_admin_commands_parse_their_flags() -> None:
    command = "admin create-api-key --tenant org_1 --name ci --scope account:read,account:write"
    command += " --scope transaction:read --expires-in-days 30 --database-url postgresql://x@h/db"
    args = build_parser().parse_args(command.split())
    assert (args.tenant, args.name, args.expires_in_days) == ("org_1", "ci", 30)
    assert _scopes(args.scopes) == ["account:read", "account:write", "transaction:read"]


def test_create_user_needs_exactly_one_password_source(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["admin", "create-user", "--tenant", "org_1", "--username", "ops", "--scope", "account:read"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(base)
    with pytest.raises(SystemExit):
        build_parser().parse_args([*base, "--password", "x", "--password-stdin"])
    assert build_parser().parse_args([*base, "--password-stdin"]).password_stdin is True
