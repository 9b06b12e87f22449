"""Debit authorizations: a payer's tenant lets another tenant pull money from one of its
accounts by ACH debit, optionally up to a maximum per debit."""

from __future__ import annotations

from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from corelib import pagination
from corelib.db import autocommit, unit_of_work
from corelib.errors import ServiceError
from corelib.ids import has_prefix, new_id
from corelib.money import minor_from_major
from services.transactions import repository
from services.transactions.ledger_client import LedgerClient, LedgerUnavailable
from services.transactions.repository import DebitAuthorizationRow

TENANT_ID_LENGTH_MAX: Final = 64


class DebitAuthorizations:
    def __init__(self, engine: AsyncEngine, ledger: LedgerClient) -> None:
        self._engine = engine
        self._ledger = ledger

    async def grant(
        self, tenant_id: str, *, payer_account_id: str, grantee_tenant_id: str, max_amount: float
    ) -> DebitAuthorizationRow:
        if not has_prefix(grantee_tenant_id, "org") or len(grantee_tenant_id) > TENANT_ID_LENGTH_MAX:
            raise ServiceError(
                "INVALID_REQUEST", "granteeTenantId must be a tenant id (org_…)", {"field": "granteeTenantId"}
            )
        if grantee_tenant_id == tenant_id:
            raise ServiceError(
                "INVALID_REQUEST",
                "A tenant needs no authorization to debit itself",
                {"field": "granteeTenantId"},
            )
        try:
            facts = await self._ledger.describe_accounts([payer_account_id[:64]])
        except LedgerUnavailable as exc:
            raise ServiceError("SERVICE_UNAVAILABLE") from exc
        payer = facts.get(payer_account_id)
        if payer is None or payer.tenant_id != tenant_id:
            raise ServiceError("NOT_FOUND", "Account not found", {"field": "payerAccountId"})
        max_minor = minor_from_major(max_amount, payer.currency_code, field="maxAmount")
        if max_minor < 0:
            raise ServiceError("INVALID_REQUEST", "maxAmount must not be negative", {"field": "maxAmount"})
        async with unit_of_work(self._engine) as conn:
            return await repository.insert_debit_authorization(
                conn,
                {
                    "id": new_id("dba"),
                    "tenant_id": tenant_id,
                    "payer_tenant_id": tenant_id,
                    "payer_account_id": payer.id,
                    "grantee_tenant_id": grantee_tenant_id,
                    "max_amount_minor": max_minor,
                    "currency_code": payer.currency_code,
                },
            )

    async def page(
        self, tenant_id: str, *, page_size: int, page_token: str
    ) -> tuple[list[DebitAuthorizationRow], str]:
        limit = pagination.page_size(page_size)
        query = pagination.page_query("debit_authorizations", tenant_id)
        cursor = pagination.decode_page_token(page_token, query, {"before": str})
        before_id = cursor["before"] if cursor else None
        async with autocommit(self._engine) as conn:
            rows = await repository.list_debit_authorizations(
                conn, tenant_id, before_id=before_id, limit=limit + 1
            )
        next_token = (
            pagination.encode_page_token({"before": rows[limit - 1].id}, query) if len(rows) > limit else ""
        )
        return rows[:limit], next_token

    async def revoke(self, tenant_id: str, authorization_id: str) -> DebitAuthorizationRow:
        async with unit_of_work(self._engine) as conn:
            grant = await repository.get_debit_authorization(conn, authorization_id[:64])
            if grant is None or grant.payer_tenant_id != tenant_id:
                raise ServiceError(
                    "NOT_FOUND", "Debit authorization not found", {"id": authorization_id[:64]}
                )
            return await repository.revoke_debit_authorization(conn, grant.id)
