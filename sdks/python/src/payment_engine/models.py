"""The objects the API returns, with snake_case attributes, and the payment request.

Each model is a frozen dataclass read from the camelCase JSON by an explicit `from_json`
(no reflection on the money path). Amounts are `Decimal`, timestamps are aware
`datetime`s, unset optional text is None. `raw` keeps the whole JSON object as the
engine sent it, so fields added to the API after this SDK are still reachable
(`transaction.raw["someNewField"]`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from payment_engine import wire
from payment_engine.errors import InvalidResponseError
from payment_engine.money import AmountLike, in_currency, to_decimal

TRANSACTION_STATUSES_FINAL: Final = frozenset({"COMPLETED", "FAILED", "CANCELED"})


def _money(data: dict[str, Any], key: str, currency_code: str) -> Decimal:
    return in_currency(wire.amount(data, key), currency_code)


# --- Transactions --------------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class CreateTransactionRequest:
    """A payment to make, as in the guide:

        CreateTransactionRequest(
            from_account_id="acc_123", to_account_id="acc_456", payment_type_id="wire_domestic",
            amount=Decimal("1000.00"), currency_code="USD", description="Invoice payment",
            metadata={"invoice_id": "INV-001"},
        )

    `amount` accepts a Decimal, int, float or numeric string and is stored as the exact
    Decimal (a float through its shortest text: 19.99 → Decimal('19.99')).
    `payment_type_id` is case-insensitive (`rtp`, `ACH_CREDIT`, `wire_domestic`);
    `currency_code` defaults to the accounts' currency.
    """

    from_account_id: str
    to_account_id: str
    payment_type_id: str
    amount: Decimal
    currency_code: str | None
    description: str | None
    external_reference: str | None
    metadata: dict[str, Any] | None

    def __init__(
        self,
        from_account_id: str,
        to_account_id: str,
        payment_type_id: str,
        amount: AmountLike,
        currency_code: str | None = None,
        description: str | None = None,
        external_reference: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        for name, value in (
            ("from_account_id", from_account_id),
            ("to_account_id", to_account_id),
            ("payment_type_id", payment_type_id),
        ):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string")
        object.__setattr__(self, "from_account_id", from_account_id)
        object.__setattr__(self, "to_account_id", to_account_id)
        object.__setattr__(self, "payment_type_id", payment_type_id)
        object.__setattr__(self, "amount", to_decimal(amount))
        object.__setattr__(self, "currency_code", currency_code)
        object.__setattr__(self, "description", description)
        object.__setattr__(self, "external_reference", external_reference)
        object.__setattr__(self, "metadata", dict(metadata) if metadata is not None else None)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "fromAccountId": self.from_account_id,
            "toAccountId": self.to_account_id,
            "paymentTypeId": self.payment_type_id,
            "amount": self.amount,
        }
        if self.currency_code is not None:
            body["currencyCode"] = self.currency_code
        if self.description is not None:
            body["description"] = self.description
        if self.external_reference is not None:
            body["externalReference"] = self.external_reference
        if self.metadata is not None:
            body["metadata"] = self.metadata
        return body


@dataclass(frozen=True)
class Transaction:
    id: str
    # PENDING, PROCESSING, COMPLETED, FAILED or CANCELED.
    status: str
    from_account_id: str
    to_account_id: str
    # RTP, ACH_CREDIT, ACH_DEBIT or WIRE_DOMESTIC.
    payment_type_id: str
    amount: Decimal
    currency_code: str
    description: str | None
    external_reference: str | None
    metadata: dict[str, Any]
    # Why the payment failed or was canceled; None otherwise.
    failure_reason: str | None
    created_at: datetime | None
    updated_at: datetime | None
    completed_at: datetime | None
    expected_settlement_at: datetime | None
    # The X-Request-Id of the request that created it.
    request_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_final(self) -> bool:
        """COMPLETED, FAILED or CANCELED: the status will not change again."""
        return self.status in TRANSACTION_STATUSES_FINAL

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transaction:
        currency_code = wire.text(data, "currencyCode")
        return cls(
            id=wire.text(data, "id"),
            status=wire.text(data, "status"),
            from_account_id=wire.text(data, "fromAccountId"),
            to_account_id=wire.text(data, "toAccountId"),
            payment_type_id=wire.text(data, "paymentTypeId"),
            amount=_money(data, "amount", currency_code),
            currency_code=currency_code,
            description=wire.optional_text(data, "description"),
            external_reference=wire.optional_text(data, "externalReference"),
            metadata=wire.obj(data, "metadata"),
            failure_reason=wire.optional_text(data, "failureReason"),
            created_at=wire.timestamp(data, "createdAt"),
            updated_at=wire.timestamp(data, "updatedAt"),
            completed_at=wire.timestamp(data, "completedAt"),
            expected_settlement_at=wire.timestamp(data, "expectedSettlementAt"),
            request_id=wire.optional_text(data, "requestId"),
            raw=data,
        )


@dataclass(frozen=True)
class TransactionStatus:
    """The answer of `transactions.get_status(id)`."""

    transaction_id: str
    status: str
    failure_reason: str | None
    created_at: datetime | None
    updated_at: datetime | None
    completed_at: datetime | None
    expected_settlement_at: datetime | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_final(self) -> bool:
        return self.status in TRANSACTION_STATUSES_FINAL

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TransactionStatus:
        return cls(
            transaction_id=wire.text(data, "transactionId"),
            status=wire.text(data, "status"),
            failure_reason=wire.optional_text(data, "failureReason"),
            created_at=wire.timestamp(data, "createdAt"),
            updated_at=wire.timestamp(data, "updatedAt"),
            completed_at=wire.timestamp(data, "completedAt"),
            expected_settlement_at=wire.timestamp(data, "expectedSettlementAt"),
            raw=data,
        )


@dataclass(frozen=True)
class PaymentType:
    # RTP, ACH_CREDIT, ACH_DEBIT, WIRE_DOMESTIC.
    id: str
    name: str
    # INSTANT, BATCH or INDIVIDUAL.
    settlement: str
    currencies: list[str]
    min_amount: Decimal
    max_amount: Decimal
    # Daily cut-off, HH:MM in UTC.
    cutoff_time: str | None
    expected_processing_time: str | None
    expected_processing_seconds: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PaymentType:
        return cls(
            id=wire.text(data, "id"),
            name=wire.text(data, "name"),
            settlement=wire.text(data, "settlement"),
            currencies=wire.strings(data, "currencies"),
            min_amount=wire.amount(data, "minAmount"),
            max_amount=wire.amount(data, "maxAmount"),
            cutoff_time=wire.optional_text(data, "cutoffTime"),
            expected_processing_time=wire.optional_text(data, "expectedProcessingTime"),
            expected_processing_seconds=wire.integer(data, "expectedProcessingSeconds"),
            raw=data,
        )


@dataclass(frozen=True)
class DebitAuthorization:
    id: str
    payer_account_id: str
    grantee_tenant_id: str
    # Largest single debit; 0 means no limit.
    max_amount: Decimal
    currency_code: str
    # ACTIVE or REVOKED.
    status: str
    created_at: datetime | None
    revoked_at: datetime | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DebitAuthorization:
        currency_code = wire.text(data, "currencyCode")
        return cls(
            id=wire.text(data, "id"),
            payer_account_id=wire.text(data, "payerAccountId"),
            grantee_tenant_id=wire.text(data, "granteeTenantId"),
            max_amount=_money(data, "maxAmount", currency_code),
            currency_code=currency_code,
            status=wire.text(data, "status"),
            created_at=wire.timestamp(data, "createdAt"),
            revoked_at=wire.timestamp(data, "revokedAt"),
            raw=data,
        )


# --- Accounts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    currency_code: str
    # ACTIVE, FROZEN or CLOSED.
    status: str
    metadata: dict[str, Any]
    available_balance: Decimal
    current_balance: Decimal
    held_balance: Decimal
    created_at: datetime | None
    updated_at: datetime | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Account:
        currency_code = wire.text(data, "currencyCode")
        return cls(
            id=wire.text(data, "id"),
            name=wire.text(data, "name"),
            currency_code=currency_code,
            status=wire.text(data, "status"),
            metadata=wire.obj(data, "metadata"),
            available_balance=_money(data, "availableBalance", currency_code),
            current_balance=_money(data, "currentBalance", currency_code),
            held_balance=_money(data, "heldBalance", currency_code),
            created_at=wire.timestamp(data, "createdAt"),
            updated_at=wire.timestamp(data, "updatedAt"),
            raw=data,
        )


@dataclass(frozen=True)
class Balance:
    """The answer of `accounts.get_balance(id)`: available = current - held."""

    account_id: str
    available_balance: Decimal
    current_balance: Decimal
    held_balance: Decimal
    currency_code: str
    as_of: datetime | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Balance:
        currency_code = wire.text(data, "currencyCode")
        return cls(
            account_id=wire.text(data, "accountId"),
            available_balance=_money(data, "availableBalance", currency_code),
            current_balance=_money(data, "currentBalance", currency_code),
            held_balance=_money(data, "heldBalance", currency_code),
            currency_code=currency_code,
            as_of=wire.timestamp(data, "asOf"),
            raw=data,
        )


@dataclass(frozen=True)
class LedgerEntry:
    """One line of an account's statement."""

    id: str
    # Positive; see direction.
    amount: Decimal
    # CREDIT (money in) or DEBIT (money out).
    direction: str
    running_balance: Decimal
    currency_code: str
    transaction_id: str | None
    journal_entry_id: str | None
    description: str | None
    created_at: datetime | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LedgerEntry:
        currency_code = wire.text(data, "currencyCode")
        return cls(
            id=wire.text(data, "id"),
            amount=_money(data, "amount", currency_code),
            direction=wire.text(data, "direction"),
            running_balance=_money(data, "runningBalance", currency_code),
            currency_code=currency_code,
            transaction_id=wire.optional_text(data, "transactionId"),
            journal_entry_id=wire.optional_text(data, "journalEntryId"),
            description=wire.optional_text(data, "description"),
            created_at=wire.timestamp(data, "createdAt"),
            raw=data,
        )


@dataclass(frozen=True)
class Funding:
    """The answer of the sandbox's `accounts.fund(...)`."""

    balance: Balance
    journal_entry_id: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Funding:
        return cls(
            balance=Balance.from_json(wire.obj(data, "balance")),
            journal_entry_id=wire.optional_text(data, "journalEntryId"),
            raw=data,
        )


# --- Webhooks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """An event, with the same names as the JSON body delivered to webhook endpoints.

    `data` is as the producer wrote it (camelCase keys: `event.data["transactionId"]`).
    """

    event_id: str
    # transaction.created, transaction.completed, transaction.failed, account.balance.updated…
    event_type: str
    created_at: datetime | None
    data: dict[str, Any]
    tenant_id: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.event_id

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(
            event_id=wire.text(data, "eventId"),
            event_type=wire.text(data, "eventType"),
            created_at=wire.timestamp(data, "createdAt"),
            data=wire.obj(data, "data"),
            tenant_id=wire.optional_text(data, "tenantId"),
            raw=data,
        )


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    url: str
    description: str | None
    # Empty means every event type; an entry may end in `.*` (`transaction.*`).
    event_types: list[str]
    # WEBHOOK_ENDPOINT_STATUS_ENABLED or WEBHOOK_ENDPOINT_STATUS_DISABLED, as the API writes it.
    status: str
    disabled_reason: str | None
    disabled_at: datetime | None
    # The signing secret (`whsec_…`): only in the answers of create and rotate_secret.
    secret: str | None
    previous_secret_expires_at: datetime | None
    consecutive_failures: int
    created_at: datetime | None
    updated_at: datetime | None
    # When the current run of failed attempts began; None while the latest one succeeded.
    failing_since: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WebhookEndpoint:
        return cls(
            id=wire.text(data, "id"),
            url=wire.text(data, "url"),
            description=wire.optional_text(data, "description"),
            event_types=wire.strings(data, "eventTypes"),
            status=wire.text(data, "status"),
            disabled_reason=wire.optional_text(data, "disabledReason"),
            disabled_at=wire.timestamp(data, "disabledAt"),
            secret=wire.optional_text(data, "secret"),
            previous_secret_expires_at=wire.timestamp(data, "previousSecretExpiresAt"),
            consecutive_failures=wire.integer(data, "consecutiveFailures"),
            created_at=wire.timestamp(data, "createdAt"),
            updated_at=wire.timestamp(data, "updatedAt"),
            failing_since=wire.timestamp(data, "failingSince"),
            raw=data,
        )


@dataclass(frozen=True)
class DeletedWebhookEndpoint:
    id: str
    deleted: bool
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeletedWebhookEndpoint:
        return cls(id=wire.text(data, "id"), deleted=wire.boolean(data, "deleted"), raw=data)


@dataclass(frozen=True)
class WebhookDeliveryAttempt:
    attempt_number: int
    attempted_at: datetime | None
    # 0 when no answer came (timeout, refused, TLS failure).
    status_code: int
    latency_ms: int
    error: str | None
    response_body: str | None
    succeeded: bool
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WebhookDeliveryAttempt:
        return cls(
            attempt_number=wire.integer(data, "attemptNumber"),
            attempted_at=wire.timestamp(data, "attemptedAt"),
            status_code=wire.integer(data, "statusCode"),
            latency_ms=wire.integer(data, "latencyMs"),
            error=wire.optional_text(data, "error"),
            response_body=wire.optional_text(data, "responseBody"),
            succeeded=wire.boolean(data, "succeeded"),
            raw=data,
        )


@dataclass(frozen=True)
class WebhookDelivery:
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    # WEBHOOK_DELIVERY_STATUS_PENDING, _SUCCEEDED or _FAILED.
    status: str
    # WEBHOOK_DELIVERY_TRIGGER_EVENT, _REDELIVERY or _TEST.
    trigger: str
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime | None
    completed_at: datetime | None
    # Newest first; at most the latest 20.
    attempts: list[WebhookDeliveryAttempt]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WebhookDelivery:
        return cls(
            id=wire.text(data, "id"),
            endpoint_id=wire.text(data, "endpointId"),
            event_id=wire.text(data, "eventId"),
            event_type=wire.text(data, "eventType"),
            status=wire.text(data, "status"),
            trigger=wire.text(data, "trigger"),
            attempt_count=wire.integer(data, "attemptCount"),
            next_attempt_at=wire.timestamp(data, "nextAttemptAt"),
            created_at=wire.timestamp(data, "createdAt"),
            completed_at=wire.timestamp(data, "completedAt"),
            attempts=[WebhookDeliveryAttempt.from_json(item) for item in wire.objects(data, "attempts")],
            raw=data,
        )


@dataclass(frozen=True)
class WebhookTestResult:
    """The `webhook.test` event sent by `webhook_endpoints.test(id)` and its one attempt."""

    event: Event
    delivery: WebhookDelivery
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WebhookTestResult:
        return cls(
            event=Event.from_json(wire.obj(data, "event")),
            delivery=WebhookDelivery.from_json(wire.obj(data, "delivery")),
            raw=data,
        )


# --- API keys and identity -----------------------------------------------------------------


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scopes: list[str]
    # API_KEY_STATUS_ACTIVE, _REVOKED or _EXPIRED, as the API writes it.
    status: str
    # The first characters of the secret, to recognise a key in a list.
    secret_prefix: str | None
    create_time: datetime | None
    expire_time: datetime | None
    revoke_time: datetime | None
    last_used_time: datetime | None
    rotated_from_id: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApiKey:
        return cls(
            id=wire.text(data, "id"),
            name=wire.text(data, "name"),
            scopes=wire.strings(data, "scopes"),
            status=wire.text(data, "status"),
            secret_prefix=wire.optional_text(data, "secretPrefix"),
            create_time=wire.timestamp(data, "createTime"),
            expire_time=wire.timestamp(data, "expireTime"),
            revoke_time=wire.timestamp(data, "revokeTime"),
            last_used_time=wire.timestamp(data, "lastUsedTime"),
            rotated_from_id=wire.optional_text(data, "rotatedFromId"),
            raw=data,
        )


@dataclass(frozen=True)
class CreatedApiKey:
    """A new key and its secret. The secret is shown here once and never again."""

    api_key: ApiKey
    secret: str
    # Set by `api_keys.rotate`: the key being replaced (it works until the overlap ends).
    previous_api_key: ApiKey | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CreatedApiKey:
        previous = wire.obj(data, "previousApiKey")
        return cls(
            api_key=ApiKey.from_json(wire.obj(data, "apiKey")),
            secret=wire.text(data, "secret"),
            previous_api_key=ApiKey.from_json(previous) if previous else None,
            raw=data,
        )


@dataclass(frozen=True)
class Principal:
    # usr_…, key_… or svc:<name>.
    id: str
    # PRINCIPAL_KIND_USER, _API_KEY or _SERVICE, as the API writes it.
    kind: str
    tenant_id: str | None
    scopes: list[str]
    display_name: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Principal:
        return cls(
            id=wire.text(data, "id"),
            kind=wire.text(data, "kind"),
            tenant_id=wire.optional_text(data, "tenantId"),
            scopes=wire.strings(data, "scopes"),
            display_name=wire.optional_text(data, "displayName"),
            raw=data,
        )


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    create_time: datetime | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tenant:
        return cls(
            id=wire.text(data, "id"),
            name=wire.text(data, "name"),
            create_time=wire.timestamp(data, "createTime"),
            raw=data,
        )


@dataclass(frozen=True)
class Me:
    """Who the client is: the answer of `auth.me()`."""

    principal: Principal
    tenant: Tenant | None
    scopes: list[str]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Me:
        tenant = wire.obj(data, "tenant")
        return cls(
            principal=Principal.from_json(wire.obj(data, "principal")),
            tenant=Tenant.from_json(tenant) if tenant else None,
            scopes=wire.strings(data, "scopes"),
            raw=data,
        )


@dataclass(frozen=True)
class TokenPair:
    """The OAuth 2.0 token response of login and refresh (snake_case on the wire)."""

    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    scope: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenPair:
        pair = cls(
            access_token=wire.text(data, "access_token"),
            refresh_token=wire.text(data, "refresh_token"),
            token_type=wire.text(data, "token_type") or "Bearer",
            expires_in=wire.integer(data, "expires_in"),
            scope=wire.text(data, "scope"),
            raw=data,
        )
        if not pair.access_token:
            raise InvalidResponseError("Token response has no access_token")
        return pair
