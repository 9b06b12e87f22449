// The integration guide as an acceptance suite: every JavaScript example of the guide, read
// from the guide itself at run time, runs as written against a real engine. The test supplies
// only the base URL, credentials and the helpers the guide leaves undefined (sleep, storage,
// e-mail, inventory…), and checks what the examples did.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it, test } from "node:test";

import PaymentEngine from "@payment-engine/sdk";

import { startFaultServer, text } from "../unit/fault-server.mjs";
import { engineFromEnv, eventually, guideBlocks, guideSandbox, javascriptBlock, sleep } from "./guide.mjs";

const engine = engineFromEnv();
const blocks = guideBlocks();
const block = (title) => javascriptBlock(title, blocks);
const sdk = new PaymentEngine({ apiKey: engine.apiKey, baseUrl: engine.baseUrl });
// Objects made by the guide's code come from another realm (node:vm): compare their JSON.
const plain = (value) => JSON.parse(JSON.stringify(value));
const unique = (prefix) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

// The guide's JavaScript blocks this suite runs, and the one it cannot: the k6 load-test
// script runs inside k6 (`import http from 'k6/http'`), not Node.
const RUN = [
  "1. Synchronous Payment Processing",
  "2. Asynchronous Payment Processing",
  "3. Account Balance Checking",
  "4. Transaction Status Monitoring",
  "Basic Usage",
  "Advanced Configuration",
  "Node.js Example",
  "Webhook Event Handling",
  "Webhook Retry Logic",
  "Retry Strategy",
  "1. Successful Payment Flow",
  "2. Insufficient Funds Scenario",
  "E-commerce Integration",
  "Subscription Payment Integration",
];
const NOT_NODE = ["Load Testing"];

test("every JavaScript example of the guide is run by this suite (none skipped silently)", () => {
  const titles = blocks.filter((b) => b.language === "javascript").map((b) => b.title);
  assert.deepEqual([...titles].sort(), [...RUN, ...NOT_NODE].sort());
});

/** A recorder for the helpers the guide calls but leaves to the integrator. */
function recorder() {
  const calls = [];
  const helper = (name) => async (...args) => {
    calls.push([name, ...args]);
  };
  return { calls, helper, called: (name) => calls.filter(([called]) => called === name).map(([, ...args]) => args) };
}

// --- Integration Patterns 1 to 4 --------------------------------------------------------------

describe("Integration Patterns", () => {
  const helpers = recorder();
  const sandbox = guideSandbox(engine, {
    globals: { sleep, storeTransactionReference: helpers.helper("storeTransactionReference") },
  });
  const PaymentEngineInSandbox = sandbox.get("require")("@payment-engine/sdk");
  sandbox.context.paymentClient = new PaymentEngineInSandbox({ apiKey: engine.apiKey });
  for (const title of RUN.slice(0, 4)) sandbox.run(block(title));
  const processPayment = sandbox.get("processPayment");
  const submitPaymentForProcessing = sandbox.get("submitPaymentForProcessing");
  const checkAccountBalance = sandbox.get("checkAccountBalance");
  const pollTransactionStatus = sandbox.get("pollTransactionStatus");

  it("1. a synchronous RTP payment completes (polled by the guide's pollTransactionStatus)", async () => {
    const result = await processPayment({ fromAccount: "test_acc_001", toAccount: "test_acc_002", amount: 25.5, description: "Sync payment" });
    assert.equal(result.success, true, JSON.stringify(result));
    const transactionId = result.transactionId ?? result.transaction.transactionId;
    assert.equal((await sdk.transactions.get(transactionId)).status, "COMPLETED");
  });

  it("1. a payment the rail rejects answers the failure reason", async () => {
    const result = await processPayment({ fromAccount: "test_acc_001", toAccount: "test_acc_002", amount: 31.01, description: "Rejected by the rail" });
    assert.deepEqual(plain(result), { success: false, error: "RTP rejected by receiving institution: AC04 account closed" });
  });

  it("1. a payer without the money gets the engine's message", async () => {
    const result = await processPayment({ fromAccount: "test_acc_empty", toAccount: "test_acc_002", amount: 10, description: "No money" });
    assert.deepEqual(plain(result), { success: false, error: "Account does not have sufficient funds for this transaction" });
  });

  it("2. an ACH payment is submitted and its reference stored", async () => {
    const orderId = unique("order");
    const result = await submitPaymentForProcessing({ fromAccount: "test_acc_001", toAccount: "test_acc_002", amount: 75, description: "Batch payment", orderId });
    assert.equal(result.submitted, true, JSON.stringify(result));
    assert.deepEqual(helpers.called("storeTransactionReference"), [[orderId, result.transactionId]]);
    const stored = await sdk.transactions.get(result.transactionId);
    assert.equal(stored.paymentTypeId, "ACH_CREDIT");
    assert.equal(stored.externalReference, orderId);
  });

  it("3. balances compare with >= as the guide writes it", async () => {
    const funded = await checkAccountBalance("test_acc_001", 100);
    assert.equal(funded.hasSufficientFunds, true);
    assert.equal(funded.currency, "USD");
    assert.equal(typeof funded.availableBalance, "number");
    assert.deepEqual(plain(await checkAccountBalance("test_acc_empty", 0.01)), { hasSufficientFunds: false, availableBalance: 0, currency: "USD" });
    await assert.rejects(checkAccountBalance("acc_does_not_exist", 1), /Failed to check balance: Account not found/);
  });

  it("4. pollTransactionStatus answers a completed payment", async () => {
    const payment = await sdk.transactions.create({ fromAccountId: "test_acc_001", toAccountId: "test_acc_002", paymentTypeId: "rtp", amount: 5 });
    await sdk.transactions.waitForCompletion(payment.id);
    const result = await pollTransactionStatus(payment.id);
    assert.equal(result.success, true);
    assert.equal(result.transaction.status, "COMPLETED");
  });
});

// --- SDK Usage --------------------------------------------------------------------------------

describe("SDK Usage: JavaScript/Node.js SDK", () => {
  it("Basic Usage: createPayment and checkPaymentStatus", async () => {
    // The guide's accounts acc_123 and acc_456 are placeholders the sandbox does not have
    // (the engine answers 404 NOT_FOUND for them); the sandbox's funded pair stands in.
    const basic = block("Basic Usage");
    const sandbox = guideSandbox(engine);
    sandbox.run({ ...basic, code: basic.code.replaceAll("'acc_123'", "'test_acc_001'").replaceAll("'acc_456'", "'test_acc_002'") });
    const transaction = await sandbox.get("createPayment")();
    assert.match(transaction.id, /^txn_/);
    assert.equal(transaction.amount, 1000);
    assert.equal(transaction.paymentTypeId, "WIRE_DOMESTIC");
    assert.deepEqual(transaction.metadata, { invoiceId: "INV-001", customerId: "CUST-123" });
    assert.deepEqual(sandbox.console.lines.at(-1), ["log", "Transaction created:", transaction.id]);
    const status = await sandbox.get("checkPaymentStatus")(transaction.id);
    assert.equal(status.transactionId, transaction.id);
    assert.ok(["PENDING", "PROCESSING", "COMPLETED"].includes(status.status));
    await assert.rejects(sandbox.get("checkPaymentStatus")("txn_missing"), PaymentEngine.NotFoundError);
    assert.deepEqual(sandbox.console.lines.at(-1), ["error", "Status check failed:", "Transaction not found"]);
  });

  it("Basic Usage, as written: the guide's placeholder accounts do not exist in the sandbox", async () => {
    const sandbox = guideSandbox(engine);
    sandbox.run(block("Basic Usage"));
    const error = await sandbox.get("createPayment")().catch((failure) => failure);
    assert.ok(error instanceof PaymentEngine.NotFoundError);
    assert.deepEqual(sandbox.console.lines.at(-1), ["error", "Payment failed:", error.message]);
  });

  it("Advanced Configuration: the hooks see method, url, status and the error message", async () => {
    // The block uses the PaymentEngine that Basic Usage required.
    const sandbox = guideSandbox(engine);
    sandbox.context.PaymentEngine = sandbox.get("require")("@payment-engine/sdk");
    sandbox.run(block("Advanced Configuration"));
    const client = sandbox.get("client");
    const balance = await client.accounts.getBalance("test_acc_001");
    assert.equal(balance.currencyCode, "USD");
    assert.deepEqual(sandbox.console.lines.slice(0, 2), [
      ["log", "Making request:", "GET", `${engine.baseUrl}/api/v1/accounts/test_acc_001/balance`],
      ["log", "Received response:", 200],
    ]);
    await assert.rejects(client.transactions.get("txn_missing"));
    assert.deepEqual(sandbox.console.lines.at(-1), ["error", "Request failed:", "Transaction not found"]);
  });
});

// --- Error Handling: Retry Strategy -------------------------------------------------------------

describe("Error Handling: Retry Strategy", () => {
  let unavailable;
  before(async () => {
    unavailable = await startFaultServer();
    unavailable.otherwise(text(503, "Service Unavailable"));
  });
  after(() => unavailable.close());

  it("makeRequestWithRetry retries the SDK's 503 and gives the real answer", async () => {
    const sandbox = guideSandbox(engine, { globals: { sleep } });
    sandbox.run(block("Retry Strategy"));
    const makeRequestWithRetry = sandbox.get("makeRequestWithRetry");
    // The first two attempts meet a proxy answering 503 (the SDK's own retries off, so the
    // guide's loop is what retries); the third reaches the engine.
    const down = new PaymentEngine({ apiKey: engine.apiKey, baseUrl: unavailable.baseUrl, retries: 0 });
    let calls = 0;
    const balance = await makeRequestWithRetry(() => (++calls <= 2 ? down : sdk).accounts.getBalance("test_acc_001"));
    assert.equal(calls, 3);
    assert.equal(balance.accountId, "test_acc_001");
  });

  it("makeRequestWithRetry does not retry a 404", async () => {
    const sandbox = guideSandbox(engine, { globals: { sleep } });
    sandbox.run(block("Retry Strategy"));
    let calls = 0;
    const error = await sandbox.get("makeRequestWithRetry")(() => {
      calls += 1;
      return sdk.transactions.get("txn_missing");
    }).catch((failure) => failure);
    assert.equal(calls, 1);
    assert.equal(error.status, 404);
    assert.equal(error.code, "NOT_FOUND");
  });
});

// --- Testing: Test Scenarios (the guide's describe/it blocks become node:test suites) --------------

function expect(actual) {
  return { toBe: (expected) => assert.strictEqual(actual, expected) };
}
function fail(message) {
  throw new assert.AssertionError({ message });
}
{
  const sandbox = guideSandbox(engine, { globals: { describe, it, expect, fail, sleep } });
  sandbox.context.client = new (sandbox.get("require")("@payment-engine/sdk"))({ apiKey: engine.apiKey });
  sandbox.run(block("1. Successful Payment Flow"));
  sandbox.run(block("2. Insufficient Funds Scenario"));
}

// --- Webhook Integration: real deliveries to the guide's Express handler ----------------------------

/** Runs the guide's Express handler (with `extraBlocks`) on loopback and registers it as an
 * endpoint of the engine; the endpoint's secret becomes WEBHOOK_SECRET. */
async function guideWebhookReceiver(extraBlocks, globals) {
  const express = (await import("express")).default;
  const app = express();
  const sandbox = guideSandbox(engine, { globals: { app, express, ...globals } });
  sandbox.run(block("Node.js Example"));
  for (const title of extraBlocks) sandbox.run(block(title));
  const server = await new Promise((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  const url = `http://127.0.0.1:${server.address().port}/webhooks/payment-engine`;
  const endpoint = await sdk.webhookEndpoints.create({ url, eventTypes: ["transaction.*"], description: "guide acceptance" });
  sandbox.env.WEBHOOK_SECRET = endpoint.secret;
  return {
    sandbox,
    url,
    endpoint,
    async close() {
      await sdk.webhookEndpoints.delete(endpoint.id);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("Webhook Integration", () => {
  const handled = recorder();
  const deduplicated = recorder();
  let handler;
  let idempotent;
  before(async () => {
    handler = await guideWebhookReceiver(["Webhook Event Handling"], {
      updateOrderStatus: handled.helper("updateOrderStatus"),
      sendConfirmationEmail: handled.helper("sendConfirmationEmail"),
      handlePaymentFailure: handled.helper("handlePaymentFailure"),
      updateCachedBalance: handled.helper("updateCachedBalance"),
    });
    idempotent = await guideWebhookReceiver(["Webhook Retry Logic"], {
      processEvent: (event) => deduplicated.calls.push(["processEvent", event]),
      saveProcessedEventId: (eventId) => deduplicated.calls.push(["saveProcessedEventId", eventId]),
    });
  });
  after(async () => {
    await handler?.close();
    await idempotent?.close();
  });

  it("a completed payment reaches the handler: the order is marked paid and confirmed", async () => {
    const orderId = unique("order");
    const payment = await sdk.transactions.create({ fromAccountId: "test_acc_001", toAccountId: "test_acc_002", paymentTypeId: "rtp", amount: 12.34, externalReference: orderId });
    await eventually(() => handled.called("updateOrderStatus").some(([reference]) => reference === orderId), { what: "transaction.completed delivered" });
    assert.deepEqual(handled.called("updateOrderStatus").find(([reference]) => reference === orderId), [orderId, "paid"]);
    const confirmation = handled.called("sendConfirmationEmail").find(([data]) => data.transactionId === payment.id);
    assert.equal(confirmation[0].amount, 12.34);
    const logged = handler.sandbox.console.lines.map((line) => line.join(" "));
    assert.ok(logged.includes(`log Transaction created: ${payment.id}`));
    assert.ok(logged.includes(`log Transaction completed: ${payment.id}`));
  });

  it("a payment the rail rejects reaches handlePaymentFailure with its reason", async () => {
    const payment = await sdk.transactions.create({ fromAccountId: "test_acc_001", toAccountId: "test_acc_002", paymentTypeId: "rtp", amount: 31.02 });
    const [data] = await eventually(() => handled.called("handlePaymentFailure").find(([failed]) => failed.transactionId === payment.id), { what: "transaction.failed delivered" });
    assert.equal(data.failureReason, "RTP rejected by receiving institution: AM04 insufficient funds at receiver");
  });

  it("a forged delivery is refused with 401 by the guide's verifyWebhookSignature", async () => {
    const body = JSON.stringify({ eventId: "evt_forged", eventType: "transaction.completed", data: { transactionReference: "order-forged" } });
    const forged = PaymentEngine.webhooks.computeSignature(body, "whsec_not_the_secret");
    const response = await fetch(handler.url, { method: "POST", headers: { "Content-Type": "application/json", "X-Webhook-Signature": forged }, body });
    assert.equal(response.status, 401);
    assert.equal(await response.text(), "Invalid signature");
    assert.ok(!handled.called("updateOrderStatus").some(([reference]) => reference === "order-forged"));
  });

  it("a redelivered event is processed once by the guide's idempotent handler", async () => {
    const payment = await sdk.transactions.create({ fromAccountId: "test_acc_001", toAccountId: "test_acc_002", paymentTypeId: "rtp", amount: 3.21 });
    const processed = () => deduplicated.calls.filter(([name, event]) => name === "processEvent" && event.data.transactionId === payment.id && event.eventType === "transaction.completed");
    const [[, event]] = await eventually(() => processed().length > 0 && processed(), { what: "transaction.completed processed" });
    const [delivery] = await sdk.events.redeliver(event.eventId, { endpointId: idempotent.endpoint.id });
    await eventually(
      async () => {
        for await (const attempt of sdk.webhookEndpoints.listDeliveries(idempotent.endpoint.id, { eventId: event.eventId })) {
          if (attempt.id === delivery.id && attempt.status === "WEBHOOK_DELIVERY_STATUS_SUCCEEDED") return true;
        }
        return false;
      },
      { what: "the redelivery to succeed" },
    );
    assert.equal(processed().length, 1);
    const logged = idempotent.sandbox.console.lines.map((line) => line.join(" "));
    assert.ok(logged.includes(`log Event already processed: ${event.eventId}`));
  });

  it("the SDK's verify agrees with the guide's verifyWebhookSignature on the shared vectors", () => {
    const verifyWebhookSignature = handler.sandbox.get("verifyWebhookSignature");
    const vectors = JSON.parse(readFileSync(new URL("../../../test-vectors/webhook-signatures.json", import.meta.url), "utf8")).vectors;
    for (const vector of vectors.filter((v) => v.scheme === "x-webhook-signature")) {
      const signature = vector.headers["x-webhook-signature"];
      let guide;
      try {
        guide = verifyWebhookSignature(Buffer.from(vector.body), signature, vector.secrets[0]);
      } catch {
        guide = false; // timingSafeEqual throws when the lengths differ (Express then answers 500)
      }
      const ours = PaymentEngine.webhooks.verify(Buffer.from(vector.body), signature, vector.secrets[0]);
      // The one difference on purpose: hex is case-insensitive for the SDK (the engine sends lower case).
      const onlyHexCase = /uppercase hex/.test(vector.name);
      assert.equal(ours, onlyHexCase ? true : guide, vector.name);
      if (onlyHexCase) assert.equal(guide, false);
    }
  });
});

// --- Examples ----------------------------------------------------------------------------------------

describe("Examples: E-commerce Integration", () => {
  const effects = recorder();
  let receiver;
  let processor;
  before(async () => {
    const sandbox = guideSandbox(engine);
    sandbox.run(block("E-commerce Integration"));
    const PaymentProcessor = sandbox.get("PaymentProcessor");
    for (const name of ["updateOrderStatus", "sendOrderConfirmation", "updateInventory", "triggerFulfillment", "sendPaymentFailureNotification", "releaseInventoryReservation"]) {
      PaymentProcessor.prototype[name] = effects.helper(name);
    }
    processor = new PaymentProcessor(new (sandbox.get("require")("@payment-engine/sdk"))({ apiKey: engine.apiKey }));
    // The shop's webhook route hands verified deliveries to handlePaymentWebhook.
    const express = (await import("express")).default;
    const app = express();
    app.post("/webhooks/payment-engine", express.raw({ type: "application/json" }), async (req, res) => {
      let event;
      try {
        event = PaymentEngine.webhooks.constructEvent(req.body, req.headers, receiver.secret);
      } catch {
        return res.status(401).send("Invalid signature");
      }
      await processor.handlePaymentWebhook(event);
      res.status(200).send("OK");
    });
    const server = await new Promise((resolve) => {
      const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
    });
    const endpoint = await sdk.webhookEndpoints.create({ url: `http://127.0.0.1:${server.address().port}/webhooks/payment-engine`, eventTypes: ["transaction.completed", "transaction.failed"] });
    receiver = { server, endpoint, secret: endpoint.secret };
  });
  after(async () => {
    await sdk.webhookEndpoints.delete(receiver.endpoint.id);
    receiver.server.closeAllConnections();
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  const order = (total, overrides = {}) => ({
    id: unique("order"),
    customerId: "CUST-123",
    paymentAccount: "test_acc_001",
    merchantAccount: "test_acc_002",
    paymentMethod: "rtp",
    total,
    currency: "USD",
    items: [{ id: "sku-1", name: "Coffee beans", price: total, quantity: 1, warehouse: "north" }],
    ...overrides,
  });

  it("processOrderPayment pays, and the completed webhook marks the order paid and fulfils it", async () => {
    const paid = order(49.99);
    const result = await processor.processOrderPayment(paid);
    assert.equal(result.success, true, JSON.stringify(result));
    assert.deepEqual(effects.called("updateOrderStatus")[0], [paid.id, "payment_processing", result.transactionId]);
    const transaction = await sdk.transactions.get(result.transactionId);
    assert.deepEqual(transaction.metadata.items, [{ id: "sku-1", name: "Coffee beans", price: 49.99, quantity: 1 }]);
    await eventually(() => effects.called("triggerFulfillment").some(([id]) => id === paid.id), { what: "the order to be fulfilled" });
    assert.ok(effects.called("updateOrderStatus").some((args) => args[0] === paid.id && args[1] === "paid" && args[2] === result.transactionId));
    assert.ok(effects.called("sendOrderConfirmation").some(([id]) => id === paid.id));
    assert.ok(effects.called("updateInventory").some(([id]) => id === paid.id));
  });

  it("a payment the rail rejects marks the order failed and releases the inventory", async () => {
    const rejected = order(31.01);
    const result = await processor.processOrderPayment(rejected);
    assert.equal(result.success, true);
    await eventually(() => effects.called("releaseInventoryReservation").some(([id]) => id === rejected.id), { what: "the reservation to be released" });
    assert.ok(
      effects.called("updateOrderStatus").some((args) => args[0] === rejected.id && args[1] === "payment_failed" && args[3] === "RTP rejected by receiving institution: AC04 account closed"),
    );
    assert.ok(effects.called("sendPaymentFailureNotification").some(([id]) => id === rejected.id));
  });

  it("an order larger than the balance fails before any payment", async () => {
    const tooBig = order(25, { paymentAccount: "test_acc_empty" });
    assert.deepEqual(plain(await processor.processOrderPayment(tooBig)), { success: false, error: "Insufficient funds" });
    assert.ok(effects.called("updateOrderStatus").some((args) => args[0] === tooBig.id && args[1] === "payment_failed" && args[3] === "Insufficient funds"));
  });
});

describe("Examples: Subscription Payment Integration", () => {
  function managerWith(subscriptions) {
    const effects = recorder();
    const sandbox = guideSandbox(engine);
    sandbox.run(block("Subscription Payment Integration"));
    const SubscriptionPaymentManager = sandbox.get("SubscriptionPaymentManager");
    // The subscription store the guide leaves to the integrator: updates land on the record.
    SubscriptionPaymentManager.prototype.updateSubscriptionPayment = async (id, update) => {
      effects.calls.push(["updateSubscriptionPayment", id, update]);
      Object.assign(subscriptions.get(id), update);
    };
    for (const name of ["schedulePaymentRetry", "suspendSubscription", "sendSubscriptionSuspensionNotification"]) {
      SubscriptionPaymentManager.prototype[name] = effects.helper(name);
    }
    return { manager: new SubscriptionPaymentManager(new (sandbox.get("require")("@payment-engine/sdk"))({ apiKey: engine.apiKey })), effects };
  }

  const subscription = (overrides) => ({
    id: unique("sub"),
    paymentAccountId: "test_acc_001",
    merchantAccountId: "test_acc_002",
    amount: 29.99,
    currency: "USD",
    planName: "Pro",
    planId: "plan_pro",
    currentPeriod: "2026-12",
    customerId: "CUST-123",
    consecutiveFailures: 0,
    ...overrides,
  });

  it("a recurring ACH debit is created and recorded as processing", async () => {
    const monthly = subscription();
    const { manager, effects } = managerWith(new Map([[monthly.id, monthly]]));
    const transaction = await manager.processRecurringPayment(monthly);
    assert.equal(transaction.paymentTypeId, "ACH_DEBIT");
    assert.equal(transaction.externalReference, monthly.id);
    assert.equal(transaction.description, "Subscription payment for Pro");
    assert.equal(monthly.status, "processing");
    assert.equal(monthly.transactionId, transaction.id);
    assert.equal(effects.called("suspendSubscription").length, 0);
  });

  it("three failed payments in a row suspend the subscription", async () => {
    const unpaid = subscription({ paymentAccountId: "test_acc_empty" });
    const { manager, effects } = managerWith(new Map([[unpaid.id, unpaid]]));
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      await assert.rejects(manager.processRecurringPayment(unpaid), PaymentEngine.InsufficientFundsError);
      assert.equal(unpaid.consecutiveFailures, attempt);
      assert.equal(unpaid.failureReason, "Account does not have sufficient funds for this transaction");
    }
    assert.deepEqual(effects.called("schedulePaymentRetry"), [
      [unpaid.id, 1],
      [unpaid.id, 2],
    ]);
    assert.deepEqual(effects.called("suspendSubscription"), [[unpaid.id, "payment_failure"]]);
    assert.equal(effects.called("sendSubscriptionSuspensionNotification").length, 1);
  });
});
