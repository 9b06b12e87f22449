// Compiled (not run) by test/unit/types.test.mjs: the ES module face type-checks.
import PaymentEngine, { InsufficientFundsError, webhooks, type Transaction, type WebhookEndpoint } from "@payment-engine/sdk";

const client = new PaymentEngine({ username: "sandbox", password: "secret", baseUrl: "http://127.0.0.1:8080" });
const transaction: Transaction = await client.transactions.get("txn_1");
const endpoint: WebhookEndpoint = await client.webhookEndpoints.create({ url: "https://example.com/hook" });
const page = await client.events.list({ eventType: "transaction.*" });
console.log(transaction.amount, endpoint.secret, page.nextPageToken, page.items.length);
const error: unknown = new InsufficientFundsError("no money");
if (error instanceof PaymentEngine.UnprocessableError) console.log(error.code);
console.log(webhooks.checkStandard("{}", new Headers(), "whsec_AAAA").matchedSecretIndex);
