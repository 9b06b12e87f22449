/**
 * The shapes of the REST API, as `gateway/openapi/openapi.json` defines them (proto3 JSON:
 * lowerCamelCase, timestamps as ISO 8601 strings, amounts as numbers in major units).
 * `test/unit/contract.test.mjs` holds every interface here to its definition there.
 */

import type { AmountInput } from "./money";

export type JsonObject = { [key: string]: unknown };

/** PENDING, PROCESSING, COMPLETED, FAILED or CANCELED. */
export type TransactionStatusName = "PENDING" | "PROCESSING" | "COMPLETED" | "FAILED" | "CANCELED" | (string & {});

/** v1Transaction */
export interface Transaction {
  id: string;
  fromAccountId: string;
  toAccountId: string;
  /** RTP, ACH_CREDIT, ACH_DEBIT or WIRE_DOMESTIC. */
  paymentTypeId: string;
  amount: number;
  currencyCode: string;
  status: TransactionStatusName;
  description?: string;
  externalReference?: string;
  metadata?: JsonObject;
  /** Why the payment failed or was canceled. */
  failureReason?: string;
  createdAt: string;
  updatedAt?: string;
  completedAt?: string;
  expectedSettlementAt?: string;
  /** The X-Request-Id of the request that created it. */
  requestId?: string;
}

/** v1GetTransactionStatusResponse */
export interface TransactionStatus {
  transactionId: string;
  status: TransactionStatusName;
  failureReason?: string;
  createdAt?: string;
  updatedAt?: string;
  completedAt?: string;
  expectedSettlementAt?: string;
}

/** v1CreateTransactionRequest: what `transactions.create` takes (plus its options). */
export interface CreateTransactionParams {
  fromAccountId: string;
  toAccountId: string;
  /** `rtp`, `ach_credit`, `ach_debit`, `wire_domestic` (any case). */
  paymentTypeId: string;
  /** Major units: `1000.00`, or a decimal string `"1000.00"`. */
  amount: AmountInput;
  /** Defaults to the payer account's currency. */
  currencyCode?: string;
  description?: string;
  externalReference?: string;
  metadata?: JsonObject;
}

/** v1BatchTransactionItem: one payment of a batch, with its own optional key. */
export interface BatchTransactionItem extends CreateTransactionParams {
  idempotencyKey?: string;
}

/** v1BatchItemError */
export interface BatchItemError {
  code: string;
  message: string;
  details?: JsonObject;
}

/** v1BatchTransactionResult */
export interface BatchTransactionResult {
  /** The item's position in the request, from 0. */
  index: number;
  /** The HTTP status this payment would have had alone (201 when created). */
  status: number;
  transaction?: Transaction;
  error?: BatchItemError;
}

/** v1BatchCreateTransactionsResponse */
export interface BatchCreateTransactionsResult {
  results: BatchTransactionResult[];
  succeededCount: number;
  failedCount: number;
}

/** v1Account */
export interface Account {
  id: string;
  name?: string;
  currencyCode: string;
  /** ACTIVE, FROZEN or CLOSED. */
  status: string;
  availableBalance: number;
  currentBalance: number;
  heldBalance: number;
  metadata?: JsonObject;
  createdAt?: string;
  updatedAt?: string;
}

/** v1GetBalanceResponse */
export interface Balance {
  accountId: string;
  availableBalance: number;
  currentBalance: number;
  heldBalance: number;
  currencyCode: string;
  asOf?: string;
}

/** v1Entry: one line of an account's statement. */
export interface LedgerEntry {
  id: string;
  journalEntryId?: string;
  transactionId?: string;
  /** DEBIT or CREDIT. */
  direction: string;
  amount: number;
  currencyCode: string;
  runningBalance: number;
  description?: string;
  createdAt: string;
}

/** v1CreateAccountRequest */
export interface CreateAccountParams {
  name: string;
  currencyCode: string;
  metadata?: JsonObject;
}

/** v1FundAccountResponse (sandbox only) */
export interface Funding {
  balance: Balance;
  journalEntryId: string;
}

/** v1PaymentType */
export interface PaymentType {
  id: string;
  name: string;
  /** INSTANT, BATCH or INDIVIDUAL. */
  settlement: string;
  currencies: string[];
  minAmount?: number;
  maxAmount?: number;
  expectedProcessingTime?: string;
  expectedProcessingSeconds?: number;
  cutoffTime?: string;
}

/** WEBHOOK_ENDPOINT_STATUS_ENABLED or WEBHOOK_ENDPOINT_STATUS_DISABLED. */
export type WebhookEndpointStatus = "WEBHOOK_ENDPOINT_STATUS_ENABLED" | "WEBHOOK_ENDPOINT_STATUS_DISABLED" | (string & {});

/** v1WebhookEndpoint */
export interface WebhookEndpoint {
  id: string;
  url: string;
  description?: string;
  /** Empty means every event type; an entry may end in `.*`. */
  eventTypes: string[];
  status: WebhookEndpointStatus;
  /** The signing secret (`whsec_…`): only in the answers of create and rotateSecret. */
  secret?: string;
  previousSecretExpiresAt?: string;
  consecutiveFailures?: number;
  /** Since when its deliveries have been failing without a success in between. */
  failingSince?: string;
  disabledAt?: string;
  disabledReason?: string;
  createdAt?: string;
  updatedAt?: string;
}

/** v1CreateWebhookEndpointRequest */
export interface CreateWebhookEndpointParams {
  url: string;
  eventTypes?: string[];
  description?: string;
}

/** The fields `webhookEndpoints.update` may change (only those given change). */
export interface UpdateWebhookEndpointParams {
  url?: string;
  description?: string;
  eventTypes?: string[];
}

/** v1DisableWebhookEndpointRequest */
export interface DisableWebhookEndpointOptions {
  /** Why, kept as the endpoint's `disabledReason` (at most 500 characters). */
  reason?: string;
}

/** v1DeleteWebhookEndpointResponse */
export interface DeletedWebhookEndpoint {
  id: string;
  deleted: boolean;
}

/** v1WebhookDeliveryAttempt */
export interface WebhookDeliveryAttempt {
  attemptNumber: number;
  attemptedAt: string;
  statusCode?: number;
  succeeded: boolean;
  latencyMs?: number;
  error?: string;
  responseBody?: string;
}

/** v1WebhookDelivery */
export interface WebhookDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  /** WEBHOOK_DELIVERY_STATUS_PENDING, _SUCCEEDED or _FAILED. */
  status: string;
  /** WEBHOOK_DELIVERY_TRIGGER_EVENT, _REDELIVERY or _TEST. */
  trigger?: string;
  attemptCount: number;
  attempts?: WebhookDeliveryAttempt[];
  nextAttemptAt?: string;
  completedAt?: string;
  createdAt: string;
}

/** v1TestWebhookEndpointResponse */
export interface WebhookTestResult {
  event: Event;
  delivery: WebhookDelivery;
}

/** v1Event: what a webhook delivers, and what `events.list` reads back. */
export interface Event {
  eventId: string;
  /** transaction.created, transaction.completed, transaction.failed, … */
  eventType: string;
  createdAt: string;
  tenantId?: string;
  data: JsonObject;
}

/** API_KEY_STATUS_ACTIVE, _REVOKED or _EXPIRED. */
export type ApiKeyStatus = "API_KEY_STATUS_ACTIVE" | "API_KEY_STATUS_REVOKED" | "API_KEY_STATUS_EXPIRED" | (string & {});

/** v1ApiKey (never the secret) */
export interface ApiKey {
  id: string;
  name: string;
  scopes: string[];
  status: ApiKeyStatus;
  secretPrefix?: string;
  createTime?: string;
  expireTime?: string;
  lastUsedTime?: string;
  revokeTime?: string;
  rotatedFromId?: string;
}

/** v1CreateApiKeyRequest */
export interface CreateApiKeyParams {
  name: string;
  scopes: string[];
  /** ISO 8601 or a Date: the key stops working then. */
  expireTime?: string | Date;
}

/** v1CreateApiKeyResponse: the secret is shown only here. */
export interface CreatedApiKey {
  apiKey: ApiKey;
  secret: string;
}

/** v1RotateApiKeyResponse */
export interface RotatedApiKey {
  apiKey: ApiKey;
  previousApiKey: ApiKey;
  secret: string;
}

/** v1DebitAuthorization */
export interface DebitAuthorization {
  id: string;
  payerAccountId: string;
  granteeTenantId: string;
  maxAmount?: number;
  currencyCode?: string;
  status: string;
  createdAt?: string;
  revokedAt?: string;
}

/** v1CreateDebitAuthorizationRequest */
export interface CreateDebitAuthorizationParams {
  payerAccountId: string;
  granteeTenantId: string;
  /** Per-debit limit; none when omitted. */
  maxAmount?: AmountInput;
}

/** v1LoginResponse / v1RefreshResponse (snake_case, as the guide shows it) */
export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

/** v1Principal */
export interface Principal {
  id: string;
  kind: string;
  displayName?: string;
  tenantId: string;
  scopes?: string[];
}

/** v1Tenant */
export interface Tenant {
  id: string;
  name: string;
  createTime?: string;
}

/** v1GetMeResponse */
export interface Me {
  principal: Principal;
  tenant: Tenant;
  scopes: string[];
}

/** v1LogoutResponse */
export interface LogoutResult {
  revoked: boolean;
}
