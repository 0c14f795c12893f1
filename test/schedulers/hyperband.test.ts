import { test } from "node:test";
import assert from "node:assert/strict";
import { HyperbandScheduler, hyperbandSMax1, hyperbandStages, roundHalfEven, type HyperbandOptions } from "../../src/schedulers/hyperband";
import { simulate } from "../../src/schedulers/simulate";
import { RandomSearcher } from "../../src/searchers/random";
import { Rng } from "../../src/space/rng";
import { report } from "./trace";

const opts = (o: Partial<HyperbandOptions> = {}): HyperbandOptions => ({ metric: "loss", mode: "min", maxT: 9, reductionFactor: 3, stopLastTrials: true, ...o });

test("HyperBand example R=81, η=3 (§1.9): 5 brackets, stages (n @ r), 143 trials per band", () => {
  assert.equal(hyperbandSMax1(81, 3), 5);
  const stages = [0, 1, 2, 3, 4].map((s) => hyperbandStages(81, 3, s));
  assert.deepEqual(stages, [
    [[5, 81]],
    [[8, 27], [3, 81]],
    [[15, 9], [5, 27], [2, 81]],
    [[34, 3], [12, 9], [4, 27], [2, 81]],
    [[81, 1], [27, 3], [9, 9], [3, 27], [1, 81]],
  ]);
  assert.equal(stages.reduce((a, s) => a + s[0][0], 0), 143);
});

test("s_max+1 uses numpy's round (half to even), not floor", () => {
  assert.equal(roundHalfEven(2.5), 2);
  assert.equal(roundHalfEven(3.5), 4);
  assert.equal(hyperbandSMax1(5, 4), 2); // round(1.16) + 1
  assert.equal(hyperbandSMax1(8, 3), 3); // round(1.89) + 1; floor would give 2
});

test("brackets fill smallest first (s = 0, 1, …), then a new band", () => {
  const s = new HyperbandScheduler(opts({ maxT: 81 }), new Rng(1));
  for (let i = 0; i < 150; i++) s.onTrialAdd({ trialId: `t${i}`, config: {} });
  const sOf = (i: number) => s.bracketInfo(`t${i}`).s;
  assert.deepEqual([sOf(0), sOf(4), sOf(5), sOf(12), sOf(13), sOf(27), sOf(28), sOf(61), sOf(62), sOf(142)], [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
  assert.deepEqual([s.bracketInfo("t143").band, sOf(143)], [1, 0]);
  assert.deepEqual(s.decisionPoints("t62"), [1, 3, 9, 27]);
  assert.deepEqual(s.decisionPoints("t0"), []);
});

test("synchronous successive halving: pause at the milestone until all live members arrive, then resume the best ceil(n/η), stop the rest", () => {
  // R=9, η=3: s=0: 3 @ 9; s=1: 5 @ 3 → 2 @ 9; s=2: 9 @ 1 → 3 @ 3 → 1 @ 9
  const s = new HyperbandScheduler(opts(), new Rng(1));
  for (let i = 0; i < 8; i++) s.onTrialAdd({ trialId: `t${i}`, config: {} });
  const ids = ["t3", "t4", "t5", "t6", "t7"]; // bracket s=1
  assert.deepEqual(ids.map((id) => s.bracketInfo(id).s), [1, 1, 1, 1, 1]);
  assert.deepEqual(s.decisionPoints("t3"), [3]);
  const loss: Record<string, number> = { t3: 5, t4: 1, t5: 4, t6: 2, t7: 3 };
  for (const id of ids) for (const t of [1, 2]) assert.deepEqual(s.onResult(id, report(t, loss[id])), [{ trialId: id, action: "continue" }]);
  for (const id of ["t3", "t4", "t5", "t6"]) assert.equal(s.onResult(id, report(3, loss[id]))[0].action, "pause");
  const acts = s.onResult("t7", report(3, loss.t7));
  // n = ceil(5/3) = 2 survivors: t4 (1) and t6 (2); t7 (3) is bad itself
  assert.deepEqual(acts.map((a) => [a.trialId, a.action]), [["t7", "stop"], ["t3", "stop"], ["t5", "stop"], ["t6", "resume"], ["t4", "resume"]]);
  assert.equal(s.chooseTrialToResume(["t6", "t4"]), "t4");
  assert.equal(s.chooseTrialToResume(["t6"]), "t6");
  assert.equal(s.chooseTrialToResume(["t6"]), null);
  // survivors run to 9: the first to arrive waits, the second finishes the bracket → everyone stops
  for (const t of [4, 5, 6, 7, 8]) s.onResult("t4", report(t, 0.5));
  assert.equal(s.onResult("t4", report(9, 0.4))[0].action, "pause");
  for (const t of [4, 5, 6, 7, 8]) s.onResult("t6", report(t, 1));
  assert.deepEqual(s.onResult("t6", report(9, 0.9)).map((a) => [a.trialId, a.action]), [["t4", "stop"], ["t6", "stop"]]);
});

test("a member leaving (error) lets the rest of the bracket proceed", () => {
  const s = new HyperbandScheduler(opts(), new Rng(1));
  for (let i = 0; i < 8; i++) s.onTrialAdd({ trialId: `t${i}`, config: {} });
  for (const id of ["t3", "t4", "t5", "t6"]) s.onResult(id, report(3, Number(id.slice(1))));
  const acts = s.onTrialError("t7");
  assert.deepEqual(acts.map((a) => [a.trialId, a.action]), [["t6", "stop"], ["t5", "stop"], ["t4", "resume"], ["t3", "resume"]]);
});

function curve(config: Record<string, unknown>, t: number) {
  const lr = config.lr as number;
  const q = Math.abs(Math.log10(lr) + 3);
  return { value: 1 + q + 2 / t, seconds: 60 };
}

test("determinism: simulated runs with the same seed agree; restored mid-run from JSON state they decide the same", () => {
  const space = { lr: { loguniform: [1e-5, 1e-1] as [number, number] } };
  const make = (seed: number) => ({ scheduler: new HyperbandScheduler(opts({ maxT: 27 }), new Rng(seed)), searcher: new RandomSearcher(space, new Rng(seed + 1)) });
  const run = (restoreAfterReports?: number) => {
    const m = make(3);
    return simulate({ ...m, samples: 60, maxConcurrent: 4, maxT: 27, metric: "loss", mode: "min", curve, restoreAfterReports, rebuild: () => make(777) });
  };
  const a = run();
  assert.deepEqual(run(), a);
  // (the simulator is the driver's controller since issue 13: these counts are the driver's)
  const stops = a.decisions.filter(([, d]) => d.action === "stop").length;
  const pauses = a.decisions.filter(([, d]) => d.action === "pause").length;
  assert.ok(stops >= 5 && pauses > 20, `${stops} stops, ${pauses} pauses`);
  for (const k of [10, 100, 300]) assert.deepEqual(run(k).decisions, a.decisions, `restored after ${k} reports`);
});
