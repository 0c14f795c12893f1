/**
 * The other modules the experiment wires together (config schema,
 * schedulers, searchers, backends), loaded on first use. Loading lazily keeps
 * `require("tunelab")` light in notebooks and lets the driver be tested with
 * parts passed in directly.
 *
 * Searcher ↔ scheduler (Ray's search_alg × scheduler): after every
 * `scheduler.onResult`, give the searcher `observationFor(...)` (null = none);
 * where the scheduler's onTrialComplete / onTrialError is called, call
 * `trialEnded(searcher, id, last, maxT | "failed")` too (TPE ranks stopped
 * trials as Optuna ranks pruned ones). `withSearcherFeedback` wraps a
 * scheduler so that the second happens by itself.
 */
import type { ExperimentConfig, HParams } from "../config/types";
import type { Backend, Report } from "../backends/types";
import type { Scheduler } from "../schedulers/types";
import type { Observation, Searcher } from "../searchers/types";
import type { Rng } from "../space/rng";

// Literal require() calls (not a variable path) so bundlers (esbuild, for the
// GPU machine without npm) can follow them.
function load<T>(m: Record<string, unknown>, mod: string, name: string): T {
  const f = m[name];
  if (typeof f !== "function") throw new Error(`${mod} does not export ${name}()`);
  return f as T;
}

export function parseExperiment(input: unknown): ExperimentConfig {
  return load<(i: unknown) => ExperimentConfig>(require("../config/schema"), "../config/schema", "parseExperiment")(input);
}

export function createScheduler(config: ExperimentConfig, rng: Rng): Scheduler {
  return load<(c: ExperimentConfig, r: Rng) => Scheduler>(require("../schedulers"), "../schedulers", "createScheduler")(config, rng);
}

export function createSearcher(config: ExperimentConfig, rng: Rng): Searcher {
  return load<(c: ExperimentConfig, r: Rng) => Searcher>(require("../searchers"), "../searchers", "createSearcher")(config, rng);
}

export function createBackend(config: ExperimentConfig): Backend {
  return load<(c: ExperimentConfig) => Backend>(require("../backends"), "../backends", "createBackend")(config);
}

/** What the searcher learns from a report (searchers/index.ts observationFor: BOHB milestones, else every report for tpe/bohb). */
export function observationFor(
  scheduler: Scheduler, searcher: Searcher, trialId: string, config: HParams, report: Report, metric: string, mode: "min" | "max",
): Observation | null {
  type F = (s: Scheduler, id: string, c: HParams, r: Report, m: string, mo: "min" | "max", se?: Searcher) => Observation | null;
  return load<F>(require("../searchers"), "../searchers", "observationFor")(scheduler, trialId, config, report, metric, mode, searcher);
}

/** Tell the searcher how a trial ended: `maxT` with the last report (completed at ≥ maxT, else stopped), or "failed". */
export function trialEnded(searcher: Searcher, trialId: string, last: Report | null, maxT: number | "failed"): void {
  if (!searcher.trialEnded) return;
  if (maxT === "failed") searcher.trialEnded(trialId, "failed");
  else searcher.trialEnded(trialId, last && typeof last.t === "number" && last.t >= maxT ? "completed" : "stopped");
}

/** The scheduler with the searcher told of every trial end (searchers/index.ts withSearcherFeedback). */
export function withSearcherFeedback(scheduler: Scheduler, searcher: Searcher, maxT: number): Scheduler {
  type F = (s: Scheduler, se: Searcher, m: number) => Scheduler;
  return load<F>(require("../searchers"), "../searchers", "withSearcherFeedback")(scheduler, searcher, maxT);
}

/** The full budget at which the searcher counts a trial as completed (method maxT, else trainer epochs). */
export function fullBudget(config: ExperimentConfig): number {
  return load<(c: ExperimentConfig) => number>(require("../searchers"), "../searchers", "fullBudget")(config);
}
