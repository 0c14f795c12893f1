/**
 * On the LOCAL backend with real trainer processes (the contract suite's
 * fake trainer, test/backends/fixtures/fake_trainer.py):
 *  - `exp.requestStop("pause")` (the kernel's interrupt): no new trials, the
 *    running ones checkpoint and exit, run() resolves with the experiment
 *    "paused"; `experiment.attach` + run() resumes exactly those trials from
 *    their checkpoints and finishes;
 *  - `exp.requestStop("stop")`: the running trials are stopped, run()
 *    resolves "stopped", and a fresh run into that directory is allowed;
 *  - decisions at once: with a 30 s poll, a report at a rung is answered
 *    when it is written (the driver watches the trial directories).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { experiment, Experiment } from "../../src/experiment";
import { killRunDirTrials } from "../../src/backends/local";
import type { ExperimentEvent } from "../../src/experiment/events";
import type { ExperimentInput } from "../../src/config/types";
import { FAKE_TRAINER, PYTHON } from "../backends/harness-local";
import { tmpDir } from "./helpers";

function input(name: string, runDir: string, stepS: number, samples = 6): ExperimentInput {
  return {
    name, seed: 3, space: { lr: { loguniform: [1e-4, 1e-1] } },
    method: { kind: "asha", reductionFactor: 2, gracePeriod: 2 }, samples, maxConcurrent: 2,
    trainer: { epochs: 8, command: [PYTHON, FAKE_TRAINER], options: { step_s: stepS } },
    backend: { kind: "local", gpus: [] }, runDir,
  } as ExperimentInput;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** pids of every trainer process the run started (the fake trainer writes env.json) */
function trainerPids(runDir: string): number[] {
  const out: number[] = [];
  for (const id of fs.readdirSync(path.join(runDir, "trials"))) {
    const f = path.join(runDir, "trials", id, "env.json");
    if (fs.existsSync(f)) out.push(JSON.parse(fs.readFileSync(f, "utf8")).pid);
  }
  return out;
}

test("requestStop('pause'): running trials checkpoint and exit, run() resolves paused; attach resumes them and finishes", async () => {
  const runDir = path.join(tmpDir("tunelab-int-"), "run");
  try {
    const exp = experiment(input("int-pause", runDir, 0.25), { pollMs: 200 });
    let asked = false;
    exp.subscribe((e) => {
      // interrupt while two trials train between rungs
      if (!asked && e.type === "report" && e.report.t === 3) {
        asked = true;
        exp.requestStop("pause");
      }
    });
    const s = await exp.run();
    assert.equal(s.state, "paused");
    const h = exp.history();
    const at = h.find((e) => e.type === "decision" && e.reason === "interrupted: paused")!.at;
    assert.ok(h.every((e) => e.type !== "trial_added" || e.at <= at), "no trial was added after the interrupt");
    const parked = s.trials.filter((t) => t.state === "paused").map((t) => t.trial_id);
    assert.ok(parked.length >= 1, `trials paused by the interrupt: ${parked}`);
    for (const t of s.trials) assert.ok(["paused", "completed", "stopped"].includes(t.state), `${t.trial_id} ${t.state}`);
    assert.ok(s.trials.length < 6, "the interrupt came before every trial was started");
    for (const pid of trainerPids(runDir)) assert.equal(alive(pid), false, `trainer ${pid} exited`);
    const lines = fs.readFileSync(path.join(runDir, "journal.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.type === "experiment_state" && l.state === "paused"), "the interrupt is journaled");

    // a fresh run is refused (the run is unfinished); attach resumes exactly the parked trials
    await assert.rejects(experiment(input("int-pause", runDir, 0.25)).run(), /unfinished run of "int-pause"/);
    const att = Experiment.attach(runDir, { pollMs: 200 });
    const s2 = await att.run();
    assert.equal(s2.state, "finished");
    assert.equal(s2.trials.length, 6);
    const h2 = att.history().slice(h.length);
    const resumed = h2.filter((e): e is Extract<ExperimentEvent, { type: "decision" }> => e.type === "decision" && e.action === "resume").map((e) => e.trialId);
    for (const id of parked) {
      assert.ok(resumed.includes(id), `${id} resumed after attach`);
      const tj = JSON.parse(fs.readFileSync(path.join(runDir, "trials", id, "trial.json"), "utf8"));
      const last = s.trials.find((t) => t.trial_id === id)!.last_t!;
      assert.equal(tj.start_t, last, `${id} continues at its last t`);
      assert.equal(tj.restore_from, path.join(runDir, "trials", id, `checkpoints/t${String(last).padStart(4, "0")}`));
      const reps = att.history().filter((e) => e.type === "report" && e.trialId === id).map((e: any) => e.report.t);
      assert.deepEqual(reps, Array.from({ length: reps.length }, (_, i) => i + 1), `${id} reports every t once`);
    }
    for (const t of s2.trials) assert.ok(["completed", "stopped"].includes(t.state), `${t.trial_id} ${t.state}`);
  } finally {
    killRunDirTrials(runDir);
  }
});

test("requestStop('stop'): running trials are stopped, run() resolves stopped, no processes left", async () => {
  const runDir = path.join(tmpDir("tunelab-int-"), "run");
  try {
    const exp = experiment(input("int-stop", runDir, 0.25), { pollMs: 200 });
    exp.subscribe((e) => { if (e.type === "report" && e.report.t === 1) exp.requestStop("stop"); });
    const s = await exp.run();
    assert.equal(s.state, "stopped");
    assert.ok(s.trials.every((t) => t.state === "stopped" || t.state === "completed"), JSON.stringify(s.states));
    assert.ok(s.trials.some((t) => t.message === "interrupted: stopped"));
    assert.equal(s.trials.length, 2, "only the first two trials ever started");
    for (const pid of trainerPids(runDir)) assert.equal(alive(pid), false, `trainer ${pid} exited`);
    // a stopped run is over: a fresh one may take the directory
    const again = await experiment(input("int-stop", runDir, 0.01, 2), { pollMs: 100 }).run();
    assert.equal(again.state, "finished");
  } finally {
    killRunDirTrials(runDir);
  }
});

test("decisions at once: with a 30 s poll, every rung is answered as its report is written (trial dirs are watched)", async () => {
  const runDir = path.join(tmpDir("tunelab-int-"), "run");
  try {
    const exp = experiment(input("int-watch", runDir, 0.05, 4), { pollMs: 30_000 });
    const s = await exp.run();
    assert.equal(s.state, "finished");
    const atRungs = exp.history().filter((e) => e.type === "decision" && e.t !== null && [2, 4].includes(e.t)) as Array<Extract<ExperimentEvent, { type: "decision" }>>;
    assert.ok(atRungs.length >= 4, `${atRungs.length} rung decisions`);
    // without the watch, the first rung alone would wait for the next poll, 30 s after the start:
    // the whole run (4 trials, 8 steps of 0.05 s, rungs 2 and 4) ends before that poll would come
    assert.ok(s.wall_seconds < 30, `the run took ${s.wall_seconds} s: a decision waited for a poll`);
  } finally {
    killRunDirTrials(runDir);
  }
});
