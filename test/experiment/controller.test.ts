/**
 * The pure controller on its own: backend events, the time and user actions
 * in; experiment events and effects (data) out. No backend, no clock, no
 * files: each step is checked exactly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Controller, type ControllerConfig, type Effect, type StepOutput } from "../../src/experiment/controller";
import { parseExperiment } from "../../src/config/schema";
import { createScheduler } from "../../src/schedulers";
import type { BackendEvent, Report } from "../../src/backends/types";
import { Rng } from "../../src/space/rng";
import { ListSearcher } from "./helpers";

const CFG: ControllerConfig = {
  name: "c", method: "asha", metric: "eval_loss", mode: "min", seed: 7, samples: 3, maxConcurrent: 2, maxT: 4, gpusPerTrial: 1,
  command: ["trainer"], env: { A: "1" }, trainer: { model: "small" },
};

function asha() {
  const cfg = parseExperiment({ name: "c", space: { x: { choice: [1, 2, 3] } }, method: { kind: "asha", reductionFactor: 2, gracePeriod: 1, maxT: 4 }, samples: 3, trainer: { epochs: 4 } });
  return createScheduler(cfg, new Rng(1));
}

function make(samples = 3) {
  const searcher = new ListSearcher([{ x: 1 }, { x: 2 }, { x: 3 }]);
  const c = new Controller({ ...CFG, samples }, asha(), searcher, { trialDir: (id) => `/runs/c/trials/${id}`, recordCalls: true });
  return { c, searcher };
}

const rep = (id: string, t: number, v: number, at: number): BackendEvent => ({ type: "report", trialId: id, at, report: { t, eval_loss: v, time_total_s: t, checkpoint: `checkpoints/t${t}` } as Report });
const st = (id: string, state: "running" | "completed" | "stopped" | "paused", at: number): BackendEvent => ({ type: "state", trialId: id, state, at, exitCode: 0 });
const kinds = (o: StepOutput) => o.effects.map((f) => (f.kind === "submit" ? `submit ${f.launch.trialId}` : f.kind === "decide" ? `decide ${f.trialId}@${f.t} ${f.action}` : `${f.kind} ${"trialId" in f ? f.trialId : ""}`));

test("first step: trials added up to maxConcurrent, each a submit effect with the trial contract's trial.json", () => {
  const { c } = make();
  const b = c.begin(1000);
  assert.deepEqual(b.events, [{ type: "experiment_started", at: 1000, name: "c", method: "asha", maxT: 4 }]);
  assert.deepEqual(b.effects, []);
  const o = c.step({ events: [], now: 1000 });
  assert.deepEqual(kinds(o), ["submit t000", "submit t001"]);
  const s = o.effects[0] as Extract<Effect, { kind: "submit" }>;
  assert.deepEqual(s.launch, {
    trialId: "t000", command: ["trainer"], env: { A: "1" }, gpus: 1,
    trial: { trial_id: "t000", experiment: "c", config: { x: 1 }, max_t: 4, start_t: 0, restore_from: null, seed: 7, metric: "eval_loss", mode: "min", pause_at: [1, 2], trainer: { model: "small" } },
  });
  assert.deepEqual(o.events.map((e) => e.type), ["trial_added", "trial_state", "trial_added", "trial_state"]);
  assert.equal(o.end, null);
  assert.deepEqual(c.state.rungs, [1, 2]);
  assert.equal(c.liveCount(), 2);
});

test("a report at a decision point is answered in the same step; a cut trial frees its slot for the next one", () => {
  const { c, searcher } = make();
  c.begin(0);
  c.step({ events: [], now: 0 });
  c.step({ events: [st("t000", "running", 1), st("t001", "running", 1)], now: 1 });
  // t000 reaches rung 1 first: ASHA has nobody to compare with → continue
  let o = c.step({ events: [rep("t000", 1, 2.0, 10)], now: 10 });
  assert.deepEqual(kinds(o), ["decide t000@1 continue"]);
  // t001 is worse at rung 1 → stop at the decision point (an answer, not a kill)
  // (answered 1 s after the report: the decision says how long the trainer waited)
  o = c.step({ events: [rep("t001", 1, 3.0, 11)], now: 1011 });
  assert.deepEqual(kinds(o), ["decide t001@1 stop"]);
  const d = o.events.find((e) => e.type === "decision")!;
  assert.deepEqual({ ...d, reason: undefined }, { type: "decision", at: 1011, trialId: "t001", t: 1, action: "stop", reason: undefined, waited_s: 1 });
  // the trainer exits; its slot goes to t002 in the same step
  o = c.step({ events: [st("t001", "stopped", 1012), { type: "accounting", trialId: "t001", gpuSeconds: 1, runSeconds: 1, queueSeconds: 0, gpus: 1, source: "x" }], now: 1012 });
  assert.deepEqual(kinds(o), ["submit t002"]);
  assert.equal(c.table.get("t001")!.state, "stopped");
  // observations at decision points reach the searcher (loss = metric for min)
  assert.deepEqual(searcher.observed.map((x) => [x.trialId, x.budget, x.loss]), [["t000", 1, 2], ["t001", 1, 3]]);
  // every scheduler/searcher call was recorded for the journal, in order
  const calls = c.takeCalls().map(([t, m]) => `${t}.${m}`);
  assert.ok(calls.includes("scheduler.onResult") && calls.includes("searcher.suggest") && calls.includes("scheduler.onTrialComplete"));
  assert.deepEqual(c.takeCalls(), []);
});

test("interrupt pause: no new trials, waiting trainers told stop, running ones paused; the experiment ends paused; resumeInterrupted resumes them", () => {
  const { c } = make();
  c.begin(0);
  c.step({ events: [], now: 0 });
  c.step({ events: [st("t000", "running", 1), st("t001", "running", 1), rep("t000", 1, 2.0, 5)], now: 5 });
  // t000 continues past rung 1; now t001 waits at rung 1 and t000 trains toward 2
  const waiting = c.step({ events: [rep("t001", 1, 1.0, 6)], now: 6, user: [] });
  assert.deepEqual(kinds(waiting), ["decide t001@1 continue"]);
  c.step({ events: [rep("t001", 2, 0.9, 7)], now: 7 }); // t001 waits at rung 2 (nobody to compare yet → continue)
  const o = c.step({ events: [], now: 8, user: [{ kind: "interrupt", how: "pause" }] });
  assert.deepEqual(kinds(o), ["pause t000", "pause t001"]);
  assert.deepEqual(o.events.filter((e) => e.type === "decision").map((e: any) => [e.trialId, e.action, e.reason]), [["t000", "pause", "interrupted: paused"], ["t001", "pause", "interrupted: paused"]]);
  assert.equal(o.end, null);
  const end = c.step({ events: [st("t000", "paused", 9), st("t001", "paused", 9)], now: 9 });
  assert.equal(end.end, "paused");
  assert.deepEqual(end.effects, []);
  assert.deepEqual(end.events.map((e) => (e.type === "trial_state" ? `${e.trialId} ${e.state}` : e.type)), ["t000 paused", "t001 paused", "experiment_state"]);
  assert.equal(c.state.finished, false, "a paused experiment is not over");
  // attach: the same controller state continues; the parked trials resume from their own checkpoints
  const r = c.step({ events: [], now: 20, user: [{ kind: "resumeInterrupted" }] });
  const subs = r.effects.filter((f): f is Extract<Effect, { kind: "submit" }> => f.kind === "submit");
  assert.deepEqual(subs.map((f) => [f.launch.trialId, f.launch.trial.start_t, f.launch.trial.restore_from]), [
    ["t000", 1, "/runs/c/trials/t000/checkpoints/t1"],
    ["t001", 2, "/runs/c/trials/t001/checkpoints/t2"],
  ]);
});

test("interrupt stop: the experiment ends stopped with nothing left to start", () => {
  const { c } = make();
  c.begin(0);
  c.step({ events: [], now: 0 });
  const o = c.step({ events: [st("t000", "running", 1)], now: 1, user: [{ kind: "interrupt", how: "stop" }] });
  assert.deepEqual(kinds(o), ["stop t000", "stop t001"]);
  const end = c.step({ events: [st("t000", "stopped", 2), st("t001", "stopped", 2)], now: 2 });
  assert.equal(end.end, "stopped");
  assert.deepEqual(c.table.list().map((t) => `${t.trialId}:${t.state}:${t.message}`), ["t000:stopped:interrupted: stopped", "t001:stopped:interrupted: stopped"]);
  assert.equal(c.state.finished, true);
});
