/**
 * Random searcher: independent draws from each domain with the seeded Rng
 * (loguniform uniform in log space, int inclusive, choice uniform).
 * Unbounded: the driver stops at `samples`.
 *
 * `grid` dimensions follow Ray's grid_search under a random search: trial k
 * takes grid point k mod G of the cross product of the grid dimensions
 * (every point once per repeat), the other dimensions are drawn.
 */
import type { HParams, SpaceSpec } from "../config/types";
import { gridPoints, sampleSpace, toSpace, type Space } from "../space/domains";
import type { Rng } from "../space/rng";
import type { Observation, Searcher, Suggestion } from "./types";

export class RandomSearcher implements Searcher {
  readonly kind = "random";
  private readonly keys: string[];
  private readonly sampled: Space;
  private readonly grid: ReturnType<typeof gridPoints>;
  private next = 0;
  constructor(space: SpaceSpec, private readonly rng: Rng) {
    const all = toSpace(space);
    this.keys = all.map(([k]) => k);
    this.sampled = all.filter(([, d]) => d.type !== "grid");
    const g = all.filter(([, d]) => d.type === "grid");
    this.grid = g.length ? gridPoints(g) : [];
  }
  suggest(_trialId: string): Suggestion | null {
    const drawn = sampleSpace(this.sampled, this.rng);
    const k = this.next++;
    if (!this.grid.length) return { config: drawn };
    const point = this.grid[k % this.grid.length];
    const config: HParams = {};
    for (const key of this.keys) config[key] = key in point ? point[key] : drawn[key];
    return { config };
  }
  size(): null {
    return null;
  }
  observe(_obs: Observation): void {}
  getState(): unknown {
    return { kind: "random", rng: this.rng.getState(), next: this.next };
  }
  setState(state: unknown): void {
    const s = state as { kind?: string; rng?: number; next?: number };
    if (s?.kind !== "random" || typeof s.rng !== "number") throw new Error("setState: expected a random searcher state");
    this.rng.setState(s.rng);
    this.next = s.next ?? 0;
  }
}
