/**
 * `@payment-engine/sdk`. The module itself is the client constructor, as the guide uses it:
 *
 *     const PaymentEngine = require('@payment-engine/sdk');   // or: import PaymentEngine from '@payment-engine/sdk'
 *     const client = new PaymentEngine({ apiKey: process.env.PAYMENT_ENGINE_API_KEY, baseUrl: 'https://api.payment-engine.com' });
 *
 * Error classes, webhook helpers and types hang off it: `PaymentEngine.InsufficientFundsError`,
 * `PaymentEngine.webhooks.verify(...)`, `PaymentEngine.Transaction` (a type).
 */

import { PaymentEngineClient } from "./client";
import * as errors from "./errors";
import * as money from "./money";
import type * as pagination from "./pagination";
import * as retries from "./retries";
import type * as transport from "./transport";
import type * as transactionsResource from "./resources/transactions";
import type * as accountsResource from "./resources/accounts";
import type * as webhookEndpointsResource from "./resources/webhook-endpoints";
import type * as eventsResource from "./resources/events";
import type * as types from "./types";
import * as webhookHelpers from "./webhooks";
import { VERSION } from "./version";

class PaymentEngine extends PaymentEngineClient {}

namespace PaymentEngine {
  export const version = VERSION;
  export const Client = PaymentEngineClient;
  export type Client = PaymentEngineClient;
  export const webhooks = {
    verify: webhookHelpers.verify,
    checkSignature: webhookHelpers.checkSignature,
    computeSignature: webhookHelpers.computeSignature,
    verifyStandard: webhookHelpers.verifyStandard,
    checkStandard: webhookHelpers.checkStandard,
    computeStandardSignature: webhookHelpers.computeStandardSignature,
    constructEvent: webhookHelpers.constructEvent,
  };
  export const CURRENCY_EXPONENTS = money.CURRENCY_EXPONENTS;
  export const RETRYABLE_STATUSES = retries.RETRYABLE_STATUSES;

  export const PaymentEngineError = errors.PaymentEngineError;
  export type PaymentEngineError = errors.PaymentEngineError;
  export const APIConnectionError = errors.APIConnectionError;
  export type APIConnectionError = errors.APIConnectionError;
  export const APITimeoutError = errors.APITimeoutError;
  export type APITimeoutError = errors.APITimeoutError;
  export const InvalidResponseError = errors.InvalidResponseError;
  export type InvalidResponseError = errors.InvalidResponseError;
  export const WebhookSignatureError = errors.WebhookSignatureError;
  export type WebhookSignatureError = errors.WebhookSignatureError;
  export const WaitTimeoutError = errors.WaitTimeoutError;
  export type WaitTimeoutError = errors.WaitTimeoutError;
  export const InvalidRequestError = errors.InvalidRequestError;
  export type InvalidRequestError = errors.InvalidRequestError;
  export const UnauthorizedError = errors.UnauthorizedError;
  export type UnauthorizedError = errors.UnauthorizedError;
  export const ForbiddenError = errors.ForbiddenError;
  export type ForbiddenError = errors.ForbiddenError;
  export const NotFoundError = errors.NotFoundError;
  export type NotFoundError = errors.NotFoundError;
  export const MethodNotAllowedError = errors.MethodNotAllowedError;
  export type MethodNotAllowedError = errors.MethodNotAllowedError;
  export const ConflictError = errors.ConflictError;
  export type ConflictError = errors.ConflictError;
  export const IdempotencyKeyInUseError = errors.IdempotencyKeyInUseError;
  export type IdempotencyKeyInUseError = errors.IdempotencyKeyInUseError;
  export const PayloadTooLargeError = errors.PayloadTooLargeError;
  export type PayloadTooLargeError = errors.PayloadTooLargeError;
  export const UnprocessableError = errors.UnprocessableError;
  export type UnprocessableError = errors.UnprocessableError;
  export const IdempotencyKeyReusedError = errors.IdempotencyKeyReusedError;
  export type IdempotencyKeyReusedError = errors.IdempotencyKeyReusedError;
  export const InsufficientFundsError = errors.InsufficientFundsError;
  export type InsufficientFundsError = errors.InsufficientFundsError;
  export const InvalidAccountStatusError = errors.InvalidAccountStatusError;
  export type InvalidAccountStatusError = errors.InvalidAccountStatusError;
  export const RateLimitExceededError = errors.RateLimitExceededError;
  export type RateLimitExceededError = errors.RateLimitExceededError;
  export const ServerError = errors.ServerError;
  export type ServerError = errors.ServerError;
  export const InternalError = errors.InternalError;
  export type InternalError = errors.InternalError;
  export const ServiceUnavailableError = errors.ServiceUnavailableError;
  export type ServiceUnavailableError = errors.ServiceUnavailableError;

  export type ClientOptions = import("./client").ClientOptions;
  export type RequestOptions = transport.RequestOptions;
  export type RequestConfig = transport.RequestConfig;
  export type ResponseInfo = transport.ResponseInfo;
  export type Page<T> = pagination.Page<T>;
  export type PageIterator<T> = pagination.PageIterator<T>;
  export type ListOptions = pagination.ListOptions;
  export type ListTransactionsOptions = transactionsResource.ListTransactionsOptions;
  export type BatchOptions = transactionsResource.BatchOptions;
  export type WaitOptions = transactionsResource.WaitOptions;
  export type ListAccountsOptions = accountsResource.ListAccountsOptions;
  export type ListDeliveriesOptions = webhookEndpointsResource.ListDeliveriesOptions;
  export type ListEventsOptions = eventsResource.ListEventsOptions;
  export type AmountInput = money.AmountInput;
  export type Verification = webhookHelpers.Verification;
  export type WebhookHeaders = webhookHelpers.WebhookHeaders;

  export type Transaction = types.Transaction;
  export type TransactionStatus = types.TransactionStatus;
  export type CreateTransactionParams = types.CreateTransactionParams;
  export type BatchTransactionItem = types.BatchTransactionItem;
  export type BatchTransactionResult = types.BatchTransactionResult;
  export type BatchItemError = types.BatchItemError;
  export type BatchCreateTransactionsResult = types.BatchCreateTransactionsResult;
  export type Account = types.Account;
  export type Balance = types.Balance;
  export type LedgerEntry = types.LedgerEntry;
  export type CreateAccountParams = types.CreateAccountParams;
  export type Funding = types.Funding;
  export type PaymentType = types.PaymentType;
  export type WebhookEndpoint = types.WebhookEndpoint;
  export type CreateWebhookEndpointParams = types.CreateWebhookEndpointParams;
  export type UpdateWebhookEndpointParams = types.UpdateWebhookEndpointParams;
  export type DisableWebhookEndpointOptions = types.DisableWebhookEndpointOptions;
  export type DeletedWebhookEndpoint = types.DeletedWebhookEndpoint;
  export type WebhookDelivery = types.WebhookDelivery;
  export type WebhookDeliveryAttempt = types.WebhookDeliveryAttempt;
  export type WebhookTestResult = types.WebhookTestResult;
  export type Event = types.Event;
  export type ApiKey = types.ApiKey;
  export type CreateApiKeyParams = types.CreateApiKeyParams;
  export type CreatedApiKey = types.CreatedApiKey;
  export type RotatedApiKey = types.RotatedApiKey;
  export type DebitAuthorization = types.DebitAuthorization;
  export type CreateDebitAuthorizationParams = types.CreateDebitAuthorizationParams;
  export type TokenPair = types.TokenPair;
  export type Me = types.Me;
  export type Principal = types.Principal;
  export type Tenant = types.Tenant;
  export type LogoutResult = types.LogoutResult;
}

export = PaymentEngine;
