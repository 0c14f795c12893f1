/**
 * Searcher factory. grid → GridSearcher (cross product, `samples` long);
 * bohb → the KDE config generator; everything else → RandomSearcher (PBT's
 * initial population, ASHA/HyperBand's configurations).
 */
import type { ExperimentConfig, HParams } from "../config/types";
import type { Report } from "../backends/types";
import type { Scheduler } from "../schedulers/types";
import { metricOf } from "../schedulers/common";
import type { Rng } from "../space/rng";
import { BohbSearcher } from "./bohb";
import { GridSearcher } from "./grid";
import { RandomSearcher } from "./random";
import type { Observation, Searcher } from "./types";

export function createSearcher(config: ExperimentConfig, rng: Rng): Searcher {
  const m = config.method;
  switch (m.kind) {
    case "grid":
      return new GridSearcher(config.space, config.samples);
    case "bohb":
      return new BohbSearcher(
        { space: config.space, minPointsInModel: m.minPointsInModel, topNPercent: m.topNPercent, numSamples: m.numSamples, randomFraction: m.randomFraction, bandwidthFactor: m.bandwidthFactor, minBandwidth: m.minBandwidth },
        rng,
      );
    default:
      return new RandomSearcher(config.space, rng);
  }
}

/**
 * What the searcher should learn from a report, right after scheduler.onResult
 * handled it: BOHB results at a milestone (scheduler.resultBudget) become an
 * observation at that budget, loss = op·metric (NaN/∞ → +∞). Null otherwise.
 */
export function observationFor(
  scheduler: Scheduler, trialId: string, config: HParams, report: Report, metric: string, mode: "min" | "max",
): Observation | null {
  const budget = scheduler.resultBudget?.(trialId) ?? null;
  if (budget === null) return null;
  const v = metricOf(report, metric);
  if (v === undefined) return null;
  const loss = Number.isFinite(v) ? (mode === "min" ? v : -v) : Infinity;
  return { trialId, config, budget, loss };
}

export { GridSearcher } from "./grid";
export { RandomSearcher } from "./random";
export { BohbSearcher, firstModelThreshold, hpbandsterBrackets } from "./bohb";
export type { Searcher, Suggestion, Observation } from "./types";
