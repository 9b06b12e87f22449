"""The accounts service's tables, in the `accounts` schema: accounts with their
derived balances, holds, the journal and its postings, and the event outbox."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from corelib.idempotency import idempotent_requests_table
from corelib.outbox import outbox_table

SCHEMA = "accounts"
metadata = MetaData(schema=SCHEMA)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Text, primary_key=True),
    # Engine-owned system accounts (funding, settlement) belong to no tenant: "".
    Column("tenant_id", Text, nullable=False),
    # customer | funding | settlement
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("currency_code", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # Derived state, kept in step with postings and holds in the same transaction.
    Column("current_balance_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("held_balance_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint("held_balance_minor >= 0", name="held_not_negative"),
    # The last line of defence: no interleaving of requests can overdraw a customer.
    CheckConstraint(
        "kind <> 'customer' OR current_balance_minor - held_balance_minor >= 0", name="available_not_negative"
    ),
    CheckConstraint("status IN ('ACTIVE', 'FROZEN', 'CLOSED')", name="known_status"),
    Index("accounts_tenant_idx", "tenant_id", "id"),
)

holds = Table(
    "holds",
    metadata,
    # The transaction id: one hold per payment, which makes every step idempotent.
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("account_id", Text, ForeignKey("accounts.id"), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency_code", Text, nullable=False),
    # HELD | POSTED | VOIDED
    Column("status", Text, nullable=False),
    Column("payee_account_id", Text, ForeignKey("accounts.id")),
    Column("journal_entry_id", Text),
    Column("description", Text, nullable=False, server_default=text("''")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint("amount_minor > 0", name="hold_amount_positive"),
    CheckConstraint("status IN ('HELD', 'POSTED', 'VOIDED')", name="hold_known_status"),
    Index("holds_open_idx", "account_id", postgresql_where=text("status = 'HELD'")),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("id", Text, primary_key=True),
    # The payment's tenant, or the funded account's.
    Column("tenant_id", Text, nullable=False, server_default=text("''")),
    # transfer | funding
    Column("kind", Text, nullable=False),
    Column("transaction_id", Text, unique=True),
    Column("description", Text, nullable=False, server_default=text("''")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

postings = Table(
    "postings",
    metadata,
    Column("seq", BigInteger, Identity(always=True), primary_key=True),
    Column("id", Text, nullable=False, unique=True),
    # The account's tenant ("" for system accounts).
    Column("tenant_id", Text, nullable=False, server_default=text("''")),
    Column("journal_entry_id", Text, ForeignKey("journal_entries.id"), nullable=False),
    Column("account_id", Text, ForeignKey("accounts.id"), nullable=False),
    # Signed: positive credits the account, negative debits it.
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency_code", Text, nullable=False),
    Column("balance_after_minor", BigInteger, nullable=False),
    Column("transaction_id", Text),
    Column("description", Text, nullable=False, server_default=text("''")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint("amount_minor <> 0", name="posting_amount_nonzero"),
    Index("postings_account_idx", "account_id", "seq"),
)

outbox = outbox_table(metadata)

idempotent_requests = idempotent_requests_table(metadata)
