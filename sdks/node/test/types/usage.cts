// Compiled (not run) by test/unit/types.test.mjs: the guide's CommonJS usage type-checks.
import PaymentEngine = require("@payment-engine/sdk");

export async function guideShape(): Promise<void> {
  const client = new PaymentEngine({
    apiKey: process.env.PAYMENT_ENGINE_API_KEY,
    baseUrl: "https://api.payment-engine.com",
    timeout: 30000,
    retries: 3,
    retryDelay: 1000,
    onRequest: (config) => console.log("Making request:", config.method, config.url, config.attempt, config.route),
    onResponse: (response) => console.log("Received response:", response.status),
    onError: (error) => console.error("Request failed:", error.message, error.code, error.requestId),
  });
  const transaction: PaymentEngine.Transaction = await client.transactions.create({
    fromAccountId: "acc_123",
    toAccountId: "acc_456",
    paymentTypeId: "wire_domestic",
    amount: 1000.0,
    currencyCode: "USD",
    metadata: { invoiceId: "INV-001" },
  });
  const status: PaymentEngine.TransactionStatus = await client.transactions.getStatus(transaction.id);
  const balance = await client.accounts.getBalance("acc_123");
  const enough: boolean = balance.availableBalance >= 250 && balance.currencyCode === "USD" && status.status === "COMPLETED";
  for await (const entry of client.accounts.listEntries("acc_123")) console.log(entry.runningBalance, enough);
  const batch = await client.transactions.createBatch([{ fromAccountId: "a", toAccountId: "b", paymentTypeId: "rtp", amount: "1.00" }], { atomic: true });
  console.log(batch.results[0]?.error?.code);
  try {
    await client.transactions.create({ fromAccountId: "a", toAccountId: "b", paymentTypeId: "rtp", amount: 1 });
  } catch (error) {
    if (error instanceof PaymentEngine.InsufficientFundsError) console.log(error.details, error.status);
    if (error instanceof PaymentEngine.PaymentEngineError && error.outcomeUnknown) console.log(error.idempotencyKey);
  }
  const valid: boolean = PaymentEngine.webhooks.verify(Buffer.from("{}"), "sha256=00", ["whsec_a", "whsec_b"]);
  console.log(valid);
}
