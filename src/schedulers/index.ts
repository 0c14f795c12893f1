/**
 * Scheduler factory: one scheduler per experiment, from the validated config.
 * Give it an Rng of its own (e.g. `new Rng(config.seed).fork(1)`), separate
 * from the searcher's, so searcher draws never shift scheduler decisions.
 *
 * Driver contract (all schedulers):
 * - call onTrialAdd when a trial is created, BEFORE launching it, and write
 *   `decisionPoints(id)` (recomputed at every (re)launch) into trial.json pause_at;
 * - feed every report to onResult and apply the returned actions in order
 *   (they may concern other trials: HyperBand/BOHB "resume"/"stop", PBT synch);
 * - "pause": checkpoint and free the slot (or keep the trainer waiting);
 *   "resume": the paused trial may run again from its own checkpoint; pick the
 *   next one with chooseTrialToResume(pausedIds) when a slot frees;
 *   "exploit": restart from the donor's checkpoint with the new config;
 * - call onTrialComplete(id, lastReport) whenever a trial ends without error
 *   (completed, stopped by the scheduler, stopped by the user) and
 *   onTrialError(id) on failure; apply the actions they return;
 * - start new trials only while wantsNewTrial() (PBT: population; others: true)
 *   and the config's `samples` are not used up;
 * - BOHB: after onResult, pass `observationFor(...)` (searchers/index.ts) to the searcher.
 */
import type { ExperimentConfig } from "../config/types";
import type { Rng } from "../space/rng";
import { AshaScheduler } from "./asha";
import { BohbScheduler } from "./bohb";
import { FifoScheduler } from "./fifo";
import { HyperbandScheduler } from "./hyperband";
import { PbtScheduler } from "./pbt";
import type { Scheduler } from "./types";

export function createScheduler(config: ExperimentConfig, rng: Rng): Scheduler {
  const m = config.method;
  const { metric, mode } = config;
  switch (m.kind) {
    case "grid":
    case "random":
      return new FifoScheduler();
    case "asha":
      return new AshaScheduler(
        { metric, mode, gracePeriod: m.gracePeriod, reductionFactor: m.reductionFactor, maxT: m.maxT, brackets: m.brackets, stopLastTrials: m.stopLastTrials, nanPolicy: m.nanPolicy },
        rng,
      );
    case "hyperband":
      return new HyperbandScheduler({ metric, mode, maxT: m.maxT, reductionFactor: m.reductionFactor, stopLastTrials: m.stopLastTrials }, rng);
    case "bohb":
      return new BohbScheduler({ metric, mode, maxT: m.maxT, reductionFactor: m.reductionFactor, stopLastTrials: m.stopLastTrials, totalTrials: config.samples }, rng);
    case "pbt":
      return new PbtScheduler(
        {
          metric, mode,
          perturbationInterval: m.perturbationInterval,
          burnInPeriod: m.burnInPeriod,
          quantileFraction: m.quantileFraction,
          resampleProbability: m.resampleProbability,
          perturbationFactors: m.perturbationFactors,
          mutations: m.mutations,
          space: config.space,
          synch: m.synch,
          population: config.samples,
          maxT: config.trainer.epochs,
        },
        rng,
      );
  }
}

/** Rung / milestone t values to draw for a method (ExperimentSource.rungs). */
export function rungsFor(config: ExperimentConfig): number[] {
  const m = config.method;
  if (m.kind === "asha") return [...new Set(Array.from({ length: m.brackets }, (_, s) => ashaRungs(m.gracePeriod, m.maxT, m.reductionFactor, s)).flat())].sort((a, b) => a - b);
  if (m.kind === "hyperband" || m.kind === "bohb") {
    const sMax1 = hyperbandSMax1(m.maxT, m.reductionFactor);
    const all = new Set<number>();
    for (let s = 0; s < sMax1; s++) for (const [, r] of hyperbandStages(m.maxT, m.reductionFactor, s, sMax1)) if (r > 0) all.add(r);
    return [...all].sort((a, b) => a - b);
  }
  return [];
}

import { ashaRungs } from "./asha";
import { hyperbandSMax1, hyperbandStages } from "./hyperband";
export { AshaScheduler, ashaRungs, ashaCutoff, bracketProbabilities, rungCount } from "./asha";
export { FifoScheduler } from "./fifo";
export { HyperbandScheduler, hyperbandSMax1, hyperbandN0, hyperbandR0, hyperbandStages } from "./hyperband";
export { BohbScheduler } from "./bohb";
export { PbtScheduler, quantileSize, exploreValue, type PolicyRow } from "./pbt";
export type { Scheduler, SchedulerAction, SchedulerTrial } from "./types";
