import PaymentEngine from "@payment-engine/sdk";

/** A client on the fault server with fast retries (the waits are not what these tests check). */
export function clientFor(server, options = {}) {
  return new PaymentEngine({ apiKey: "pe_test_key", baseUrl: server.baseUrl, retryDelay: 1, retryDelayMax: 5, ...options });
}

export const PAYMENT = Object.freeze({
  fromAccountId: "acc_123",
  toAccountId: "acc_456",
  paymentTypeId: "rtp",
  amount: 100,
  currencyCode: "USD",
  description: "Test payment",
});

export async function rejection(promise) {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}
