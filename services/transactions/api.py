"""The TransactionsService servicer: proto in → use case → proto out. Amounts are
converted exactly between major-unit doubles and minor units here."""

from __future__ import annotations

from typing import Any, Final

from google.protobuf import json_format, struct_pb2
from payment_engine_protos.transactions.v1 import transactions_pb2, transactions_pb2_grpc

from corelib.errors import ServiceError
from corelib.grpc_pipeline import RpcContext
from corelib.money import major_from_minor
from corelib.request_context import (
    IDEMPOTENCY_KEY_METADATA_KEY,
    call_metadata,
    current_principal,
    request_id_var,
)
from corelib.timestamps import from_timestamp, to_timestamp
from services.transactions.cancellation import Cancellation
from services.transactions.debit_authorizations import DebitAuthorizations
from services.transactions.payment_queries import PaymentQueries
from services.transactions.payment_types import CATALOGUE, PaymentType
from services.transactions.payments import (
    BATCH_SIZE_MAX,
    PaymentOrder,
    PaymentRequest,
    Payments,
    request_fingerprint,
)
from services.transactions.repository import DebitAuthorizationRow, TransactionRow

# The catalogue changes only with a release; clients may cache it, as the guide advises.
PAYMENT_TYPES_CACHE_CONTROL: Final = "public, max-age=3600"
CREATED_STATUS: Final = 201


def transaction_message(txn: TransactionRow) -> transactions_pb2.Transaction:
    metadata = struct_pb2.Struct()
    metadata.update(txn.metadata)
    return transactions_pb2.Transaction(
        id=txn.id,
        status=txn.status,
        from_account_id=txn.from_account_id,
        to_account_id=txn.to_account_id,
        payment_type_id=txn.payment_type,
        amount=major_from_minor(txn.amount_minor, txn.currency_code),
        currency_code=txn.currency_code,
        description=txn.description,
        external_reference=txn.external_reference,
        metadata=metadata,
        failure_reason=txn.failure_reason if txn.status in ("FAILED", "CANCELED") else "",
        created_at=to_timestamp(txn.created_at),
        updated_at=to_timestamp(txn.updated_at),
        completed_at=to_timestamp(txn.completed_at),
        expected_settlement_at=to_timestamp(txn.expected_settlement_at),
        request_id=txn.request_id,
    )


def render_created(txn: TransactionRow) -> bytes:
    response = transactions_pb2.CreateTransactionResponse(transaction=transaction_message(txn))
    return response.SerializeToString(deterministic=True)


def payment_type_message(payment_type: PaymentType) -> transactions_pb2.PaymentType:
    currency = payment_type.currencies[0]
    return transactions_pb2.PaymentType(
        id=payment_type.id,
        name=payment_type.name,
        settlement=payment_type.settlement,
        currencies=list(payment_type.currencies),
        min_amount=major_from_minor(payment_type.min_amount_minor, currency),
        max_amount=major_from_minor(payment_type.max_amount_minor, currency),
        cutoff_time=payment_type.cutoff_time,
        expected_processing_time=payment_type.expected_processing_time,
    )


def authorization_message(grant: DebitAuthorizationRow) -> transactions_pb2.DebitAuthorization:
    return transactions_pb2.DebitAuthorization(
        id=grant.id,
        payer_account_id=grant.payer_account_id,
        grantee_tenant_id=grant.grantee_tenant_id,
        max_amount=major_from_minor(grant.max_amount_minor, grant.currency_code),
        currency_code=grant.currency_code,
        status="REVOKED" if grant.revoked_at else "ACTIVE",
        created_at=to_timestamp(grant.created_at),
        revoked_at=to_timestamp(grant.revoked_at),
    )


def _order_of(request: transactions_pb2.CreateTransactionRequest) -> PaymentOrder:
    return PaymentOrder(
        from_account_id=request.from_account_id,
        to_account_id=request.to_account_id,
        payment_type_id=request.payment_type_id,
        amount=request.amount if request.HasField("amount") else None,
        currency_code=request.currency_code,
        description=request.description,
        external_reference=request.external_reference,
        metadata=json_format.MessageToDict(request.metadata) if request.HasField("metadata") else {},
    )


def _single_create(item: transactions_pb2.BatchTransactionItem) -> transactions_pb2.CreateTransactionRequest:
    """The CreateTransaction this item stands for, field for field, so that its key
    matches a payment created alone with the same body."""
    single = transactions_pb2.CreateTransactionRequest(
        from_account_id=item.from_account_id,
        to_account_id=item.to_account_id,
        payment_type_id=item.payment_type_id,
        currency_code=item.currency_code,
        description=item.description,
        external_reference=item.external_reference,
    )
    if item.HasField("amount"):
        single.amount = item.amount
    if item.HasField("metadata"):
        single.metadata.CopyFrom(item.metadata)
    return single


def _tenant() -> str:
    principal = current_principal()
    if not principal.tenant_id:
        raise ServiceError("FORBIDDEN", "Payments belong to a tenant; this caller has none")
    return principal.tenant_id


class TransactionsApi(transactions_pb2_grpc.TransactionsServiceServicer):
    def __init__(
        self,
        payments: Payments,
        queries: PaymentQueries,
        cancellation: Cancellation,
        authorizations: DebitAuthorizations,
        *,
        on_cancel: Any,
    ) -> None:
        self._payments = payments
        self._queries = queries
        self._cancellation = cancellation
        self._authorizations = authorizations
        self._on_cancel = on_cancel

    async def CreateTransaction(
        self, request: transactions_pb2.CreateTransactionRequest, context: RpcContext
    ) -> transactions_pb2.CreateTransactionResponse:
        response = await self._payments.create(
            PaymentRequest(
                caller=current_principal(),
                order=_order_of(request),
                idempotency_key=call_metadata(context).get(IDEMPOTENCY_KEY_METADATA_KEY, ""),
                fingerprint=request_fingerprint(request.SerializeToString(deterministic=True)),
                request_id=request_id_var.get(),
            )
        )
        return transactions_pb2.CreateTransactionResponse.FromString(response)

    async def BatchCreateTransactions(
        self, request: transactions_pb2.BatchCreateTransactionsRequest, context: RpcContext
    ) -> transactions_pb2.BatchCreateTransactionsResponse:
        if len(request.transactions) > BATCH_SIZE_MAX:
            raise ServiceError(
                "INVALID_REQUEST",
                f"A batch holds at most {BATCH_SIZE_MAX} payments",
                {"field": "transactions", "maximum": BATCH_SIZE_MAX},
            )
        if not request.transactions:
            raise ServiceError("INVALID_REQUEST", "transactions is required", {"field": "transactions"})
        batch_key = call_metadata(context).get(IDEMPOTENCY_KEY_METADATA_KEY, "")
        caller = current_principal()
        requests = []
        for index, item in enumerate(request.transactions):
            single = _single_create(item)
            requests.append(
                PaymentRequest(
                    caller=caller,
                    order=_order_of(single),
                    # Without its own key, a payment is keyed by the batch's key and its
                    # position, so a batch re-sent after a crash creates nothing twice.
                    idempotency_key=item.idempotency_key or (f"{batch_key}#{index}" if batch_key else ""),
                    fingerprint=request_fingerprint(single.SerializeToString(deterministic=True)),
                    request_id=request_id_var.get(),
                )
            )
        outcomes = await self._payments.create_many(requests, atomic=request.atomic)
        response = transactions_pb2.BatchCreateTransactionsResponse()
        for index, outcome in enumerate(outcomes):
            result = response.results.add(index=index)
            if isinstance(outcome, ServiceError):
                result.status = outcome.code.http_status
                result.error.code = outcome.reason
                result.error.message = outcome.message
                result.error.details.update(outcome.details)
                response.failed_count += 1
            else:
                result.status = CREATED_STATUS
                result.transaction.CopyFrom(
                    transactions_pb2.CreateTransactionResponse.FromString(outcome).transaction
                )
                response.succeeded_count += 1
        return response

    async def GetTransaction(
        self, request: transactions_pb2.GetTransactionRequest, context: RpcContext
    ) -> transactions_pb2.GetTransactionResponse:
        txn = await self._queries.get(_tenant(), request.id)
        return transactions_pb2.GetTransactionResponse(transaction=transaction_message(txn))

    async def GetTransactionStatus(
        self, request: transactions_pb2.GetTransactionStatusRequest, context: RpcContext
    ) -> transactions_pb2.GetTransactionStatusResponse:
        message = transaction_message(await self._queries.get(_tenant(), request.id))
        return transactions_pb2.GetTransactionStatusResponse(
            transaction_id=message.id,
            status=message.status,
            failure_reason=message.failure_reason,
            created_at=message.created_at if message.HasField("created_at") else None,
            updated_at=message.updated_at if message.HasField("updated_at") else None,
            completed_at=message.completed_at if message.HasField("completed_at") else None,
            expected_settlement_at=(
                message.expected_settlement_at if message.HasField("expected_settlement_at") else None
            ),
        )

    async def ListTransactions(
        self, request: transactions_pb2.ListTransactionsRequest, context: RpcContext
    ) -> transactions_pb2.ListTransactionsResponse:
        rows, next_token = await self._queries.page(
            _tenant(),
            page_size=request.page_size,
            page_token=request.page_token,
            status=request.status,
            account_id=request.account_id,
            payment_type_id=request.payment_type_id,
            external_reference=request.external_reference,
            created_after=from_timestamp(request.created_after)
            if request.HasField("created_after")
            else None,
            created_before=from_timestamp(request.created_before)
            if request.HasField("created_before")
            else None,
        )
        return transactions_pb2.ListTransactionsResponse(
            transactions=[transaction_message(row) for row in rows], next_page_token=next_token
        )

    async def CancelTransaction(
        self, request: transactions_pb2.CancelTransactionRequest, context: RpcContext
    ) -> transactions_pb2.CancelTransactionResponse:
        txn = await self._cancellation.request(_tenant(), request.id, request.reason)
        self._on_cancel()
        return transactions_pb2.CancelTransactionResponse(transaction=transaction_message(txn))

    async def ListPaymentTypes(
        self, request: transactions_pb2.ListPaymentTypesRequest, context: RpcContext
    ) -> transactions_pb2.ListPaymentTypesResponse:
        await context.send_initial_metadata((("cache-control", PAYMENT_TYPES_CACHE_CONTROL),))
        return transactions_pb2.ListPaymentTypesResponse(
            payment_types=[payment_type_message(payment_type) for payment_type in CATALOGUE]
        )

    async def CreateDebitAuthorization(
        self, request: transactions_pb2.CreateDebitAuthorizationRequest, context: RpcContext
    ) -> transactions_pb2.CreateDebitAuthorizationResponse:
        grant = await self._authorizations.grant(
            _tenant(),
            payer_account_id=request.payer_account_id,
            grantee_tenant_id=request.grantee_tenant_id,
            max_amount=request.max_amount,
        )
        return transactions_pb2.CreateDebitAuthorizationResponse(
            debit_authorization=authorization_message(grant)
        )

    async def ListDebitAuthorizations(
        self, request: transactions_pb2.ListDebitAuthorizationsRequest, context: RpcContext
    ) -> transactions_pb2.ListDebitAuthorizationsResponse:
        rows, next_token = await self._authorizations.page(
            _tenant(), page_size=request.page_size, page_token=request.page_token
        )
        return transactions_pb2.ListDebitAuthorizationsResponse(
            debit_authorizations=[authorization_message(row) for row in rows], next_page_token=next_token
        )

    async def RevokeDebitAuthorization(
        self, request: transactions_pb2.RevokeDebitAuthorizationRequest, context: RpcContext
    ) -> transactions_pb2.RevokeDebitAuthorizationResponse:
        grant = await self._authorizations.revoke(_tenant(), request.id)
        return transactions_pb2.RevokeDebitAuthorizationResponse(
            debit_authorization=authorization_message(grant)
        )
