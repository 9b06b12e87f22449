/**
 * Every failure the SDK raises is a `PaymentEngineError`.
 *
 * Errors the engine answers come in the guide's envelope
 * (`{"error": {"code", "message", "details", "timestamp", "requestId"}}`) and are raised as
 * the subclass named after their `code` (`INSUFFICIENT_FUNDS` → `InsufficientFundsError`).
 * A code this SDK does not know yet falls back to the class of its HTTP status, so
 * `instanceof NotFoundError` keeps working when the engine adds finer codes. A body that
 * is not the envelope (a proxy's 502 page) still becomes a typed error, never a parser
 * exception.
 */

export interface PaymentEngineErrorInit {
  code?: string;
  status?: number;
  details?: Record<string, unknown>;
  requestId?: string;
  timestamp?: string;
  retryAfterMs?: number;
  headers?: Record<string, string>;
  body?: unknown;
  idempotencyKey?: string;
  outcomeUnknown?: boolean;
  cause?: unknown;
}

export class PaymentEngineError extends Error {
  static readonly defaultCode: string = "UNKNOWN_ERROR";

  /** The guide's error code (`INSUFFICIENT_FUNDS`, …), or `CONNECTION_ERROR` / `TIMEOUT` /
   * `INVALID_RESPONSE` for failures without a readable answer. */
  code: string;
  /** The HTTP status; undefined when no answer arrived (or nothing was sent). */
  status: number | undefined;
  /** The envelope's `details` object (`{}` when it had none). */
  details: Record<string, unknown>;
  /** The engine's request id: quote it to support. */
  requestId: string | undefined;
  /** When the engine produced the error (ISO 8601), from the envelope. */
  timestamp: string | undefined;
  /** The server's `Retry-After`, in milliseconds, when it sent one. */
  retryAfterMs: number | undefined;
  /** Response headers (lower-case names). */
  headers: Record<string, string>;
  /** The decoded response body, or its text (shortened) when it was not JSON. */
  body: unknown;
  /** The Idempotency-Key the call sent on every attempt (POST only). Replay the call with
   * it to learn the outcome when `outcomeUnknown` is true. */
  idempotencyKey: string | undefined;
  /** True when a POST may or may not have taken effect: the last attempt got no answer.
   * Send it again with the same `idempotencyKey`: the engine answers with the first
   * outcome rather than acting twice. */
  outcomeUnknown: boolean;

  constructor(message: string, init: PaymentEngineErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code ?? (new.target as unknown as typeof PaymentEngineError).defaultCode;
    this.status = init.status;
    this.details = init.details ?? {};
    this.requestId = init.requestId;
    this.timestamp = init.timestamp;
    this.retryAfterMs = init.retryAfterMs;
    this.headers = init.headers ?? {};
    this.body = init.body;
    this.idempotencyKey = init.idempotencyKey;
    this.outcomeUnknown = init.outcomeUnknown ?? false;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      status: this.status,
      message: this.message,
      details: this.details,
      requestId: this.requestId,
      timestamp: this.timestamp,
      idempotencyKey: this.idempotencyKey,
      outcomeUnknown: this.outcomeUnknown,
    };
  }
}

// --- Failures without an answer from the engine ------------------------------------------

/** The request could not be completed: connection refused or reset, DNS, TLS, a body cut off. */
export class APIConnectionError extends PaymentEngineError {
  static override readonly defaultCode: string = "CONNECTION_ERROR";
}

/** No answer within the client's `timeout` (which bounds the whole call, retries included). */
export class APITimeoutError extends APIConnectionError {
  static override readonly defaultCode: string = "TIMEOUT";
}

/** The engine answered something this SDK cannot read (not JSON where JSON was due). */
export class InvalidResponseError extends PaymentEngineError {
  static override readonly defaultCode: string = "INVALID_RESPONSE";
}

/** A webhook's signature does not match its raw body and the endpoint's secret(s). */
export class WebhookSignatureError extends PaymentEngineError {
  static override readonly defaultCode: string = "INVALID_SIGNATURE";
}

/** `transactions.waitForCompletion` gave up before the payment reached a final status. */
export class WaitTimeoutError extends PaymentEngineError {
  static override readonly defaultCode: string = "WAIT_TIMEOUT";
  /** The last status read. */
  lastStatus: unknown;
  constructor(message: string, lastStatus: unknown) {
    super(message);
    this.lastStatus = lastStatus;
  }
}

// --- The guide's codes (Error Handling → Common Error Codes) and the engine's others ------

/** 400 INVALID_REQUEST: fix the request; `details.field` names the culprit. */
export class InvalidRequestError extends PaymentEngineError {
  static override readonly defaultCode: string = "INVALID_REQUEST";
}
/** 401 UNAUTHORIZED: missing, wrong, expired or revoked credentials. */
export class UnauthorizedError extends PaymentEngineError {
  static override readonly defaultCode: string = "UNAUTHORIZED";
}
/** 403 FORBIDDEN: the credentials lack the scope this call needs. */
export class ForbiddenError extends PaymentEngineError {
  static override readonly defaultCode: string = "FORBIDDEN";
}
/** 404 NOT_FOUND: no such resource (or it belongs to another tenant). */
export class NotFoundError extends PaymentEngineError {
  static override readonly defaultCode: string = "NOT_FOUND";
}
/** 405 METHOD_NOT_ALLOWED. */
export class MethodNotAllowedError extends PaymentEngineError {
  static override readonly defaultCode: string = "METHOD_NOT_ALLOWED";
}
/** 409 CONFLICT: the resource already exists or changed meanwhile. */
export class ConflictError extends PaymentEngineError {
  static override readonly defaultCode: string = "CONFLICT";
}
/** 409 IDEMPOTENCY_KEY_IN_USE: a request with the same key is still in flight (retried). */
export class IdempotencyKeyInUseError extends ConflictError {
  static override readonly defaultCode: string = "IDEMPOTENCY_KEY_IN_USE";
}
/** 413 PAYLOAD_TOO_LARGE. */
export class PayloadTooLargeError extends PaymentEngineError {
  static override readonly defaultCode: string = "PAYLOAD_TOO_LARGE";
}
/** 422: well formed, but refused (the subclasses say why). */
export class UnprocessableError extends PaymentEngineError {
  static override readonly defaultCode: string = "UNPROCESSABLE";
}
/** 422 IDEMPOTENCY_KEY_REUSED: the key was already used with a different request. */
export class IdempotencyKeyReusedError extends UnprocessableError {
  static override readonly defaultCode: string = "IDEMPOTENCY_KEY_REUSED";
}
/** 422 INSUFFICIENT_FUNDS: `details` carries accountId, requestedAmount, availableBalance. */
export class InsufficientFundsError extends UnprocessableError {
  static override readonly defaultCode: string = "INSUFFICIENT_FUNDS";
}
/** 422 INVALID_ACCOUNT_STATUS: an account of the payment is frozen or closed. */
export class InvalidAccountStatusError extends UnprocessableError {
  static override readonly defaultCode: string = "INVALID_ACCOUNT_STATUS";
}
/** 429 RATE_LIMIT_EXCEEDED: retried (honouring Retry-After) until the retries are spent. */
export class RateLimitExceededError extends PaymentEngineError {
  static override readonly defaultCode: string = "RATE_LIMIT_EXCEEDED";
}
/** A 5xx answer. */
export class ServerError extends PaymentEngineError {
  static override readonly defaultCode: string = "SERVER_ERROR";
}
/** 500 INTERNAL_ERROR. */
export class InternalError extends ServerError {
  static override readonly defaultCode: string = "INTERNAL_ERROR";
}
/** 503 SERVICE_UNAVAILABLE. */
export class ServiceUnavailableError extends ServerError {
  static override readonly defaultCode: string = "SERVICE_UNAVAILABLE";
}

type ErrorClass = new (message: string, init?: PaymentEngineErrorInit) => PaymentEngineError;

const CLASS_BY_CODE: ReadonlyMap<string, ErrorClass> = new Map<string, ErrorClass>(
  [
    InvalidRequestError,
    UnauthorizedError,
    ForbiddenError,
    NotFoundError,
    MethodNotAllowedError,
    ConflictError,
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    PayloadTooLargeError,
    InsufficientFundsError,
    InvalidAccountStatusError,
    RateLimitExceededError,
    InternalError,
    ServiceUnavailableError,
  ].map((cls) => [cls.defaultCode, cls]),
);

const CLASS_BY_STATUS: ReadonlyMap<number, ErrorClass> = new Map<number, ErrorClass>([
  [400, InvalidRequestError],
  [401, UnauthorizedError],
  [403, ForbiddenError],
  [404, NotFoundError],
  [405, MethodNotAllowedError],
  [409, ConflictError],
  [413, PayloadTooLargeError],
  [422, UnprocessableError],
  [429, RateLimitExceededError],
  [500, InternalError],
  [503, ServiceUnavailableError],
]);

/** The class for a guide code, else for the HTTP status, else the base class. */
export function errorClassFor(code: string | undefined, status: number): ErrorClass {
  const byCode = code === undefined ? undefined : CLASS_BY_CODE.get(code);
  if (byCode !== undefined) return byCode;
  const byStatus = CLASS_BY_STATUS.get(status);
  if (byStatus !== undefined) return byStatus;
  return status >= 500 ? ServerError : PaymentEngineError;
}
