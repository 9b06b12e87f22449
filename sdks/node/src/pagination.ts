/**
 * Lists that page by themselves.
 *
 * Every `list(...)` returns a `PageIterator` without calling the API yet:
 *
 *     for await (const transaction of client.transactions.list({ status: "COMPLETED" })) { … }
 *     const firstPage = await client.transactions.list({ pageSize: 20 }); // one request
 *     const all = await client.accounts.list().toArray();
 *
 * Iterating fetches the next page (`pageToken` = the last `nextPageToken`) only when the
 * current one is used up; `limit` stops after that many items; `pages()` yields whole pages
 * for callers that checkpoint a token and resume later with `list({ pageToken })`.
 */

import { InvalidResponseError } from "./errors";

/** The engine's largest page; iterating uses it to make as few round trips as possible. */
export const PAGE_SIZE_MAX = 100;
/** A bound on one iteration, so that a server bug can never loop a client forever. */
export const PAGES_MAX = 1_000_000;

export interface Page<T> {
  items: T[];
  /** Undefined on the last page. */
  nextPageToken: string | undefined;
}

export interface ListOptions {
  /** Items per request (1 to 100). */
  pageSize?: number;
  /** Stop after this many items. */
  limit?: number;
  /** Resume from a page token. */
  pageToken?: string;
}

export type PageFetcher<T> = (pageToken: string | undefined, pageSize: number) => Promise<Page<T>>;

export function parsePage<T>(document: unknown, key: string): Page<T> {
  if (typeof document !== "object" || document === null) throw new InvalidResponseError(`Expected a page of ${key}`);
  const data = document as Record<string, unknown>;
  const items = data[key] ?? [];
  if (!Array.isArray(items)) throw new InvalidResponseError(`Expected ${key} to be a list`);
  const token = data.nextPageToken;
  return { items: items as T[], nextPageToken: typeof token === "string" && token !== "" ? token : undefined };
}

export class PageIterator<T> implements AsyncIterable<T>, PromiseLike<Page<T>> {
  private readonly fetchPage: PageFetcher<T>;
  private readonly pageSize: number | undefined;
  private readonly limit: number | undefined;
  private readonly pageToken: string | undefined;

  constructor(fetchPage: PageFetcher<T>, options: ListOptions = {}) {
    const { pageSize, limit, pageToken } = options;
    if (pageSize !== undefined && !(Number.isInteger(pageSize) && pageSize >= 1 && pageSize <= PAGE_SIZE_MAX)) {
      throw new RangeError(`pageSize must be an integer between 1 and ${PAGE_SIZE_MAX}`);
    }
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new RangeError("limit must be a non-negative integer");
    this.fetchPage = fetchPage;
    this.pageSize = pageSize;
    this.limit = limit;
    this.pageToken = pageToken;
  }

  private sizeFor(remaining: number | undefined): number {
    const size = this.pageSize ?? PAGE_SIZE_MAX;
    return remaining === undefined ? size : Math.max(1, Math.min(size, remaining));
  }

  /** Whole pages, one request each. */
  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    let token = this.pageToken;
    let remaining = this.limit;
    const seen = new Set<string>();
    for (let count = 0; count < PAGES_MAX; count += 1) {
      if (remaining === 0) return;
      let page = await this.fetchPage(token, this.sizeFor(remaining));
      if (remaining !== undefined) {
        page = { items: page.items.slice(0, remaining), nextPageToken: page.nextPageToken };
        remaining -= page.items.length;
      }
      yield page;
      token = page.nextPageToken;
      if (token === undefined) return;
      if (seen.has(token)) throw new InvalidResponseError(`The API returned page token ${token.slice(0, 40)} twice`);
      seen.add(token);
    }
    throw new InvalidResponseError(`Listing stopped after ${PAGES_MAX} pages`);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* page.items;
  }

  /** Only the first page (one request). */
  firstPage(): Promise<Page<T>> {
    return this.fetchPage(this.pageToken, this.sizeFor(this.limit));
  }

  /** Every item (mind `limit` on large lists). */
  async toArray(): Promise<T[]> {
    const items: T[] = [];
    for await (const item of this) items.push(item);
    return items;
  }

  /** `await client.x.list()` is the first page. */
  then<R1 = Page<T>, R2 = never>(
    onFulfilled?: ((page: Page<T>) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.firstPage().then(onFulfilled, onRejected);
  }
}
