/**
 * Schedulers are pure decision objects (Ray Tune's TrialScheduler, Optuna's
 * pruners): events in, actions out. No I/O, no clock, no global randomness:
 * a seeded RNG is passed in; state round-trips through JSON for the journal.
 */
import type { HParams } from "../config/types";
import type { Report } from "../backends/types";
import type { Rng } from "../space/rng";

export type SchedulerAction =
  | { trialId: string; action: "continue" }
  | { trialId: string; action: "stop"; reason: string }
  /** checkpoint and free resources; the scheduler may resume it later. */
  | { trialId: string; action: "pause"; reason: string }
  /** restart a paused trial from its own last checkpoint. */
  | { trialId: string; action: "resume" }
  /** PBT: restart trialId from donor's checkpoint with a new config. */
  | {
      trialId: string;
      action: "exploit";
      donor: string;
      checkpoint: string;
      donorT: number;
      config: HParams;
      /** per-key description of what explore did, e.g. {lr: "*1.2"}. */
      mutations: Record<string, string>;
    };

export interface SchedulerTrial {
  trialId: string;
  config: HParams;
}

export interface Scheduler {
  readonly kind: string;
  /** A new trial was created (bracket assignment happens here). */
  onTrialAdd(trial: SchedulerTrial): void;
  /** A report line arrived. Actions may concern other trials too (HyperBand, PBT). */
  onResult(trialId: string, report: Report): SchedulerAction[];
  /** The trial ended by itself (completed / stopped); last report if any. */
  onTrialComplete(trialId: string, last: Report | null): SchedulerAction[];
  onTrialError(trialId: string): SchedulerAction[];
  /** The t values where the trainer must wait for a decision (trial.json pause_at). */
  decisionPoints(trialId: string): number[];
  /** Whether the driver may start another new trial now (e.g. HyperBand bands). */
  wantsNewTrial(): boolean;
  /** Among paused trials marked for resume, which to run next (null = none). */
  chooseTrialToResume(paused: string[]): string | null;
  /**
   * BOHB (optional): the budget the trial's latest onResult counts for
   * (HyperBandForBOHB's hyperband_info.budget), or null when that result was
   * not at a milestone. The driver feeds such results to the searcher's
   * observe(); see searchers/index.ts `observationFor`.
   */
  resultBudget?(trialId: string): number | null;
  /** State for the journal; `restore(getState())` must reproduce every later decision. */
  getState(): unknown;
  setState(state: unknown): void;
}
