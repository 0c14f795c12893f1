/**
 * Two more bounds, not methods, each knowing more than the one in cutoffs.ts:
 * what early stopping could reach on a curve set if it knew which
 * configurations end within 1% of the grid's best (the target).
 *
 * - `ThresholdOracleScheduler` ("perfect thresholds"): at every t < R it stops
 *   a trial whose metric is worse than the worst value any within-1%
 *   configuration has at that t. It judges by the metric alone, as rank and
 *   threshold rules do (successive halving, ASHA, the median rule), never
 *   stops a within-1% configuration, and keeps only what looks at least as
 *   good as one of them at every epoch; real rules have to estimate those
 *   thresholds from the trials seen so far.
 * - `ForesightScheduler` ("perfect foresight"): it stops, at the first report,
 *   every trial whose final value is not within 1%; it is told each
 *   configuration's final value. Nothing that waits for a report can stop a
 *   trial sooner.
 *
 * Both run through the bench's `simulate` loop under the default's searcher,
 * so the gap between them and a real row is what better stopping alone could
 * win there. Paper symbols: R = maxT (the full budget).
 */
import type { Report } from "../../src/backends/types";
import type { HParams } from "../../src/config/types";
import { assertKind, cont, metricOf, stop } from "../../src/schedulers/common";
import type { Scheduler, SchedulerAction, SchedulerTrial } from "../../src/schedulers/types";

/**
 * t → the worst value a within-1% configuration has at t (`within[i][t-1]`:
 * the i-th within-1% configuration's value at t, mode min), for t = 1 … maxT−1
 * (at R nothing is judged: the trial has finished). NaN at some t (a
 * within-1% curve that diverged there and recovered) makes the threshold +∞:
 * nothing is stopped at that t.
 */
export function hitThresholds(within: number[][], maxT: number): Map<number, number> {
  const m = new Map<number, number>();
  if (!within.length) return m;
  for (let t = 1; t < maxT; t++) m.set(t, Math.max(...within.map((c) => (Number.isFinite(c[t - 1]) ? c[t - 1] : Infinity))));
  return m;
}

abstract class KnowingScheduler implements Scheduler {
  abstract readonly kind: string;
  onTrialAdd(_trial: SchedulerTrial): void {}
  abstract onResult(trialId: string, report: Report): SchedulerAction[];
  onTrialComplete(): SchedulerAction[] {
    return [];
  }
  onTrialError(): SchedulerAction[] {
    return [];
  }
  abstract decisionPoints(trialId: string): number[];
  wantsNewTrial(): boolean {
    return true;
  }
  chooseTrialToResume(paused: string[]): string | null {
    return paused[0] ?? null;
  }
  getState(): unknown {
    return { kind: this.kind };
  }
  setState(state: unknown): void {
    assertKind(state, this.kind);
  }
}

export class ThresholdOracleScheduler extends KnowingScheduler {
  readonly kind = "oracle-thresholds";
  constructor(private o: { metric: string; thresholds: Map<number, number> }) {
    super();
  }
  onResult(trialId: string, report: Report): SchedulerAction[] {
    const cut = this.o.thresholds.get(report.t);
    if (cut === undefined) return [cont(trialId)];
    const v = metricOf(report, this.o.metric);
    // NaN or a missing metric is never within a finite threshold (schedulers.md's NaN rule: stop)
    return v !== undefined && (v <= cut || cut === Infinity) ? [cont(trialId)] : [stop(trialId, `oracle threshold at t=${report.t}: ${v} > ${cut}`)];
  }
  decisionPoints(_trialId: string): number[] {
    return [...this.o.thresholds.keys()].sort((a, b) => a - b);
  }
}

export class ForesightScheduler extends KnowingScheduler {
  readonly kind = "oracle-foresight";
  private configs = new Map<string, HParams>();
  /** `final(config)`: the configuration's value at R; `target`: the largest final value that counts as within 1%. */
  constructor(private o: { final: (c: HParams) => number; target: number }) {
    super();
  }
  onTrialAdd(trial: SchedulerTrial): void {
    this.configs.set(trial.trialId, trial.config);
  }
  onResult(trialId: string, report: Report): SchedulerAction[] {
    const c = this.configs.get(trialId);
    if (report.t !== 1 || !c) return [cont(trialId)];
    const f = this.o.final(c);
    return f <= this.o.target ? [cont(trialId)] : [stop(trialId, `foresight: final ${f} > ${this.o.target}`)];
  }
  decisionPoints(_trialId: string): number[] {
    return [1];
  }
  getState(): unknown {
    return { kind: this.kind, configs: [...this.configs] };
  }
  setState(state: unknown): void {
    const s = assertKind(state, this.kind) as { configs: Array<[string, HParams]> };
    this.configs = new Map(s.configs);
  }
}
