import { test } from "node:test";
import assert from "node:assert/strict";
import { PbtScheduler, exploreValue, quantileSize, type PbtOptions } from "../../src/schedulers/pbt";
import { simulate } from "../../src/schedulers/simulate";
import { RandomSearcher } from "../../src/searchers/random";
import { contains, type Domain } from "../../src/space/domains";
import { Rng } from "../../src/space/rng";
import type { SpaceSpec } from "../../src/config/types";
import { report } from "./trace";

const space: SpaceSpec = { lr: { loguniform: [1e-5, 1e-3] }, bs: { choice: [1, 2] }, wd: { choice: [0, 0.01] }, layers: { int: [1, 4] } };
const opts = (o: Partial<PbtOptions> = {}): PbtOptions => ({
  metric: "loss", mode: "min", perturbationInterval: 1, burnInPeriod: 0, quantileFraction: 0.25, resampleProbability: 0.25,
  perturbationFactors: [1.2, 0.8], space, synch: false, population: 4, maxT: 10, ...o,
});

test("quantile sizes for populations 2–12 with fraction 0.25: 1,1,1,2,2,2,2,3,3,3,3", () => {
  assert.deepEqual(Array.from({ length: 11 }, (_, i) => quantileSize(i + 2, 0.25)), [1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
  assert.equal(quantileSize(1, 0.25), 0);
  assert.equal(quantileSize(4, 0.5), 2);
});

test("ordered-list mutations at the ends: 1 in [1,2] becomes only 1 or 2 (never 0); 2 becomes 1 or 2", () => {
  const d: Domain = { type: "choice", values: [1, 2] };
  for (const p of [0, 0.25, 1]) {
    const rng = new Rng(17);
    const seen1 = new Set<unknown>(), seen2 = new Set<unknown>();
    for (let i = 0; i < 400; i++) {
      seen1.add(exploreValue(d, 1, rng, p, [1.2, 0.8]).value);
      seen2.add(exploreValue(d, 2, rng, p, [1.2, 0.8]).value);
    }
    assert.deepEqual([...seen1].sort(), [1, 2], `p=${p}`);
    assert.deepEqual([...seen2].sort(), [1, 2], `p=${p}`);
  }
  // the clamped shift is a logged no-op, like Ray's "shift left (noop)"
  const rng = new Rng(1);
  const ops = new Set(Array.from({ length: 100 }, () => exploreValue(d, 1, rng, 0, [1.2, 0.8]).op));
  assert.deepEqual([...ops].sort(), ["shift left (noop)", "shift right"]);
  // wd ∈ {0, 0.01} stays in the set (Ray's tune.choice would give 0.008/0.012)
  const w: Domain = { type: "choice", values: [0, 0.01] };
  for (let i = 0; i < 100; i++) assert.ok([0, 0.01].includes(exploreValue(w, 0.01, rng, 0.25, [1.2, 0.8]).value as number));
});

test("continuous and int mutations: ×1.2 / ×0.8, clamped into the domain, ints rounded; values always validated", () => {
  const lr: Domain = { type: "loguniform", lo: 1e-5, hi: 1e-3 };
  const rng = new Rng(5);
  const vals = new Set(Array.from({ length: 200 }, () => exploreValue(lr, 5e-4, rng, 0, [1.2, 0.8]).value));
  assert.deepEqual([...vals].sort(), [5e-4 * 0.8, 5e-4 * 1.2].sort());
  const top = exploreValue(lr, 1e-3, new Rng(2), 0, [1.2, 1.2]);
  assert.deepEqual(top, { value: 1e-3, op: "* 1.2 (clamped)" });
  const layers: Domain = { type: "int", lo: 1, hi: 4 };
  const r2 = new Rng(9);
  for (let i = 0; i < 200; i++) {
    const v = exploreValue(layers, 3, r2, 0.25, [1.2, 0.8]).value;
    assert.ok(contains(layers, v), String(v));
  }
  assert.equal(exploreValue(layers, 3, new Rng(1), 0, [1.2, 1.2]).value, 4); // round(3.6)
  assert.equal(exploreValue(layers, 1, new Rng(1), 0, [0.8, 0.8]).value, 1); // round(0.8) = 1, never 0
});

function population(s: PbtScheduler, n: number) {
  for (let i = 0; i < n; i++) s.onTrialAdd({ trialId: `p${i}`, config: { lr: 1e-4 * (i + 1), bs: 1, wd: 0, layers: 2 } });
}

test("async exploit: the lower quantile copies a random upper-quantile donor's checkpoint, config explored, policy rows in Ray's format", () => {
  const s = new PbtScheduler(opts({ resampleProbability: 0 }), new Rng(3));
  population(s, 4);
  // t=1 perturbation point for everybody; p3 best, p0 worst. As in Ray, a donor's
  // checkpoint counts only if the donor was in the upper quantile at its OWN last
  // perturbation point, so the order of arrival matters.
  s.onResult("p1", report(1, 3, "loss", "checkpoints/1"));
  s.onResult("p2", report(1, 2, "loss", "checkpoints/1"));
  assert.deepEqual(s.onResult("p3", report(1, 1, "loss", "checkpoints/1")), [{ trialId: "p3", action: "continue" }]);
  const acts = s.onResult("p0", report(1, 9, "loss", "checkpoints/1"));
  assert.equal(acts.length, 1);
  const a = acts[0];
  assert.equal(a.action, "exploit");
  if (a.action !== "exploit") return;
  assert.equal(a.donor, "p3");
  assert.equal(a.checkpoint, "checkpoints/1");
  assert.equal(a.donorT, 1);
  assert.deepEqual(Object.keys(a.mutations).sort(), ["bs", "layers", "lr", "wd"]);
  assert.ok([0.0004 * 1.2, 0.0004 * 0.8].includes(a.config.lr as number));
  const rows = s.policyRows();
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0].slice(0, 5), ["p0", "p3", 1, 1, { lr: 0.0004, bs: 1, wd: 0, layers: 2 }]);
  assert.deepEqual(rows[0][5], a.config);
  assert.deepEqual(s.policyFor("p0"), rows);
  assert.deepEqual(s.configOf("p0"), a.config);
});

test("exploit only when the donor has a checkpoint (else skipped, logged)", () => {
  const s = new PbtScheduler(opts(), new Rng(3));
  population(s, 4);
  s.onResult("p1", report(1, 3, "loss", "ck"));
  s.onResult("p2", report(1, 2, "loss", "ck"));
  s.onResult("p3", report(1, 1, "loss", null)); // best, but its report named no checkpoint
  assert.deepEqual(s.onResult("p0", report(1, 9)), [{ trialId: "p0", action: "continue" }]);
  assert.deepEqual(s.skippedExploits(), [{ target: "p0", donor: "p3", t: 1 }]);
  assert.deepEqual(s.policyRows(), []);
});

test("lineage: a trial exploiting a donor inherits the donor's policy rows", () => {
  const s = new PbtScheduler(opts({ resampleProbability: 0, population: 2 }), new Rng(1));
  population(s, 2);
  s.onResult("p1", report(1, 1, "loss", "ck/1")); // alone: no quantiles yet
  s.onResult("p0", report(1, 5, "loss", "ck/1")); // lower, but the donor p1 has no checkpoint yet: skipped
  s.onResult("p1", report(2, 1, "loss", "ck/2")); // upper → its checkpoint counts
  assert.equal(s.onResult("p0", report(2, 5, "loss", "ck/2"))[0].action, "exploit"); // p0 ← p1 (p1's t=2 checkpoint: not behind p0)
  assert.deepEqual(s.decisionPoints("p0"), [3, 4, 5, 6, 7, 8, 9]); // goes on from the donor's t=2
  s.onResult("p0", report(3, 0.5, "loss", "ck/3")); // p0 now best
  const a = s.onResult("p1", report(3, 4, "loss", "ck/3"))[0]; // p1 ← p0
  assert.equal(a.action, "exploit");
  const lineage = s.policyFor("p1");
  assert.deepEqual(lineage.map((r) => [r[0], r[1], r[2], r[3]]), [["p0", "p1", 2, 2], ["p1", "p0", 3, 3]]);
  assert.equal(s.policyRows().length, 2);
});

test("async: pause while population members are not started yet (time-multiplexing); burn-in and interval respected", () => {
  const s = new PbtScheduler(opts({ population: 3, burnInPeriod: 2, perturbationInterval: 2 }), new Rng(1));
  s.onTrialAdd({ trialId: "a", config: { lr: 1e-4, bs: 1, wd: 0, layers: 1 } });
  assert.deepEqual(s.decisionPoints("a"), [2, 4, 6, 8]);
  assert.equal(s.onResult("a", report(1, 1))[0].action, "continue"); // burn-in
  assert.equal(s.onResult("a", report(2, 1, "loss", "ck"))[0].action, "pause"); // b, c not started
  assert.equal(s.wantsNewTrial(), true);
  s.onTrialAdd({ trialId: "b", config: { lr: 1e-4, bs: 1, wd: 0, layers: 1 } });
  s.onTrialAdd({ trialId: "c", config: { lr: 1e-4, bs: 1, wd: 0, layers: 1 } });
  assert.equal(s.wantsNewTrial(), false);
  assert.equal(s.chooseTrialToResume(["a"]), "a");
  assert.equal(s.onResult("a", report(3, 1))[0].action, "continue"); // 3 − 2 < interval
});

test("synch mode: trials wait at the barrier; the last arrival perturbs everyone (upper first), others resume", () => {
  const s = new PbtScheduler(opts({ synch: true, resampleProbability: 0 }), new Rng(2));
  population(s, 4);
  assert.equal(s.onResult("p0", report(1, 9, "loss", "ck/1"))[0].action, "pause");
  assert.equal(s.onResult("p1", report(1, 3, "loss", "ck/1"))[0].action, "pause");
  assert.equal(s.onResult("p2", report(1, 2, "loss", "ck/1"))[0].action, "pause");
  const acts = s.onResult("p3", report(1, 1, "loss", "ck/1"));
  const ex = acts.filter((a) => a.action === "exploit");
  assert.deepEqual(ex.map((a) => a.trialId), ["p0"]);
  assert.deepEqual(acts.filter((a) => a.action !== "exploit").map((a) => [a.trialId, a.action]), [["p1", "resume"], ["p2", "resume"], ["p3", "continue"]]);
  // trials ahead of the next sync point are not picked to resume before the barrier
  assert.equal(s.chooseTrialToResume(["p1"]), "p1");
});

test("synch mode: a trial finishing releases the others waiting at the barrier", () => {
  const s = new PbtScheduler(opts({ synch: true, population: 3 }), new Rng(2));
  population(s, 3);
  s.onResult("p0", report(1, 2, "loss", "ck"));
  s.onResult("p1", report(1, 1, "loss", "ck"));
  const acts = s.onTrialError("p2");
  assert.ok(acts.length >= 2, JSON.stringify(acts));
  assert.ok(acts.every((a) => a.trialId !== "p2"));
});

test("determinism: same seed → same run (async and synch, population 8 > 4 slots); restored mid-run → same decisions", () => {
  const searchSpace: SpaceSpec = { lr: { loguniform: [1e-5, 1e-2] }, bs: { choice: [1, 2, 4, 8] } };
  const curve = (c: Record<string, unknown>, t: number) => ({ value: Math.abs(Math.log10(c.lr as number) + 3.5) + 1 / (t * (c.bs as number)), seconds: 20 + (c.bs as number) });
  for (const synch of [false, true]) {
    const make = (seed: number) => ({
      scheduler: new PbtScheduler(opts({ space: searchSpace, synch, population: 8, maxT: 12 }), new Rng(seed)),
      searcher: new RandomSearcher(searchSpace, new Rng(seed + 1)),
    });
    const run = (restoreAfterReports?: number) =>
      simulate({ ...make(4), samples: 8, maxConcurrent: 4, maxT: 12, metric: "loss", mode: "min", curve, restoreAfterReports, rebuild: () => make(99) });
    const a = run();
    assert.deepEqual(run(), a);
    const exploits = a.decisions.filter(([, d]) => d.action === "exploit").length;
    assert.ok(exploits >= 3, `synch=${synch}: ${exploits} exploits`);
    assert.ok(a.trials.every((t) => t.state === "completed"), `synch=${synch}: ${a.trials.map((t) => t.state)}`);
    for (const k of [9, 40]) assert.deepEqual(run(k).decisions, a.decisions, `synch=${synch} restored after ${k}`);
  }
});
