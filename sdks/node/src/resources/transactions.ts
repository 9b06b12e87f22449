/**
 * `client.transactions`: payments between accounts and their lifecycle.
 *
 *     const payment = await client.transactions.create({ fromAccountId, toAccountId, paymentTypeId: "rtp", amount: 100.0 });
 *     const final = await client.transactions.waitForCompletion(payment.id); // COMPLETED, FAILED or CANCELED
 */

import { InvalidResponseError, WaitTimeoutError } from "../errors";
import { amountToJson } from "../money";
import { PageIterator, parsePage, type ListOptions } from "../pagination";
import type { RequestOptions } from "../transport";
import type {
  BatchCreateTransactionsResult,
  BatchTransactionItem,
  CreateTransactionParams,
  Transaction,
  TransactionStatus,
} from "../types";
import { compact, pathSegment, timestampParam } from "../wire";
import { Resource, objectOf } from "./resource";

const PATH = "/api/v1/transactions";
export const FINAL_STATUSES: ReadonlySet<string> = new Set(["COMPLETED", "FAILED", "CANCELED"]);
export const WAIT_TIMEOUT_DEFAULT_MS = 60_000;
export const POLL_INTERVAL_DEFAULT_MS = 1_000;
export const POLL_INTERVAL_MAX_DEFAULT_MS = 16_000;
const POLLS_MAX = 10_000;
/** The engine's largest batch. */
export const BATCH_ITEMS_MAX = 1_000;

export interface ListTransactionsOptions extends ListOptions {
  status?: string;
  accountId?: string;
  paymentTypeId?: string;
  externalReference?: string;
  createdAfter?: Date | string;
  createdBefore?: Date | string;
}

export interface CancelOptions extends RequestOptions {
  reason?: string;
}

export interface WaitOptions {
  /** Give up after this many milliseconds (default 60 000). */
  timeout?: number;
  /** First wait between polls (default 1 000 ms), doubling up to `pollIntervalMax` (16 000 ms). */
  pollInterval?: number;
  pollIntervalMax?: number;
  signal?: AbortSignal;
}

export interface BatchOptions extends RequestOptions {
  /** All or nothing: when one payment is refused, none is made (the others answer 424 BATCH_ABORTED). */
  atomic?: boolean;
}

function transactionBody(params: CreateTransactionParams): Record<string, unknown> {
  if (typeof params !== "object" || params === null) throw new TypeError("transaction parameters must be an object");
  for (const field of ["fromAccountId", "toAccountId", "paymentTypeId"] as const) {
    if (typeof params[field] !== "string" || params[field] === "") throw new TypeError(`${field} is required`);
  }
  if (params.amount === undefined) throw new TypeError("amount is required");
  return compact({
    fromAccountId: params.fromAccountId,
    toAccountId: params.toAccountId,
    paymentTypeId: params.paymentTypeId,
    amount: amountToJson(params.amount, "amount", params.currencyCode),
    currencyCode: params.currencyCode,
    description: params.description,
    externalReference: params.externalReference,
    metadata: params.metadata,
  });
}

const parseTransaction = objectOf<Transaction>("a transaction");
const parseStatus = objectOf<TransactionStatus>("a transaction status");

function parseBatch(document: unknown): BatchCreateTransactionsResult {
  const result = objectOf<BatchCreateTransactionsResult>("a batch result")(document);
  if (!Array.isArray(result.results)) throw new InvalidResponseError("Expected results in the batch answer");
  return { ...result, succeededCount: result.succeededCount ?? 0, failedCount: result.failedCount ?? 0 };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class Transactions extends Resource {
  /** Creates a payment: funds are held on the payer at once, the rail then completes or
   * fails it. Safe to retry: pass your own `idempotencyKey` (an order id) to make repeats
   * across processes safe too; otherwise one is generated for this call. */
  async create(params: CreateTransactionParams, options: RequestOptions = {}): Promise<Transaction> {
    return this.transport.request({ method: "POST", route: PATH, path: PATH, body: transactionBody(params), parse: parseTransaction }, options);
  }

  /** Up to 1 000 payments in one request, each with its own result (`results[i].transaction`
   * or `results[i].error`). With `atomic: true` either every payment is made or none. */
  async createBatch(items: BatchTransactionItem[], options: BatchOptions = {}): Promise<BatchCreateTransactionsResult> {
    if (!Array.isArray(items) || items.length === 0 || items.length > BATCH_ITEMS_MAX) {
      throw new RangeError(`a batch holds 1 to ${BATCH_ITEMS_MAX} payments`);
    }
    const transactions = items.map((item) => compact({ ...transactionBody(item), idempotencyKey: item.idempotencyKey }));
    const route = `${PATH}:batch`;
    return this.transport.request(
      { method: "POST", route, path: route, body: compact({ transactions, atomic: options.atomic }), parse: parseBatch },
      options,
    );
  }

  async get(transactionId: string, options: RequestOptions = {}): Promise<Transaction> {
    return this.transport.request(
      { method: "GET", route: `${PATH}/{id}`, path: `${PATH}/${pathSegment(transactionId, "transactionId")}`, parse: parseTransaction },
      options,
    );
  }

  async getStatus(transactionId: string, options: RequestOptions = {}): Promise<TransactionStatus> {
    return this.transport.request(
      { method: "GET", route: `${PATH}/{id}/status`, path: `${PATH}/${pathSegment(transactionId, "transactionId")}/status`, parse: parseStatus },
      options,
    );
  }

  /** Payments touching your accounts, newest first: `for await (const t of list())`. */
  list(options: ListTransactionsOptions = {}): PageIterator<Transaction> {
    const filters = {
      status: options.status,
      accountId: options.accountId,
      paymentTypeId: options.paymentTypeId,
      externalReference: options.externalReference,
      createdAfter: timestampParam(options.createdAfter),
      createdBefore: timestampParam(options.createdBefore),
    };
    return new PageIterator(
      (pageToken, pageSize) =>
        this.transport.request({
          method: "GET",
          route: PATH,
          path: PATH,
          query: { ...filters, pageSize, pageToken },
          parse: (document) => parsePage<Transaction>(document, "transactions"),
        }),
      options,
    );
  }

  /** Cancels a batch (ACH) payment still PENDING before its settlement window. */
  async cancel(transactionId: string, options: CancelOptions = {}): Promise<Transaction> {
    // Canceling twice answers the canceled payment again: safe to retry.
    return this.transport.request(
      {
        method: "POST",
        route: `${PATH}/{id}:cancel`,
        path: `${PATH}/${pathSegment(transactionId, "transactionId")}:cancel`,
        body: compact({ reason: options.reason }),
        parse: parseTransaction,
      },
      options,
    );
  }

  /** Polls `getStatus` until the payment is COMPLETED, FAILED or CANCELED and returns that
   * status (a failed payment is an answer, not an exception) — the guide's
   * pollTransactionStatus, with a deadline instead of a count. Throws WaitTimeoutError. */
  async waitForCompletion(transaction: string | { id: string }, options: WaitOptions = {}): Promise<TransactionStatus> {
    const timeoutMs = options.timeout ?? WAIT_TIMEOUT_DEFAULT_MS;
    const pollMaxMs = options.pollIntervalMax ?? POLL_INTERVAL_MAX_DEFAULT_MS;
    let intervalMs = options.pollInterval ?? POLL_INTERVAL_DEFAULT_MS;
    if (!(timeoutMs >= 0 && intervalMs > 0 && pollMaxMs >= intervalMs)) {
      throw new RangeError("need timeout >= 0, pollInterval > 0 and pollIntervalMax >= pollInterval");
    }
    const transactionId = typeof transaction === "string" ? transaction : transaction.id;
    const deadlineMs = Date.now() + timeoutMs;
    let status: TransactionStatus | undefined;
    for (let poll = 0; poll < POLLS_MAX; poll += 1) {
      status = await this.getStatus(transactionId, { signal: options.signal });
      if (FINAL_STATUSES.has(status.status)) return status;
      const remainingMs = deadlineMs - Date.now();
      if (remainingMs <= 0) break;
      await sleep(Math.min(intervalMs, remainingMs));
      intervalMs = Math.min(intervalMs * 2, pollMaxMs);
    }
    throw new WaitTimeoutError(`Transaction ${transactionId} is still ${status?.status ?? "unknown"} after ${timeoutMs} ms`, status);
  }
}
