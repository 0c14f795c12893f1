import { test } from "node:test";
import assert from "node:assert/strict";
import { BohbScheduler, type BohbSchedulerOptions } from "../../src/schedulers/bohb";
import { createScheduler } from "../../src/schedulers";
import { createSearcher, observationFor } from "../../src/searchers";
import { simulate } from "../../src/schedulers/simulate";
import { RandomSearcher } from "../../src/searchers/random";
import { parseExperiment } from "../../src/config/schema";
import { Rng } from "../../src/space/rng";
import { report } from "./trace";

const opts = (o: Partial<BohbSchedulerOptions> = {}): BohbSchedulerOptions => ({ metric: "loss", mode: "min", maxT: 5, reductionFactor: 4, stopLastTrials: true, totalTrials: 12, ...o });

test("workshop BOHB brackets (max_t=5, η=4, 12 trials): 4 @ r=1 → 1 to r=5 (the last rung is max_t, not Ray's 4), then 2 @ r=5, twice", () => {
  const space = { lr: { loguniform: [1e-5, 1e-3] as [number, number] } };
  const sched = new BohbScheduler(opts(), new Rng(1));
  const r = simulate({
    scheduler: sched, searcher: new RandomSearcher(space, new Rng(2)), samples: 12, maxConcurrent: 8, maxT: 5, metric: "loss", mode: "min",
    curve: (c, t) => ({ value: Math.abs(Math.log10(c.lr as number) + 4) + 1 / t, seconds: 10 }),
    observe: (s, id, c, rep) => observationFor(s, id, c, rep, "loss", "min"),
  });
  const layout = sched.layout();
  assert.deepEqual(layout.map((band) => band.map((b) => [b!.s, b!.members.length])), [[[1, 4], [0, 2]], [[1, 4], [0, 2]]]);
  const byId = new Map(r.trials.map((t) => [t.id, t]));
  for (const band of layout) {
    const [s1, s0] = band;
    const lastT = s1!.members.map((id) => byId.get(id)!.t).sort();
    assert.deepEqual(lastT, [1, 1, 1, 5]);
    assert.deepEqual(s1!.members.map((id) => byId.get(id)!.state).sort(), ["completed", "stopped", "stopped", "stopped"]);
    for (const id of s0!.members) assert.deepEqual([byId.get(id)!.state, byId.get(id)!.t], ["completed", 5]);
  }
});

test("budget info: a result at the milestone carries the bracket's r; between milestones none", () => {
  const s = new BohbScheduler(opts(), new Rng(1));
  for (const id of ["a", "b", "c", "d", "e"]) s.onTrialAdd({ trialId: id, config: {} });
  assert.deepEqual(s.decisionPoints("a"), [1]); // milestones 1 and 5 = max_t (the trainer ends there anyway)
  assert.equal(s.onResult("a", report(1, 3))[0].action, "pause"); // bracket not full yet → pause anyway
  assert.equal(s.resultBudget("a"), 1);
  s.onResult("b", report(1, 1));
  s.onResult("c", report(1, 2));
  const acts = s.onResult("d", report(1, 4)); // bracket full, all others paused → successive halving
  assert.deepEqual(acts.map((x) => [x.trialId, x.action]), [["d", "stop"], ["a", "stop"], ["c", "stop"], ["b", "resume"]]);
  assert.equal(s.resultBudget("d"), 1);
  assert.equal(s.chooseTrialToResume(["b"]), "b");
  assert.deepEqual(s.onResult("b", report(2, 0.9)), [{ trialId: "b", action: "continue" }]);
  assert.equal(s.resultBudget("b"), null);
  s.onResult("b", report(3, 0.8));
  assert.deepEqual(s.onResult("b", report(4, 0.7)), [{ trialId: "b", action: "continue" }]);
  assert.equal(s.resultBudget("b"), null);
  assert.equal(s.onResult("b", report(5, 0.6))[0].action, "stop");
  assert.equal(s.resultBudget("b"), 5);
  assert.deepEqual(s.bracketInfo("e"), { band: 0, s: 0, milestone: 5, n: 2 });
  const obs = observationFor(s, "b", { lr: 1 }, report(5, 0.6), "loss", "min");
  assert.deepEqual(obs, { trialId: "b", config: { lr: 1 }, budget: 5, loss: 0.6 });
});

test("deadlock rule: all trials added, nothing running → the bracket with paused trials is processed", () => {
  const s = new BohbScheduler(opts({ totalTrials: 3 }), new Rng(1));
  for (const id of ["a", "b", "c"]) s.onTrialAdd({ trialId: id, config: {} });
  assert.deepEqual(s.onResult("a", report(1, 2)).map((x) => x.action), ["pause"]);
  assert.deepEqual(s.onResult("b", report(1, 1)).map((x) => x.action), ["pause"]);
  // c pauses too; nothing runs → SH on the 3 members with n = ceil(4/4) = 1
  assert.deepEqual(s.onResult("c", report(1, 3)).map((x) => [x.trialId, x.action]), [["c", "pause"], ["c", "stop"], ["a", "stop"], ["b", "resume"]]);
});

test("determinism: BOHB scheduler + KDE searcher, same seed → same run; restored mid-run → same decisions and suggestions", () => {
  const cfg = parseExperiment({
    name: "b", space: { lr: { loguniform: [1e-5, 1e-1] }, wd: { uniform: [0, 0.1] } }, method: { kind: "bohb", maxT: 27, reductionFactor: 3 },
    samples: 60, trainer: { epochs: 27 },
  });
  const make = (seed: number) => ({ scheduler: createScheduler(cfg, new Rng(seed).fork(1)), searcher: createSearcher(cfg, new Rng(seed).fork(2)) });
  const curve = (c: Record<string, unknown>, t: number) => ({ value: Math.abs(Math.log10(c.lr as number) + 3) + (c.wd as number) * 5 + 3 / t, seconds: 30 + 10 * ((c.wd as number) * 10) });
  const run = (restoreAfterReports?: number) =>
    simulate({
      ...make(8), samples: 60, maxConcurrent: 4, maxT: 27, metric: "eval_loss", mode: "min",
      curve: (c, t) => curve(c, t), restoreAfterReports, rebuild: () => make(1234),
      observe: (s, id, c, rep) => observationFor(s, id, c, rep, "eval_loss", "min"),
    });
  const a = run();
  assert.deepEqual(run(), a);
  assert.ok(a.trials.some((t) => t.modelBasedPick), "the KDE model picked some configurations");
  for (const k of [20, 150]) {
    const b = run(k);
    assert.deepEqual(b.decisions, a.decisions, `restored after ${k}`);
    assert.deepEqual(b.trials.map((t) => t.initialConfig), a.trials.map((t) => t.initialConfig));
  }
});
