/**
 * createBackend: the config -> backend factory (local, replay, slurm).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { createBackend, detectGpus } from "../../src/backends";
import { LocalBackend } from "../../src/backends/local";
import { ReplayBackend } from "../../src/backends/replay";
import type { ExperimentConfig } from "../../src/config/types";

const base = (backend: ExperimentConfig["backend"]): ExperimentConfig => ({
  name: "exp",
  metric: "eval_loss",
  mode: "min",
  seed: 0,
  space: { lr: { loguniform: [1e-4, 2.2e-2] }, batch_size: { choice: [16, 32] }, weight_decay: { choice: [0, 0.1] } },
  method: { kind: "random" },
  samples: 4,
  maxConcurrent: 3,
  trainer: { model: "small", epochs: 8, gpusPerTrial: 1, env: {} },
  backend,
  runDir: "/tmp/tunelab-index-test-run",
});

describe("createBackend", () => {
  it("local: concurrency from backend.maxConcurrent, else the experiment's; gpus from the config", () => {
    const a = createBackend(base({ kind: "local", gpus: [2, 3] }), { detectGpus: () => [9] });
    assert.ok(a instanceof LocalBackend);
    assert.equal(a.maxConcurrent, 3);
    assert.equal(a.trialDir("t1"), "/tmp/tunelab-index-test-run/trials/t1");
    const b = createBackend(base({ kind: "local", maxConcurrent: 5 }), { detectGpus: () => [] }) as LocalBackend;
    assert.equal(b.maxConcurrent, 5);
  });

  it("replay: curves resolve against baseDir and are checked against the space and metric", () => {
    const r = createBackend(base({ kind: "replay", curves: "data/curves/small-cpu.csv", timeScale: 0, queueDelay: 5 }), { baseDir: path.resolve(__dirname, "../..") });
    assert.ok(r instanceof ReplayBackend);
    assert.equal(r.queueDelayMs, 5000);
    assert.equal(r.table.configs.length, 32);
    const bad = { ...base({ kind: "replay", curves: "data/curves/small-cpu.csv" }), metric: "accuracy" };
    assert.throws(() => createBackend(bad, { baseDir: path.resolve(__dirname, "../..") }), /metric is "accuracy"/);
    assert.throws(() => createBackend(base({ kind: "replay", curves: "nope.csv" }), { baseDir: "/tmp" }), /backend.curves: cannot read \/tmp\/nope.csv/);
  });

  it("slurm: builds the SLURM backend without connecting", () => {
    const s = createBackend(base({ kind: "slurm", remoteDir: "/tmp/tunelab-index-remote" }));
    assert.equal(s.kind, "slurm");
  });

  it("detectGpus reads numeric CUDA_VISIBLE_DEVICES ids", () => {
    const old = process.env.CUDA_VISIBLE_DEVICES;
    try {
      process.env.CUDA_VISIBLE_DEVICES = "1,3";
      assert.deepEqual(detectGpus(), [1, 3]);
      process.env.CUDA_VISIBLE_DEVICES = "";
      assert.deepEqual(detectGpus(), []);
    } finally {
      if (old === undefined) delete process.env.CUDA_VISIBLE_DEVICES;
      else process.env.CUDA_VISIBLE_DEVICES = old;
    }
  });
});
