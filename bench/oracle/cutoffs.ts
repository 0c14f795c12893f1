/**
 * A bound, not a method: successive halving whose rung cutoffs are known
 * before the first trial starts. ASHA (Li et al. 2020) estimates each rung's
 * cutoff from the trials that have reached it so far, so early decisions are
 * noisy and lenient; this scheduler is handed the exact answer instead: the
 * quantile of the sampling distribution's values at that rung (what random
 * search would produce there, computed from the recorded curves). A share of
 * the trials is never judged, Hyperband's hedge (Li et al. 2018) against
 * curves that cross after the first rungs.
 *
 * No real scheduler can have these cutoffs. The bench runs this one through
 * the same `simulate` loop as every row, to show with numbers what early
 * stopping alone could reach on a curve set, whatever the searcher.
 *
 * Paper symbols: η = `eta` (reduction factor), r = 1 (minimum resource),
 * R = maxT; rung k sits at t = r·η^k < R and keeps the top η^-(k+1) of the
 * population there (the survivors of successive halving's k-th round).
 */
import type { Report } from "../../src/backends/types";
import { assertKind, cont, metricOf, stop } from "../../src/schedulers/common";
import type { Scheduler, SchedulerAction, SchedulerTrial } from "../../src/schedulers/types";
import { Rng } from "../../src/space/rng";

/** The rungs of successive halving with reduction factor η, r = 1, below maxT, each with the share of the population it keeps. */
export function shRungs(eta: number, maxT: number): Array<{ t: number; keep: number }> {
  const out: Array<{ t: number; keep: number }> = [];
  for (let k = 0, t = 1; t < maxT; k++, t *= eta) out.push({ t, keep: eta ** -(k + 1) });
  return out;
}

/**
 * The value at rank ⌈keep·n⌉ (1-based, ascending: lower is better) among the
 * population's values at each rung t; NaN values rank last. `population[i][t-1]`
 * is the i-th draw's value at t.
 */
export function cutoffsOf(population: number[][], rungs: Array<{ t: number; keep: number }>): Map<number, number> {
  const m = new Map<number, number>();
  for (const { t, keep } of rungs) {
    const vs = population.map((p) => p[t - 1]).map((v) => (Number.isFinite(v) ? v : Infinity)).sort((a, b) => a - b);
    // the 1e-9 keeps float error in keep·n (e.g. 3^-1 · 6) from moving the rank up by one
    m.set(t, vs[Math.max(0, Math.ceil(keep * vs.length - 1e-9) - 1)]);
  }
  return m;
}

export interface OracleOptions {
  metric: string;
  /** rung t → the largest value that continues (mode min) */
  cutoffs: Map<number, number>;
  /** share of trials never judged (0 = every trial faces every rung) */
  hedge: number;
  rng: Rng;
}

export class OracleCutoffScheduler implements Scheduler {
  readonly kind = "oracle-cutoffs";
  private hedged = new Set<string>();
  constructor(private o: OracleOptions) {}
  onTrialAdd(trial: SchedulerTrial): void {
    if (this.o.rng.next() < this.o.hedge) this.hedged.add(trial.trialId);
  }
  onResult(trialId: string, report: Report): SchedulerAction[] {
    const cut = this.o.cutoffs.get(report.t);
    if (cut === undefined || this.hedged.has(trialId)) return [cont(trialId)];
    const v = metricOf(report, this.o.metric);
    // NaN or a missing metric never beats a cutoff (schedulers.md's NaN rule: stop)
    return v !== undefined && v <= cut ? [cont(trialId)] : [stop(trialId, `oracle cutoff at t=${report.t}: ${v} > ${cut}`)];
  }
  onTrialComplete(): SchedulerAction[] {
    return [];
  }
  onTrialError(): SchedulerAction[] {
    return [];
  }
  decisionPoints(trialId: string): number[] {
    return this.hedged.has(trialId) ? [] : [...this.o.cutoffs.keys()].sort((a, b) => a - b);
  }
  wantsNewTrial(): boolean {
    return true;
  }
  chooseTrialToResume(paused: string[]): string | null {
    return paused[0] ?? null;
  }
  getState(): unknown {
    return { kind: this.kind, rng: this.o.rng.getState(), hedged: [...this.hedged] };
  }
  setState(state: unknown): void {
    const s = assertKind(state, this.kind) as { rng: number; hedged: string[] };
    this.o.rng.setState(s.rng);
    this.hedged = new Set(s.hedged);
  }
}
