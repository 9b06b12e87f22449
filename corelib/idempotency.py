"""Idempotency-Key for every POST a service does not make idempotent itself.

The first request with a key (per tenant) runs and its answer — the serialized
response, or the error it failed with — is kept for 24 hours; a repeat with the same
request gets that answer again, a repeat with a different request is refused with
IDEMPOTENCY_KEY_REUSED, and a repeat while the first is still running gets
IDEMPOTENCY_KEY_IN_USE (409, safe to retry). Payment creation, where a duplicate would
move money, records its key in the same transaction as the payment instead
(services/transactions/payments.py); here the key and the effect are committed apart,
so a process killed between the two leaves the key claimed until its lease ends.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import structlog
from alembic import op
from sqlalchemy import (
    Column,
    DateTime,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    and_,
    or_,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.errors import ServiceError

log = structlog.get_logger("corelib.idempotency")

TABLE_NAME: Final = "idempotent_requests"
KEY_LENGTH_MAX: Final = 255
RETENTION: Final = timedelta(hours=24)
# A request still marked running after this long died with its process; a repeat may
# then run it again.
RUNNING_LEASE: Final = timedelta(seconds=60)


def _columns() -> list[Any]:
    return [
        Column("tenant_id", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("method", Text, nullable=False),
        Column("request_hash", LargeBinary, nullable=False),
        Column("response", LargeBinary),
        Column("error", JSONB),
        Column("started_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
        Column("finished_at", DateTime(timezone=True)),
    ]


def idempotent_requests_table(metadata: MetaData) -> Table:
    return Table(TABLE_NAME, metadata, *_columns(), PrimaryKeyConstraint("tenant_id", "key"))


def create_idempotent_requests_table(schema: str) -> None:
    """For a service's Alembic migration."""
    op.create_table(TABLE_NAME, *_columns(), PrimaryKeyConstraint("tenant_id", "key"), schema=schema)
    op.create_index(f"{TABLE_NAME}_started_idx", TABLE_NAME, ["started_at"], schema=schema)


def validate_key(key: str) -> str:
    if len(key) > KEY_LENGTH_MAX or not key.isprintable():
        raise ServiceError(
            "INVALID_REQUEST",
            f"Idempotency-Key must be at most {KEY_LENGTH_MAX} printable characters",
            {"field": "Idempotency-Key"},
        )
    return key


def fingerprint(method: str, serialized_request: bytes) -> bytes:
    return hashlib.sha256(method.encode() + b"\0" + serialized_request).digest()


@dataclass(frozen=True)
class Replay:
    response: bytes | None
    error: ServiceError | None


class IdempotentRequests:
    def __init__(self, engine: AsyncEngine, table: Table) -> None:
        self._engine = engine
        self._table = table

    async def begin(self, tenant_id: str, key: str, method: str, request_hash: bytes) -> Replay | None:
        """None: this request runs now. A Replay: answer with it instead."""
        t = self._table
        async with self._engine.begin() as conn:
            claimed = (
                await conn.execute(
                    pg_insert(t)
                    .values(tenant_id=tenant_id, key=key, method=method, request_hash=request_hash)
                    .on_conflict_do_update(
                        index_elements=[t.c.tenant_id, t.c.key],
                        # Take over a key whose first request died mid-way or whose answer expired.
                        set_={
                            "method": method,
                            "request_hash": request_hash,
                            "response": None,
                            "error": None,
                            "started_at": text("now()"),
                            "finished_at": None,
                        },
                        where=or_(
                            and_(
                                t.c.finished_at.is_(None),
                                t.c.started_at < text(f"now() - interval '{_secs(RUNNING_LEASE)} seconds'"),
                            ),
                            t.c.started_at < text(f"now() - interval '{_secs(RETENTION)} seconds'"),
                        ),
                    )
                    .returning(t.c.key)
                )
            ).first()
            if claimed is not None:
                return None
            first = (
                (await conn.execute(t.select().where(t.c.tenant_id == tenant_id, t.c.key == key)))
                .mappings()
                .first()
            )
        if first is None:
            raise ServiceError("IDEMPOTENCY_KEY_IN_USE", details={"idempotencyKey": key})
        if first["method"] != method or first["request_hash"] != request_hash:
            raise ServiceError(
                "IDEMPOTENCY_KEY_REUSED",
                "This Idempotency-Key was used with a different request",
                {"idempotencyKey": key},
            )
        if first["response"] is not None:
            return Replay(bytes(first["response"]), None)
        if first["error"] is not None:
            error = first["error"]
            return Replay(None, ServiceError(error["reason"], error["message"], error.get("details") or {}))
        raise ServiceError("IDEMPOTENCY_KEY_IN_USE", details={"idempotencyKey": key})

    async def finish(
        self, tenant_id: str, key: str, *, response: bytes | None = None, error: ServiceError | None = None
    ) -> None:
        t = self._table
        recorded = (
            None
            if error is None
            else {"reason": error.reason, "message": error.message, "details": error.details}
        )
        async with self._engine.begin() as conn:
            await conn.execute(
                t.update()
                .where(t.c.tenant_id == tenant_id, t.c.key == key)
                .values(response=response, error=recorded, finished_at=text("now()"))
            )

    async def abandon(self, tenant_id: str, key: str) -> None:
        """The request failed in a way a retry may cure: forget the key."""
        t = self._table
        async with self._engine.begin() as conn:
            await conn.execute(
                t.delete().where(t.c.tenant_id == tenant_id, t.c.key == key, t.c.finished_at.is_(None))
            )

    async def purge_expired(self, limit: int) -> int:
        t = self._table
        async with self._engine.begin() as conn:
            expired = (
                t.select()
                .with_only_columns(t.c.tenant_id, t.c.key)
                .where(t.c.started_at < text(f"now() - interval '{_secs(RETENTION)} seconds'"))
                .limit(limit)
                .with_for_update(skip_locked=True)
                .subquery()
            )
            result = await conn.execute(
                t.delete().where(and_(t.c.tenant_id == expired.c.tenant_id, t.c.key == expired.c.key))
            )
        return int(result.rowcount or 0)


PURGE_INTERVAL_S: Final = 300.0
PURGE_BATCH_MAX: Final = 1000


def purge_job(store: IdempotentRequests) -> Callable[[], Coroutine[Any, Any, None]]:
    """A background job: deletes expired keys in bounded batches, forever."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(PURGE_INTERVAL_S)
            try:
                await store.purge_expired(PURGE_BATCH_MAX)
            except Exception:
                log.exception("idempotency_purge_failed")

    return loop


def _secs(delta: timedelta) -> int:
    return int(delta.total_seconds())
