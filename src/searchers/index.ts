/**
 * Searcher factory. grid → GridSearcher (cross product, `samples` long);
 * bohb → the KDE config generator; everything else → RandomSearcher (PBT's
 * initial population, ASHA/HyperBand's configurations).
 */
import type { ExperimentConfig } from "../config/types";
import type { Rng } from "../space/rng";
import { GridSearcher } from "./grid";
import { RandomSearcher } from "./random";
import type { Searcher } from "./types";

export function createSearcher(config: ExperimentConfig, rng: Rng): Searcher {
  switch (config.method.kind) {
    case "grid":
      return new GridSearcher(config.space, config.samples);
    default:
      return new RandomSearcher(config.space, rng);
  }
}

export { GridSearcher } from "./grid";
export { RandomSearcher } from "./random";
export type { Searcher, Suggestion, Observation } from "./types";
