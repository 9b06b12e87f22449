// Reads the integration guide's JavaScript code blocks at run time, by section, and runs them
// in a sandbox (node:vm) that supplies only what the guide leaves undefined: the SDK pointed
// at the engine under test, credentials, and helper functions. The guide's code is never
// copied into this repository.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import * as nodeCrypto from "node:crypto";

import PaymentEngine from "@payment-engine/sdk";

const require = createRequire(import.meta.url);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
export const GUIDE_PATH_ENV = "PE_GUIDE_PATH";
// The guide lives beside the repository: <repo>/../shared/seed/.
export const GUIDE_PATH_DEFAULT = join(repoRoot, "..", "shared", "seed", "payment-engine-integration-guide.md");
// The base URLs the guide's examples name; the sandbox supplies the engine under test instead.
const GUIDE_BASE_URLS = new Set(["https://api.payment-engine.com", "https://staging-api.payment-engine.com", "https://sandbox-api.payment-engine.com"]);
const ENGINE_ENV = {
  baseUrl: "PE_TEST_BASE_URL",
  apiKey: "PE_TEST_API_KEY",
  username: "PE_TEST_USERNAME",
  password: "PE_TEST_PASSWORD",
  tenantId: "PE_TEST_TENANT_ID",
};

/** The engine under test, from the environment the test command sets. */
export function engineFromEnv() {
  const engine = {};
  for (const [name, variable] of Object.entries(ENGINE_ENV)) {
    const value = process.env[variable];
    if (!value) throw new Error(`${variable} is not set: the live tests need a running engine (see tests/sdks/test_node_sdk.py)`);
    engine[name] = value;
  }
  return engine;
}

export function guidePath() {
  const path = process.env[GUIDE_PATH_ENV] || GUIDE_PATH_DEFAULT;
  if (!existsSync(path)) throw new Error(`the integration guide is not at ${path}: set ${GUIDE_PATH_ENV}`);
  return path;
}

/** Every fenced code block of the guide with its language and the headings above it. */
export function guideBlocks(path = guidePath()) {
  const blocks = [];
  const headings = [];
  let current = undefined;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (current !== undefined) {
      if (/^```\s*$/.test(line)) {
        blocks.push({ ...current, code: current.lines.join("\n") });
        current = undefined;
      } else current.lines.push(line);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      headings.length = heading[1].length - 1;
      headings[heading[1].length - 1] = heading[2].trim();
      continue;
    }
    const fence = /^```(\w*)/.exec(line);
    if (fence) current = { language: fence[1], section: headings.filter(Boolean).join(" > "), title: headings.filter(Boolean).at(-1), lines: [] };
  }
  return blocks;
}

/** The one JavaScript block under the heading `title` (its last heading). */
export function javascriptBlock(title, blocks = guideBlocks()) {
  const found = blocks.filter((block) => block.language === "javascript" && block.title === title);
  if (found.length !== 1) throw new Error(`expected one JavaScript block under "${title}" in the guide, found ${found.length}`);
  return found[0];
}

/** The SDK as `require('@payment-engine/sdk')` returns it inside the sandbox: the real
 * constructor, with the guide's public base URLs pointed at the engine under test. */
export function sdkFor(engine) {
  return class SandboxPaymentEngine extends PaymentEngine {
    constructor(options = {}) {
      const baseUrl = options.baseUrl === undefined || GUIDE_BASE_URLS.has(options.baseUrl) ? engine.baseUrl : options.baseUrl;
      super({ ...options, baseUrl });
    }
  };
}

/** A console that keeps what the guide's code logs (shown when a test fails). */
export function recordingConsole() {
  const lines = [];
  const keep = (level) => (...args) => lines.push([level, ...args]);
  return { lines, log: keep("log"), info: keep("info"), warn: keep("warn"), error: keep("error") };
}

/**
 * A sandbox to run guide blocks in. `globals` supplies the helpers; `env` is what the code
 * sees as `process.env`. Returns { context, run(block), get(name) }.
 */
export function guideSandbox(engine, { globals = {}, env = {} } = {}) {
  const sdk = sdkFor(engine);
  const modules = { "@payment-engine/sdk": sdk, crypto: nodeCrypto, express: require("express") };
  const sandboxRequire = (name) => {
    if (!(name in modules)) throw new Error(`the guide's code required ${name}, which the sandbox does not supply`);
    return modules[name];
  };
  const console = globals.console ?? recordingConsole();
  const context = vm.createContext({
    require: sandboxRequire,
    process: { env: { PAYMENT_ENGINE_API_KEY: engine.apiKey, ...env } },
    console,
    Buffer,
    URL,
    setTimeout,
    clearTimeout,
    Promise,
    ...globals,
  });
  return {
    context,
    console,
    env: context.process.env,
    run(block) {
      vm.runInContext(block.code, context, { filename: `guide: ${block.section}` });
    },
    /** A top-level binding of the code run so far (const, let, class or function). */
    get(name) {
      return vm.runInContext(name, context);
    },
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a truthy value (bounded by `timeoutMs`). */
export async function eventually(check, { timeoutMs = 20_000, intervalMs = 100, what = "the condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
