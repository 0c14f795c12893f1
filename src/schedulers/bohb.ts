/**
 * HyperBandForBOHB (Ray Tune, docs/schedulers.md §3.2): the HyperBand
 * brackets of hyperband.ts, with four differences:
 *
 * 1. brackets are filled LARGEST first (s = s_max, s_max−1, …, 0 per band);
 * 2. a trial reaching its milestone is paused even if the bracket is not
 *    full yet, as long as the bracket is not full or any other member is not
 *    paused (this frees slots for new BOHB suggestions);
 * 3. a result at a milestone carries the budget = the bracket's current
 *    milestone r: `resultBudget(trialId)`; the driver then passes it to the
 *    KDE searcher (searchers/index.ts `observationFor`);
 * 4. deadlock rule: when nothing is running, brackets holding paused trials
 *    are processed. tunelab knows nothing is running when every one of the
 *    experiment's `totalTrials` trials has been added and each live one is
 *    paused; the check runs after every event, so its actions come back from
 *    the same onResult / onTrialComplete / onTrialError call.
 *
 * Deliberate difference: Ray's controller skips the searcher for a result
 * whose decision is STOP, so a bracket's final results never reach the
 * model; tunelab reports a budget for every milestone result.
 */
import type { Report } from "../backends/types";
import type { Rng } from "../space/rng";
import { cont, pause } from "./common";
import { HyperbandScheduler, type Bracket, type HyperbandOptions } from "./hyperband";
import type { SchedulerAction } from "./types";

export interface BohbSchedulerOptions extends HyperbandOptions {
  /** the experiment's trial count (config.samples): when all are added, the deadlock rule may fire. */
  totalTrials: number;
}

export class BohbScheduler extends HyperbandScheduler {
  override readonly kind: string = "bohb";
  private budgets = new Map<string, number | null>();
  readonly totalTrials: number;

  constructor(opts: BohbSchedulerOptions, rng: Rng) {
    super(opts, rng);
    this.totalTrials = opts.totalTrials;
  }

  protected override nextS(bandLength: number): number {
    return this.sMax1 - bandLength - 1;
  }

  resultBudget(trialId: string): number | null {
    return this.budgets.get(trialId) ?? null;
  }

  override onResult(trialId: string, report: Report): SchedulerAction[] {
    const b = this.record(trialId, report);
    if (b.continueTrial(trialId)) {
      this.budgets.set(trialId, null);
      return [cont(trialId)];
    }
    this.budgets.set(trialId, b.cumulR);
    const othersNotPaused = [...b.live.keys()].some((id) => id !== trialId && this.status.get(id) !== "paused");
    if (!b.filled() || othersNotPaused) {
      this.status.set(trialId, "paused");
      return [pause(trialId, `at milestone ${b.cumulR} (budget) of bracket s=${b.s}; waiting for the bracket`), ...this.deadlock()];
    }
    const out = this.processBracket(b, trialId);
    return [...out, ...this.deadlock()];
  }

  protected override onRemove(trialId: string): SchedulerAction[] {
    return [...super.onRemove(trialId), ...this.deadlock()];
  }

  /** Ray's choose_trial_to_run fallback: nothing running → process brackets holding paused trials. */
  private deadlock(): SchedulerAction[] {
    if (this.trialInfo.size < this.totalTrials) return [];
    for (const st of this.status.values()) if (st !== "paused") return [];
    const out: SchedulerAction[] = [];
    for (const band of this.bands) {
      for (const b of band) {
        if (!b || ![...b.live.keys()].some((id) => this.status.get(id) === "paused")) continue;
        out.push(...this.processBracket(b as Bracket, null));
      }
    }
    return out;
  }

  protected override extraState(): Record<string, unknown> {
    return { budgets: [...this.budgets] };
  }
  protected override setExtraState(s: Record<string, unknown>): void {
    this.budgets = new Map(s.budgets as [string, number | null][]);
  }
}
