// The shared webhook signature vectors (sdks/test-vectors/webhook-signatures.json), which the
// Python and Java SDK tests run too: every SDK reaches the same verdict on every vector.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import PaymentEngine from "@payment-engine/sdk";

const vectorsUrl = new URL("../../../test-vectors/webhook-signatures.json", import.meta.url);
const { version, vectors } = JSON.parse(readFileSync(vectorsUrl, "utf8"));
const { webhooks } = PaymentEngine;

test("the vectors file has the agreed format", () => {
  assert.equal(version, 1);
  assert.deepEqual(new Set(vectors.map((vector) => vector.scheme)), new Set(["x-webhook-signature", "standard-webhooks"]));
});

for (const vector of vectors) {
  test(`vector: ${vector.name}`, () => {
    const body = Buffer.from(vector.body, "utf8");
    let verdict;
    if (vector.scheme === "x-webhook-signature") {
      // As Express hands them over: lower-case names; look them up case-insensitively anyway.
      const signature = Object.entries(vector.headers).find(([name]) => name.toLowerCase() === "x-webhook-signature")?.[1];
      verdict = webhooks.checkSignature(body, signature, vector.secrets);
      assert.equal(webhooks.verify(vector.body, signature, vector.secrets), vector.valid);
    } else {
      const options = { toleranceSeconds: vector.toleranceSeconds, now: vector.now };
      const shouted = Object.fromEntries(Object.entries(vector.headers).map(([name, value]) => [name.toUpperCase(), value]));
      verdict = webhooks.checkStandard(body, shouted, vector.secrets, options);
      assert.equal(webhooks.verifyStandard(vector.body, new Headers(vector.headers), vector.secrets, options), vector.valid);
    }
    assert.equal(verdict.valid, vector.valid, verdict.reason);
    if (vector.valid) assert.equal(verdict.matchedSecretIndex, vector.matchedSecretIndex);
  });
}
