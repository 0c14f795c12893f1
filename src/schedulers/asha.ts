/**
 * ASHA in Ray Tune's stopping form (`AsyncHyperBandScheduler`), per
 * docs/schedulers.md §1. Every trial keeps running unless, when it first
 * reaches a rung, its value is strictly worse than the (1 − 1/η) quantile of
 * what OTHER trials recorded at that rung earlier.
 *
 * NaN / ±Infinity metrics (`nanPolicy`):
 * - "worst" (tunelab default): a non-finite value is the worst possible value.
 *   At the rung being judged the trial is STOPPED iff at least one other trial
 *   has recorded a finite value there; if the rung is empty or holds only
 *   non-finite values there is nothing it is worse than, so it continues (the
 *   "first arrival always continues" rule). Its value is recorded as NaN, which
 *   the cutoff ignores, so it never shifts other trials' cutoffs.
 * - "ignore" (Ray): the sign-adjusted value is compared as is: NaN < cutoff is
 *   false, so a NaN trial is never stopped and runs to max_t; its NaN is
 *   recorded and ignored by nanpercentile.
 */
import type { Report } from "../backends/types";
import { decNum, drawIndex, encNum, guardedLogFloor, nanPercentile, sortedPercentile, upperBound, type JsonNum } from "../space/math";
import type { Rng } from "../space/rng";
import { assertKind, cont, metricOf, opOf, stop } from "./common";
import type { Scheduler, SchedulerAction, SchedulerTrial } from "./types";

export interface AshaOptions {
  metric: string;
  mode: "min" | "max";
  /** r (paper) / grace_period (Ray): minimum resource before a trial can be stopped. */
  gracePeriod: number;
  /** η (paper) / reduction_factor (Ray): 1/η of the trials survive each rung. */
  reductionFactor: number;
  /** R (paper) / max_t (Ray): maximum resource (epochs) per trial. */
  maxT: number;
  /** number of brackets; bracket s has minimum early-stopping rate s (paper's s). */
  brackets: number;
  /** stop_last_trials (Ray): stop every trial whose t reaches max_t. */
  stopLastTrials: boolean;
  nanPolicy: "worst" | "ignore";
}

interface Rung {
  milestone: number;
  /** trialId → sign-adjusted value (higher is better); NaN allowed. */
  recorded: Map<string, number>;
  /** the non-NaN recorded values, ascending: the cutoff in O(1) instead of a sort per decision. */
  sorted: number[];
  /** how many recorded values are NaN (nanpercentile ignores them). */
  nans: number;
}

function record(r: Rung, id: string, x: number): void {
  r.recorded.set(id, x);
  if (Number.isNaN(x)) r.nans++;
  else r.sorted.splice(upperBound(r.sorted, x), 0, x);
}

/** nanpercentile of the rung's recorded values: null if empty, NaN if all NaN. */
function rungCutoff(r: Rung, eta: number): number | null {
  if (r.recorded.size === 0) return null;
  if (r.sorted.length === 0) return NaN;
  return sortedPercentile(r.sorted, (1 - 1 / eta) * 100);
}

/** Number of rungs n(s) = floor(ln(R/g)/ln η + 1e-9) − s + 1 (guarded; never negative). */
export function rungCount(g: number, R: number, eta: number, s: number): number {
  return Math.max(0, guardedLogFloor(R / g, eta) - s + 1);
}

/** Milestones g·η^(k+s), k = 0…n(s)−1, ascending. */
export function ashaRungs(g: number, R: number, eta: number, s = 0): number[] {
  const n = rungCount(g, R, eta, s);
  return Array.from({ length: n }, (_, k) => g * Math.pow(eta, k + s));
}

/** Ray's bracket probabilities: softmax over the rung counts. */
export function bracketProbabilities(g: number, R: number, eta: number, brackets: number): number[] {
  const sizes = Array.from({ length: brackets }, (_, s) => rungCount(g, R, eta, s));
  const mx = Math.max(...sizes);
  const w = sizes.map((n) => Math.exp(n - mx));
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / total);
}

/** cutoff = nanpercentile(recorded, (1 − 1/η)·100); null for an empty rung. */
export function ashaCutoff(values: readonly number[], eta: number): number | null {
  return nanPercentile(values, (1 - 1 / eta) * 100);
}

export class AshaScheduler implements Scheduler {
  readonly kind = "asha";
  readonly opts: AshaOptions;
  private rng: Rng;
  /** per bracket, rungs in DESCENDING milestone order (as Ray stores them). */
  private brackets: Rung[][];
  private trialBracket = new Map<string, number>();
  private readonly op: 1 | -1;

  constructor(opts: AshaOptions, rng: Rng) {
    if (!(opts.gracePeriod > 0)) throw new Error("asha: gracePeriod must be > 0");
    if (!(opts.reductionFactor > 1)) throw new Error("asha: reductionFactor must be > 1");
    if (!(opts.maxT > 0) || opts.maxT < opts.gracePeriod) throw new Error("asha: maxT must be > 0 and >= gracePeriod");
    if (!(opts.brackets >= 1)) throw new Error("asha: brackets must be >= 1");
    this.opts = opts;
    this.rng = rng;
    this.op = opOf(opts.mode);
    this.brackets = Array.from({ length: opts.brackets }, (_, s) =>
      ashaRungs(opts.gracePeriod, opts.maxT, opts.reductionFactor, s)
        .reverse()
        .map((milestone) => ({ milestone, recorded: new Map<string, number>(), sorted: [] as number[], nans: 0 })),
    );
  }

  /** Ascending milestones of bracket s (for plots: rung markers). */
  rungs(s = 0): number[] {
    return this.brackets[s].map((r) => r.milestone).reverse();
  }

  bracketOf(trialId: string): number | undefined {
    return this.trialBracket.get(trialId);
  }

  onTrialAdd(trial: SchedulerTrial): void {
    if (this.trialBracket.has(trial.trialId)) return;
    let idx = 0;
    if (this.brackets.length > 1) {
      const p = bracketProbabilities(this.opts.gracePeriod, this.opts.maxT, this.opts.reductionFactor, this.brackets.length);
      idx = drawIndex(p, this.rng.next());
    }
    this.trialBracket.set(trial.trialId, idx);
  }

  onResult(trialId: string, report: Report): SchedulerAction[] {
    const b = this.trialBracket.get(trialId);
    if (b === undefined) throw new Error(`asha: unknown trial ${trialId} (onTrialAdd first)`);
    const v = metricOf(report, this.opts.metric);
    if (typeof report.t !== "number" || v === undefined) return [cont(trialId)];
    if (this.opts.stopLastTrials && report.t >= this.opts.maxT) return [stop(trialId, `max_t ${this.opts.maxT} reached`)];
    return [this.judge(trialId, b, report.t, v)];
  }

  /** Ray's _Bracket.on_result: judge at the highest crossed rung not yet recorded. */
  private judge(trialId: string, b: number, t: number, v: number): SchedulerAction {
    for (const rung of this.brackets[b]) {
      const recordedHere = rung.recorded.has(trialId);
      if (t >= rung.milestone && recordedHere && !this.opts.stopLastTrials) break;
      if (t < rung.milestone || recordedHere) continue;
      let stopIt = false;
      let why = "";
      if (!Number.isFinite(v) && this.opts.nanPolicy === "worst") {
        stopIt = rung.sorted.some((x) => Number.isFinite(x));
        why = `non-finite ${this.opts.metric} (${v}) at rung ${rung.milestone}; worst by nanPolicy "worst"`;
        record(rung, trialId, NaN);
      } else {
        const x = this.op * v;
        const cutoff = rungCutoff(rung, this.opts.reductionFactor);
        if (cutoff !== null && x < cutoff) {
          stopIt = true;
          why = `${this.opts.metric}=${v} worse than rung ${rung.milestone} cutoff ${this.op * cutoff}`;
        }
        record(rung, trialId, x);
      }
      return stopIt ? stop(trialId, why) : cont(trialId);
    }
    return cont(trialId);
  }

  /** Ray deposits the final result at the highest not-yet-recorded rung ≤ t, then forgets the trial. */
  onTrialComplete(trialId: string, last: Report | null): SchedulerAction[] {
    const b = this.trialBracket.get(trialId);
    if (b === undefined) return [];
    if (last) {
      const v = metricOf(last, this.opts.metric);
      if (typeof last.t === "number" && v !== undefined) this.judge(trialId, b, last.t, v);
    }
    this.trialBracket.delete(trialId);
    return [];
  }

  onTrialError(trialId: string): SchedulerAction[] {
    this.trialBracket.delete(trialId);
    return [];
  }

  decisionPoints(trialId: string): number[] {
    const b = this.trialBracket.get(trialId) ?? 0;
    const pts = this.rungs(b).map((m) => Math.ceil(m)).filter((p) => p < this.opts.maxT);
    return [...new Set(pts)];
  }

  wantsNewTrial(): boolean {
    return true;
  }
  chooseTrialToResume(paused: string[]): string | null {
    return paused[0] ?? null;
  }

  /** Values recorded at each rung of bracket s (sign-adjusted back to metric units), for views and tests. */
  recorded(s = 0): Array<{ milestone: number; values: Record<string, number> }> {
    return this.brackets[s]
      .map((r) => ({ milestone: r.milestone, values: Object.fromEntries([...r.recorded].map(([k, x]) => [k, this.op * x])) }))
      .reverse();
  }

  getState(): unknown {
    return {
      kind: "asha",
      rng: this.rng.getState(),
      trials: [...this.trialBracket],
      brackets: this.brackets.map((rs) => rs.map((r) => [...r.recorded].map(([k, x]) => [k, encNum(x)]))),
    };
  }

  setState(state: unknown): void {
    const s = assertKind(state, "asha") as { rng: number; trials: [string, number][]; brackets: [string, JsonNum][][][] };
    if (s.brackets.length !== this.brackets.length) throw new Error("asha setState: bracket count differs from the config");
    this.rng.setState(s.rng);
    this.trialBracket = new Map(s.trials);
    s.brackets.forEach((rs, b) =>
      rs.forEach((entries, i) => {
        const r = this.brackets[b][i];
        r.recorded = new Map();
        r.sorted = [];
        r.nans = 0;
        for (const [k, x] of entries) record(r, k, decNum(x));
      }),
    );
  }
}
