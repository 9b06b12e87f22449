// The client's shape, hooks, money, pagination, sessions, batch and waiting, against a loopback server.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, beforeEach, describe, test } from "node:test";

import PaymentEngine, { InsufficientFundsError, webhooks } from "@payment-engine/sdk";

import { envelope, json, startFaultServer, text } from "./fault-server.mjs";
import { PAYMENT, clientFor, rejection } from "./helpers.mjs";

const require = createRequire(import.meta.url);
let server;
before(async () => {
  server = await startFaultServer();
});
after(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  server.otherwise(envelope(500, "INTERNAL_ERROR", "unscripted request"));
});

describe("the module, as the guide loads it", () => {
  test("require() returns the constructor itself, and import gives the same object", () => {
    const required = require("@payment-engine/sdk");
    assert.equal(typeof required, "function");
    assert.equal(required, PaymentEngine);
    assert.equal(required.InsufficientFundsError, InsufficientFundsError);
    assert.equal(required.webhooks.verify, webhooks.verify);
    const client = new required({ apiKey: "k", baseUrl: "https://api.payment-engine.com", timeout: 30000 });
    for (const resource of ["transactions", "accounts", "paymentTypes", "webhookEndpoints", "events", "apiKeys", "debitAuthorizations", "auth"]) {
      assert.equal(typeof client[resource], "object", resource);
    }
  });

  test("credentials: one way, or PAYMENT_ENGINE_API_KEY", () => {
    assert.throws(() => new PaymentEngine({ apiKey: "k", username: "u", password: "p" }), /one way/);
    assert.throws(() => new PaymentEngine({ username: "u" }), /together/);
    const saved = process.env.PAYMENT_ENGINE_API_KEY;
    delete process.env.PAYMENT_ENGINE_API_KEY;
    try {
      assert.throws(() => new PaymentEngine({}), /no credentials/);
      process.env.PAYMENT_ENGINE_API_KEY = "from-env";
      assert.ok(new PaymentEngine({}));
    } finally {
      if (saved === undefined) delete process.env.PAYMENT_ENGINE_API_KEY;
      else process.env.PAYMENT_ENGINE_API_KEY = saved;
    }
  });

  test("a base URL with /api/v1 or a trailing slash is the same base URL", async () => {
    server.next(json(200, { id: "txn_1" }));
    await clientFor(server, { baseUrl: `${server.baseUrl}/api/v1/` }).transactions.get("txn_1");
    assert.equal(server.requests[0].path, "/api/v1/transactions/txn_1");
  });
});

describe("requests", () => {
  test("every request carries the API key; every POST an Idempotency-Key (the caller's when given)", async () => {
    server.next(json(201, { id: "txn_1" }), json(201, { id: "txn_2" }), json(200, { id: "txn_1" }));
    const client = clientFor(server);
    await client.transactions.create(PAYMENT);
    await client.transactions.create(PAYMENT, { idempotencyKey: "order-7" });
    await client.transactions.get("txn_1");
    const [generated, given, read] = server.requests;
    assert.equal(generated.headers["x-api-key"], "pe_test_key");
    assert.match(generated.headers["idempotency-key"], /^[0-9a-f-]{36}$/);
    assert.equal(given.headers["idempotency-key"], "order-7");
    assert.equal(read.headers["idempotency-key"], undefined);
  });

  test("ids are path-encoded and filters become query parameters", async () => {
    server.next(json(200, { id: "a/b" }), json(200, { transactions: [] }));
    const client = clientFor(server);
    await client.transactions.get("a/b");
    await client.transactions.list({ status: "COMPLETED", createdAfter: new Date("2026-01-01T00:00:00Z"), pageSize: 5 }).firstPage();
    assert.equal(server.requests[0].path, "/api/v1/transactions/a%2Fb");
    const query = server.requests[1].query;
    assert.equal(query.get("status"), "COMPLETED");
    assert.equal(query.get("createdAfter"), "2026-01-01T00:00:00.000Z");
    assert.equal(query.get("pageSize"), "5");
  });

  test("hooks see each attempt and answer, and the error once", async () => {
    server.next(text(503, "down"), envelope(422, "INSUFFICIENT_FUNDS", "Account does not have sufficient funds for this transaction"));
    const seen = [];
    const client = clientFor(server, {
      onRequest: (config) => seen.push(["request", config.method, config.url, config.route, config.attempt, config.idempotencyKey, config.headers["X-API-Key"]]),
      onResponse: (response) => seen.push(["response", response.status]),
      onError: (error) => seen.push(["error", error.message]),
    });
    await rejection(client.transactions.create(PAYMENT, { idempotencyKey: "k-1" }));
    const url = `${server.baseUrl}/api/v1/transactions`;
    assert.deepEqual(seen, [
      ["request", "POST", url, "/api/v1/transactions", 1, "k-1", "***"],
      ["response", 503],
      ["request", "POST", url, "/api/v1/transactions", 2, "k-1", "***"],
      ["response", 422],
      ["error", "Account does not have sufficient funds for this transaction"],
    ]);
  });

  test("a 2xx that is not JSON is an InvalidResponseError", async () => {
    server.next(text(200, "OK"));
    const error = await rejection(clientFor(server).transactions.get("txn_1"));
    assert.ok(error instanceof PaymentEngine.InvalidResponseError);
    assert.equal(error.status, 200);
  });

  test("an unknown code falls back to its status's class", async () => {
    server.next(envelope(404, "ACCOUNT_GONE", "gone"));
    const error = await rejection(clientFor(server).accounts.get("acc_1"));
    assert.ok(error instanceof PaymentEngine.NotFoundError);
    assert.equal(error.code, "ACCOUNT_GONE");
  });
});

describe("money", () => {
  test("amounts go out with their exact digits, padded to the currency", async () => {
    server.next(json(201, { id: "t1" }), json(201, { id: "t2" }), json(201, { id: "t3" }), json(201, { id: "t4" }));
    const client = clientFor(server);
    await client.transactions.create({ ...PAYMENT, amount: 1000.0 });
    await client.transactions.create({ ...PAYMENT, amount: 19.99 });
    await client.transactions.create({ ...PAYMENT, amount: "0.10" });
    await client.transactions.create({ ...PAYMENT, amount: 1e21, currencyCode: undefined });
    const amounts = server.requests.map((request) => /"amount":([^,}]+)/.exec(request.body)[1]);
    assert.deepEqual(amounts, ["1000.00", "19.99", "0.10", "1000000000000000000000"]);
  });

  test("more decimals than the currency allows is refused before sending, with the engine's message", async () => {
    const client = clientFor(server);
    const error = await rejection(async () => client.transactions.create({ ...PAYMENT, amount: 0.1 + 0.2 }));
    assert.ok(error instanceof PaymentEngine.InvalidRequestError);
    assert.equal(error.code, "INVALID_REQUEST");
    assert.equal(error.message, "amount has more decimal places than USD allows (2)");
    assert.deepEqual(error.details, { field: "amount", value: "0.30000000000000004", currencyCode: "USD", maxDecimalPlaces: 2 });
    const yen = await rejection(async () => client.transactions.create({ ...PAYMENT, amount: 10.5, currencyCode: "JPY" }));
    assert.equal(yen.message, "amount has more decimal places than JPY allows (0)");
    const unknownCurrency = await rejection(async () => client.transactions.create({ ...PAYMENT, amount: 123.456789, currencyCode: undefined }));
    assert.equal(unknownCurrency.code, "INVALID_REQUEST");
    assert.equal(server.requests.length, 0);
  });

  test("amounts read back are numbers, so the guide's >= comparisons work", async () => {
    server.next(json(200, { accountId: "acc_1", availableBalance: 500.25, currentBalance: 600, heldBalance: 99.75, currencyCode: "USD" }));
    const balance = await clientFor(server).accounts.getBalance("acc_1");
    assert.equal(typeof balance.availableBalance, "number");
    assert.ok(balance.availableBalance >= 500.25);
    assert.equal(balance.currencyCode, "USD");
  });
});

describe("lists page by themselves", () => {
  test("for await walks every page, asking for the next token", async () => {
    server.next(
      json(200, { transactions: [{ id: "t1" }, { id: "t2" }], nextPageToken: "p2" }),
      json(200, { transactions: [{ id: "t3" }], nextPageToken: "p3" }),
      json(200, { transactions: [{ id: "t4" }] }),
    );
    const ids = [];
    for await (const transaction of clientFor(server).transactions.list({ pageSize: 2 })) ids.push(transaction.id);
    assert.deepEqual(ids, ["t1", "t2", "t3", "t4"]);
    assert.deepEqual(server.requests.map((request) => request.query.get("pageToken")), [null, "p2", "p3"]);
  });

  test("limit stops early; await gives the first page", async () => {
    server.next(json(200, { accounts: [{ id: "a1" }, { id: "a2" }, { id: "a3" }], nextPageToken: "p2" }), json(200, { accounts: [{ id: "a9" }], nextPageToken: "p9" }));
    const client = clientFor(server);
    assert.deepEqual((await client.accounts.list({ limit: 2 }).toArray()).map((account) => account.id), ["a1", "a2"]);
    const page = await client.accounts.list();
    assert.deepEqual(page.items.map((account) => account.id), ["a9"]);
    assert.equal(page.nextPageToken, "p9");
  });

  test("a server repeating a page token cannot loop the client", async () => {
    server.next(json(200, { events: [{ eventId: "e1" }], nextPageToken: "same" }), json(200, { events: [{ eventId: "e2" }], nextPageToken: "same" }));
    const error = await rejection(clientFor(server).events.list().toArray());
    assert.ok(error instanceof PaymentEngine.InvalidResponseError);
  });
});

describe("username and password", () => {
  const token = (name, expiresIn = 3600) => json(200, { access_token: name, refresh_token: `rt_${name}`, token_type: "Bearer", expires_in: expiresIn, scope: "" });

  test("logs in once for concurrent calls, and renews with the refresh token after a 401", async () => {
    server.next(token("at_1"), json(200, { id: "a" }), json(200, { id: "b" }), envelope(401, "UNAUTHORIZED", "expired"), token("at_2"), json(200, { id: "c" }));
    const client = new PaymentEngine({ username: "sandbox", password: "pw", baseUrl: server.baseUrl, retryDelay: 1 });
    await Promise.all([client.accounts.get("a"), client.accounts.get("b")]);
    await client.accounts.get("c");
    const paths = server.requests.map((request) => request.path);
    assert.deepEqual(paths, ["/api/v1/auth/login", "/api/v1/accounts/a", "/api/v1/accounts/b", "/api/v1/accounts/c", "/api/v1/auth/refresh", "/api/v1/accounts/c"]);
    assert.deepEqual(JSON.parse(server.requests[0].body), { username: "sandbox", password: "pw" });
    assert.deepEqual(JSON.parse(server.requests[4].body), { refresh_token: "rt_at_1" });
    assert.equal(server.requests[1].headers.authorization, "Bearer at_1");
    assert.equal(server.requests[5].headers.authorization, "Bearer at_2");
  });

  test("a refused refresh token means a new login", async () => {
    server.next(token("at_1", 0), json(200, { id: "a" }), envelope(401, "UNAUTHORIZED", "refresh token reused"), token("at_3"), json(200, { id: "b" }));
    const client = new PaymentEngine({ username: "sandbox", password: "pw", baseUrl: server.baseUrl, retryDelay: 1 });
    await client.accounts.get("a");
    await client.accounts.get("b");
    assert.deepEqual(server.requests.map((request) => request.path), ["/api/v1/auth/login", "/api/v1/accounts/a", "/api/v1/auth/refresh", "/api/v1/auth/login", "/api/v1/accounts/b"]);
  });
});

describe("batch payments", () => {
  test("createBatch sends the items and atomic flag with one key, and reads per-item results", async () => {
    server.next(
      text(503, "down"),
      json(200, {
        results: [
          { index: 0, status: 201, transaction: { id: "txn_1", status: "PENDING", amount: 10 } },
          { index: 1, status: 422, error: { code: "INSUFFICIENT_FUNDS", message: "no money", details: {} } },
        ],
        succeededCount: 1,
        failedCount: 1,
      }),
    );
    const result = await clientFor(server).transactions.createBatch(
      [
        { ...PAYMENT, amount: 10, idempotencyKey: "line-1" },
        { ...PAYMENT, fromAccountId: "test_acc_empty", amount: "20.50" },
      ],
      { atomic: false, idempotencyKey: "batch-1" },
    );
    assert.equal(result.succeededCount, 1);
    assert.equal(result.results[1].error.code, "INSUFFICIENT_FUNDS");
    const [first, second] = server.requests;
    assert.equal(first.path, "/api/v1/transactions:batch");
    assert.equal(first.headers["idempotency-key"], "batch-1");
    assert.equal(second.headers["idempotency-key"], "batch-1");
    assert.equal(first.body, second.body);
    assert.match(first.body, /"amount":10\.00,.*"idempotencyKey":"line-1"/);
    assert.match(first.body, /"amount":20\.50/);
    assert.match(first.body, /"atomic":false}$/);
  });

  test("an empty or oversized batch, or a bad amount in it, is refused before sending", async () => {
    const client = clientFor(server);
    await assert.rejects(client.transactions.createBatch([]), RangeError);
    await assert.rejects(client.transactions.createBatch(Array.from({ length: 1001 }, () => PAYMENT)), RangeError);
    await assert.rejects(client.transactions.createBatch([{ ...PAYMENT, amount: 0.1 + 0.2 }]), PaymentEngine.InvalidRequestError);
    assert.equal(server.requests.length, 0);
  });
});

describe("waitForCompletion", () => {
  test("polls until a final status and returns it (a failure is an answer)", async () => {
    server.next(json(200, { transactionId: "t", status: "PENDING" }), json(200, { transactionId: "t", status: "PROCESSING" }), json(200, { transactionId: "t", status: "FAILED", failureReason: "R01: Insufficient funds" }));
    const status = await clientFor(server).transactions.waitForCompletion("t", { pollInterval: 5, pollIntervalMax: 10 });
    assert.equal(status.status, "FAILED");
    assert.equal(status.failureReason, "R01: Insufficient funds");
    assert.equal(server.requests.length, 3);
  });

  test("gives up with WaitTimeoutError carrying the last status", async () => {
    server.otherwise(json(200, { transactionId: "t", status: "PENDING" }));
    const error = await rejection(clientFor(server).transactions.waitForCompletion({ id: "t" }, { timeout: 50, pollInterval: 10 }));
    assert.ok(error instanceof PaymentEngine.WaitTimeoutError);
    assert.equal(error.lastStatus.status, "PENDING");
  });
});

describe("webhooks", () => {
  const body = '{"eventId":"evt_1","eventType":"transaction.completed","data":{"transactionId":"txn_1"}}';
  const secret = "whsec_test";

  test("verify accepts the engine's signature of the raw body, as a string or a Buffer", () => {
    const signature = webhooks.computeSignature(body, secret);
    assert.match(signature, /^sha256=[0-9a-f]{64}$/);
    assert.equal(webhooks.verify(body, signature, secret), true);
    assert.equal(webhooks.verify(Buffer.from(body), signature, secret), true);
    assert.equal(webhooks.verify(body + " ", signature, secret), false);
    assert.equal(webhooks.verify(body, signature, ["whsec_new", secret]), true);
    assert.equal(webhooks.verify(body, undefined, secret), false);
  });

  test("a parsed object is refused with a message that says why", () => {
    assert.throws(() => webhooks.verify(JSON.parse(body), "sha256=00", secret), (error) => error instanceof TypeError && /raw request body/.test(error.message) && /express\.raw/.test(error.message));
  });

  test("constructEvent verifies then parses, preferring the Standard Webhooks headers when present", () => {
    const now = 1765000000;
    const headers = {
      "Webhook-Id": "evt_1",
      "Webhook-Timestamp": String(now),
      "Webhook-Signature": webhooks.computeStandardSignature(body, "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", "evt_1", now),
    };
    const event = webhooks.constructEvent(body, headers, "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", { now });
    assert.equal(event.eventType, "transaction.completed");
    assert.throws(() => webhooks.constructEvent(body, headers, "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", { now: now + 301 }), PaymentEngine.WebhookSignatureError);
    assert.throws(() => webhooks.constructEvent(body, "sha256=" + "0".repeat(64), secret), PaymentEngine.WebhookSignatureError);
  });
});
