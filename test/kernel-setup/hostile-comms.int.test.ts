/**
 * Hostile comm messages against the real kernel under Debian's jupyter_client
 * (issue 14): buffer_paths and state keys that reach prototypes, malformed
 * buffer paths and 900-level nesting are refused; Object.prototype stays
 * clean, the widget keeps its state, request_state and later updates work,
 * and the kernel answers the next cell.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { JupyterSandbox, PY, ROOT, ensureBuilt, ensureTunelabLink, jupyterSandbox, runProcess } from "./helpers";

const CHECKS = [
  "buffer_paths___proto__",
  "buffer_paths_constructor_prototype",
  "state_key___proto__",
  "nested_state_key_prototype",
  "buffer_path_negative_index",
  "buffer_paths_more_than_buffers",
  "buffer_paths_not_a_list",
  "deeply_nested_state",
  "request_state_after_hostile",
  "legit_update_still_applies",
  "hostile_comm_open_refused",
  "kernel_responsive",
];

let sandbox: JupyterSandbox;
const results = new Map<string, { ok: boolean; detail: unknown }>();
let rawOutput = "";
let kernelLog = "";

before(async () => {
  ensureBuilt();
  ensureTunelabLink();
  sandbox = jupyterSandbox();
  const log = path.join(sandbox.dir, "kernel.log");
  const r = await runProcess(
    PY,
    [path.join(ROOT, "test/kernel-setup/py/hostile_comms.py"), path.join(ROOT, "notebooks"), log, path.join(ROOT, "dist", "widgets", "widget.js")],
    { env: sandbox.env, timeoutMs: 240_000 },
  );
  rawOutput = r.stdout + r.stderr;
  kernelLog = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
  for (const line of r.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const j = JSON.parse(line);
    results.set(j.check, { ok: j.ok, detail: j.detail });
  }
});

after(() => sandbox?.cleanup());

for (const name of CHECKS) {
  test(`hostile comm: ${name}`, () => {
    const r = results.get(name);
    assert.ok(r, `check ${name} did not run; output:\n${rawOutput.slice(-3000)}`);
    assert.equal(r.ok, true, `check ${name} failed: ${JSON.stringify(r.detail, null, 1)}`);
  });
}

test("hostile comm: each refusal is logged with its reason", () => {
  const refused = kernelLog.split("\n").filter((l) => l.includes("refused:"));
  assert.equal(refused.length, 9, kernelLog.slice(-3000));
  assert.ok(refused.some((l) => /buffer_paths\[0\] holds "__proto__", which could reach a prototype/.test(l)));
  assert.ok(refused.some((l) => /nested deeper than 64 levels/.test(l)));
  assert.ok(refused.some((l) => /names 2 buffers but the message carries 1/.test(l)));
});
