/**
 * Scheduler factory: one scheduler per experiment, from the validated config.
 * The Rng passed in should be dedicated to the scheduler (e.g.
 * `new Rng(config.seed).fork(1)`) so searcher draws do not shift its decisions.
 */
import type { ExperimentConfig } from "../config/types";
import type { Rng } from "../space/rng";
import { AshaScheduler } from "./asha";
import { FifoScheduler } from "./fifo";
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
    default:
      throw new Error(`scheduler for method ${m.kind}: not implemented yet`);
  }
}

export { AshaScheduler, ashaRungs, ashaCutoff, bracketProbabilities, rungCount } from "./asha";
export { FifoScheduler } from "./fifo";
export type { Scheduler, SchedulerAction, SchedulerTrial } from "./types";
