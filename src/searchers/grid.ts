/**
 * Grid searcher: the full cross product of the `grid` and `choice`
 * dimensions, in a stable order: keys in declaration order, the LAST key
 * varying fastest (see space/domains.ts `gridPoints`). With `limit` below the
 * grid size it stops early (the grid method's `samples`); above, it repeats
 * the grid (Ray's grid_search with num_samples repeats: every point once per
 * repeat, `samples` = repeats × grid size).
 */
import type { SpaceSpec } from "../config/types";
import { gridPoints, toSpace } from "../space/domains";
import type { Observation, Searcher, Suggestion } from "./types";

export class GridSearcher implements Searcher {
  readonly kind = "grid";
  private readonly points;
  private readonly limit: number;
  private next = 0;
  constructor(space: SpaceSpec, limit?: number) {
    this.points = gridPoints(toSpace(space));
    this.limit = limit ?? this.points.length;
  }
  suggest(_trialId: string): Suggestion | null {
    if (this.next >= this.limit || this.points.length === 0) return null;
    return { config: { ...this.points[this.next++ % this.points.length] } };
  }
  size(): number {
    return this.limit;
  }
  observe(_obs: Observation): void {}
  getState(): unknown {
    return { kind: "grid", next: this.next };
  }
  setState(state: unknown): void {
    const s = state as { kind?: string; next?: number };
    if (s?.kind !== "grid" || typeof s.next !== "number") throw new Error("setState: expected a grid searcher state");
    this.next = s.next;
  }
}
