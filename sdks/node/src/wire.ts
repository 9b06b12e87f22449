/**
 * JSON on the wire: request bodies with exact amounts, answers read without surprises.
 */

import { JsonNumber } from "./money";

/** Deepest nesting a request body may have (metadata is free-form JSON). */
const BODY_DEPTH_MAX = 64;

/** `value` as JSON text, with every `JsonNumber` written as its exact digits. */
export function encodeJson(value: unknown, depth = 0): string {
  if (depth > BODY_DEPTH_MAX) throw new TypeError(`request body nested deeper than ${BODY_DEPTH_MAX}`);
  if (value instanceof JsonNumber) return value.text;
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    return text === undefined ? "null" : text;
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => encodeJson(item === undefined ? null : item, depth + 1)).join(",")}]`;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
    return encodeJson((value as { toJSON: () => unknown }).toJSON(), depth + 1);
  }
  const parts: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
    parts.push(`${JSON.stringify(key)}:${encodeJson(item, depth + 1)}`);
  }
  return `{${parts.join(",")}}`;
}

/** A copy of `fields` without its undefined entries. */
export function compact<T extends Record<string, unknown>>(fields: T): Partial<T> {
  const result: Partial<T> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined && value !== null) (result as Record<string, unknown>)[key] = value;
  }
  return result;
}

/** One path segment, percent-encoded; an empty id is refused before sending. */
export function pathSegment(value: string, name: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`${name} must be a non-empty string`);
  }
  return encodeURIComponent(value);
}

/** An ISO 8601 UTC timestamp for a query filter. */
export function timestampParam(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError("invalid Date");
    return value.toISOString();
  }
  return value;
}
