import { test } from "node:test";
import assert from "node:assert/strict";
import { methodPlan, describePlan, planPicture } from "../../src/experiment/describe";
import { parseExperiment } from "../../src/config/schema";
import { createScheduler } from "../../src/schedulers";
import { createSearcher } from "../../src/searchers";
import { simulate } from "../../src/schedulers/simulate";
import { Rng } from "../../src/space/rng";
import type { ExperimentInput } from "../../src/config/types";

// the embedded default's space, samples and epochs (src/cli/notebooks.ts DEFAULT_SETTINGS)
const base = (method: ExperimentInput["method"], samples = 8): ExperimentInput => ({
  name: "describe",
  space: { lr: { loguniform: [2.2e-4, 1e-2] }, batch_size: { choice: [16, 32] }, weight_decay: { choice: [0, 0.1] } },
  method, samples, trainer: { epochs: 4 },
});

test("ASHA plan: the rungs are the scheduler's decision points below max_t, the funnel and trial-epochs follow from 1/η", () => {
  const plan = methodPlan(base({ kind: "asha", gracePeriod: 1, reductionFactor: 2 }));
  assert.deepEqual(plan.asha, {
    gracePeriod: 1, reductionFactor: 2, rungs: [1, 2],
    funnel: [{ t: 0, trials: 8 }, { t: 1, trials: 4 }, { t: 2, trials: 2 }],
    trialEpochs: 8 * 1 + 4 * 1 + 2 * 2, trialEpochsNoCuts: 32,
  });
  assert.equal(describePlan(plan, { gridTrialEpochs: 48 }), [
    "asha: 8 trials, max_t 4 epochs",
    "rungs (t where a trial can be cut): 1, 2; max_t 4 is the end of training, not a rung",
    "if exactly 1/2 continue at each rung: 8 start → 4 after t=1 → 2 after t=2; 4 cut at t=1, 2 cut at t=2",
    "trial-epochs: 16 of 32 without cuts (50%); asynchronous ASHA cuts fewer (the first trial at a rung always continues)",
    "expected cost ratio vs the manual grid (48 trial-epochs): 0.33 to 0.67, before process start-up",
  ].join("\n"));
  // max_t 5 (the workshop's): rungs 1, 2, 4
  assert.deepEqual(methodPlan({ ...base({ kind: "asha", gracePeriod: 1, reductionFactor: 2 }), trainer: { epochs: 5 } }).asha!.rungs, [1, 2, 4]);
  const pic = planPicture(plan)!;
  assert.deepEqual((pic.data as { values: unknown[] }).values, [{ label: "t 0–1", trials: 8 }, { label: "t 1–2", trials: 4 }, { label: "t 2–4", trials: 2 }]);
});

test("ASHA plan vs a simulated run of the same scheduler: every cut happens at a planned rung", () => {
  const input = base({ kind: "asha", gracePeriod: 1, reductionFactor: 2 }, 16);
  const plan = methodPlan(input);
  const config = parseExperiment(input);
  const master = new Rng(config.seed);
  const r = simulate({
    scheduler: createScheduler(config, master.fork(1)), searcher: createSearcher(config, master.fork(2)),
    samples: 16, maxConcurrent: 2, maxT: 4, metric: "eval_loss", mode: "min",
    curve: (c, t) => ({ value: Math.abs(Math.log10(Number(c.lr)) + 2.7) + 1 / t, seconds: 1 }),
  });
  const cuts = r.decisions.map(([, a]) => a).filter((a) => a.action === "stop" && !/max_t/.test((a as { reason: string }).reason));
  assert.ok(cuts.length > 0, "the simulated run cut some trials");
  const cutAt = r.trials.filter((t) => t.state === "stopped" && t.t < 4).map((t) => t.t);
  assert.ok(cutAt.every((t) => plan.asha!.rungs.includes(t)), `cuts at ${cutAt}`);
});

test("PBT plan: perturbation points and exploiters per point from the scheduler", () => {
  const plan = methodPlan(base({ kind: "pbt", perturbationInterval: 1, quantileFraction: 0.25, resampleProbability: 0.25 }, 4));
  assert.deepEqual(plan.pbt, { perturbationInterval: 1, perturbationPoints: [1, 2, 3], population: 4, exploitersPerPoint: 1, quantileFraction: 0.25, resampleProbability: 0.25, perturbationFactors: [1.2, 0.8], synch: false });
  assert.deepEqual(methodPlan({ ...base({ kind: "pbt", perturbationInterval: 2 }), trainer: { epochs: 8 } }).pbt!.perturbationPoints, [2, 4, 6]);
  assert.match(describePlan(plan), /^perturbation interval: 1; perturbation points: 1, 2, 3$/m);
  assert.match(describePlan(plan), /^population 4, asynchronous: a member that reaches a point while ranked in the bottom 1 \(quantile 0\.25\)/m);
  const synch = methodPlan(base({ kind: "pbt", perturbationInterval: 1, quantileFraction: 0.25, synch: true }, 4));
  assert.match(describePlan(synch), /^population 4, synchronous: at each point, once every member has reached it, the bottom 1 \(quantile 0\.25\) copy a top member's checkpoint/m);
  assert.equal(planPicture(plan), null);
});

test("BOHB plan: the brackets in the order the scheduler fills them, and whether the searcher's model can act", () => {
  const plan = methodPlan(base({ kind: "bohb", reductionFactor: 2 }));
  assert.deepEqual(plan.brackets, {
    reductionFactor: 2,
    brackets: [
      { s: 2, trials: 4, stages: [{ configs: 4, epochs: 1 }, { configs: 2, epochs: 2 }, { configs: 1, epochs: 4 }] },
      { s: 1, trials: 3, stages: [{ configs: 3, epochs: 2 }, { configs: 2, epochs: 4 }] },
      { s: 0, trials: 1, stages: [{ configs: 3, epochs: 4 }] },
    ],
    milestones: [1, 2],
  });
  const m = plan.bohbModel!;
  assert.ok(Number.isInteger(m.threshold) && m.threshold > 3, `threshold ${m.threshold}: more results than hyperparameters`);
  assert.equal(m.mostAtOneBudget, 5);
  assert.equal(m.budget, 2);
  assert.equal(m.canAct, m.threshold <= 5 && m.threshold < 8);
  assert.match(describePlan(plan), new RegExp(`^model: fits after ${m.threshold} results at one budget; this run's brackets give at most 5 \\(at 2 epoch\\(s\\)\\) for 8 trials: `, "m"));
});
