import { test } from "node:test";
import assert from "node:assert/strict";
import { createSearcher, GridSearcher, RandomSearcher } from "../../src/searchers";
import { parseExperiment } from "../../src/config/schema";
import { Rng } from "../../src/space/rng";

test("grid searcher: full cross product in the documented order, then null", () => {
  const g = new GridSearcher({ lr: { grid: [1e-4, 1e-3] }, bs: { choice: [1, 2] } });
  assert.equal(g.size(), 4);
  const got = [0, 1, 2, 3].map((i) => g.suggest(`t${i}`)!.config);
  assert.deepEqual(got, [{ lr: 1e-4, bs: 1 }, { lr: 1e-4, bs: 2 }, { lr: 1e-3, bs: 1 }, { lr: 1e-3, bs: 2 }]);
  assert.equal(g.suggest("t4"), null);
});

test("grid searcher state: a restored grid continues where it was", () => {
  const a = new GridSearcher({ x: { grid: [1, 2, 3] } });
  a.suggest("t0");
  const b = new GridSearcher({ x: { grid: [1, 2, 3] } });
  b.setState(JSON.parse(JSON.stringify(a.getState())));
  assert.deepEqual(b.suggest("t1"), { config: { x: 2 } });
});

test("random searcher: seeded, restorable", () => {
  const space = { lr: { loguniform: [1e-5, 1e-1] as [number, number] }, bs: { choice: [1, 2, 4] } };
  const a = new RandomSearcher(space, new Rng(3));
  a.suggest("t0");
  const b = new RandomSearcher(space, new Rng(4));
  b.setState(JSON.parse(JSON.stringify(a.getState())));
  for (let i = 1; i < 10; i++) assert.deepEqual(b.suggest(`t${i}`), a.suggest(`t${i}`));
});

test("createSearcher: grid limited to samples; bohb; random otherwise", () => {
  const g = createSearcher(parseExperiment({ name: "g", space: { a: { grid: [1, 2, 3] }, b: { choice: ["x", "y"] } }, method: { kind: "grid" }, samples: 4 }), new Rng(1));
  assert.equal(g.size(), 4);
  assert.equal(createSearcher(parseExperiment({ name: "b", space: { a: { uniform: [0, 1] } }, method: { kind: "bohb" } }), new Rng(1)).kind, "bohb");
  assert.equal(createSearcher(parseExperiment({ name: "r", space: { a: { uniform: [0, 1] } }, method: { kind: "asha" } }), new Rng(1)).kind, "random");
});

test("createSearcher follows config.searcher: tpe under ASHA, bohb's KDE under HyperBand", async () => {
  const { TpeSearcher } = await import("../../src/searchers/tpe");
  const space = { lr: { loguniform: [1e-5, 1e-1] }, bs: { choice: [1, 2] } };
  const t = createSearcher(parseExperiment({ name: "t", space, method: { kind: "asha", maxT: 4 }, trainer: { epochs: 4 }, searcher: { kind: "tpe", nStartupTrials: 3 } }), new Rng(1));
  assert.ok(t instanceof TpeSearcher);
  assert.equal((t as InstanceType<typeof TpeSearcher>).opts.nStartupTrials, 3);
  assert.equal((t as InstanceType<typeof TpeSearcher>).opts.maxT, 4);
  assert.equal(createSearcher(parseExperiment({ name: "b", space, method: { kind: "hyperband" }, searcher: { kind: "bohb" } }), new Rng(1)).kind, "bohb");
});

test("grid points once per repeat under any scheduler: ASHA over a 3 × 2 grid, 2 repeats", () => {
  const cfg = parseExperiment({ name: "g", space: { lr: { grid: [1, 2, 3] }, bs: { grid: [8, 16] }, wd: { choice: [0, 0.1] } }, method: { kind: "asha" }, samples: 12 });
  const s = createSearcher(cfg, new Rng(2));
  assert.equal(s.kind, "random");
  const got = Array.from({ length: 12 }, (_, i) => s.suggest(`t${i}`)!.config);
  const key = (c: Record<string, unknown>) => `${c.lr}/${c.bs}`;
  const once = ["1/8", "1/16", "2/8", "2/16", "3/8", "3/16"];
  assert.deepEqual(got.map(key), [...once, ...once]);
  assert.deepEqual(Object.keys(got[0]), ["lr", "bs", "wd"]);
  assert.ok(got.every((c) => c.wd === 0 || c.wd === 0.1));
  const g = createSearcher(parseExperiment({ name: "h", space: { a: { grid: [1, 2] }, b: { choice: ["x", "y"] } }, method: { kind: "hyperband" }, searcher: { kind: "grid" }, samples: 8 }), new Rng(1));
  const pts = Array.from({ length: 9 }, (_, i) => g.suggest(`t${i}`)?.config ?? null);
  assert.deepEqual(pts.slice(0, 4), [{ a: 1, b: "x" }, { a: 1, b: "y" }, { a: 2, b: "x" }, { a: 2, b: "y" }]);
  assert.deepEqual(pts.slice(4, 8), pts.slice(0, 4));
  assert.equal(pts[8], null);
});

test("observationFor: every report for TPE without a budget-giving scheduler; withSearcherFeedback tells TPE how trials ended", async () => {
  const { observationFor, withSearcherFeedback } = await import("../../src/searchers");
  const { createScheduler } = await import("../../src/schedulers");
  const cfg = parseExperiment({ name: "t", space: { x: { uniform: [0, 1] } }, method: { kind: "asha", reductionFactor: 2 }, trainer: { epochs: 4 }, searcher: { kind: "tpe", nStartupTrials: 1 } });
  const tpe = createSearcher(cfg, new Rng(3)) as import("../../src/searchers/tpe").TpeSearcher;
  const sched = withSearcherFeedback(createScheduler(cfg, new Rng(4)), tpe, 4);
  const rep = (t: number, v: number) => ({ t, time_total_s: t, checkpoint: null, eval_loss: v });
  assert.deepEqual(observationFor(sched, "a", { x: 0.5 }, rep(1, 2), "eval_loss", "min", tpe), { trialId: "a", config: { x: 0.5 }, budget: 1, loss: 2 });
  assert.equal(observationFor(sched, "a", { x: 0.5 }, rep(1, 2), "eval_loss", "min"), null); // no searcher named: nothing (BOHB's old rule)
  const a = tpe.suggest("a").config;
  sched.onTrialAdd({ trialId: "a", config: a });
  tpe.observe(observationFor(sched, "a", a, rep(1, 2), "eval_loss", "min", tpe)!);
  assert.equal(tpe.split(), null); // running trials do not count
  sched.onTrialComplete("a", rep(1, 2));
  assert.deepEqual(tpe.split()?.ids, ["a"]); // a stopped trial counts (Optuna's PRUNED)
  assert.equal(sched.kind, "asha");
  sched.onTrialAdd({ trialId: "b", config: { x: 0.1 } });
  assert.deepEqual(sched.decisionPoints("b"), [1, 2]); // ASHA's own methods pass through (rungs 1, 2 below max_t 4)
});
