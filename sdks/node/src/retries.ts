/**
 * When to send a request again, and how long to wait first — the guide's "Retry Strategy".
 *
 * Retried: 429, 500, 502, 503, 504, 409 IDEMPOTENCY_KEY_IN_USE and network failures, with
 * exponential backoff from `retryDelay` and jitter, never sooner than the server's
 * `Retry-After`. Never retried: any other 4xx, which would fail the same way again.
 *
 * A retry must never make something happen twice. Reads are safe to repeat, and so is a
 * payment: every POST carries one Idempotency-Key for all its attempts and the engine
 * answers a repeat with the first outcome. POSTs the engine does not deduplicate (creating
 * an account, rotating a secret, …) are marked `retrySafe: false` by their resource and are
 * retried only when the request provably had no effect: a 429, or a connection never made.
 */

export const RETRIES_MAX = 10;
export const RETRIES_DEFAULT = 3;
export const RETRY_DELAY_DEFAULT_MS = 1000;
export const RETRY_DELAY_MAX_DEFAULT_MS = 30_000;
/** A Retry-After longer than this is not waited out: the error is raised with it instead. */
export const RETRY_AFTER_MAX_MS = 60_000;
/** The statuses the guide's makeRequestWithRetry retries. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);
const RETRYABLE_CODES: ReadonlySet<string> = new Set(["IDEMPOTENCY_KEY_IN_USE"]);
/** Network failures that happen before a request leaves this machine: no effect possible. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

export interface RetryPolicyOptions {
  retries?: number;
  retryDelay?: number;
  retryDelayMax?: number;
  retryAfterMax?: number;
}

export class RetryPolicy {
  /** How many times a failed request is sent again (so at most `retries + 1` attempts). */
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly retryDelayMaxMs: number;
  readonly retryAfterMaxMs: number;
  private readonly random: () => number;

  constructor(options: RetryPolicyOptions = {}, random: () => number = Math.random) {
    this.retries = options.retries ?? RETRIES_DEFAULT;
    this.retryDelayMs = options.retryDelay ?? RETRY_DELAY_DEFAULT_MS;
    this.retryDelayMaxMs = options.retryDelayMax ?? Math.max(RETRY_DELAY_MAX_DEFAULT_MS, this.retryDelayMs);
    this.retryAfterMaxMs = options.retryAfterMax ?? RETRY_AFTER_MAX_MS;
    this.random = random;
    if (!Number.isInteger(this.retries) || this.retries < 0 || this.retries > RETRIES_MAX) {
      throw new RangeError(`retries must be an integer between 0 and ${RETRIES_MAX}`);
    }
    if (!(this.retryDelayMs >= 0) || !(this.retryDelayMaxMs >= this.retryDelayMs)) {
      throw new RangeError("retryDelay must be >= 0 and retryDelayMax >= retryDelay");
    }
    if (!(this.retryAfterMaxMs >= 0)) throw new RangeError("retryAfterMax must be >= 0");
  }

  /** The jittered delay before retry `retryNumber` (1-based): between half and all of
   * `retryDelay * 2^(n-1)` (capped), so that clients failing together do not retry together. */
  backoffMs(retryNumber: number): number {
    const ceiling = Math.min(this.retryDelayMs * 2 ** Math.min(retryNumber - 1, 30), this.retryDelayMaxMs);
    return ceiling * (0.5 + this.random() / 2);
  }

  /** Milliseconds to wait before retry `retryNumber`, or undefined when it must not happen
   * (retries spent, or the server asks for a longer wait than `retryAfterMax`). */
  delayMs(retryNumber: number, retryAfterMs: number | undefined): number | undefined {
    if (retryNumber > this.retries) return undefined;
    if (retryAfterMs !== undefined && retryAfterMs > this.retryAfterMaxMs) return undefined;
    const wait = this.backoffMs(retryNumber);
    return retryAfterMs === undefined ? wait : Math.max(wait, retryAfterMs);
  }
}

/** Whether an error answer is worth another attempt. */
export function shouldRetryStatus(status: number, code: string | undefined, retrySafe: boolean): boolean {
  if (status === 429) return true; // refused before any work was done
  if (!retrySafe) return false;
  if (code !== undefined && RETRYABLE_CODES.has(code)) return true;
  return RETRYABLE_STATUSES.has(status);
}

/** Whether a network failure is worth another attempt. */
export function shouldRetryNetwork(errorCode: string | undefined, retrySafe: boolean): boolean {
  if (errorCode !== undefined && NOT_SENT_CODES.has(errorCode)) return true;
  return retrySafe;
}

/** True when the failure happened before the request could have reached the engine. */
export function neverSent(errorCode: string | undefined): boolean {
  return errorCode !== undefined && NOT_SENT_CODES.has(errorCode);
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const moment = Date.parse(text);
  if (Number.isNaN(moment)) return undefined;
  return Math.max(0, moment - nowMs);
}
