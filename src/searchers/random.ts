/**
 * Random searcher: independent draws from each domain with the seeded Rng
 * (loguniform uniform in log space, int inclusive, choice uniform).
 * Unbounded: the driver stops at `samples`.
 */
import type { SpaceSpec } from "../config/types";
import { sampleSpace, toSpace, type Space } from "../space/domains";
import type { Rng } from "../space/rng";
import type { Observation, Searcher, Suggestion } from "./types";

export class RandomSearcher implements Searcher {
  readonly kind = "random";
  private readonly space: Space;
  constructor(space: SpaceSpec, private readonly rng: Rng) {
    this.space = toSpace(space);
  }
  suggest(_trialId: string): Suggestion | null {
    return { config: sampleSpace(this.space, this.rng) };
  }
  size(): null {
    return null;
  }
  observe(_obs: Observation): void {}
  getState(): unknown {
    return { kind: "random", rng: this.rng.getState() };
  }
  setState(state: unknown): void {
    const s = state as { kind?: string; rng?: number };
    if (s?.kind !== "random" || typeof s.rng !== "number") throw new Error("setState: expected a random searcher state");
    this.rng.setState(s.rng);
  }
}
