/**
 * Every method end to end on the real replay backend with the real
 * schedulers and searchers: `experiment({...})` exactly as a notebook cell
 * writes it. Checks the driver's side of each method's contract.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { experiment, type Experiment } from "../../src/experiment";
import type { ExperimentEvent } from "../../src/experiment/events";
import type { ExperimentInput } from "../../src/config/types";
import { gridCsv, tmpDir } from "./helpers";

function setup(input: Omit<ExperimentInput, "backend" | "runDir">): Experiment {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, "curves.csv"), gridCsv());
  return experiment({ backend: { kind: "replay", curves: path.join(dir, "curves.csv") }, runDir: path.join(dir, "run"), ...input } as ExperimentInput);
}

const SPACE = { lr: { loguniform: [0.001, 0.1] as [number, number] }, bs: { choice: [1, 2] } };

function reportsOf(h: readonly ExperimentEvent[], id: string): number[] {
  return h.filter((e) => e.type === "report" && e.trialId === id).map((e: any) => e.report.t);
}

test("HyperBand (replay): cuts only at milestones, nothing reported past the cut, paused trials resume from their own checkpoint", async () => {
  const exp = setup({ name: "hb", seed: 5, space: SPACE, method: { kind: "hyperband", reductionFactor: 3 }, samples: 9, maxConcurrent: 3, trainer: { epochs: 6 } });
  const s = await exp.run();
  const h = exp.history();
  assert.equal(s.state, "finished");
  assert.equal(s.trials.length, 9);
  const stops = h.filter((e) => e.type === "decision" && e.action === "stop") as any[];
  for (const d of stops) {
    const tr = s.trials.find((t) => t.trial_id === d.trialId)!;
    if (tr.state === "stopped") assert.equal(tr.last_t, d.t, `${d.trialId} trained past the milestone where it was cut`);
  }
  for (const t of s.trials) assert.ok(["completed", "stopped"].includes(t.state), `${t.trial_id} ${t.state}`);
  // resumes: the next run starts at the paused t from the trial's own checkpoint
  const resumes = h.filter((e) => e.type === "decision" && e.action === "resume") as any[];
  for (const r of resumes) {
    const reps = reportsOf(h, r.trialId);
    assert.deepEqual(reps, Array.from({ length: reps.length }, (_, i) => i + 1), `${r.trialId} continues at t+1 after resume`);
    const tj = JSON.parse(fs.readFileSync(path.join(exp.runDir, "trials", r.trialId, "trial.json"), "utf8"));
    assert.ok(tj.restore_from && tj.start_t > 0);
  }
  assert.ok(s.best && s.best.t === 6);
  assert.deepEqual(exp.rungs.length > 0, true);
});

test("BOHB (replay): brackets assigned, model_based_pick recorded per trial, completes", async () => {
  const exp = setup({ name: "bohb", seed: 2, space: SPACE, method: { kind: "bohb", reductionFactor: 3 }, samples: 12, maxConcurrent: 3, trainer: { epochs: 6 } });
  const s = await exp.run();
  assert.equal(s.state, "finished");
  assert.equal(s.trials.length, 12);
  assert.ok(s.trials.every((t) => typeof t.bracket === "number"), "every BOHB trial has a bracket");
  assert.ok(s.trials.every((t) => typeof t.model_based_pick === "boolean"), "every BOHB trial says whether the model picked it");
  assert.ok(s.trials.every((t) => ["completed", "stopped"].includes(t.state)));
});

test("PBT (replay, real scheduler): exploits restore the donor's checkpoint at its t with a config inside the domain; policy files in Ray's row format", async () => {
  const exp = setup({ name: "pbt", seed: 1, space: SPACE, method: { kind: "pbt", perturbationInterval: 1 }, samples: 4, maxConcurrent: 4, trainer: { epochs: 6 } });
  const s = await exp.run();
  const h = exp.history();
  const xs = h.filter((e) => e.type === "exploit") as Array<Extract<ExperimentEvent, { type: "exploit" }>>;
  assert.ok(xs.length >= 1, "at least one exploit");
  for (const x of xs) {
    assert.ok(Number(x.config.lr) >= 0.001 && Number(x.config.lr) <= 0.1, `lr ${x.config.lr} within the domain`);
    assert.ok([1, 2].includes(Number(x.config.bs)), `bs ${x.config.bs} within the choices`);
    // the target's first report after the exploit is donorT + 1
    const next = h.find((e) => e.type === "report" && e.trialId === x.trialId && e.at > x.at) as any;
    if (next) assert.equal(next.report.t, x.donorT + 1);
  }
  // the trial's current trial.json: the last exploit's restore (replay checkpoints are replay://donor/t)
  const last = xs[xs.length - 1];
  const tj = JSON.parse(fs.readFileSync(path.join(exp.runDir, "trials", last.trialId, "trial.json"), "utf8"));
  assert.equal(tj.start_t, last.donorT);
  assert.equal(tj.restore_from, `replay://${last.donor}/${last.donorT}`);
  assert.deepEqual(tj.config, last.config);
  const global = fs.readFileSync(path.join(exp.runDir, "pbt_global.txt"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(global.length, xs.length);
  for (const [i, row] of global.entries()) {
    assert.equal(row.length, 6);
    assert.deepEqual([row[0], row[1], row[2], row[3], row[5]], [xs[i].trialId, xs[i].donor, xs[i].t, xs[i].donorT, xs[i].config]);
  }
  // the target's policy file starts with the donor's lineage
  const pol = fs.readFileSync(path.join(exp.runDir, `pbt_policy_${last.trialId}.txt`), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(pol[pol.length - 1], global[global.length - 1]);
  assert.equal(s.states.completed, 4);
  assert.ok(s.best!.schedule && s.best!.schedule[0].t === 0);
  const row = exp.summaryRow();
  assert.deepEqual(row.schedule, s.best!.schedule);
});

test("show() falls back to a text line outside a kernel or returns the widget", async () => {
  const exp = setup({ name: "show", space: { lr: { grid: [0.1, 0.01] } }, method: { kind: "grid" }, samples: 2, maxConcurrent: 2, trainer: { epochs: 2 } });
  await exp.run();
  const v: any = exp.show();
  assert.ok(v !== null && v !== undefined);
  if (typeof v === "string") assert.match(v, /show: 2 trials/);
  else assert.equal(typeof v, "object");
});
