/**
 * Sending one API call: authenticate, attempt, retry, map errors, parse.
 *
 * Per call:
 * 1. The body is encoded once (amounts exactly) and a POST gets its Idempotency-Key once
 *    (the caller's or a new UUID): every attempt sends the same bytes and the same key, so
 *    the engine recognises a retry as the same request and never pays twice.
 * 2. `timeout` bounds the whole call — every attempt, every wait between attempts, reading
 *    the body. Each attempt runs `onRequest`, sends, runs `onResponse`.
 * 3. A 2xx answer is parsed. An error answer becomes the `PaymentEngineError` subclass of
 *    its code; a 401 with a session token renews the token and sends once more; retryable
 *    failures (see retries.ts) wait and go again until the policy or the deadline says stop;
 *    then `onError` runs once and the error is thrown. When a POST's last attempt got no
 *    answer, the error says the outcome is unknown and carries the key to replay it with.
 */

import { randomUUID } from "node:crypto";

import {
  APIConnectionError,
  APITimeoutError,
  InvalidResponseError,
  PaymentEngineError,
  errorClassFor,
} from "./errors";
import { RETRIES_MAX, RetryPolicy, neverSent, parseRetryAfter, shouldRetryNetwork, shouldRetryStatus } from "./retries";
import { encodeJson } from "./wire";
import { VERSION } from "./version";

export const DEFAULT_BASE_URL = "https://api.payment-engine.com";
export const DEFAULT_TIMEOUT_MS = 30_000;
export const API_PREFIX = "/api/v1";
export const IDEMPOTENCY_KEY_LENGTH_MAX = 255;
const RESPONSE_BODY_BYTES_MAX = 16 * 1024 * 1024;
const ERROR_TEXT_SHOWN_MAX = 500;
/** Every attempt a call can make: the first, its retries, and one after renewing a session token. */
const ATTEMPTS_MAX = RETRIES_MAX + 2;
const SECRET_HEADERS: ReadonlySet<string> = new Set(["authorization", "x-api-key"]);
const USER_AGENT = `payment-engine-sdk-node/${VERSION} node/${process.versions.node}`;
export const LOGIN_PATH = "/api/v1/auth/login";
export const REFRESH_PATH = "/api/v1/auth/refresh";
/** Renew a session token this long before it expires (or a tenth of its lifetime if shorter). */
const TOKEN_RENEW_MARGIN_MAX_MS = 60_000;
const TOKEN_RENEW_MARGIN_FRACTION = 0.1;

/** What `onRequest(config)` receives, once per HTTP attempt. */
export interface RequestConfig {
  method: string;
  url: string;
  /** The route template, as in the OpenAPI contract: `/api/v1/transactions/{id}/status`. */
  route: string;
  /** 1 for the first attempt, 2 for the first retry, … */
  attempt: number;
  /** The key this call sends on every attempt (POST only). */
  idempotencyKey: string | undefined;
  /** The request headers, credentials masked. */
  headers: Record<string, string>;
}

/** What `onResponse(response)` receives, once per answer. */
export interface ResponseInfo {
  method: string;
  url: string;
  route: string;
  status: number;
  headers: Record<string, string>;
  requestId: string | undefined;
  attempt: number;
  elapsedMs: number;
}

export type RequestHook = (config: RequestConfig) => unknown;
export type ResponseHook = (response: ResponseInfo) => unknown;
export type ErrorHook = (error: PaymentEngineError) => unknown;

/** Per-call options every resource method accepts as its last argument. */
export interface RequestOptions {
  /** Bounds this call (retries included), in milliseconds; the client's `timeout` otherwise. */
  timeout?: number;
  /** Aborts the call. */
  signal?: AbortSignal;
  /** Your own key for a POST (an order id); one is generated otherwise. */
  idempotencyKey?: string;
  /** Sent as X-Request-Id. */
  requestId?: string;
}

/** One API call, described. */
export interface Operation<T> {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** The route template (`/api/v1/transactions/{id}`) and the concrete path. */
  route: string;
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  parse: (document: unknown) => T;
  /** Whether sending the request twice cannot do anything twice (see retries.ts). */
  retrySafe?: boolean;
  authenticated?: boolean;
}

export interface Credentials {
  apiKey?: string;
  accessToken?: string;
  username?: string;
  password?: string;
}

export interface TransportOptions {
  baseUrl: string;
  timeoutMs: number;
  policy: RetryPolicy;
  credentials: Credentials;
  headers: Record<string, string>;
  onRequest?: RequestHook;
  onResponse?: ResponseHook;
  onError?: ErrorHook;
}

interface TokenPair {
  access_token: string;
  refresh_token?: string;
  expires_in?: number;
}

export function normalizeBaseUrl(baseUrl: string): string {
  const url = baseUrl.trim().replace(/\/+$/, "");
  if (!/^https?:\/\//.test(url)) throw new TypeError(`baseUrl must start with https:// (got ${JSON.stringify(baseUrl)})`);
  // The guide's base URLs stop before /api/v1; accept one that includes it too.
  return url.endsWith(API_PREFIX) ? url.slice(0, -API_PREFIX.length) : url;
}

export function checkIdempotencyKey(key: string): string {
  if (typeof key !== "string" || key.length === 0 || key.length > IDEMPOTENCY_KEY_LENGTH_MAX || !/^[\x20-\x7e]+$/.test(key)) {
    throw new TypeError(`idempotencyKey must be 1 to ${IDEMPOTENCY_KEY_LENGTH_MAX} printable ASCII characters`);
  }
  return key;
}

function masked(headers: Record<string, string>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) result[name] = SECRET_HEADERS.has(name.toLowerCase()) ? "***" : value;
  return result;
}

function headersOf(response: Response): Record<string, string> {
  const result: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    result[name] = value;
  });
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** The guide's envelope → its error class; anything else (a proxy's text page) → the status's. */
export function errorFromAnswer(status: number, statusText: string, headers: Record<string, string>, raw: string): PaymentEngineError {
  let body: unknown = raw.length === 0 ? undefined : raw.slice(0, ERROR_TEXT_SHOWN_MAX);
  try {
    if (raw.length > 0) body = JSON.parse(raw);
  } catch {
    // Not JSON: keep the (shortened) text as the body.
  }
  const envelope = isObject(body) && isObject(body.error) ? body.error : undefined;
  const code = text(envelope?.code);
  const cls = errorClassFor(code, status);
  const message = text(envelope?.message) ?? `HTTP ${status}${statusText ? ` ${statusText}` : ""}`;
  return new cls(message, {
    code,
    status,
    details: isObject(envelope?.details) ? envelope.details : {},
    requestId: text(envelope?.requestId) ?? headers["x-request-id"],
    timestamp: text(envelope?.timestamp),
    retryAfterMs: parseRetryAfter(headers["retry-after"]),
    headers,
    body,
  });
}

/** Node's fetch reports network failures as TypeError("fetch failed") with the cause inside. */
function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && isObject(current); depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function describeNetworkError(error: unknown): string {
  const code = networkCode(error);
  const cause = isObject(error) && error.cause instanceof Error ? error.cause.message : undefined;
  const base = error instanceof Error ? error.message : String(error);
  return [base, cause, code].filter((part) => part !== undefined && part !== "").join(": ").slice(0, ERROR_TEXT_SHOWN_MAX);
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

class DeadlineExceeded extends Error {}

/** The access and refresh tokens of a username/password session. */
class Session {
  accessToken: string | undefined;
  refreshToken: string | undefined;
  renewAtMs = 0;
  renewal: Promise<string> | undefined;

  current(nowMs: number): string | undefined {
    return this.accessToken !== undefined && nowMs < this.renewAtMs ? this.accessToken : undefined;
  }

  store(pair: TokenPair, nowMs: number): void {
    const lifetimeMs = Math.max(0, Number(pair.expires_in ?? 0) * 1000);
    const marginMs = Math.min(TOKEN_RENEW_MARGIN_MAX_MS, lifetimeMs * TOKEN_RENEW_MARGIN_FRACTION);
    this.accessToken = pair.access_token;
    this.refreshToken = pair.refresh_token ?? this.refreshToken;
    this.renewAtMs = nowMs + lifetimeMs - marginMs;
  }

  reject(token: string | undefined): void {
    if (token !== undefined && token === this.accessToken) this.renewAtMs = 0;
  }
}

function parseTokenPair(document: unknown): TokenPair {
  if (!isObject(document) || typeof document.access_token !== "string") {
    throw new InvalidResponseError("The token answer has no access_token");
  }
  return document as unknown as TokenPair;
}

export class Transport {
  readonly options: TransportOptions;
  private readonly session: Session | undefined;

  constructor(options: TransportOptions) {
    this.options = options;
    this.session = options.credentials.username !== undefined ? new Session() : undefined;
  }

  /** Forgets the session's tokens: the next call logs in again. */
  forgetSession(): void {
    if (this.session === undefined) return;
    this.session.accessToken = undefined;
    this.session.refreshToken = undefined;
    this.session.renewAtMs = 0;
  }

  /** Runs one call to completion: the answer parsed, or a PaymentEngineError thrown. */
  async request<T>(operation: Operation<T>, callOptions: RequestOptions = {}): Promise<T> {
    const timeoutMs = callOptions.timeout ?? this.options.timeoutMs;
    const deadlineMs = Date.now() + timeoutMs;
    try {
      return await this.attempts(operation, callOptions, deadlineMs, timeoutMs);
    } catch (error) {
      const failure =
        error instanceof PaymentEngineError
          ? error
          : new PaymentEngineError(error instanceof Error ? error.message : String(error), { cause: error });
      if (this.options.onError !== undefined) await this.options.onError(failure);
      throw failure;
    }
  }

  private async attempts<T>(operation: Operation<T>, callOptions: RequestOptions, deadlineMs: number, timeoutMs: number): Promise<T> {
    const method = operation.method;
    const retrySafe = operation.retrySafe ?? true;
    const authenticated = operation.authenticated ?? true;
    const bodyText = operation.body === undefined ? undefined : encodeJson(operation.body);
    const key = method === "POST" ? checkIdempotencyKey(callOptions.idempotencyKey ?? randomUUID()) : undefined;
    const url = this.url(operation);
    let retryNumber = 0;
    let reauthenticated = false;
    for (let attempt = 1; attempt <= ATTEMPTS_MAX; attempt += 1) {
      const headers: Record<string, string> = {
        Accept: "application/json",
        "User-Agent": USER_AGENT,
        ...this.options.headers,
      };
      if (bodyText !== undefined) headers["Content-Type"] = "application/json";
      if (key !== undefined) headers["Idempotency-Key"] = key;
      if (callOptions.requestId !== undefined) headers["X-Request-Id"] = callOptions.requestId;
      let token: string | undefined;
      if (authenticated) {
        const { apiKey, accessToken } = this.options.credentials;
        if (apiKey !== undefined) headers["X-API-Key"] = apiKey;
        else if (accessToken !== undefined) headers.Authorization = `Bearer ${accessToken}`;
        else if (this.session !== undefined) {
          token = await this.sessionToken(deadlineMs, callOptions.signal);
          headers.Authorization = `Bearer ${token}`;
        }
      }
      if (this.options.onRequest !== undefined) {
        await this.options.onRequest({ method, url, route: operation.route, attempt, idempotencyKey: key, headers: masked(headers) });
      }
      const started = Date.now();
      let outcome: { response: Response; raw: string } | { failure: unknown };
      try {
        outcome = await this.send(url, method, headers, bodyText, deadlineMs, callOptions.signal);
      } catch (failure) {
        outcome = { failure };
      }
      if ("failure" in outcome) {
        const failure = outcome.failure;
        const code = networkCode(failure);
        const timedOut = failure instanceof DeadlineExceeded;
        if (callOptions.signal?.aborted && !timedOut) throw this.unanswered(new APIConnectionError("The call was aborted", { cause: failure }), key, code);
        if (timedOut) {
          throw this.unanswered(new APITimeoutError(`No answer from the Payment Engine within ${timeoutMs} ms (${method} ${operation.route})`, { cause: failure }), key, code);
        }
        const error = new APIConnectionError(`Could not reach the Payment Engine: ${describeNetworkError(failure)}`, { cause: failure });
        retryNumber += 1;
        const delayMs = shouldRetryNetwork(code, retrySafe) ? this.options.policy.delayMs(retryNumber, undefined) : undefined;
        if (delayMs === undefined || Date.now() + delayMs >= deadlineMs) throw this.unanswered(error, key, code);
        await sleep(delayMs, callOptions.signal);
        continue;
      }
      const { response, raw } = outcome;
      const responseHeaders = headersOf(response);
      if (this.options.onResponse !== undefined) {
        await this.options.onResponse({
          method,
          url,
          route: operation.route,
          status: response.status,
          headers: responseHeaders,
          requestId: responseHeaders["x-request-id"],
          attempt,
          elapsedMs: Date.now() - started,
        });
      }
      if (response.ok) return this.parseSuccess(operation, response.status, responseHeaders, raw);
      const error = errorFromAnswer(response.status, response.statusText, responseHeaders, raw);
      error.idempotencyKey = key;
      if (!reauthenticated && error.status === 401 && this.session !== undefined && authenticated) {
        reauthenticated = true;
        this.session.reject(token);
        continue;
      }
      if (shouldRetryStatus(response.status, error.code, retrySafe)) {
        retryNumber += 1;
        const delayMs = this.options.policy.delayMs(retryNumber, error.retryAfterMs);
        if (delayMs !== undefined && Date.now() + delayMs < deadlineMs) {
          await sleep(delayMs, callOptions.signal);
          continue;
        }
      }
      if (method === "POST" && response.status >= 500 && response.status !== 501 && response.status !== 505) {
        throw this.unanswered(error, key, undefined);
      }
      throw error;
    }
    throw new PaymentEngineError(`${method} ${operation.route} made ${ATTEMPTS_MAX} attempts without an outcome`, { idempotencyKey: key });
  }

  /** Marks a POST's failure as of unknown outcome, unless it provably never left. */
  private unanswered(error: PaymentEngineError, key: string | undefined, networkErrorCode: string | undefined): PaymentEngineError {
    error.idempotencyKey = key;
    if (key !== undefined && !neverSent(networkErrorCode)) {
      error.outcomeUnknown = true;
      error.message += `; the outcome of this request is unknown: send it again with Idempotency-Key ${key} to learn it`;
    }
    return error;
  }

  private url(operation: Operation<unknown>): string {
    const base = this.options.baseUrl + operation.path;
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(operation.query ?? {})) {
      if (value !== undefined && value !== "") params.set(name, String(value));
    }
    const query = params.toString();
    return query === "" ? base : `${base}?${query}`;
  }

  /** One HTTP exchange, the whole body read, bounded by the call's deadline. */
  private async send(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    deadlineMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ response: Response; raw: string }> {
    const remainingMs = deadlineMs - Date.now();
    if (remainingMs <= 0) throw new DeadlineExceeded("deadline passed before sending");
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DeadlineExceeded("deadline"));
    }, remainingMs);
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await fetch(url, { method, headers, body, signal: controller.signal, redirect: "error" });
      const bytes = await response.arrayBuffer();
      if (bytes.byteLength > RESPONSE_BODY_BYTES_MAX) {
        throw new InvalidResponseError(`The answer is larger than ${RESPONSE_BODY_BYTES_MAX} bytes`, { status: response.status });
      }
      return { response, raw: new TextDecoder("utf-8").decode(bytes) };
    } catch (error) {
      if (timedOut) throw new DeadlineExceeded("deadline");
      throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  private parseSuccess<T>(operation: Operation<T>, status: number, headers: Record<string, string>, raw: string): T {
    let document: unknown = null;
    if (raw.length > 0) {
      try {
        document = JSON.parse(raw);
      } catch {
        throw new InvalidResponseError(`The answer to ${operation.method} ${operation.route} is not JSON`, {
          status,
          headers,
          requestId: headers["x-request-id"],
          body: raw.slice(0, ERROR_TEXT_SHOWN_MAX),
        });
      }
    }
    try {
      return operation.parse(document);
    } catch (error) {
      if (error instanceof PaymentEngineError) {
        error.status = status;
        error.requestId = headers["x-request-id"];
        error.body = document;
      }
      throw error;
    }
  }

  private async sessionToken(deadlineMs: number, signal: AbortSignal | undefined): Promise<string> {
    const session = this.session;
    if (session === undefined) throw new Error("no session");
    const current = session.current(Date.now());
    if (current !== undefined) return current;
    // Concurrent calls share one renewal.
    session.renewal ??= this.renew(session, deadlineMs, signal).finally(() => {
      session.renewal = undefined;
    });
    return session.renewal;
  }

  private async renew(session: Session, deadlineMs: number, signal: AbortSignal | undefined): Promise<string> {
    const timeout = Math.max(1, deadlineMs - Date.now());
    const refreshToken = session.refreshToken;
    if (refreshToken !== undefined) {
      // A refresh token is spent on first use (reuse ends the session): never resent.
      session.refreshToken = undefined;
      try {
        const pair = await this.attempts(
          { method: "POST", route: REFRESH_PATH, path: REFRESH_PATH, body: { refresh_token: refreshToken }, parse: parseTokenPair, retrySafe: false, authenticated: false },
          { signal },
          deadlineMs,
          timeout,
        );
        session.store(pair, Date.now());
        return pair.access_token;
      } catch (error) {
        if (!(error instanceof PaymentEngineError) || error.status === undefined || error.status >= 500) throw error;
        // Refused (spent, expired, revoked): log in again below.
      }
    }
    const { username, password } = this.options.credentials;
    const pair = await this.attempts(
      { method: "POST", route: LOGIN_PATH, path: LOGIN_PATH, body: { username, password }, parse: parseTokenPair, retrySafe: false, authenticated: false },
      { signal },
      deadlineMs,
      timeout,
    );
    session.store(pair, Date.now());
    return pair.access_token;
  }
}
