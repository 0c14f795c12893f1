/** Searchers decide *where* to sample; schedulers decide *when* to stop. */
import type { HParams } from "../config/types";

export interface Suggestion {
  config: HParams;
  /** BOHB: true when the KDE model picked it, false when random. */
  modelBasedPick?: boolean;
  /** BOHB / HyperBand: the bracket the trial belongs to. */
  bracket?: number;
}

export interface Observation {
  trialId: string;
  config: HParams;
  /** budget (t) at which the value was observed */
  budget: number;
  /** sign-adjusted loss: lower is better (op·metric, op=+1 for min). NaN/inf = +Infinity. */
  loss: number;
}

/**
 * How a trial ended, for searchers that learn from it (TPE: completed →
 * COMPLETE, stopped → PRUNED unless it reached maxT, failed → left out).
 */
export type TrialEndState = "completed" | "stopped" | "failed";

export interface Searcher {
  readonly kind: string;
  /** Next configuration, or null when exhausted (grid). */
  suggest(trialId: string): Suggestion | null;
  /** Total configurations available (grid), or null when unbounded. */
  size(): number | null;
  observe(obs: Observation): void;
  /**
   * Optional: the trial ended (call it where the loop calls the scheduler's
   * onTrialComplete / onTrialError). Searchers without it learn from
   * observations only.
   */
  trialEnded?(trialId: string, state: TrialEndState): void;
  getState(): unknown;
  setState(state: unknown): void;
}
