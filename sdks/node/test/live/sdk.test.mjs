// Every resource of the SDK against a real engine.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import PaymentEngine from "@payment-engine/sdk";

import { engineFromEnv, eventually } from "./guide.mjs";

const engine = engineFromEnv();
const client = new PaymentEngine({ apiKey: engine.apiKey, baseUrl: engine.baseUrl });
const unique = (prefix) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const PAYMENT = { fromAccountId: "test_acc_001", toAccountId: "test_acc_002", paymentTypeId: "rtp", amount: 1.25, description: "SDK live test" };

describe("credentials", () => {
  it("username and password log in by themselves", async () => {
    const session = new PaymentEngine({ username: engine.username, password: engine.password, baseUrl: engine.baseUrl });
    const me = await session.auth.me();
    assert.equal(me.tenant.id, engine.tenantId);
    assert.equal((await session.accounts.getBalance("test_acc_001")).currencyCode, "USD");
    assert.equal((await session.auth.logout()).revoked, true);
    // A new session starts on the next call.
    assert.equal((await session.auth.me()).tenant.id, engine.tenantId);
  });

  it("a wrong API key is UnauthorizedError", async () => {
    const wrong = new PaymentEngine({ apiKey: "pe_sandbox_wrong", baseUrl: engine.baseUrl });
    const error = await wrong.accounts.get("test_acc_001").catch((failure) => failure);
    assert.ok(error instanceof PaymentEngine.UnauthorizedError);
    assert.equal(error.status, 401);
    assert.match(error.requestId, /^req_/);
  });
});

describe("transactions", () => {
  it("create, get, getStatus, waitForCompletion, list by externalReference", async () => {
    const reference = unique("order");
    const created = await client.transactions.create({ ...PAYMENT, externalReference: reference, metadata: { orderId: reference } });
    assert.equal(created.status, "PENDING");
    assert.equal(created.amount, 1.25);
    assert.equal((await client.transactions.get(created.id)).externalReference, reference);
    assert.equal((await client.transactions.getStatus(created.id)).transactionId, created.id);
    const final = await client.transactions.waitForCompletion(created, { pollInterval: 100 });
    assert.equal(final.status, "COMPLETED");
    const listed = await client.transactions.list({ externalReference: reference }).toArray();
    assert.deepEqual(listed.map((transaction) => transaction.id), [created.id]);
  });

  it("the same Idempotency-Key replays the first payment; another request with it is refused", async () => {
    const key = unique("idem");
    const first = await client.transactions.create(PAYMENT, { idempotencyKey: key });
    const again = await client.transactions.create(PAYMENT, { idempotencyKey: key });
    assert.equal(again.id, first.id);
    const error = await client.transactions.create({ ...PAYMENT, amount: 2 }, { idempotencyKey: key }).catch((failure) => failure);
    assert.ok(error instanceof PaymentEngine.IdempotencyKeyReusedError, `${error.name}: ${error.message}`);
    assert.equal(error.status, 422);
  });

  it("cancel stops a pending ACH payment", async () => {
    const ach = await client.transactions.create({ ...PAYMENT, paymentTypeId: "ach_credit" });
    const canceled = await client.transactions.cancel(ach.id, { reason: "customer asked" });
    assert.equal(canceled.id, ach.id);
    // The engine answers the cancel request with the payment as it stands, then cancels it.
    const final = await client.transactions.waitForCompletion(ach.id, { pollInterval: 50 });
    assert.equal(final.status, "CANCELED");
    assert.equal(final.failureReason, "customer asked");
  });

  it("insufficient funds is InsufficientFundsError with the guide's details", async () => {
    const error = await client.transactions.create({ ...PAYMENT, fromAccountId: "test_acc_empty", amount: 1000 }).catch((failure) => failure);
    assert.ok(error instanceof PaymentEngine.InsufficientFundsError);
    assert.equal(error.code, "INSUFFICIENT_FUNDS");
    assert.equal(error.status, 422);
    assert.equal(error.details.accountId, "test_acc_empty");
    assert.equal(error.details.requestedAmount, 1000);
    assert.match(error.timestamp, /^\d{4}-\d\d-\d\dT/);
  });

  it("the SDK refuses too many decimals with exactly the engine's message", async () => {
    const amount = 0.1 + 0.2;
    const local = await client.transactions.create({ ...PAYMENT, amount, currencyCode: "USD" }).catch((failure) => failure);
    // What the engine answers to the same amount sent as a raw JSON number.
    const response = await fetch(`${engine.baseUrl}/api/v1/transactions`, {
      method: "POST",
      headers: { "X-API-Key": engine.apiKey, "Content-Type": "application/json", "Idempotency-Key": unique("raw") },
      body: `{"fromAccountId":"test_acc_001","toAccountId":"test_acc_002","paymentTypeId":"rtp","currencyCode":"USD","amount":${amount}}`,
    });
    const remote = (await response.json()).error;
    assert.equal(response.status, 400);
    assert.equal(local.code, remote.code);
    assert.equal(local.message, remote.message);
    assert.deepEqual(local.details, remote.details);
  });
});

describe("accounts", () => {
  it("getBalance, get, list, listEntries", async () => {
    const balance = await client.accounts.getBalance("test_acc_001");
    assert.equal(balance.accountId, "test_acc_001");
    assert.equal(typeof balance.availableBalance, "number");
    const account = await client.accounts.get("test_acc_001");
    assert.equal(account.currencyCode, "USD");
    const ids = (await client.accounts.list({ pageSize: 1 }).toArray()).map((item) => item.id);
    assert.ok(ids.includes("test_acc_001") && ids.includes("test_acc_empty"), ids.join(","));
    const entries = await client.accounts.listEntries("test_acc_001", { limit: 3 }).toArray();
    assert.ok(entries.length > 0);
    assert.equal(typeof entries[0].runningBalance, "number");
  });

  it("create, fund (sandbox), freeze, unfreeze, close", async () => {
    const account = await client.accounts.create({ name: unique("ops"), currencyCode: "USD", metadata: { team: "ops" } });
    assert.equal(account.status, "ACTIVE");
    const funding = await client.accounts.fund(account.id, "500.00", { description: "float" });
    assert.equal(funding.balance.availableBalance, 500);
    assert.equal((await client.accounts.freeze(account.id)).status, "FROZEN");
    const frozenError = await client.transactions.create({ ...PAYMENT, fromAccountId: account.id }).catch((failure) => failure);
    assert.ok(frozenError instanceof PaymentEngine.InvalidAccountStatusError, `${frozenError.name}: ${frozenError.message}`);
    assert.equal((await client.accounts.unfreeze(account.id)).status, "ACTIVE");
    await client.transactions.create({ ...PAYMENT, fromAccountId: account.id, amount: 500 });
    await eventually(async () => (await client.accounts.getBalance(account.id)).currentBalance === 0, { what: "the account to be emptied" });
    assert.equal((await client.accounts.close(account.id)).status, "CLOSED");
  });

  it("a missing account is NotFoundError", async () => {
    await assert.rejects(client.accounts.getBalance("acc_missing"), PaymentEngine.NotFoundError);
  });
});

describe("payment types, webhook endpoints, events, API keys", () => {
  it("paymentTypes lists the four rails", async () => {
    const ids = (await client.paymentTypes.list()).map((type) => type.id).sort();
    assert.deepEqual(ids, ["ACH_CREDIT", "ACH_DEBIT", "RTP", "WIRE_DOMESTIC"]);
    assert.equal((await client.paymentTypes.find("rtp")).settlement, "INSTANT");
  });

  it("webhookEndpoints: create, get, list, update, rotateSecret, enable, test, listDeliveries, delete", async () => {
    const endpoint = await client.webhookEndpoints.create({ url: "http://127.0.0.1:9/unreachable", eventTypes: ["transaction.completed"], description: "live" });
    assert.match(endpoint.secret, /^whsec_/);
    assert.equal((await client.webhookEndpoints.get(endpoint.id)).secret ?? "", "");
    assert.ok((await client.webhookEndpoints.list().toArray()).some((item) => item.id === endpoint.id));
    const updated = await client.webhookEndpoints.update(endpoint.id, { description: "renamed", eventTypes: ["transaction.*"] });
    assert.equal(updated.description, "renamed");
    assert.deepEqual(updated.eventTypes, ["transaction.*"]);
    const rotated = await client.webhookEndpoints.rotateSecret(endpoint.id, { overlapSeconds: 60 });
    assert.notEqual(rotated.secret, endpoint.secret);
    assert.ok(rotated.previousSecretExpiresAt);
    assert.equal((await client.webhookEndpoints.enable(endpoint.id)).status, "WEBHOOK_ENDPOINT_STATUS_ENABLED");
    const trial = await client.webhookEndpoints.test(endpoint.id);
    assert.equal(trial.event.eventType, "webhook.test");
    assert.equal(trial.delivery.endpointId, endpoint.id);
    const deliveries = await client.webhookEndpoints.listDeliveries(endpoint.id, { eventId: trial.event.eventId }).toArray();
    assert.deepEqual(deliveries.map((delivery) => delivery.id), [trial.delivery.id]);
    assert.deepEqual(await client.webhookEndpoints.delete(endpoint.id), { id: endpoint.id, deleted: true });
    await assert.rejects(client.webhookEndpoints.get(endpoint.id), PaymentEngine.NotFoundError);
  });

  it("events: list by type, get, redeliver", async () => {
    const payment = await client.transactions.create(PAYMENT);
    const event = await eventually(
      async () => {
        for await (const candidate of client.events.list({ eventType: "transaction.*", createdAfter: new Date(Date.now() - 60_000), limit: 200 })) {
          if (candidate.data.transactionId === payment.id) return candidate;
        }
        return undefined;
      },
      { what: "the payment's event" },
    );
    assert.equal((await client.events.get(event.eventId)).eventId, event.eventId);
    assert.ok(Array.isArray(await client.events.redeliver(event.eventId)));
  });

  it("apiKeys: create, use, get, list, rotate, revoke", async () => {
    const created = await client.apiKeys.create({ name: unique("ci"), scopes: ["account:read"] });
    assert.ok(created.secret);
    const reader = new PaymentEngine({ apiKey: created.secret, baseUrl: engine.baseUrl });
    assert.equal((await reader.accounts.getBalance("test_acc_001")).accountId, "test_acc_001");
    await assert.rejects(reader.transactions.create(PAYMENT), PaymentEngine.ForbiddenError);
    assert.equal((await client.apiKeys.get(created.apiKey.id)).name, created.apiKey.name);
    assert.ok((await client.apiKeys.list().toArray()).some((key) => key.id === created.apiKey.id));
    const rotated = await client.apiKeys.rotate(created.apiKey.id, { overlapSeconds: 0 });
    assert.notEqual(rotated.secret, created.secret);
    const revoked = await client.apiKeys.revoke(rotated.apiKey.id);
    assert.equal(revoked.status, "API_KEY_STATUS_REVOKED");
    const afterRevoke = new PaymentEngine({ apiKey: rotated.secret, baseUrl: engine.baseUrl, retries: 0 });
    await assert.rejects(afterRevoke.accounts.getBalance("test_acc_001"), PaymentEngine.UnauthorizedError);
  });

  it("debitAuthorizations: list answers (granting needs a second tenant)", async () => {
    const page = await client.debitAuthorizations.list();
    assert.ok(Array.isArray(page.items));
  });
});
