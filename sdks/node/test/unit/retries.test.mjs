// Retries, idempotency keys and deadlines against a loopback fault server.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";

import PaymentEngine from "@payment-engine/sdk";
// The retry policy is internal to the package; its arithmetic is tested here directly.
import { RetryPolicy, parseRetryAfter } from "../../dist/cjs/retries.js";

import { envelope, idempotentPayments, json, resetMidBody, stallMidBody, startFaultServer, text } from "./fault-server.mjs";
import { PAYMENT, clientFor, rejection } from "./helpers.mjs";

let server;
before(async () => {
  server = await startFaultServer();
});
after(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

const TRANSACTION = { id: "txn_1", status: "PENDING", amount: 100, currencyCode: "USD" };

describe("429 with Retry-After", () => {
  test("is retried once the server's Retry-After has passed", async () => {
    server.next(envelope(429, "RATE_LIMIT_EXCEEDED", "Too many requests", {}, { "Retry-After": "0" }), json(200, TRANSACTION));
    const transaction = await clientFor(server).transactions.get("txn_1");
    assert.equal(transaction.id, "txn_1");
    assert.equal(server.requests.length, 2);
  });

  test("the wait before a retry is never shorter than Retry-After (seconds or an HTTP date)", () => {
    // Backoff alone would wait 0.5 to 1 ms here; the server's ask wins.
    const policy = new RetryPolicy({ retries: 3, retryDelay: 1 }, () => 0.5);
    assert.equal(policy.delayMs(1, parseRetryAfter("2")), 2000);
    const now = Date.parse("2026-12-06T10:00:00Z");
    assert.equal(parseRetryAfter("Sun, 06 Dec 2026 10:00:03 GMT", now), 3000);
    assert.equal(parseRetryAfter("not a date", now), undefined);
    // Without Retry-After: exponential from retryDelay, jittered between half and all of each step.
    const backoff = new RetryPolicy({ retries: 3, retryDelay: 1000 }, () => 1);
    assert.deepEqual([1, 2, 3].map((n) => backoff.delayMs(n, undefined)), [1000, 2000, 4000]);
    assert.equal(new RetryPolicy({ retryDelay: 1000 }, () => 0).delayMs(1, undefined), 500);
    assert.equal(backoff.delayMs(4, undefined), undefined); // retries spent
    assert.equal(backoff.delayMs(1, 120_000), undefined); // longer than retryAfterMax: not waited out
  });

  test("a wait longer than the call's deadline is not attempted: the error carries Retry-After", async () => {
    server.next(envelope(429, "RATE_LIMIT_EXCEEDED", "Too many requests", {}, { "Retry-After": "30" }));
    const error = await rejection(clientFor(server, { timeout: 2000 }).transactions.get("txn_1"));
    assert.ok(error instanceof PaymentEngine.RateLimitExceededError);
    assert.equal(error.status, 429);
    assert.equal(error.retryAfterMs, 30_000);
    assert.equal(server.requests.length, 1);
  });

  test("a POST the engine does not deduplicate is still retried after 429: nothing was done", async () => {
    server.next(envelope(429, "RATE_LIMIT_EXCEEDED", "slow down", {}, { "Retry-After": "0" }), json(201, { id: "acc_1" }));
    const account = await clientFor(server).accounts.create({ name: "Ops", currencyCode: "USD" });
    assert.equal(account.id, "acc_1");
    assert.equal(server.requests.length, 2);
  });
});

describe("5xx", () => {
  test("a 503 with a text body is retried, and becomes a typed error when retries run out", async () => {
    server.next(...Array.from({ length: 4 }, () => text(503, "Service Unavailable")));
    const error = await rejection(clientFor(server, { retries: 3 }).transactions.get("txn_1"));
    assert.ok(error instanceof PaymentEngine.ServiceUnavailableError);
    assert.equal(error.code, "SERVICE_UNAVAILABLE");
    assert.equal(error.status, 503);
    assert.equal(error.body, "Service Unavailable");
    assert.equal(server.requests.length, 4);
  });

  test("a proxy's 502 HTML page is a ServerError, never a parser exception", async () => {
    server.next(text(502, "<html><body>Bad Gateway</body></html>"));
    const error = await rejection(clientFor(server, { retries: 0 }).transactions.get("txn_1"));
    assert.ok(error instanceof PaymentEngine.ServerError);
    assert.equal(error.status, 502);
    assert.match(error.message, /502/);
  });

  test("a garbled JSON error body is still typed by its status", async () => {
    server.next(text(500, '{"error": {"code": "INTERNAL_'));
    const error = await rejection(clientFor(server, { retries: 0 }).transactions.get("txn_1"));
    assert.ok(error instanceof PaymentEngine.InternalError);
    assert.equal(error.code, "INTERNAL_ERROR");
  });

  test("a 503 then success: the payment is sent again with the same key and the same bytes", async () => {
    server.next(envelope(503, "SERVICE_UNAVAILABLE", "try later"), json(201, TRANSACTION));
    await clientFor(server).transactions.create(PAYMENT);
    const [first, second] = server.requests;
    assert.ok(first.headers["idempotency-key"]);
    assert.equal(first.headers["idempotency-key"], second.headers["idempotency-key"]);
    assert.equal(first.body, second.body);
  });

  test("a POST whose outcome stays unknown says so and carries its key for a replay", async () => {
    server.otherwise(envelope(503, "SERVICE_UNAVAILABLE", "try later"));
    const error = await rejection(clientFor(server, { retries: 2 }).transactions.create(PAYMENT, { idempotencyKey: "order-1001" }));
    server.otherwise(envelope(500, "INTERNAL_ERROR", "unscripted request"));
    assert.equal(error.outcomeUnknown, true);
    assert.equal(error.idempotencyKey, "order-1001");
    assert.match(error.message, /unknown.*order-1001/);
    assert.equal(server.requests.length, 3);
    assert.ok(server.requests.every((request) => request.headers["idempotency-key"] === "order-1001"));
  });

  test("a POST the engine does not deduplicate is not repeated after a 503", async () => {
    server.next(envelope(503, "SERVICE_UNAVAILABLE", "try later"));
    const error = await rejection(clientFor(server).webhookEndpoints.create({ url: "https://example.com/hook" }));
    assert.ok(error instanceof PaymentEngine.ServiceUnavailableError);
    assert.equal(server.requests.length, 1);
  });
});

describe("4xx is never retried", () => {
  for (const [status, code, cls] of [
    [400, "INVALID_REQUEST", "InvalidRequestError"],
    [401, "UNAUTHORIZED", "UnauthorizedError"],
    [403, "FORBIDDEN", "ForbiddenError"],
    [404, "NOT_FOUND", "NotFoundError"],
    [422, "INSUFFICIENT_FUNDS", "InsufficientFundsError"],
  ]) {
    test(`${status} ${code}`, async () => {
      server.next(envelope(status, code, `refused with ${code}`, { accountId: "acc_123" }));
      const error = await rejection(clientFor(server).transactions.create(PAYMENT));
      assert.ok(error instanceof PaymentEngine[cls], `${error.name} is not ${cls}`);
      assert.ok(error instanceof PaymentEngine.PaymentEngineError);
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      assert.equal(error.message, `refused with ${code}`);
      assert.deepEqual(error.details, { accountId: "acc_123" });
      assert.equal(error.requestId, "req_envelope");
      assert.equal(error.timestamp, "2026-12-06T10:30:00.000Z");
      assert.equal(error.outcomeUnknown, false);
      assert.equal(server.requests.length, 1);
    });
  }

  test("409 IDEMPOTENCY_KEY_IN_USE is the exception: the first request is still running", async () => {
    server.next(envelope(409, "IDEMPOTENCY_KEY_IN_USE", "in flight"), json(201, TRANSACTION));
    const transaction = await clientFor(server).transactions.create(PAYMENT);
    assert.equal(transaction.id, "txn_1");
    assert.equal(server.requests.length, 2);
  });
});

describe("network failures", () => {
  test("a reset mid-body is retried, and the read answers", async () => {
    server.next(resetMidBody(), json(200, TRANSACTION));
    const transaction = await clientFor(server).transactions.get("txn_1");
    assert.equal(transaction.id, "txn_1");
    assert.equal(server.requests.length, 2);
  });

  test("idempotent replay: the answer of a payment is lost, the retry gets the same payment, made once", async () => {
    const payments = idempotentPayments({ loseFirstAnswer: true });
    server.otherwise(payments.behaviour);
    const transaction = await clientFor(server).transactions.create(PAYMENT);
    server.otherwise(envelope(500, "INTERNAL_ERROR", "unscripted request"));
    assert.equal(server.requests.length, 2);
    assert.equal(payments.created.length, 1);
    assert.equal(transaction.id, payments.created[0].id);
  });

  test("a slow body past the deadline is a timeout; for a POST the outcome is unknown and the key is given", async () => {
    server.next(stallMidBody());
    const error = await rejection(clientFor(server, { timeout: 300 }).transactions.create(PAYMENT));
    assert.ok(error instanceof PaymentEngine.APITimeoutError);
    assert.equal(error.code, "TIMEOUT");
    assert.equal(error.outcomeUnknown, true);
    assert.equal(error.idempotencyKey, server.requests[0].headers["idempotency-key"]);
  });

  test("the timeout bounds the whole call, retries included", async () => {
    server.otherwise(stallMidBody());
    const error = await rejection(clientFor(server, { timeout: 400, retries: 10 }).transactions.get("txn_1"));
    server.otherwise(envelope(500, "INTERNAL_ERROR", "unscripted request"));
    assert.ok(error instanceof PaymentEngine.APITimeoutError);
    assert.equal(server.requests.length, 1);
  });

  test("a refused connection is retried (nothing was sent) and then a connection error", async () => {
    const closed = createServer();
    await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address();
    await new Promise((resolve) => closed.close(resolve));
    const attempts = [];
    const client = new PaymentEngine({
      apiKey: "k",
      baseUrl: `http://127.0.0.1:${port}`,
      retries: 2,
      retryDelay: 1,
      onRequest: (config) => attempts.push(config.attempt),
    });
    const error = await rejection(client.transactions.create(PAYMENT));
    assert.ok(error instanceof PaymentEngine.APIConnectionError);
    assert.equal(error.code, "CONNECTION_ERROR");
    assert.equal(error.outcomeUnknown, false);
    assert.deepEqual(attempts, [1, 2, 3]);
  });
});

describe("the guide's retry settings", () => {
  test("retries: 0 sends once", async () => {
    server.next(text(503, "down"));
    await rejection(clientFor(server, { retries: 0 }).transactions.get("txn_1"));
    assert.equal(server.requests.length, 1);
  });

  test("the retryable statuses are the guide's", () => {
    assert.deepEqual([...PaymentEngine.RETRYABLE_STATUSES].sort(), [429, 500, 502, 503, 504]);
  });

  test("options out of range are refused at construction", () => {
    assert.throws(() => new PaymentEngine({ apiKey: "k", retries: 11 }), RangeError);
    assert.throws(() => new PaymentEngine({ apiKey: "k", timeout: 0 }), RangeError);
    assert.throws(() => new PaymentEngine({ apiKey: "k", retryDelay: -1 }), RangeError);
  });
});
