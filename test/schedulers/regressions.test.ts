/**
 * The scheduler failures the bench measured (issue 13, item 4), each as a
 * test that failed on the code before the fix: HyperBand/BOHB brackets that
 * never reach maxT, BOHB at the workshop's 12 samples with no full-budget
 * trial and no model pick, PBT's livelock (members at the last perturbation
 * point exploiting donors behind them), and NaN at decision points.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseExperiment } from "../../src/config/schema";
import { createScheduler } from "../../src/schedulers";
import { hyperbandSMax1, hyperbandStages } from "../../src/schedulers/hyperband";
import { PbtScheduler } from "../../src/schedulers/pbt";
import { simulate } from "../../src/schedulers/simulate";
import { createSearcher, observationFor } from "../../src/searchers";
import { RandomSearcher } from "../../src/searchers/random";
import { Rng } from "../../src/space/rng";
import type { SpaceSpec } from "../../src/config/types";

const SPACE: SpaceSpec = { lr: { loguniform: [1e-4, 1e-1] }, batch_size: { choice: [16, 32] }, weight_decay: { choice: [0, 0.1] } };
const curve = (c: Record<string, unknown>, t: number) => ({
  value: 2 + Math.abs(Math.log10(c.lr as number) + 2.5) + 1 / t + (c.batch_size === 32 ? 0.05 : 0) + (c.weight_decay as number) * 0.01,
  seconds: 10,
});

/** A curve that throws once a run has made far more reports than any finite schedule could, so a livelock fails the test instead of hanging it. */
function bounded(limit: number) {
  let n = 0;
  return (c: Record<string, unknown>, t: number) => {
    if (++n > limit) throw new Error(`more than ${limit} epochs simulated: the schedule does not end`);
    return curve(c, t);
  };
}

test("every HyperBand bracket's last rung is maxT (R = 10, η = 3 and η = 2; R = 5, η = 4; R = 100, η = 3)", () => {
  for (const [R, eta] of [[10, 3], [10, 2], [5, 4], [5, 2], [100, 3], [81, 3], [7, 2]]) {
    const sMax1 = hyperbandSMax1(R, eta);
    for (let s = 0; s < sMax1; s++) {
      const st = hyperbandStages(R, eta, s, sMax1);
      if (st[0][1] === 0) continue; // skipped bracket (Ray: r0 = 0)
      assert.equal(st[st.length - 1][1], R, `R=${R} η=${eta} s=${s}: ${JSON.stringify(st)}`);
      for (let k = 1; k < st.length; k++) assert.ok(st[k][1] > st[k - 1][1], `rungs increase: ${JSON.stringify(st)}`);
    }
  }
  // HpBandSter's geometric budgets R·η^(k−s), truncated to whole epochs
  assert.deepEqual(hyperbandStages(10, 3, 2).map(([, r]) => r), [1, 3, 10]);
  assert.deepEqual(hyperbandStages(10, 3, 1).map(([, r]) => r), [3, 10]);
  assert.deepEqual(hyperbandStages(100, 3, 4).map(([, r]) => r), [1, 3, 11, 33, 100]);
});

test("HyperBand and BOHB at maxT 10: trials of every bracket reach maxT (the reports say so)", () => {
  for (const kind of ["hyperband", "bohb"]) {
    for (const eta of [2, 3]) {
      const cfg = parseExperiment({ name: "h", space: SPACE, method: { kind, reductionFactor: eta }, samples: 40, maxConcurrent: 4, trainer: { epochs: 10 } });
      const sched = createScheduler(cfg, new Rng(1));
      const r = simulate({
        scheduler: sched, searcher: createSearcher(cfg, new Rng(2)), samples: 40, maxConcurrent: 4, maxT: 10, metric: "eval_loss", mode: "min", curve: bounded(10_000),
        observe: (s, id, c, rep) => observationFor(s, id, c, rep, "eval_loss", "min"),
      });
      const layout = (sched as unknown as { layout(): Array<Array<{ s: number; members: string[] } | null>> }).layout();
      const byId = new Map(r.trials.map((t) => [t.id, t]));
      for (const band of layout) for (const b of band) {
        if (!b || b.members.length === 0) continue;
        const top = Math.max(...b.members.map((id) => byId.get(id)!.t));
        assert.equal(top, 10, `${kind} η=${eta} bracket s=${b.s}: best member stopped at t=${top}`);
      }
    }
  }
});

test("BOHB at the workshop's 12 samples (maxT 10, η = 3, 3 hyperparameters): trials reach maxT and the model proposes some", () => {
  const cfg = parseExperiment({ name: "b", space: SPACE, method: { kind: "bohb", reductionFactor: 3 }, samples: 12, maxConcurrent: 4, trainer: { epochs: 10 } });
  let reached = 0, modelPicks = 0;
  for (const seed of [1, 2, 3, 4, 5]) {
    const r = simulate({
      scheduler: createScheduler(cfg, new Rng(seed).fork(1)), searcher: createSearcher(cfg, new Rng(seed).fork(2)), samples: 12, maxConcurrent: 4, maxT: 10,
      metric: "eval_loss", mode: "min", curve: bounded(10_000),
      observe: (s, id, c, rep) => observationFor(s, id, c, rep, "eval_loss", "min"),
    });
    assert.equal(r.trials.length, 12);
    // summary.best needs a trial at the full budget
    assert.ok(r.trials.some((t) => t.reports.some((x) => x.t === 10)), `seed ${seed}: no trial reached t = 10`);
    reached++;
    modelPicks += r.trials.filter((t) => t.modelBasedPick).length;
  }
  assert.equal(reached, 5);
  assert.ok(modelPicks > 0, "the KDE never proposed a configuration in 5 runs of 12 trials");
});

test("PBT never livelocks: populations 16 and 32 at interval 1 (defaults) on 4 slots finish, every member at maxT", () => {
  for (const population of [16, 32]) {
    const sched = new PbtScheduler({
      metric: "eval_loss", mode: "min", perturbationInterval: 1, burnInPeriod: 0, quantileFraction: 0.25, resampleProbability: 0.25,
      perturbationFactors: [1.2, 0.8], space: SPACE, synch: false, population, maxT: 10,
    }, new Rng(3));
    const r = simulate({ scheduler: sched, searcher: new RandomSearcher(SPACE, new Rng(4)), samples: population, maxConcurrent: 4, maxT: 10, metric: "eval_loss", mode: "min", curve: bounded(population * 200) });
    assert.ok(r.trials.every((t) => t.state === "completed" && t.t === 10), `population ${population}: ${r.trials.map((t) => `${t.state}@${t.t}`)}`);
    // no exploit ever moves a member back in time: the donor is ahead of the receiver or at its t
    const tAt = new Map<string, number>();
    for (const [, a] of r.decisions) {
      if (a.action !== "exploit") continue;
      const row = sched.policyRows().find((p) => p[0] === a.trialId && p[3] === a.donorT);
      assert.ok(row, "a policy row per exploit");
      assert.ok(a.donorT >= row![2], `exploit of ${a.trialId} at t=${row![2]} from a donor at t=${a.donorT}`);
      tAt.set(a.trialId, a.donorT);
    }
    assert.ok(sched.perturbations > 0, "some exploits happened");
  }
});

test("PBT: a member at the last perturbation point (t = maxT − 1) is not sent back to a donor behind it", () => {
  const sched = new PbtScheduler({
    metric: "loss", mode: "min", perturbationInterval: 1, burnInPeriod: 0, quantileFraction: 0.25, resampleProbability: 0,
    perturbationFactors: [1.2, 0.8], space: { x: { uniform: [0, 1] } }, synch: false, population: 4, maxT: 10,
  }, new Rng(1));
  for (const id of ["a", "b", "c", "d"]) sched.onTrialAdd({ trialId: id, config: { x: 0.5 } });
  const rep = (t: number, loss: number) => ({ t, time_total_s: t, checkpoint: `ck${t}`, loss });
  // d, c, b report better and better at t = 8 (each in the upper quantile then: checkpoints); a is the worst, at t = 9
  sched.onResult("d", rep(8, 0.3));
  sched.onResult("c", rep(8, 0.2));
  sched.onResult("b", rep(8, 0.1));
  const acts = sched.onResult("a", rep(9, 5));
  assert.deepEqual(acts.map((x) => x.action), ["continue"], JSON.stringify(acts));
  assert.deepEqual(sched.decisionPoints("a"), []);
});

test("NaN / null / \"nan\" / missing metric at a decision point: every scheduler answers the reporting trial, and runs end", () => {
  const nanCurve = (limit: number) => {
    const b = bounded(limit);
    return (c: Record<string, unknown>, t: number, id: string) => {
      const v = b(c, t);
      return Number(id.slice(1)) % 3 === 1 && t >= 2 ? { ...v, value: NaN } : v;
    };
  };
  for (const method of [{ kind: "asha", reductionFactor: 2 }, { kind: "asha", nanPolicy: "ignore" }, { kind: "hyperband", reductionFactor: 2 }, { kind: "bohb", reductionFactor: 2 }, { kind: "pbt" }, { kind: "pbt", synch: true }]) {
    const cfg = parseExperiment({ name: "n", space: SPACE, method, samples: 12, maxConcurrent: 4, trainer: { epochs: 8 } });
    const r = simulate({
      scheduler: createScheduler(cfg, new Rng(1)), searcher: createSearcher(cfg, new Rng(2)), samples: 12, maxConcurrent: 4, maxT: 8, metric: "eval_loss", mode: "min",
      curve: nanCurve(5000), observe: (s, id, c, rep) => observationFor(s, id, c, rep, "eval_loss", "min"),
    });
    assert.ok(r.trials.every((t) => t.state === "completed" || t.state === "stopped"), `${JSON.stringify(method)}: ${r.trials.map((t) => t.state)}`);
  }
  // the same at the scheduler's interface, for each way a trainer writes a NaN
  for (const kind of ["asha", "hyperband", "bohb", "pbt"]) {
    for (const v of [NaN, null, "nan", "NaN", undefined]) {
      const cfg = parseExperiment({ name: "n", space: SPACE, method: { kind }, samples: 2, maxConcurrent: 2, trainer: { epochs: 9 } });
      const s = createScheduler(cfg, new Rng(1));
      // HyperBand fills its no-rung bracket s = 0 first: add trials until one has a decision point
      let id = "";
      for (let i = 0; i < 40 && !id; i++) {
        s.onTrialAdd({ trialId: `x${i}`, config: { lr: 1e-3, batch_size: 16, weight_decay: 0 } });
        if (s.decisionPoints(`x${i}`).length) id = `x${i}`;
      }
      assert.ok(id, kind);
      const rep: Record<string, unknown> = { t: s.decisionPoints(id)[0], time_total_s: 1, checkpoint: "ck" };
      if (v !== undefined) rep.eval_loss = v;
      const acts = s.onResult(id, rep as never);
      assert.ok(acts.some((a) => a.trialId === id && ["continue", "stop", "pause", "exploit"].includes(a.action)), `${kind} with ${String(v)}: ${JSON.stringify(acts)}`);
    }
  }
});
