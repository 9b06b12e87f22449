"""The design's boundaries, checked on the source: services talk only over gRPC, the
shared library holds no service code, and SQL lives only in repositories."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from payment_engine_protos import descriptor_set_bytes
from payment_engine_protos.common.v1 import auth_options_pb2

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())
SQL_CONSTRUCTS = {"select", "insert", "update", "delete", "text"}
# Modules allowed to hold SQL: each service's repository, its table definitions and
# migrations, and the shared database, migration, outbox and idempotency mechanisms.
SQL_ALLOWED = (
    "repository.py",
    "schema.py",
    "/migrations/",
    "corelib/db.py",
    "corelib/direct_sql.py",
    "corelib/migrations.py",
    "corelib/outbox.py",
    "corelib/outbox_relay.py",
    "corelib/idempotency.py",
    "corelib/notification_feed.py",
)


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    offenders = []
    for path in python_files(f"services/{service}"):
        for module in imported_modules(path):
            parts = module.split(".")
            if parts[0] == "services" and len(parts) > 1 and parts[1] != service:
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
            if parts[0] in ("gateway", "launcher"):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


@pytest.mark.parametrize("package", ["corelib", "gateway"])
def test_shared_library_and_gateway_import_no_service(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in python_files(package)
        for module in imported_modules(path)
        if module.split(".")[0] in ("services", "launcher")
    ]
    assert offenders == []


# The portal reaches the engine only through the public REST API: no service, no gRPC
# stub, no database driver, no gateway internals. Logging setup is its one shared piece.
PORTAL_FORBIDDEN_ROOTS = (
    "services",
    "gateway",
    "launcher",
    "payment_engine_protos",
    "grpc",
    "sqlalchemy",
    "psycopg",
)
PORTAL_ALLOWED_CORELIB = {"corelib.logging"}


def test_portal_uses_only_the_public_api() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in python_files("portal")
        for module in imported_modules(path)
        if module.split(".")[0] in PORTAL_FORBIDDEN_ROOTS
        or (module.split(".")[0] == "corelib" and module not in PORTAL_ALLOWED_CORELIB)
    ]
    assert offenders == []


def test_sql_appears_only_in_repositories() -> None:
    offenders = []
    for folder in ("services", "corelib", "gateway"):
        for path in python_files(folder):
            relative = str(path.relative_to(ROOT))
            if any(allowed in relative for allowed in SQL_ALLOWED):
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sqlalchemy"):
                    used = {alias.name for alias in node.names} & SQL_CONSTRUCTS
                    if used:
                        offenders.append(f"{relative} imports {sorted(used)} from {node.module}")
                if isinstance(node, ast.Attribute) and node.attr in ("execute", "exec_driver_sql"):
                    offenders.append(f"{relative}:{node.lineno} executes SQL")
    assert offenders == []


def test_every_rpc_declares_its_access_rule() -> None:
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set_bytes())
    missing = []
    for file in files.file:
        if not file.package.startswith("payment_engine."):
            continue
        for service in file.service:
            for method in service.method:
                if not method.options.HasExtension(auth_options_pb2.method_auth):
                    missing.append(f"{file.package}.{service.name}/{method.name}")
    assert missing == []


# A read in a plain `engine.connect()` block ends with ROLLBACK, and psycopg forgets the
# connection's prepared statements on every ROLLBACK: reads use `autocommit` instead.
# Reconciliation reads in one REPEATABLE READ snapshot on purpose.
PLAIN_CONNECT_ALLOWED = ("services/accounts/reconciliation.py",)


def test_services_read_in_autocommit() -> None:
    offenders = []
    for path in python_files("services"):
        relative = path.relative_to(ROOT).as_posix()
        if relative in PLAIN_CONNECT_ALLOWED or "/migrations/" in relative:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "connect"
                and not node.args
            ):
                offenders.append(f"{relative}:{node.lineno}")
    assert not offenders, offenders
