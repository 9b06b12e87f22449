"""An account's statement: its postings newest first, each with the running balance."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from corelib import pagination
from corelib.db import autocommit
from services.accounts import repository
from services.accounts.accounts_book import load_visible
from services.accounts.repository import AccountRow, PostingRow


class Statements:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def entries(
        self, tenant_id: str, account_id: str, *, page_size: int, page_token: str
    ) -> tuple[AccountRow, list[PostingRow], str]:
        limit = pagination.page_size(page_size)
        query = pagination.page_query("account_entries", tenant_id, account_id=account_id)
        cursor = pagination.decode_page_token(page_token, query, {"before": int})
        before_seq = cursor["before"] if cursor else None
        async with autocommit(self._engine) as conn:
            account = await load_visible(conn, tenant_id, account_id)
            rows = await repository.list_postings(conn, account_id, before_seq=before_seq, limit=limit + 1)
        next_token = (
            pagination.encode_page_token({"before": rows[limit - 1].seq}, query) if len(rows) > limit else ""
        )
        return account, rows[:limit], next_token
