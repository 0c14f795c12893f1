/**
 * End to end per method on the LOCAL backend with the real small-model
 * trainer (src/trainer/train.py, model "small", 3 tiny epochs): real
 * processes, real decision files, real checkpoints and restores.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { experiment } from "../../src/experiment";
import { killRunDirTrials } from "../../src/backends/local";
import type { ExperimentEvent } from "../../src/experiment/events";
import type { ExperimentInput, MethodSpec } from "../../src/config/types";
import { tmpDir } from "./helpers";

const TINY = { steps_per_epoch: 3, d_model: 32, eval_windows: 8 };
const SPACE = { lr: { loguniform: [0.0005, 0.01] as [number, number] }, batch_size: { choice: [4, 8] } };

async function runLocal(name: string, method: Partial<MethodSpec> & { kind: MethodSpec["kind"] }, extra: Partial<ExperimentInput> = {}) {
  const dir = tmpDir("tunelab-e2e-");
  const runDir = path.join(dir, "run");
  const exp = experiment({
    name, seed: 1, space: SPACE, method, samples: 4, maxConcurrent: 2,
    trainer: { model: "small", epochs: 3, env: { TUNELAB_THREADS: "1" }, options: TINY },
    backend: { kind: "local", gpus: [] }, runDir, ...extra,
  } as ExperimentInput, { pollMs: 200 });
  try {
    const s = await exp.run();
    return { exp, s, runDir };
  } finally {
    killRunDirTrials(runDir);
  }
}

function check(s: Awaited<ReturnType<typeof runLocal>>["s"], h: readonly ExperimentEvent[]) {
  assert.equal(s.state, "finished");
  for (const t of s.trials) {
    assert.ok(["completed", "stopped"].includes(t.state), `${t.trial_id}: ${t.state} ${t.message ?? ""}`);
    assert.ok(t.last_value !== null && Number.isFinite(t.last_value), `${t.trial_id} reported a real eval_loss`);
  }
  // a stopped trial never trained past the decision point where it was cut
  for (const d of h.filter((e) => e.type === "decision" && e.action === "stop") as any[]) {
    const tr = s.trials.find((t) => t.trial_id === d.trialId)!;
    if (tr.state === "stopped") assert.equal(tr.last_t, d.t);
  }
}

/** Every resumed trial restarts at its milestone from a checkpoint that exists. */
function checkResumedFromOwnCheckpoint(h: readonly ExperimentEvent[], runDir: string) {
  for (const r of h.filter((e) => e.type === "decision" && e.action === "resume") as any[]) {
    const tj = JSON.parse(fs.readFileSync(path.join(runDir, "trials", r.trialId, "trial.json"), "utf8"));
    assert.equal(tj.start_t, r.t);
    assert.ok(fs.existsSync(tj.restore_from), `restore_from ${tj.restore_from} exists`);
  }
}

test("local + real trainer: grid", async () => {
  const { exp, s } = await runLocal("e2e-grid", { kind: "grid" }, { space: { lr: { grid: [0.001, 0.003] }, batch_size: { grid: [4, 8] } } });
  check(s, exp.history());
  assert.deepEqual(s.states, { completed: 4 });
  assert.equal(s.best!.t, 3);
});

test("local + real trainer: ASHA (decision files at rungs 1, 2)", async () => {
  const { exp, s, runDir } = await runLocal("e2e-asha", { kind: "asha", reductionFactor: 2 });
  check(s, exp.history());
  const tj = JSON.parse(fs.readFileSync(path.join(runDir, "trials", "t000", "trial.json"), "utf8"));
  assert.deepEqual(tj.pause_at, [1, 2]);
  assert.ok(fs.existsSync(path.join(runDir, "trials", "t000", "decision-1.json")));
  assert.ok(s.states.completed! >= 1);
});

test("local + real trainer: HyperBand (pause at a milestone, resume from the own checkpoint)", async () => {
  const { exp, s, runDir } = await runLocal("e2e-hb", { kind: "hyperband", reductionFactor: 3 }, { samples: 5 });
  const h = exp.history();
  check(s, h);
  checkResumedFromOwnCheckpoint(h, runDir);
});

/** Every exploit continued from the donor's checkpoint: the next report of the exploiting trial is at donorT + 1. */
function checkExploits(h: readonly ExperimentEvent[], runDir: string) {
  const xs = h.filter((e) => e.type === "exploit") as any[];
  for (const x of xs) {
    const after = h.find((e) => e.type === "report" && e.trialId === x.trialId && e.at >= x.at && (e as any).report.t === x.donorT + 1);
    assert.ok(after, `${x.trialId} continued at donorT + 1 = ${x.donorT + 1}`);
  }
  if (xs.length) {
    const last = xs[xs.length - 1];
    const tj = JSON.parse(fs.readFileSync(path.join(runDir, "trials", last.trialId, "trial.json"), "utf8"));
    assert.equal(tj.start_t, last.donorT);
    assert.ok(tj.restore_from && fs.existsSync(tj.restore_from), "the copied checkpoint is in place");
    assert.ok(fs.existsSync(path.join(runDir, "pbt_global.txt")));
  }
  return xs;
}

test("local + real trainer: synchronous PBT (each barrier: the bottom quartile copies the top's checkpoint, the trainer restores it)", async () => {
  // Synchronous mode makes the exploit independent of process timing: at every
  // barrier the quantiles are fixed over all four members, the upper one keeps
  // its checkpoint and the lower one exploits it (population 4 → quantile 1).
  const { exp, s, runDir } = await runLocal("e2e-pbt-synch", { kind: "pbt", perturbationInterval: 1, synch: true }, {
    maxConcurrent: 4, trainer: { model: "small", epochs: 4, env: { TUNELAB_THREADS: "1" }, options: TINY },
  });
  const h = exp.history();
  check(s, h);
  assert.equal(s.states.completed, 4);
  const xs = checkExploits(h, runDir);
  // barriers at t = 1, 2, 3 (t = 4 is max_t): one exploit each
  assert.deepEqual(xs.map((x) => x.t), [1, 2, 3]);
});

test("local + real trainer: asynchronous PBT (whatever the timing, exploits restore the donor's checkpoint)", async () => {
  const { exp, s, runDir } = await runLocal("e2e-pbt", { kind: "pbt", perturbationInterval: 1 }, {
    maxConcurrent: 4, trainer: { model: "small", epochs: 4, env: { TUNELAB_THREADS: "1" }, options: TINY },
  });
  const h = exp.history();
  check(s, h);
  assert.equal(s.states.completed, 4);
  checkExploits(h, runDir);
  // each member reached every perturbation point (t = 1..3) once in its own lineage: decisions were taken there
  const perTrial = new Map<string, number>();
  for (const e of h) if (e.type === "report") perTrial.set(e.trialId, Math.max(perTrial.get(e.trialId) ?? 0, (e as any).report.t));
  assert.deepEqual([...perTrial.values()], [4, 4, 4, 4]);
});

test("local + real trainer: BOHB", async () => {
  const { exp, s, runDir } = await runLocal("e2e-bohb", { kind: "bohb", reductionFactor: 3 }, { samples: 5 });
  const h = exp.history();
  check(s, h);
  checkResumedFromOwnCheckpoint(h, runDir);
  assert.ok(s.trials.every((t) => typeof t.model_based_pick === "boolean"));
});
