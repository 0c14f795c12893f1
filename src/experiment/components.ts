/**
 * The other modules the experiment wires together (config schema,
 * schedulers, searchers, backends), loaded on first use. Loading lazily keeps
 * `require("tunelab")` light in notebooks and lets the driver be tested with
 * parts passed in directly.
 */
import type { ExperimentConfig } from "../config/types";
import type { Backend } from "../backends/types";
import type { Scheduler } from "../schedulers/types";
import type { Searcher } from "../searchers/types";
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
