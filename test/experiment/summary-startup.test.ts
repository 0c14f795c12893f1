/** summary.json's start-up vs training time (issue 15 item 3): per trial and run totals, from the report lines' startup_s. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Experiment } from "../../src/experiment";
import { buildSummary, writeSummary } from "../../src/experiment/results";
import { foldEvents } from "../../src/experiment/table";
import type { ExperimentEvent } from "../../src/experiment/events";
import { config, LETTERS_CSV, ListSearcher, sim, tmpDir } from "./helpers";

const rep = (at: number, trialId: string, t: number, extra: Record<string, unknown> = {}): ExperimentEvent =>
  ({ type: "report", at, trialId, report: { t, eval_loss: 1 / t, time_total_s: t, checkpoint: null, ...extra } }) as ExperimentEvent;
const st = (at: number, trialId: string, state: string, run?: number): ExperimentEvent =>
  ({ type: "trial_state", at, trialId, state, ...(run !== undefined ? { run } : {}) }) as ExperimentEvent;

function events(): ExperimentEvent[] {
  return [
    { type: "experiment_started", at: 0, name: "su", method: "pbt", maxT: 3 },
    { type: "trial_added", at: 0, trialId: "t000", config: { cfg: "A" } },
    { type: "trial_added", at: 0, trialId: "t001", config: { cfg: "B" } },
    { type: "trial_added", at: 0, trialId: "t002", config: { cfg: "C" } },
    // t000: a cold run (start-up 2.5 s of 8 s), paused, then resumed in a warm worker (0.75 s of 4 s)
    st(1000, "t000", "running", 0),
    rep(5000, "t000", 1, { startup_s: 2.5, warm_start: false }),
    rep(8000, "t000", 2),
    st(9000, "t000", "paused", 0),
    st(20000, "t000", "pending", 1),
    st(21000, "t000", "running", 1),
    rep(23000, "t000", 3, { startup_s: 0.75, warm_start: true }),
    st(25000, "t000", "completed", 1),
    // t001: 1.5 s of 4 s
    st(2000, "t001", "running", 0),
    rep(4000, "t001", 1, { startup_s: 1.5 }),
    st(6000, "t001", "stopped", 0),
    // t002: the trainer's start-up (9 s) exceeds the backend's 2 s run: clamped to the run;
    // non-numbers, negatives and non-finite values are no start-up
    st(3000, "t002", "running", 0),
    rep(4000, "t002", 1, { startup_s: 9 }),
    rep(4500, "t002", 2, { startup_s: "7" }),
    rep(4600, "t002", 2, { startup_s: -1 }),
    rep(4700, "t002", 2, { startup_s: null }),
    st(5000, "t002", "failed", 0),
  ];
}

test("summary.json: startup_seconds / train_seconds per trial, run totals and startup_share from the reports' startup_s", () => {
  const dir = tmpDir();
  const cfg = config({ name: "su", space: { cfg: { choice: ["A", "B", "C"] } }, method: { kind: "pbt", perturbationInterval: 1 }, samples: 3, maxConcurrent: 3, trainer: { epochs: 3, gpusPerTrial: 1 } }, dir);
  const table = foldEvents(events(), "eval_loss", "min", 3);
  const s = buildSummary(cfg, table);
  const per = s.trials.map((t) => [t.trial_id, t.run_seconds, t.startup_seconds, t.train_seconds]);
  assert.deepEqual(per, [
    ["t000", 12, 3.25, 8.75],
    ["t001", 4, 1.5, 2.5],
    ["t002", 2, 2, 0],
  ]);
  assert.equal(s.run_seconds, 18);
  assert.equal(s.startup_seconds, 6.75);
  assert.equal(s.train_seconds, 11.25);
  assert.equal(s.startup_share, 0.375);
  // the keys reach summary.json
  const file = writeSummary(dir, s);
  const j = JSON.parse(fs.readFileSync(file, "utf8"));
  assert.equal(path.basename(file), "summary.json");
  assert.deepEqual([j.startup_seconds, j.train_seconds, j.startup_share], [6.75, 11.25, 0.375]);
  assert.deepEqual(j.trials.map((t: { startup_seconds: number; train_seconds: number }) => [t.startup_seconds, t.train_seconds]), [[3.25, 8.75], [1.5, 2.5], [2, 0]]);
});

test("summary.json: a run whose trainer reports no startup_s (replay) has startup 0, train = run seconds, share 0", async () => {
  const cfg = config({ name: "su0", space: { cfg: { choice: ["A", "B"] } }, method: { kind: "grid" }, samples: 2, maxConcurrent: 1, trainer: { epochs: 5, gpusPerTrial: 1 } }, tmpDir());
  const { backend } = sim(LETTERS_CSV);
  const exp = new Experiment(cfg, { backend, searcher: new ListSearcher([{ cfg: "A" }, { cfg: "B" }]) });
  const s = await exp.run();
  assert.deepEqual(s.trials.map((t) => [t.run_seconds, t.startup_seconds, t.train_seconds]), [[50, 0, 50], [55, 0, 55]]);
  assert.deepEqual([s.run_seconds, s.startup_seconds, s.train_seconds, s.startup_share], [105, 0, 105, 0]);
  // an empty run: no division by zero
  const empty = buildSummary(cfg, foldEvents([], "eval_loss", "min", 5));
  assert.deepEqual([empty.run_seconds, empty.startup_seconds, empty.train_seconds, empty.startup_share], [0, 0, 0, 0]);
});
