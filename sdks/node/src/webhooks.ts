/**
 * Checking that a webhook came from the engine, and reading it.
 *
 * Every delivery carries two signatures of the same raw body, made with the endpoint's
 * secret (the `whsec_…` string shown when the endpoint was created):
 *
 * - the guide's: `X-Webhook-Signature: sha256=<hex HMAC-SHA256(raw body)>`, keyed with the
 *   secret string as is — `verify(rawBody, signature, secret)` agrees with the guide's
 *   `verifyWebhookSignature` and compares in constant time;
 * - Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> …`,
 *   keyed with the base64 part of the secret over `<id>.<timestamp>.<body>` —
 *   `verifyStandard(...)` also refuses a timestamp outside the tolerance (replays).
 *
 * Both accept several secrets while one is being rotated (`[newSecret, oldSecret]`).
 * Verify the raw bytes you received (`express.raw({ type: 'application/json' })`): a parsed
 * and re-serialized body is not what was signed, so a parsed object is refused.
 */

import { createHmac, timingSafeEqual } from "node:crypto";

import { WebhookSignatureError } from "./errors";
import type { Event } from "./types";

export const SIGNATURE_HEADER = "x-webhook-signature";
export const PREVIOUS_SIGNATURE_HEADER = "x-webhook-signature-previous";
export const STANDARD_ID_HEADER = "webhook-id";
export const STANDARD_TIMESTAMP_HEADER = "webhook-timestamp";
export const STANDARD_SIGNATURE_HEADER = "webhook-signature";
export const SECRET_PREFIX = "whsec_";
const GUIDE_SCHEME = "sha256=";
export const TOLERANCE_DEFAULT_SECONDS = 300;
/** Bounds on what a verifier looks at, so a hostile request costs little. */
export const SECRETS_MAX = 8;
const SIGNATURE_HEADER_LENGTH_MAX = 4096;
const STANDARD_SIGNATURES_MAX = 16;

export type RawBody = string | Buffer | Uint8Array;
export type Secrets = string | readonly string[];
/** Node's `req.headers`, a fetch `Headers`, or a plain object; names in any case. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyStandardOptions {
  /** Seconds the timestamp may be away from now, either way (default 300). */
  toleranceSeconds?: number;
  /** Now, in Unix seconds (for tests). */
  now?: number;
}

export interface Verification {
  valid: boolean;
  /** Which of the secrets verified (when valid). */
  matchedSecretIndex: number | undefined;
  /** Why it did not verify. */
  reason: string | undefined;
}

function bodyBytes(rawBody: unknown): Buffer {
  if (typeof rawBody === "string") return Buffer.from(rawBody, "utf8");
  if (Buffer.isBuffer(rawBody)) return rawBody;
  if (rawBody instanceof Uint8Array) return Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  if (typeof rawBody === "object" && rawBody !== null) {
    throw new TypeError(
      "Webhook body must be the raw request body (a string or Buffer), not a parsed object: " +
        "the signature covers the exact bytes that were sent, and re-serializing parsed JSON does not reproduce them. " +
        "With Express, use express.raw({ type: 'application/json' }) on the webhook route.",
    );
  }
  throw new TypeError(`Webhook body must be a string or Buffer, not ${rawBody === undefined ? "undefined" : typeof rawBody}`);
}

function secretList(secrets: Secrets): string[] {
  const list = typeof secrets === "string" ? [secrets] : [...secrets];
  if (list.length === 0 || list.length > SECRETS_MAX) throw new TypeError(`give 1 to ${SECRETS_MAX} webhook secrets`);
  for (const secret of list) {
    if (typeof secret !== "string" || secret.length === 0) throw new TypeError("a webhook secret must be a non-empty string");
  }
  return list;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof Headers !== "undefined" && headers instanceof Headers) return headers.get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  for (const [key, value] of Object.entries(record)) {
    if (key.toLowerCase() !== name) continue;
    return Array.isArray(value) ? value.join(", ") : value;
  }
  return undefined;
}

function equalBytes(expected: Buffer, offered: Buffer): boolean {
  // Lengths are not secret; timingSafeEqual needs them equal.
  return expected.length === offered.length && timingSafeEqual(expected, offered);
}

/** The X-Webhook-Signature value the engine sends for `rawBody`: `sha256=<hex>`. */
export function computeSignature(rawBody: RawBody, secret: string): string {
  return GUIDE_SCHEME + createHmac("sha256", secret).update(bodyBytes(rawBody)).digest("hex");
}

/** The guide's scheme, with the index of the secret that matched. */
export function checkSignature(rawBody: RawBody, signatureHeader: string | string[] | undefined, secrets: Secrets): Verification {
  const body = bodyBytes(rawBody);
  const keys = secretList(secrets);
  const offered = Array.isArray(signatureHeader) ? signatureHeader[0] : signatureHeader;
  if (typeof offered !== "string" || offered.trim() === "") return failed("missing signature header");
  if (offered.length > SIGNATURE_HEADER_LENGTH_MAX) return failed("signature header too long");
  const value = offered.trim();
  if (value.slice(0, GUIDE_SCHEME.length).toLowerCase() !== GUIDE_SCHEME) return failed("signature header does not start with sha256=");
  const hex = value.slice(GUIDE_SCHEME.length);
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return failed("signature is not 64 hex digits");
  const offeredBytes = Buffer.from(hex, "hex");
  let matched: number | undefined;
  keys.forEach((key, index) => {
    // Every secret is tried, so the time taken does not tell which one matched.
    const expected = createHmac("sha256", key).update(body).digest();
    if (equalBytes(expected, offeredBytes) && matched === undefined) matched = index;
  });
  return matched === undefined ? failed("signature does not match the body and secret") : { valid: true, matchedSecretIndex: matched, reason: undefined };
}

/**
 * Whether `signatureHeader` (X-Webhook-Signature) was made from exactly this raw body with
 * the secret (or one of the secrets) — the guide's `verifyWebhookSignature`, in constant
 * time, returning false (never throwing) for a missing or malformed header.
 */
export function verify(rawBody: RawBody, signatureHeader: string | string[] | undefined, secret: Secrets): boolean {
  return checkSignature(rawBody, signatureHeader, secret).valid;
}

function standardKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(encoded, "base64");
}

/** The Standard Webhooks `v1,<base64>` signature of one message. */
export function computeStandardSignature(rawBody: RawBody, secret: string, messageId: string, timestampSeconds: number): string {
  const signed = Buffer.concat([Buffer.from(`${messageId}.${timestampSeconds}.`, "utf8"), bodyBytes(rawBody)]);
  return "v1," + createHmac("sha256", standardKey(secret)).update(signed).digest("base64");
}

/** Standard Webhooks verification, with the index of the secret that matched. */
export function checkStandard(rawBody: RawBody, headers: WebhookHeaders, secrets: Secrets, options: VerifyStandardOptions = {}): Verification {
  const body = bodyBytes(rawBody);
  const keys = secretList(secrets);
  const tolerance = options.toleranceSeconds ?? TOLERANCE_DEFAULT_SECONDS;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const messageId = header(headers, STANDARD_ID_HEADER);
  const timestampText = header(headers, STANDARD_TIMESTAMP_HEADER);
  const signatures = header(headers, STANDARD_SIGNATURE_HEADER);
  if (!messageId || !timestampText || !signatures) return failed("missing webhook-id, webhook-timestamp or webhook-signature");
  if (signatures.length > SIGNATURE_HEADER_LENGTH_MAX) return failed("signature header too long");
  if (!/^[0-9]{1,15}$/.test(timestampText.trim())) return failed("webhook-timestamp is not a Unix time in seconds");
  const timestamp = Number(timestampText.trim());
  if (now - timestamp > tolerance) return failed("webhook-timestamp is too old");
  if (timestamp - now > tolerance) return failed("webhook-timestamp is too far in the future");
  const offered: Buffer[] = [];
  for (const entry of signatures.trim().split(/\s+/).slice(0, STANDARD_SIGNATURES_MAX)) {
    const comma = entry.indexOf(",");
    if (comma < 0 || entry.slice(0, comma) !== "v1") continue;
    offered.push(Buffer.from(entry.slice(comma + 1), "base64"));
  }
  if (offered.length === 0) return failed("no v1 signature in webhook-signature");
  const signed = Buffer.concat([Buffer.from(`${messageId}.${timestamp}.`, "utf8"), body]);
  let matched: number | undefined;
  keys.forEach((key, index) => {
    const expected = createHmac("sha256", standardKey(key)).update(signed).digest();
    for (const candidate of offered) {
      if (equalBytes(expected, candidate) && matched === undefined) matched = index;
    }
  });
  return matched === undefined ? failed("no signature matches the body and secret") : { valid: true, matchedSecretIndex: matched, reason: undefined };
}

/** Standard Webhooks verification: signature and timestamp (within `toleranceSeconds`). */
export function verifyStandard(rawBody: RawBody, headers: WebhookHeaders, secrets: Secrets, options: VerifyStandardOptions = {}): boolean {
  return checkStandard(rawBody, headers, secrets, options).valid;
}

/**
 * Verifies a delivery and parses it into an `Event`. Given the request's headers, it checks
 * the Standard Webhooks signature and timestamp when present, else X-Webhook-Signature;
 * given a signature string, the guide's scheme. Throws WebhookSignatureError.
 */
export function constructEvent(rawBody: RawBody, headersOrSignature: WebhookHeaders | string | undefined, secrets: Secrets, options: VerifyStandardOptions = {}): Event {
  let verification: Verification;
  if (typeof headersOrSignature === "object" && headersOrSignature !== null) {
    verification =
      header(headersOrSignature, STANDARD_SIGNATURE_HEADER) !== undefined
        ? checkStandard(rawBody, headersOrSignature, secrets, options)
        : checkSignature(rawBody, header(headersOrSignature, SIGNATURE_HEADER), secrets);
  } else {
    verification = checkSignature(rawBody, headersOrSignature, secrets);
  }
  if (!verification.valid) {
    throw new WebhookSignatureError(
      `Webhook signature does not verify: ${verification.reason} (verify the raw body with the endpoint's current secret)`,
    );
  }
  const text = bodyBytes(rawBody).toString("utf8");
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new WebhookSignatureError("Webhook payload is not valid JSON");
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new WebhookSignatureError("Webhook payload is not a JSON object");
  }
  return document as Event;
}

function failed(reason: string): Verification {
  return { valid: false, matchedSecretIndex: undefined, reason };
}
