import { InvalidResponseError } from "../errors";
import type { Transport } from "../transport";

export abstract class Resource {
  /** @internal */
  protected readonly transport: Transport;
  /** @internal */
  constructor(transport: Transport) {
    this.transport = transport;
  }
}

/** A parser for an answer that must be a JSON object. */
export function objectOf<T>(what: string): (document: unknown) => T {
  return (document) => {
    if (typeof document !== "object" || document === null || Array.isArray(document)) {
      throw new InvalidResponseError(`Expected ${what} in the answer`);
    }
    return document as T;
  };
}

/** A parser for `{ <key>: {...} }` answers. */
export function fieldOf<T>(key: string, what: string): (document: unknown) => T {
  const outer = objectOf<Record<string, unknown>>(what);
  return (document) => objectOf<T>(what)(outer(document)[key]);
}
