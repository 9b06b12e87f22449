// The SDK against the one contract, gateway/openapi/openapi.json: every operation is reachable
// through a resource method, and every type the SDK declares has the contract's fields with
// the contract's kinds — so a field or route added to the API and missing here fails the build.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import PaymentEngine from "@payment-engine/sdk";

import { startFaultServer } from "./fault-server.mjs";

const require = createRequire(import.meta.url);
const ts = require("typescript");
const packageRoot = fileURLToPath(new URL("../../", import.meta.url));
const openapi = JSON.parse(readFileSync(new URL("../../../../gateway/openapi/openapi.json", import.meta.url), "utf8"));

// Routes served for machines, not integrators (the JWKS is for token verifiers).
const NOT_SDK_ROUTES = new Set(["GET /.well-known/jwks.json"]);

let server;
before(async () => {
  server = await startFaultServer();
  server.otherwise((request, response) => {
    // Enough of an answer for every parser: a token for the auth routes, an object otherwise.
    const body = request.path.startsWith("/api/v1/auth/")
      ? { access_token: "at", refresh_token: "rt", token_type: "Bearer", expires_in: 0, scope: "" }
      : { id: "x", results: [], paymentTypes: [], deliveries: [], apiKey: { id: "x" } };
    response.writeHead(200, { "Content-Type": "application/json" });
    response.end(JSON.stringify(body));
  });
});
after(() => server.close());

function contractRoutes() {
  const routes = new Set();
  for (const [path, operations] of Object.entries(openapi.paths)) {
    for (const method of Object.keys(operations)) routes.add(`${method.toUpperCase()} ${path}`);
  }
  return routes;
}

async function routesTheSdkCalls() {
  const seen = new Set();
  const record = (config) => seen.add(`${config.method} ${config.route}`);
  const client = new PaymentEngine({ apiKey: "k", baseUrl: server.baseUrl, retries: 0, onRequest: record });
  // A username/password client: its first call logs in, and (tokens expiring at once) its second refreshes.
  const session = new PaymentEngine({ username: "u", password: "p", baseUrl: server.baseUrl, retries: 0, onRequest: record });
  await session.auth.me();
  await session.auth.me();
  await session.auth.logout();
  const payment = { fromAccountId: "a", toAccountId: "b", paymentTypeId: "rtp", amount: 1 };
  const t = client.transactions;
  await t.create(payment);
  await t.createBatch([payment]);
  await t.get("x");
  await t.getStatus("x");
  await t.list().firstPage();
  await t.cancel("x", { reason: "customer asked" });
  const a = client.accounts;
  await a.create({ name: "n", currencyCode: "USD" });
  await a.get("x");
  await a.getBalance("x");
  await a.list().firstPage();
  await a.listEntries("x").firstPage();
  await a.freeze("x");
  await a.unfreeze("x");
  await a.close("x");
  await a.fund("x", 10);
  await client.paymentTypes.list();
  const w = client.webhookEndpoints;
  await w.create({ url: "https://example.com" });
  await w.get("x");
  await w.list().firstPage();
  await w.update("x", { description: "d" });
  await w.delete("x");
  await w.rotateSecret("x");
  await w.disable("x", { reason: "r" });
  await w.enable("x");
  await w.test("x");
  await w.listDeliveries("x").firstPage();
  await client.events.get("x");
  await client.events.list().firstPage();
  await client.events.redeliver("x");
  const k = client.apiKeys;
  await k.create({ name: "n", scopes: [] });
  await k.get("x");
  await k.list().firstPage();
  await k.revoke("x");
  await k.rotate("x");
  await client.debitAuthorizations.create({ payerAccountId: "a", granteeTenantId: "t" });
  await client.debitAuthorizations.list().firstPage();
  await client.debitAuthorizations.revoke("x");
  return seen;
}

test("every operation of the contract is reachable through the SDK, and the SDK calls nothing else", async () => {
  const expected = [...contractRoutes()].filter((route) => !NOT_SDK_ROUTES.has(route)).sort();
  const called = [...(await routesTheSdkCalls())].sort();
  assert.deepEqual(called, expected);
});

// Contract definition → the SDK interface that carries it. Request bodies map to the SDK's
// parameter (or options) interface; path ids are not body fields.
const MODELS = {
  v1Transaction: "Transaction",
  v1GetTransactionStatusResponse: "TransactionStatus",
  v1CreateTransactionRequest: "CreateTransactionParams",
  v1BatchTransactionItem: "BatchTransactionItem",
  v1BatchItemError: "BatchItemError",
  v1BatchTransactionResult: "BatchTransactionResult",
  v1BatchCreateTransactionsResponse: "BatchCreateTransactionsResult",
  v1CancelTransactionRequest: "CancelOptions",
  v1Account: "Account",
  v1GetBalanceResponse: "Balance",
  v1Entry: "LedgerEntry",
  v1CreateAccountRequest: "CreateAccountParams",
  v1FundAccountRequest: "FundOptions",
  v1FundAccountResponse: "Funding",
  v1PaymentType: "PaymentType",
  v1WebhookEndpoint: "WebhookEndpoint",
  // The PATCH body: the endpoint itself, less what the path names.
  UpdateWebhookEndpointBody: "WebhookEndpoint",
  v1CreateWebhookEndpointRequest: "CreateWebhookEndpointParams",
  v1DeleteWebhookEndpointResponse: "DeletedWebhookEndpoint",
  v1RotateWebhookEndpointSecretRequest: "RotateSecretOptions",
  v1DisableWebhookEndpointRequest: "DisableWebhookEndpointOptions",
  v1WebhookDelivery: "WebhookDelivery",
  v1WebhookDeliveryAttempt: "WebhookDeliveryAttempt",
  v1TestWebhookEndpointResponse: "WebhookTestResult",
  v1Event: "Event",
  v1RedeliverEventRequest: "RedeliverOptions",
  v1ApiKey: "ApiKey",
  v1CreateApiKeyRequest: "CreateApiKeyParams",
  v1CreateApiKeyResponse: "CreatedApiKey",
  v1RotateApiKeyRequest: "RotateApiKeyOptions",
  v1RotateApiKeyResponse: "RotatedApiKey",
  v1DebitAuthorization: "DebitAuthorization",
  v1CreateDebitAuthorizationRequest: "CreateDebitAuthorizationParams",
  v1LoginRequest: "ClientOptions",
  v1LoginResponse: "TokenPair",
  v1RefreshResponse: "TokenPair",
  v1LogoutRequest: "LogoutOptions",
  v1LogoutResponse: "LogoutResult",
  v1GetMeResponse: "Me",
  v1Principal: "Principal",
  v1Tenant: "Tenant",
};
// Wrappers the SDK unwraps (a list's items and token; `{apiKey}`; `{deliveries}`), and the
// requests whose only fields are path parameters or that the SDK builds itself.
const UNWRAPPED = new Set([
  "v1GetApiKeyResponse",
  "v1RevokeApiKeyResponse",
  "v1RedeliverEventResponse",
  "v1ListPaymentTypesResponse",
  "v1BatchCreateTransactionsRequest",
  "v1RefreshRequest",
  "v1CloseAccountRequest",
  "v1FreezeAccountRequest",
  "v1UnfreezeAccountRequest",
  "v1EnableWebhookEndpointRequest",
  "v1TestWebhookEndpointRequest",
  "v1RevokeApiKeyRequest",
  "v1RevokeDebitAuthorizationRequest",
]);
// Body fields the SDK takes as path parameters or method arguments, or names differently.
const PATH_FIELDS = new Set(["id", "accountId"]);
const RENAMED = { refresh_token: "refreshToken" };
// Body fields the SDK method takes as a positional argument: `accounts.fund(accountId, amount)`.
const ARGUMENT_FIELDS = { v1FundAccountRequest: ["amount"] };

function sdkInterfaces() {
  const declarations = join(packageRoot, "dist", "cjs");
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith(".d.ts")) files.push(join(dir, entry.name));
    }
  };
  walk(declarations);
  const program = ts.createProgram(files, { strict: true, types: ["node"] });
  const checker = program.getTypeChecker();
  const interfaces = new Map();
  for (const file of program.getSourceFiles()) {
    if (!file.fileName.startsWith(declarations)) continue;
    for (const statement of file.statements) {
      if (!ts.isInterfaceDeclaration(statement)) continue;
      const type = checker.getDeclaredTypeOfSymbol(checker.getSymbolAtLocation(statement.name));
      const properties = new Map();
      for (const property of checker.getPropertiesOfType(type)) {
        const propertyType = checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(property, statement));
        properties.set(property.name, { text: checker.typeToString(propertyType), kinds: kindsOf(checker, propertyType) });
      }
      interfaces.set(statement.name.text, properties);
    }
  }
  return interfaces;
}

/** What a declared type can hold: "string", "number", "boolean", "array", "object". */
function kindsOf(checker, type) {
  const kinds = new Set();
  for (const part of type.isUnion() ? type.types : [type]) {
    const flags = part.getFlags();
    if (flags & ts.TypeFlags.StringLike) kinds.add("string");
    else if (flags & ts.TypeFlags.NumberLike) kinds.add("number");
    else if (flags & ts.TypeFlags.BooleanLike) kinds.add("boolean");
    else if (checker.isArrayType(part) || checker.isTupleType(part)) kinds.add("array");
    else if (flags & ts.TypeFlags.Intersection) for (const kind of kindsOf(checker, part.types[0])) kinds.add(kind);
    else if (flags & (ts.TypeFlags.Object | ts.TypeFlags.NonPrimitive | ts.TypeFlags.Unknown | ts.TypeFlags.Any)) kinds.add("object");
  }
  return kinds;
}

function reachableDefinitions() {
  const found = new Set();
  const visit = (schema) => {
    if (schema === null || typeof schema !== "object") return;
    if (typeof schema.$ref === "string") {
      const name = schema.$ref.split("/").pop();
      if (found.has(name)) return;
      found.add(name);
      visit(openapi.definitions[name]);
      return;
    }
    for (const value of Object.values(schema)) visit(value);
  };
  for (const [path, operations] of Object.entries(openapi.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (NOT_SDK_ROUTES.has(`${method.toUpperCase()} ${path}`)) continue;
      for (const parameter of operation.parameters ?? []) visit(parameter.schema);
      for (const [status, response] of Object.entries(operation.responses)) if (status !== "default") visit(response.schema);
    }
  }
  return found;
}

function expectedKind(property) {
  if (property.$ref) {
    const target = openapi.definitions[property.$ref.split("/").pop()];
    return target.enum ? "string" : "object";
  }
  return { number: "number", integer: "number", string: "string", boolean: "boolean", array: "array" }[property.type] ?? "object";
}


test("every contract type the SDK reads or sends is declared, with every field and its kind", () => {
  const interfaces = sdkInterfaces();
  const problems = [];
  for (const name of [...reachableDefinitions()].sort()) {
    const definition = openapi.definitions[name];
    if (name.startsWith("protobuf") || name === "ErrorEnvelope" || definition.enum) continue;
    if (UNWRAPPED.has(name) || /^v1List\w+Response$/.test(name)) continue;
    const target = MODELS[name];
    if (target === undefined) {
      problems.push(`${name} is not mapped to an SDK type`);
      continue;
    }
    const properties = interfaces.get(target);
    if (properties === undefined) {
      problems.push(`${target} (for ${name}) is not declared`);
      continue;
    }
    const isRequest = /Request$/.test(name);
    for (const [field, schema] of Object.entries(definition.properties ?? {})) {
      if (isRequest && PATH_FIELDS.has(field)) continue;
      const sdkField = isRequest ? (RENAMED[field] ?? field) : field;
      if (ARGUMENT_FIELDS[name]?.includes(field)) continue;
      const declared = properties.get(sdkField);
      if (declared === undefined) {
        problems.push(`${target}.${sdkField} is missing (${name}.${field})`);
        continue;
      }
      const kind = expectedKind(schema);
      // Amounts sent may also be decimal strings; timestamps sent may also be Dates.
      if (!declared.kinds.has(kind)) problems.push(`${target}.${sdkField} is ${declared.text}, the contract says ${kind}`);
    }
  }
  assert.deepEqual(problems, []);
});

test("list answers are read under the contract's item keys", () => {
  const keys = Object.entries(openapi.definitions)
    .filter(([name]) => /^v1List\w+Response$/.test(name))
    .map(([name, definition]) => [name, Object.keys(definition.properties).filter((key) => key !== "nextPageToken")]);
  const source = readdirSync(join(packageRoot, "src", "resources"))
    .map((file) => readFileSync(join(packageRoot, "src", "resources", file), "utf8"))
    .join("\n");
  for (const [name, [key]] of keys) {
    assert.ok(source.includes(`"${key}"`) || source.includes(`.${key}`), `${name}: the SDK never reads "${key}"`);
  }
});
