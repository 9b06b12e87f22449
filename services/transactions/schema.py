"""The transactions service's tables, in the `transactions` schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from corelib.idempotency import idempotent_requests_table
from corelib.outbox import outbox_table

SCHEMA = "transactions"
metadata = MetaData(schema=SCHEMA)

transactions = Table(
    "transactions",
    metadata,
    Column("id", Text, primary_key=True),
    # The tenant that created the payment, and the owners of both accounts.
    Column("tenant_id", Text, nullable=False),
    Column("payer_tenant_id", Text, nullable=False),
    Column("payee_tenant_id", Text, nullable=False),
    Column("from_account_id", Text, nullable=False),
    Column("to_account_id", Text, nullable=False),
    Column("payment_type", Text, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency_code", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=text("''")),
    Column("external_reference", Text, nullable=False, server_default=text("''")),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # PENDING | PROCESSING | COMPLETED | FAILED | CANCELED, and REJECTED for a create that
    # never took effect (its hold was refused or never placed); REJECTED is never shown.
    Column("status", Text, nullable=False),
    Column("failure_reason", Text, nullable=False, server_default=text("''")),
    # Where the saga stands with the ledger: each step is recorded before the call to
    # accounts and after it, so recovery knows what to repeat.
    Column("saga_step", Text, nullable=False),
    # The final status a void leads to (FAILED or CANCELED).
    Column("void_outcome", Text),
    Column("batch_id", Text),
    Column("debit_authorization_id", Text),
    # The X-Request-Id of the request that created it.
    Column("request_id", Text, nullable=False, server_default=text("''")),
    # The Idempotency-Key it was created with ("" without one): recovery answers the key
    # through its primary key.
    Column("idempotency_key", Text, nullable=False, server_default=text("''")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("completed_at", DateTime(timezone=True)),
    Column("expected_settlement_at", DateTime(timezone=True)),
    # When a worker should next advance it; also the lease of whoever holds it.
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    CheckConstraint(
        "status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELED', 'REJECTED')",
        name="known_status",
    ),
    Index("transactions_due_idx", "next_attempt_at", postgresql_where=text("next_attempt_at IS NOT NULL")),
    Index("transactions_payer_idx", "payer_tenant_id", "id"),
    Index("transactions_payee_idx", "payee_tenant_id", "id"),
    Index("transactions_reference_idx", "tenant_id", "external_reference"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("request_hash", LargeBinary, nullable=False),
    Column("transaction_id", Text),
    # The first answer, replayed for every repeat: a serialized response or an error.
    Column("response", LargeBinary),
    Column("error", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "key"),
    Index("idempotency_keys_expiry_idx", "expires_at"),
)

debit_authorizations = Table(
    "debit_authorizations",
    metadata,
    Column("id", Text, primary_key=True),
    # The payer's tenant, who granted it: the row lives with that tenant's data.
    Column("tenant_id", Text, nullable=False, server_default=text("''")),
    Column("payer_tenant_id", Text, nullable=False),
    Column("payer_account_id", Text, nullable=False),
    Column("grantee_tenant_id", Text, nullable=False),
    Column("max_amount_minor", BigInteger, nullable=False),
    Column("currency_code", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("revoked_at", DateTime(timezone=True)),
    Index("debit_authorizations_lookup_idx", "payer_account_id", "grantee_tenant_id"),
)

ach_batches = Table(
    "ach_batches",
    metadata,
    Column("id", Text, primary_key=True),
    Column("window_closes_at", DateTime(timezone=True), nullable=False),
    Column("settles_at", DateTime(timezone=True), nullable=False),
    Column("transaction_count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

outbox = outbox_table(metadata)

idempotent_requests = idempotent_requests_table(metadata)
