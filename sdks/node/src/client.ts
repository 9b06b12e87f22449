/**
 * The client, in the guide's shape:
 *
 *     const PaymentEngine = require('@payment-engine/sdk');
 *     const client = new PaymentEngine({ apiKey, baseUrl, timeout: 30000, retries: 3, retryDelay: 1000,
 *                                        onRequest, onResponse, onError });
 */

import { RetryPolicy } from "./retries";
import { Accounts } from "./resources/accounts";
import { ApiKeys } from "./resources/api-keys";
import { Auth } from "./resources/auth";
import { DebitAuthorizations } from "./resources/debit-authorizations";
import { Events } from "./resources/events";
import { PaymentTypes } from "./resources/payment-types";
import { Transactions } from "./resources/transactions";
import { WebhookEndpoints } from "./resources/webhook-endpoints";
import {
  DEFAULT_BASE_URL,
  DEFAULT_TIMEOUT_MS,
  Transport,
  normalizeBaseUrl,
  type Credentials,
  type ErrorHook,
  type RequestHook,
  type ResponseHook,
} from "./transport";

export const API_KEY_ENV = "PAYMENT_ENGINE_API_KEY";
export const BASE_URL_ENV = "PAYMENT_ENGINE_BASE_URL";

export interface ClientOptions {
  /** Server-to-server credentials (`X-API-Key`); PAYMENT_ENGINE_API_KEY when nothing else is given. */
  apiKey?: string;
  /** Or the guide's OAuth flow: the client logs in, sends the bearer token and renews it by itself. */
  username?: string;
  password?: string;
  /** Or a bearer token you manage yourself. */
  accessToken?: string;
  /** Default `https://api.payment-engine.com` (or PAYMENT_ENGINE_BASE_URL). */
  baseUrl?: string;
  /** Milliseconds one call may take, retries included (default 30 000). */
  timeout?: number;
  /** How many times a retryable failure is tried again (default 3, at most 10). */
  retries?: number;
  /** First backoff in milliseconds, doubling per retry, with jitter (default 1 000). */
  retryDelay?: number;
  /** Largest backoff in milliseconds (default 30 000). */
  retryDelayMax?: number;
  /** Longest Retry-After waited out, in milliseconds (default 60 000). */
  retryAfterMax?: number;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Before every attempt: `config.method`, `config.url`, `config.attempt`, `config.route`, `config.idempotencyKey`. */
  onRequest?: RequestHook;
  /** After every answer: `response.status`, `response.requestId`, … */
  onResponse?: ResponseHook;
  /** Once per failed call, with the error about to be thrown. */
  onError?: ErrorHook;
}

function chooseCredentials(options: ClientOptions): Credentials {
  const { apiKey, accessToken, username, password } = options;
  if ((username === undefined) !== (password === undefined)) throw new TypeError("username and password go together");
  const given = [apiKey ? "apiKey" : undefined, accessToken ? "accessToken" : undefined, username !== undefined ? "username/password" : undefined].filter(
    (name): name is string => name !== undefined,
  );
  if (given.length > 1) throw new TypeError(`give one way to authenticate, not ${given.join(" and ")}`);
  if (apiKey) return { apiKey };
  if (accessToken) return { accessToken };
  if (username !== undefined && password !== undefined) return { username, password };
  const fromEnv = process.env[API_KEY_ENV];
  if (fromEnv) return { apiKey: fromEnv };
  throw new TypeError(`no credentials: pass apiKey, accessToken or username and password (or set ${API_KEY_ENV})`);
}

export class PaymentEngineClient {
  readonly transactions: Transactions;
  readonly accounts: Accounts;
  readonly paymentTypes: PaymentTypes;
  readonly webhookEndpoints: WebhookEndpoints;
  readonly events: Events;
  readonly apiKeys: ApiKeys;
  readonly debitAuthorizations: DebitAuthorizations;
  readonly auth: Auth;
  /** The normalized base URL calls go to. */
  readonly baseUrl: string;

  constructor(options: ClientOptions = {}) {
    if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
    const timeoutMs = options.timeout ?? DEFAULT_TIMEOUT_MS;
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError("timeout must be a positive number of milliseconds");
    this.baseUrl = normalizeBaseUrl(options.baseUrl ?? process.env[BASE_URL_ENV] ?? DEFAULT_BASE_URL);
    const transport = new Transport({
      baseUrl: this.baseUrl,
      timeoutMs,
      policy: new RetryPolicy({
        retries: options.retries,
        retryDelay: options.retryDelay,
        retryDelayMax: options.retryDelayMax,
        retryAfterMax: options.retryAfterMax,
      }),
      credentials: chooseCredentials(options),
      headers: { ...(options.headers ?? {}) },
      onRequest: options.onRequest,
      onResponse: options.onResponse,
      onError: options.onError,
    });
    this.transactions = new Transactions(transport);
    this.accounts = new Accounts(transport);
    this.paymentTypes = new PaymentTypes(transport);
    this.webhookEndpoints = new WebhookEndpoints(transport);
    this.events = new Events(transport);
    this.apiKeys = new ApiKeys(transport);
    this.debitAuthorizations = new DebitAuthorizations(transport);
    this.auth = new Auth(transport);
  }
}
