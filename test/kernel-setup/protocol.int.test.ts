/**
 * The kernel driven by Debian's jupyter_client (a real client, real ZeroMQ):
 * test/kernel-setup/py/protocol_check.py prints one JSON line per check.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { JupyterSandbox, PY, ROOT, ensureBuilt, ensureTunelabLink, jupyterSandbox, runProcess } from "./helpers";

const CHECKS = [
  "kernel_info",
  "kernel_info_on_control",
  "execute_result",
  "execution_count",
  "silent",
  "stream_stdout",
  "error_throw",
  "error_compile",
  "stop_on_error_aborts_queue",
  "rich_display_last_expression",
  "last_expression_with_display_id",
  "stdin_input_request",
  "stdin_not_allowed",
  "display_and_update",
  "tslab_display",
  "comm_open_from_kernel_with_buffers",
  "comm_info_reply",
  "comm_frontend_buffer_echo",
  "comm_busy_idle_parent",
  "comm_close_from_frontend",
  "comm_while_cell_runs",
  "comm_unknown_target",
  "update_after_cell_returned",
  "child_process_stdout",
  "heartbeat_while_blocked",
  "interrupt_blocking",
  "interrupt_await",
  "interrupt_sigint",
  "timer_unhandled_rejection",
  "bad_signature",
  "complete",
  "inspect",
  "is_complete",
  "history",
  "library_import",
  "library_display_helper",
  "restart",
  "shutdown",
  "shutdown_hooks",
];

let sandbox: JupyterSandbox;
const results = new Map<string, { ok: boolean; detail: unknown }>();
let rawOutput = "";

before(async () => {
  ensureBuilt();
  ensureTunelabLink();
  sandbox = jupyterSandbox();
  const r = await runProcess(
    PY,
    [path.join(ROOT, "test/kernel-setup/py/protocol_check.py"), path.join(ROOT, "notebooks"), path.join(sandbox.dir, "kernel.log")],
    { env: sandbox.env, timeoutMs: 240_000 },
  );
  rawOutput = r.stdout + r.stderr;
  for (const line of r.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const j = JSON.parse(line);
    results.set(j.check, { ok: j.ok, detail: j.detail });
  }
});

after(() => sandbox?.cleanup());

for (const name of CHECKS) {
  test(`jupyter_client: ${name}`, () => {
    const r = results.get(name);
    assert.ok(r, `check ${name} did not run; output:\n${rawOutput.slice(-3000)}`);
    assert.equal(r.ok, true, `check ${name} failed: ${JSON.stringify(r.detail, null, 1)}`);
  });
}
