/**
 * `client.paymentTypes`: the rails the engine offers (RTP, ACH_CREDIT, ACH_DEBIT, WIRE_DOMESTIC).
 * The catalogue rarely changes, so it is cached for `PAYMENT_TYPES_CACHE_MS`, as the guide's
 * best practices advise ("cache frequently accessed data … payment types").
 */

import { InvalidResponseError } from "../errors";
import type { RequestOptions } from "../transport";
import type { PaymentType } from "../types";
import { Resource } from "./resource";

const PATH = "/api/v1/payment-types";
export const PAYMENT_TYPES_CACHE_MS = 5 * 60_000;

function parseTypes(document: unknown): PaymentType[] {
  const types = (document as { paymentTypes?: unknown } | null)?.paymentTypes ?? [];
  if (!Array.isArray(types)) throw new InvalidResponseError("Expected paymentTypes to be a list");
  return types as PaymentType[];
}

export class PaymentTypes extends Resource {
  private cached: { atMs: number; types: PaymentType[] } | undefined;

  async list(options: RequestOptions & { fresh?: boolean } = {}): Promise<PaymentType[]> {
    const now = Date.now();
    if (!options.fresh && this.cached !== undefined && now - this.cached.atMs < PAYMENT_TYPES_CACHE_MS) {
      return [...this.cached.types];
    }
    const types = await this.transport.request({ method: "GET", route: PATH, path: PATH, parse: parseTypes }, options);
    this.cached = { atMs: now, types };
    return [...types];
  }

  /** The payment type with this id (any case: `rtp` is `RTP`), or undefined. */
  async find(paymentTypeId: string, options: RequestOptions = {}): Promise<PaymentType | undefined> {
    const wanted = paymentTypeId.toUpperCase();
    return (await this.list(options)).find((type) => type.id.toUpperCase() === wanted);
  }
}
