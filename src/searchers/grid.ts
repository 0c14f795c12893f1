/**
 * Grid searcher: the full cross product of the `grid` and `choice`
 * dimensions (the config schema allows only those with the grid method),
 * in a stable order: keys in declaration order, the LAST key varying
 * fastest (see space/domains.ts `gridPoints`). `samples` may cut it short.
 */
import type { SpaceSpec } from "../config/types";
import { gridPoints, toSpace } from "../space/domains";
import type { Observation, Searcher, Suggestion } from "./types";

export class GridSearcher implements Searcher {
  readonly kind = "grid";
  private readonly points;
  private next = 0;
  constructor(space: SpaceSpec, limit?: number) {
    const all = gridPoints(toSpace(space));
    this.points = limit === undefined ? all : all.slice(0, limit);
  }
  suggest(_trialId: string): Suggestion | null {
    if (this.next >= this.points.length) return null;
    return { config: { ...this.points[this.next++] } };
  }
  size(): number {
    return this.points.length;
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
