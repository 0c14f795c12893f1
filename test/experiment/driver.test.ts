/**
 * The experiment driver on a simulated replay cluster (in-test stand-in
 * backend, test/experiment/sim-backend.ts) with the real fifo / ASHA
 * schedulers and grid / random searchers where they exist.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Experiment } from "../../src/experiment";
import { readJournal } from "../../src/experiment/journal";
import { foldEvents } from "../../src/experiment/table";
import { buildSummary } from "../../src/experiment/results";
import type { ExperimentEvent } from "../../src/experiment/events";
import { config, gridCsv, LETTERS_CSV, ListSearcher, sim, StandInPbt, tmpDir } from "./helpers";

const LETTERS = ["A", "B", "C", "D", "E", "F"].map((cfg) => ({ cfg }));

function decisions(events: readonly ExperimentEvent[]) {
  return events.filter((e) => e.type === "decision").map((e: any) => `${e.trialId}@${e.t}:${e.action}`);
}

function maxLive(events: readonly ExperimentEvent[]): number {
  const live = new Set<string>();
  let mx = 0;
  for (const e of events) {
    if (e.type !== "trial_state") continue;
    if (["pending", "queued", "running"].includes(e.state)) live.add(e.trialId);
    else live.delete(e.trialId);
    mx = Math.max(mx, live.size);
  }
  return mx;
}

test("grid (fifo) on simulated replay: every trial runs to max_t, concurrency respected, summary per contract 3", async () => {
  const dir = tmpDir();
  const cfg = config({ name: "grid1", space: { lr: { grid: [0.1, 0.01, 0.001] }, bs: { grid: [1, 2] } }, method: { kind: "grid" }, samples: 6, maxConcurrent: 2, trainer: { epochs: 6 } }, dir);
  const { cluster, backend } = sim(gridCsv());
  const exp = new Experiment(cfg, { backend, pollMs: 1000 });
  const s = await exp.run();
  assert.deepEqual(s.states, { completed: 6 });
  assert.equal(s.trials.length, 6);
  assert.deepEqual(s.trials.map((t) => t.trial_id), ["t000", "t001", "t002", "t003", "t004", "t005"]);
  for (const t of s.trials) assert.equal(t.last_t, 6);
  // grid order: last key fastest
  assert.deepEqual(s.trials.map((t) => `${t.config.lr}/${t.config.bs}`), ["0.1/1", "0.1/2", "0.01/1", "0.01/2", "0.001/1", "0.001/2"]);
  assert.equal(maxLive(exp.history()), 2);
  // lr=0.01,bs=1 has q=0: loss at t=6 = 2 + 0.5 = 2.5
  assert.equal(s.best!.trial_id, "t002");
  assert.equal(s.best!.value, 2.5);
  assert.equal(s.best!.t, 6);
  assert.deepEqual(s.best!.config, { lr: 0.01, bs: 1 });
  // trial.json per the trial contract
  const l = cluster.submissions[0];
  assert.deepEqual(Object.keys(l.trial).sort(), ["config", "experiment", "max_t", "metric", "mode", "pause_at", "restore_from", "seed", "start_t", "trainer", "trial_id"]);
  assert.equal(l.trial.start_t, 0);
  assert.equal(l.trial.restore_from, null);
  assert.deepEqual(l.trial.pause_at, []);
  // GPU seconds: each trial 6 steps of (5+bs) s, 1 GPU
  assert.equal(s.trials[0].gpu_seconds, 36);
  assert.equal(s.trials[1].gpu_seconds, 42);
  assert.equal(s.gpu_seconds, 3 * 36 + 3 * 42);
  // summary.json on disk, exact contract-3 keys present
  const onDisk = JSON.parse(fs.readFileSync(path.join(cfg.runDir, "summary.json"), "utf8"));
  for (const k of ["experiment", "method", "metric", "mode", "best", "best_any", "gpu_seconds", "wall_seconds", "time_to_best_s", "states", "trials"]) assert.ok(k in onDisk, k);
  assert.deepEqual(Object.keys(onDisk.best).sort(), ["config", "t", "trial_id", "value"]);
  for (const k of ["trial_id", "config", "state", "last_t", "gpu_seconds", "queue_seconds"]) assert.ok(k in onDisk.trials[0], k);
  assert.equal(onDisk.method, "grid");
  assert.equal(onDisk.state, "finished");
  assert.ok(fs.existsSync(path.join(cfg.runDir, "experiment.json")));
  // time to best = from start to the report of t002 at t=6: t000/t001 ran 36 s / 42 s, t002 starts at the first free slot
  const rep = exp.history().find((e) => e.type === "report" && e.trialId === "t002" && e.report.t === 6)!;
  assert.equal(s.time_to_best_s, (rep.at - exp.history()[0].at) / 1000);
  assert.equal(backend.closed, true);
});

test("ASHA (real scheduler) sequential on six curves: stops B@1, D@1, E@2; nobody trains past the rung where it was cut", async () => {
  const dir = tmpDir();
  const cfg = config({ name: "asha1", space: { cfg: { choice: ["A", "B", "C", "D", "E", "F"] } }, method: { kind: "asha", reductionFactor: 2, gracePeriod: 1 }, samples: 6, maxConcurrent: 1, trainer: { epochs: 5 } }, dir);
  const { cluster, backend } = sim(LETTERS_CSV);
  const searcher = new ListSearcher(LETTERS);
  const exp = new Experiment(cfg, { backend, searcher });
  const s = await exp.run();
  const byCfg = Object.fromEntries(s.trials.map((t) => [t.config.cfg, t]));
  assert.deepEqual(Object.fromEntries(Object.entries(byCfg).map(([k, t]) => [k, `${t.state}@${t.last_t}`])), {
    A: "completed@5", B: "stopped@1", C: "completed@5", D: "stopped@1", E: "stopped@2", F: "completed@5",
  });
  // decision points written into trial.json: the rungs below max_t
  assert.deepEqual(cluster.submissions[0].trial.pause_at, [1, 2, 4]);
  // stops are answers at decision points, never kills
  assert.equal(cluster.signals.length, 0);
  const stops = decisions(exp.history()).filter((d) => d.endsWith(":stop"));
  // (a stop at t = max_t is ASHA's max_t rule: recorded, the trainer ends by itself)
  assert.deepEqual(stops, ["t000@5:stop", "t001@1:stop", "t002@5:stop", "t003@1:stop", "t004@2:stop", "t005@5:stop"]);
  assert.equal(s.best!.trial_id, "t002");
  assert.equal(s.best!.value, 0.5);
  assert.equal(s.best!.t, 5);
  assert.deepEqual(s.best_any, { trial_id: "t005", config: { cfg: "F" }, value: 0.4, t: 4 });
  // BOHB-style observations reach the searcher at decision points and max_t
  assert.deepEqual(searcher.observed.filter((o) => o.trialId === "t004").map((o) => [o.budget, o.loss]), [[1, 4.5], [2, 3.8]]);
});

test("ASHA concurrent (4 at once, random searcher): every stop is at a rung and no trial reports past it", async () => {
  const dir = tmpDir();
  const cfg = config({ name: "asha2", seed: 7, space: { lr: { loguniform: [0.0005, 0.2] }, bs: { choice: [1, 2] } }, method: { kind: "asha", reductionFactor: 2 }, samples: 12, maxConcurrent: 4, trainer: { epochs: 6 } }, dir);
  const { backend } = sim(gridCsv());
  const exp = new Experiment(cfg, { backend });
  const s = await exp.run();
  const h = exp.history();
  assert.equal(s.trials.length, 12);
  assert.ok(maxLive(h) <= 4);
  const rungs = [1, 2, 4];
  assert.deepEqual(exp.rungs, rungs);
  let stopped = 0;
  for (const tr of s.trials) {
    const reps = h.filter((e) => e.type === "report" && e.trialId === tr.trial_id).map((e: any) => e.report.t);
    assert.deepEqual(reps, Array.from({ length: reps.length }, (_, i) => i + 1), `${tr.trial_id} reports consecutive t`);
    if (tr.state === "stopped") {
      stopped++;
      const d = h.find((e) => e.type === "decision" && e.trialId === tr.trial_id && e.action === "stop") as any;
      assert.ok(rungs.includes(d.t), `${tr.trial_id} stopped at a rung`);
      assert.equal(tr.last_t, d.t, `${tr.trial_id} reported nothing after the rung where it was cut`);
    } else assert.equal(tr.state, "completed");
  }
  assert.ok(stopped >= 3, `ASHA stopped ${stopped} trials`);
});

test("PBT exploit (stand-in scheduler): checkpoint copied, restart with restore_from, start_t = donor t, explored config, policy files", async () => {
  const dir = tmpDir();
  const cfg = config({ name: "pbt1", space: { lr: { choice: [0.1, 0.01, 0.001] }, bs: { choice: [1, 2] } }, method: { kind: "pbt", perturbationInterval: 2 }, samples: 3, maxConcurrent: 3, trainer: { epochs: 6 } }, dir);
  const { cluster, backend } = sim(gridCsv());
  const searcher = new ListSearcher([{ lr: 0.01, bs: 1 }, { lr: 0.1, bs: 2 }, { lr: 0.001, bs: 1 }]);
  const exp = new Experiment(cfg, { backend, searcher, scheduler: new StandInPbt([2, 4]) });
  const s = await exp.run();
  const h = exp.history();
  const exploits = h.filter((e) => e.type === "exploit") as Array<Extract<ExperimentEvent, { type: "exploit" }>>;
  assert.ok(exploits.length >= 1);
  const x = exploits[0];
  assert.equal(x.donor, "t000");
  // the copy happened, and the resubmission restores from it at the donor's t with the explored config
  const copy = cluster.copies[0];
  assert.deepEqual([copy.from, copy.rel, copy.to], [x.donor, `checkpoints/ckpt-${x.donorT}`, x.trialId]);
  const resub = cluster.submissions.filter((l) => l.trialId === x.trialId)[1];
  assert.equal(resub.trial.restore_from, copy.path);
  assert.equal(resub.trial.start_t, x.donorT);
  assert.deepEqual(resub.trial.config, x.config);
  assert.deepEqual(resub.trial.pause_at, [2, 4].filter((t) => t > x.donorT));
  assert.deepEqual(x.config, { lr: 0.001, bs: 1 }); // donor lr 0.01 shifted right, within the ordered choices
  // the target's next report continues at donorT + 1
  const after = h.filter((e) => e.type === "report" && e.trialId === x.trialId && e.at > x.at).map((e: any) => e.report.t);
  assert.equal(after[0], x.donorT + 1);
  // policy files: Ray's row format [target, donor, target_t, donor_t, donor_config, new_config]
  const global = fs.readFileSync(path.join(cfg.runDir, "pbt_global.txt"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(global.length, exploits.length);
  assert.deepEqual(global[0], [x.trialId, x.donor, x.t, x.donorT, { lr: 0.01, bs: 1 }, x.config]);
  const pol = fs.readFileSync(path.join(cfg.runDir, `pbt_policy_${x.trialId}.txt`), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(pol[pol.length - 1], global.find((r) => r[0] === x.trialId && r[2] === pol[pol.length - 1][2]));
  // all trials end at max_t; best.schedule lists the phases
  assert.deepEqual(s.states, { completed: 3 });
  assert.ok(s.best && s.best.schedule && s.best.schedule[0].t === 0);
});

test("a failing trial is recorded with its stderr tail; the other trials' results survive", async () => {
  const dir = tmpDir();
  const cfg = config({ name: "fail1", space: { lr: { grid: [0.1, 0.01, 0.001] }, bs: { grid: [1] } }, method: { kind: "grid" }, samples: 3, maxConcurrent: 3, trainer: { epochs: 6 } }, dir);
  const { backend } = sim(gridCsv(), { failAt: (c) => (c.lr === 0.1 ? 3 : null) });
  const exp = new Experiment(cfg, { backend });
  const s = await exp.run();
  assert.deepEqual(s.states, { failed: 1, completed: 2 });
  const f = s.trials.find((t) => t.state === "failed")!;
  assert.equal(f.trial_id, "t000");
  assert.equal(f.last_t, 2);
  assert.match(f.message!, /RuntimeError: simulated crash/);
  assert.equal(s.best!.trial_id, "t001");
  assert.equal(s.state, "finished");
});

test("budget stop (GPU-minutes on the backend's clock): running trials stopped, no new ones, state budget_exhausted", async () => {
  const dir = tmpDir();
  // 2 trials at once, 6 s per step: 2 GPU-minutes are spent after 60 s of both running
  const cfg = config({ name: "budget1", space: { lr: { grid: [0.1, 0.01, 0.001] }, bs: { grid: [1] } }, method: { kind: "grid" }, samples: 3, maxConcurrent: 2, budget: { gpuMinutes: 1 }, trainer: { epochs: 6 } }, dir);
  const { cluster, backend } = sim(gridCsv());
  const exp = new Experiment(cfg, { backend, pollMs: 1000 });
  const s = await exp.run();
  assert.equal(s.state, "budget_exhausted");
  assert.equal(s.trials.length, 2, "the third trial was never started");
  assert.deepEqual(s.states, { stopped: 2 });
  // graceful stop: SIGUSR1-style pause of running trainers
  assert.deepEqual(cluster.signals.map((x) => x.sig), ["pause", "pause"]);
  assert.ok(s.gpu_seconds >= 60 && s.gpu_seconds <= 62, String(s.gpu_seconds));
  for (const t of s.trials) assert.ok((t.last_t ?? 0) < 6);
});

test("journal round trip: the summary rebuilt from journal.jsonl equals the live one", async () => {
  const dir = tmpDir();
  const cfg = config({ name: "rt1", space: { cfg: { choice: ["A", "B", "C", "D", "E", "F"] } }, method: { kind: "asha", reductionFactor: 2 }, samples: 6, maxConcurrent: 2, trainer: { epochs: 5 } }, dir);
  const { backend } = sim(LETTERS_CSV);
  const exp = new Experiment(cfg, { backend, searcher: new ListSearcher(LETTERS) });
  const live = await exp.run();
  const j = readJournal(path.join(cfg.runDir, "journal.jsonl"));
  assert.equal(j.trailing.length, 0);
  assert.ok(j.snapshot);
  assert.deepEqual(j.events, exp.history());
  const table = foldEvents(j.events, cfg.metric, cfg.mode, 5, 1);
  assert.deepEqual(buildSummary(cfg, table), live);
  // every line of the journal is one JSON object
  const lines = fs.readFileSync(path.join(cfg.runDir, "journal.jsonl"), "utf8").trim().split("\n");
  assert.ok(lines.every((l) => typeof JSON.parse(l).type === "string"));
  assert.ok(lines.some((l) => JSON.parse(l).type === "snapshot"));
});

test("a second run into an unfinished run dir is refused (attach instead)", async () => {
  const dir = tmpDir();
  const cfg = config({ name: "unf", space: { lr: { grid: [0.1, 0.01] } }, method: { kind: "grid" }, samples: 2, maxConcurrent: 1, trainer: { epochs: 3 } }, dir);
  const ac = new AbortController();
  const { backend } = sim(gridCsv());
  const exp = new Experiment(cfg, { backend, signal: ac.signal });
  exp.subscribe((e) => { if (e.type === "report") ac.abort(); });
  await exp.run();
  const again = new Experiment(cfg, { backend: sim(gridCsv()).backend });
  await assert.rejects(again.run(), /unfinished run of "unf".*experiment\.attach/);
});

test("budget stop (wall-clock on the backend's virtual clock): a trainer waiting at a decision point gets stop", async () => {
  const dir = tmpDir();
  // ASHA rungs 1,2,4; steps of 10-15 s; 0.5 wall-minutes = 30 s: the budget ends while trials train or wait
  const cfg = config({ name: "budget2", space: { cfg: { choice: ["A", "B", "C", "D", "E", "F"] } }, method: { kind: "asha", reductionFactor: 2 }, samples: 6, maxConcurrent: 2, budget: { wallMinutes: 0.5 }, trainer: { epochs: 5 } }, dir);
  const { cluster, backend } = sim(LETTERS_CSV);
  const exp = new Experiment(cfg, { backend, searcher: new ListSearcher(LETTERS) });
  const s = await exp.run();
  assert.equal(s.state, "budget_exhausted");
  const h = exp.history();
  const start = h[0].at;
  const budgetStops = h.filter((e) => e.type === "decision" && /wall-clock budget of 0.5 minutes spent/.test((e as any).reason ?? "")) as any[];
  assert.ok(budgetStops.length >= 1);
  for (const d of budgetStops) assert.ok(d.at - start >= 30_000);
  // nothing started after the budget ran out, and nothing is left running
  const firstStop = budgetStops[0].at;
  assert.ok(h.every((e) => e.type !== "trial_added" || e.at < firstStop));
  assert.ok(s.trials.every((t) => ["stopped", "completed"].includes(t.state)));
  assert.ok(cluster.log.length > 0);
});

test("an exploit of a donor already at max_t is answered continue (a restart at start_t = max_t would train nothing)", async () => {
  const dir = tmpDir();
  const cfg = config({ name: "pbtmax", space: { lr: { choice: [0.1, 0.01] }, bs: { choice: [1] } }, method: { kind: "pbt", perturbationInterval: 2 }, samples: 2, maxConcurrent: 1, trainer: { epochs: 6 } }, dir);
  const { cluster, backend } = sim(gridCsv());
  const pbt = new StandInPbt([2, 4]);
  // the stand-in picks donors among trials that reached t; t000 finished (t = 6) before t001 started
  const exp = new Experiment(cfg, { backend, scheduler: pbt, searcher: new ListSearcher([{ lr: 0.01, bs: 1 }, { lr: 0.1, bs: 1 }]) });
  const s = await exp.run();
  const d = exp.history().filter((e) => e.type === "decision" && e.trialId === "t001") as any[];
  assert.deepEqual(d.map((x) => `${x.t}:${x.action}`), ["2:continue", "4:continue"]);
  assert.match(d[0].reason, /exploit of t000@6 ignored: the donor is at max_t/);
  assert.equal(cluster.copies.length, 0);
  assert.deepEqual(s.states, { completed: 2 });
  assert.equal(exp.history().filter((e) => e.type === "exploit").length, 0);
});

test("synchronous PBT (real scheduler): a member exploited while its pause is still in flight is recorded and relaunched from the donor", async () => {
  const dir = tmpDir();
  const cfg = config({ name: "pbtsynch", space: { lr: { choice: [0.1, 0.01, 0.001] }, bs: { choice: [1, 2] } }, method: { kind: "pbt", perturbationInterval: 2, synch: true }, samples: 4, maxConcurrent: 4, trainer: { epochs: 6 } }, dir);
  const { cluster, backend } = sim(gridCsv());
  const searcher = new ListSearcher([{ lr: 0.01, bs: 1 }, { lr: 0.1, bs: 1 }, { lr: 0.001, bs: 1 }, { lr: 0.1, bs: 1 }]); // same epoch time: all four reach each barrier in one poll
  const exp = new Experiment(cfg, { backend, searcher });
  const s = await exp.run();
  const h = exp.history();
  const exploits = h.filter((e) => e.type === "exploit") as Array<Extract<ExperimentEvent, { type: "exploit" }>>;
  // barriers at t = 2 and 4, population 4 → quantile 1: one exploit per barrier
  assert.deepEqual(exploits.map((x) => [x.trialId, x.t, x.donorT]), [["t001", 2, 2], ["t001", 4, 4]]);
  assert.deepEqual(exploits.map((x) => x.donor), ["t000", "t000"]);
  // the runs restored from a copied checkpoint are exactly those exploits, each with the explored config
  const fromDonor = cluster.submissions.filter((l) => /\/from-/.test(l.trial.restore_from ?? ""));
  assert.deepEqual(fromDonor.map((l) => [l.trialId, l.trial.start_t, l.trial.config]), exploits.map((x) => [x.trialId, x.donorT, x.config]));
  // each exploit copied the donor's checkpoint and the relaunch restores from it
  assert.deepEqual(cluster.copies.map((c) => [c.from, c.to]), [["t000", "t001"], ["t000", "t001"]]);
  const global = fs.readFileSync(path.join(cfg.runDir, "pbt_global.txt"), "utf8").trim().split("\n");
  assert.equal(global.length, 2);
  assert.deepEqual(s.states, { completed: 4 });
});
