/**
 * Amounts leave the SDK with their exact decimal digits.
 *
 * The REST API carries amounts as JSON numbers in major units (`1000.00`). A JavaScript
 * number is binary, so the SDK never does arithmetic on it: it writes the number's
 * shortest round-trip text (what the caller wrote: `19.99`, not 19.989999999999998…),
 * padded to the currency's decimals when the currency is known (`1000` USD → `1000.00`).
 * A decimal string (`"1000.00"`) is sent digit for digit. An amount with more decimals
 * than its currency allows (`0.1 + 0.2` = 0.30000000000000004, the guide's
 * `Math.random() * 1000`) is refused before anything is sent, with the engine's own
 * message — the engine never rounds money, and neither does the SDK.
 *
 * Amounts read back are plain numbers, so the guide's `balance.availableBalance >=
 * requiredAmount` comparisons work as written.
 */

import { InvalidRequestError } from "./errors";

/** What the SDK accepts as an amount: `1000`, `1000.5`, `"1000.50"`. */
export type AmountInput = number | string;

/** ISO 4217 minor-unit exponents of the currencies the engine settles (the engine's table). */
export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = Object.freeze({
  ...Object.fromEntries(
    ["USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "MXN", "BRL", "INR", "SGD", "HKD", "CNY", "ZAR"].map(
      (code) => [code, 2],
    ),
  ),
  ...Object.fromEntries(["JPY", "KRW", "ISK"].map((code) => [code, 0])),
  ...Object.fromEntries(["BHD", "KWD", "OMR", "JOD", "TND"].map((code) => [code, 3])),
});

/** No currency the engine settles has more decimals than this: the bound applied when the
 * request does not name its currency (the payer account's currency then decides). */
export const DECIMAL_PLACES_MAX = 3;
const AMOUNT_TEXT_LENGTH_MAX = 40;
const DECIMAL_TEXT = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/** A raw JSON number: written into the body as its exact text. */
export class JsonNumber {
  readonly text: string;
  constructor(text: string) {
    if (!DECIMAL_TEXT.test(text)) throw new TypeError(`not a JSON number: ${text}`);
    this.text = text;
  }
  toJSON(): number {
    return Number(this.text);
  }
}

/** The plain decimal text of a finite number, without exponent (`1e-7` → `0.0000001`). */
export function numberText(value: number): string {
  const text = String(value);
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (match === null) return text;
  const [, sign, whole, fraction = "", exponentText] = match;
  const exponent = Number(exponentText);
  const digits = whole + fraction;
  const point = whole.length + exponent;
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function decimalPlaces(text: string): number {
  const point = text.indexOf(".");
  if (point < 0) return 0;
  return text.slice(point + 1).replace(/0+$/, "").length;
}

function refuse(message: string, details: Record<string, unknown>): InvalidRequestError {
  return new InvalidRequestError(message, { details });
}

/**
 * `value` as the exact JSON number to send for `field`, checked against the currency's
 * decimals (`currencyCode` when the request names it, else the largest any currency allows).
 * Throws `InvalidRequestError` (code INVALID_REQUEST, nothing sent) when it cannot be sent as is.
 */
export function amountToJson(value: AmountInput, field: string, currencyCode?: string): JsonNumber {
  let text: string;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw refuse(`${field} must be a finite number`, { field });
    text = numberText(value);
  } else if (typeof value === "string") {
    text = value.trim();
    if (text.length > AMOUNT_TEXT_LENGTH_MAX || !DECIMAL_TEXT.test(text)) {
      throw refuse(`${field} must be a number`, { field });
    }
  } else {
    throw new TypeError(`${field} must be a number or a decimal string, not ${value === null ? "null" : typeof value}`);
  }
  const currency = currencyCode?.toUpperCase();
  const allowed = currency === undefined ? undefined : CURRENCY_EXPONENTS[currency];
  const places = decimalPlaces(text);
  if (allowed !== undefined && currency !== undefined) {
    if (places > allowed) {
      throw refuse(`${field} has more decimal places than ${currency} allows (${allowed})`, {
        field,
        value: text,
        currencyCode: currency,
        maxDecimalPlaces: allowed,
      });
    }
    return new JsonNumber(padded(text, allowed));
  }
  if (places > DECIMAL_PLACES_MAX) {
    throw refuse(`${field} has more decimal places than any currency allows (${DECIMAL_PLACES_MAX})`, {
      field,
      value: text,
      maxDecimalPlaces: DECIMAL_PLACES_MAX,
    });
  }
  return new JsonNumber(text);
}

/** `text` written with exactly `places` decimals when it has fewer (`1000` → `1000.00`). */
function padded(text: string, places: number): string {
  if (places === 0) return text.includes(".") ? text.slice(0, text.indexOf(".")) : text;
  const point = text.indexOf(".");
  const fraction = point < 0 ? "" : text.slice(point + 1);
  const whole = point < 0 ? text : text.slice(0, point);
  if (fraction.length >= places) return `${whole}.${fraction.replace(/0+$/, "").padEnd(places, "0")}`;
  return `${whole}.${fraction.padEnd(places, "0")}`;
}
