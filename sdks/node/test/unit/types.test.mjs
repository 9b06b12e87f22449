// The published declarations, used as the guide and the README use the SDK, type-check
// under TypeScript's strict Node module resolution, from CommonJS and from an ES module.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const ts = require("typescript");

test("the declarations type-check in CommonJS and ES module code", () => {
  const files = ["usage.cts", "usage.mts"].map((name) => fileURLToPath(new URL(`../types/${name}`, import.meta.url)));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    types: ["node"],
    skipLibCheck: false,
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
  assert.deepEqual(diagnostics, []);
});
