/**
 * Searcher factory and the rules that connect a searcher to a scheduler
 * (Ray's `search_alg` × `scheduler`): `config.searcher` picks grid, random,
 * tpe or bohb independently of `config.method`; left out, each method keeps
 * its usual searcher (grid → grid, bohb → BOHB's KDE, others → random).
 */
import type { ExperimentConfig, HParams, SearcherSpec } from "../config/types";
import type { Report } from "../backends/types";
import type { Scheduler } from "../schedulers/types";
import { metricOf } from "../schedulers/common";
import type { Rng } from "../space/rng";
import { BohbSearcher } from "./bohb";
import { GridSearcher } from "./grid";
import { RandomSearcher } from "./random";
import { TpeSearcher } from "./tpe";
import type { Observation, Searcher, TrialEndState } from "./types";

/** The searcher spec in effect: the config's, or the method's usual one (configs built without parseExperiment). */
export function searcherSpecOf(config: ExperimentConfig): SearcherSpec {
  if (config.searcher) return config.searcher;
  const m = config.method;
  if (m.kind === "grid") return { kind: "grid" };
  if (m.kind === "bohb") {
    return { kind: "bohb", minPointsInModel: m.minPointsInModel, topNPercent: m.topNPercent, numSamples: m.numSamples, randomFraction: m.randomFraction, bandwidthFactor: m.bandwidthFactor, minBandwidth: m.minBandwidth };
  }
  return { kind: "random" };
}

/** The full budget a searcher counts a trial as finished at: the method's maxT, else the trainer's epochs. */
export function fullBudget(config: ExperimentConfig): number {
  const m = config.method;
  return "maxT" in m && typeof m.maxT === "number" ? m.maxT : config.trainer.epochs;
}

export function createSearcher(config: ExperimentConfig, rng: Rng): Searcher {
  const s = searcherSpecOf(config);
  switch (s.kind) {
    case "grid":
      return new GridSearcher(config.space, config.samples);
    case "random":
      return new RandomSearcher(config.space, rng);
    case "tpe":
      return new TpeSearcher({ ...s, space: config.space, maxT: fullBudget(config) }, rng);
    case "bohb":
      return new BohbSearcher(
        {
          space: config.space, minPointsInModel: s.minPointsInModel, topNPercent: s.topNPercent ?? 15, numSamples: s.numSamples ?? 64,
          randomFraction: s.randomFraction ?? 1 / 3, bandwidthFactor: s.bandwidthFactor ?? 3, minBandwidth: s.minBandwidth ?? 1e-3,
        },
        rng,
      );
  }
}

/**
 * What the searcher should learn from a report, right after scheduler.onResult
 * handled it (the rule the loop applies to every report):
 * - under a scheduler with `resultBudget` (HyperBandForBOHB): results at a
 *   milestone, at that budget (Ray's hyperband_info.budget);
 * - otherwise, for a searcher that learns (tpe, bohb; pass it as `searcher`):
 *   every report, at budget t (Optuna's trial.report(value, step));
 * loss = op·metric (NaN/∞ → +∞). Null when there is nothing to learn.
 */
export function observationFor(
  scheduler: Scheduler, trialId: string, config: HParams, report: Report, metric: string, mode: "min" | "max", searcher?: Searcher,
): Observation | null {
  let budget: number | null;
  if (scheduler.resultBudget) budget = scheduler.resultBudget(trialId);
  else budget = searcher && (searcher.kind === "tpe" || searcher.kind === "bohb") && typeof report.t === "number" ? report.t : null;
  if (budget === null) return null;
  const v = metricOf(report, metric);
  if (v === undefined) return null;
  const loss = Number.isFinite(v) ? (mode === "min" ? v : -v) : Infinity;
  return { trialId, config, budget, loss };
}

/** How a trial ended, from the scheduler's point of view: completed at ≥ maxT, else stopped. */
export function endStateOf(last: Report | null, maxT: number): TrialEndState {
  return last && typeof last.t === "number" && last.t >= maxT ? "completed" : "stopped";
}

/**
 * The scheduler, with the searcher told of every trial end: onTrialComplete →
 * `searcher.trialEnded(id, completed | stopped)`, onTrialError → failed; all
 * else passes through unchanged (a Proxy, so scheduler-specific methods such
 * as bracketInfo or policyRows stay reachable). For a loop that calls the
 * scheduler's end hooks but not the searcher's (Ray's controller calls both).
 */
export function withSearcherFeedback<S extends Scheduler>(scheduler: S, searcher: Searcher, maxT: number): S {
  if (!searcher.trialEnded) return scheduler;
  return new Proxy(scheduler, {
    get(target, prop, receiver) {
      if (prop === "onTrialComplete") {
        return (id: string, last: Report | null) => {
          searcher.trialEnded!(id, endStateOf(last, maxT));
          return target.onTrialComplete(id, last);
        };
      }
      if (prop === "onTrialError") {
        return (id: string) => {
          searcher.trialEnded!(id, "failed");
          return target.onTrialError(id);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

export { GridSearcher } from "./grid";
export { RandomSearcher } from "./random";
export { TpeSearcher } from "./tpe";
export { BohbSearcher, firstModelThreshold, hpbandsterBrackets } from "./bohb";
export type { Searcher, Suggestion, Observation, TrialEndState } from "./types";
