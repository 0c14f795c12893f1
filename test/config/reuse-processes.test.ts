/** backend.reuseProcesses: warm trainer processes (issue 15 item 3); default on for the local backend. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkExperiment, parseExperiment } from "../../src/config/schema";
import { createBackend } from "../../src/backends";
import type { LocalBackend } from "../../src/backends/local";
import type { SlurmBackend } from "../../src/backends/slurm/slurm";

const base = { name: "r", space: { lr: { loguniform: [1e-4, 1e-2] } } };

test("backend.reuseProcesses: a boolean, named in the error otherwise", () => {
  assert.deepEqual(checkExperiment({ ...base, backend: { kind: "local", reuseProcesses: "yes" } }), {
    ok: false,
    issues: ['backend.reuseProcesses: got "yes"; expected a boolean'],
  });
  assert.equal((parseExperiment({ ...base, backend: { kind: "local", reuseProcesses: false } }).backend as { reuseProcesses?: boolean }).reuseProcesses, false);
});

test("createBackend: local reuses processes unless told not to", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-reuse-"));
  try {
    const on = createBackend(parseExperiment({ ...base, runDir: dir }), { detectGpus: () => [] }) as LocalBackend;
    assert.equal(on.reuseProcesses, true);
    const off = createBackend(parseExperiment({ ...base, runDir: dir, backend: { kind: "local", reuseProcesses: false } }), { detectGpus: () => [] }) as LocalBackend;
    assert.equal(off.reuseProcesses, false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("slurm backend.reuseProcesses: a boolean, named in the error otherwise; off unless asked (an idle worker's job keeps its allocation)", () => {
  const slurm = { kind: "slurm", remoteDir: "/tmp/tunelab-reuse-remote" };
  assert.deepEqual(checkExperiment({ ...base, backend: { ...slurm, reuseProcesses: 1 } }), {
    ok: false,
    issues: ["backend.reuseProcesses: got 1; expected a boolean"],
  });
  const off = createBackend(parseExperiment({ ...base, backend: slurm })) as SlurmBackend;
  assert.equal(off.reuseProcesses, false);
  const on = createBackend(parseExperiment({ ...base, backend: { ...slurm, reuseProcesses: true } })) as SlurmBackend;
  assert.equal(on.reuseProcesses, true);
});
