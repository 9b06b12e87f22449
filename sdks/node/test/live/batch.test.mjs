// The batch payment API (POST /api/v1/transactions:batch) against a real engine.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import PaymentEngine from "@payment-engine/sdk";

import { engineFromEnv } from "./guide.mjs";

const engine = engineFromEnv();
const client = new PaymentEngine({ apiKey: engine.apiKey, baseUrl: engine.baseUrl });
const unique = (prefix) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const item = (overrides = {}) => ({ fromAccountId: "test_acc_001", toAccountId: "test_acc_002", paymentTypeId: "rtp", amount: 1.5, ...overrides });

describe("transactions.createBatch", () => {
  it("makes each payment it can and answers each one's outcome", async () => {
    const result = await client.transactions.createBatch([item(), item({ fromAccountId: "test_acc_empty", amount: 5 }), item({ amount: "2.25" })], {
      idempotencyKey: unique("batch"),
    });
    assert.equal(result.succeededCount, 2);
    assert.equal(result.failedCount, 1);
    const byIndex = [...result.results].sort((a, b) => a.index - b.index);
    assert.deepEqual(byIndex.map((entry) => entry.status), [201, 422, 201]);
    assert.equal(byIndex[1].error.code, "INSUFFICIENT_FUNDS");
    assert.equal(byIndex[2].transaction.amount, 2.25);
    const completed = await client.transactions.waitForCompletion(byIndex[0].transaction.id);
    assert.equal(completed.status, "COMPLETED");
  });

  it("the same request key replays the same payments", async () => {
    const key = unique("batch");
    const items = [item({ idempotencyKey: unique("line") }), item()];
    const first = await client.transactions.createBatch(items, { idempotencyKey: key });
    const again = await client.transactions.createBatch(items, { idempotencyKey: key });
    const ids = (result) => result.results.map((entry) => entry.transaction?.id).sort();
    assert.deepEqual(ids(again), ids(first));
  });

  it("atomic: one refused payment means none is made", async () => {
    const reference = unique("atomic");
    const result = await client.transactions.createBatch([item({ externalReference: reference }), item({ fromAccountId: "test_acc_empty", amount: 5 })], {
      atomic: true,
      idempotencyKey: unique("batch"),
    });
    assert.equal(result.succeededCount, 0);
    const byIndex = [...result.results].sort((a, b) => a.index - b.index);
    assert.equal(byIndex[0].status, 424);
    assert.equal(byIndex[0].error.code, "BATCH_ABORTED");
    assert.equal(byIndex[1].error.code, "INSUFFICIENT_FUNDS");
    assert.deepEqual(await client.transactions.list({ externalReference: reference }).toArray(), []);
  });
});
