/**
 * Synchronous HyperBand (Li et al. 2017) as Ray Tune's `HyperBandScheduler`
 * implements it (docs/schedulers.md §1.9):
 *
 * - s_max+1 = round(ln R / ln η) + 1 (numpy's round: half to even);
 * - bracket s: n0 = ceil((s_max+1)/(s+1)·η^s) trials, first milestone
 *   r0 = int(R·η^−s); brackets with r0 = 0 are skipped;
 * - milestones r_k = ⌊R·η^(k−s)⌋ for k < s and r_s = R (HpBandSter's
 *   geometric budgets ending at max_budget, truncated to whole t), NOT Ray's
 *   r ← int(min(r·η, R)), which makes every bracket but s = 0 end below R
 *   when R is not a power of η (R = 10, η = 3: 3 → 9; η = 2: 2 → 4 → 8), so
 *   only one bracket ever trained to the full budget (docs/brackets.md);
 * - trials fill the SMALLEST bracket first (s = 0, 1, …), a new band when
 *   all s_max+1 brackets of the current one exist;
 * - a trial reaching its bracket's milestone is paused ("pause") until every
 *   live member has reached it; then successive halving keeps the best
 *   ceil(n/η) ("resume" for paused ones, "continue" for the reporting one)
 *   and stops the rest; n ← ceil(n/η), r ← the next milestone;
 * - when the last rung is done the bracket is finished and every member stops.
 *
 * Action contract for the driver: "pause" = checkpoint and free the slot
 * (or keep the trainer waiting at its decision point); "resume" = this
 * paused trial may run on from its own checkpoint: run the ones
 * `chooseTrialToResume` names when a slot is free (a trial still waiting at
 * its decision point is simply told "continue"). The driver calls
 * `onTrialComplete` for every trial that ends (also after a "stop").
 *
 * Differences from Ray, on purpose: a NaN/∞ metric sorts as the worst value
 * (Python's sort with NaN keys is undefined); every bad trial gets its own
 * "stop" (Ray returns STOP to the reporting trial when ANY bad one is running).
 */
import type { Report } from "../backends/types";
import { decNum, encNum, type JsonNum } from "../space/math";
import type { Rng } from "../space/rng";
import { assertKind, cont, metricOf, opOf, pause, resume, stop } from "./common";
import type { Scheduler, SchedulerAction, SchedulerTrial } from "./types";

export interface HyperbandOptions {
  metric: string;
  mode: "min" | "max";
  /** R (paper): maximum resource per configuration (epochs). */
  maxT: number;
  /** η (paper): 1/η of a bracket survives each halving. */
  reductionFactor: number;
  /** stop every trial when its bracket's last rung is done (Ray's stop_last_trials). */
  stopLastTrials: boolean;
}

/** numpy.round: half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** s_max + 1 = round(ln R / ln η) + 1. */
export function hyperbandSMax1(R: number, eta: number): number {
  return roundHalfEven(Math.log(R) / Math.log(eta)) + 1;
}
export function hyperbandN0(sMax1: number, eta: number, s: number): number {
  return Math.ceil((sMax1 / (s + 1)) * Math.pow(eta, s));
}
export function hyperbandR0(R: number, eta: number, s: number): number {
  return Math.trunc(R * Math.pow(eta, -s));
}

/**
 * The milestones of bracket s: r_k = ⌊R·η^(k−s)⌋ (guarded floor) for
 * k = 0 … s−1, and r_s = R, kept strictly increasing (a small η can make two
 * truncations equal; the later one then moves up by 1, never past R).
 */
export function hyperbandMilestones(R: number, eta: number, s: number): number[] {
  const out: number[] = [];
  for (let k = 0; k <= s; k++) {
    let r = k === s ? R : Math.floor(R * Math.pow(eta, k - s) + 1e-9);
    if (k > 0 && r <= out[k - 1]) r = Math.min(R, out[k - 1] + 1);
    out.push(r);
  }
  return out;
}

/** The (n, r) stages of bracket s: n0 = ceil((s_max+1)/(s+1)·η^s), n ← ceil(n/η); r from hyperbandMilestones (s+1 stages). */
export function hyperbandStages(R: number, eta: number, s: number, sMax1 = hyperbandSMax1(R, eta)): Array<[number, number]> {
  let n = hyperbandN0(sMax1, eta, s);
  const rs = hyperbandMilestones(R, eta, s);
  const out: Array<[number, number]> = [[n, rs[0]]];
  for (let i = 1; i <= s; i++) {
    n = Math.ceil(n / eta);
    out.push([n, rs[i]]);
  }
  return out;
}

interface Live {
  t: number | null;
  /** sign-adjusted metric of the last result (higher is better); NaN = none/invalid */
  x: number;
}

export interface BracketState {
  s: number;
  n0: number;
  r0: number;
  n: number;
  r: number;
  cumulR: number;
  halves: number;
  live: Array<[string, number | null, JsonNum]>;
  all: string[];
  totalWork: number;
  completedProgress: number;
  toUnpause: string[];
}

export class Bracket {
  s: number; n0: number; r0: number; n: number; r: number; cumulR: number; halves: number;
  live = new Map<string, Live>();
  all: string[] = [];
  totalWork: number;
  completedProgress = 0;
  toUnpause = new Set<string>();
  readonly milestones: number[];
  constructor(readonly eta: number, readonly maxT: number, readonly stopLast: boolean, s: number, n0: number, r0: number) {
    this.s = s; this.n0 = this.n = n0; this.r0 = this.r = this.cumulR = r0; this.halves = s;
    this.milestones = hyperbandMilestones(maxT, eta, s);
    this.totalWork = this.calculateTotalWork(n0, s);
  }
  /** Σ n_k·(r_k − r_{k−1}): the epochs the bracket trains (Ray's completion ratio denominator, with these milestones). */
  private calculateTotalWork(n: number, s: number): number {
    let work = 0;
    let prev = 0;
    for (let i = 0; i <= s; i++) {
      work += Math.trunc(n) * (this.milestones[i] - prev);
      prev = this.milestones[i];
      n = Math.ceil(n / this.eta);
    }
    return work;
  }
  filled(): boolean { return this.all.length === this.n0; }
  add(id: string): void { this.live.set(id, { t: null, x: NaN }); this.all.push(id); }
  time(id: string): number { return this.live.get(id)?.t ?? 0; }
  curIterDone(): boolean { return [...this.live.values()].every((l) => (l.t ?? 0) >= this.cumulR); }
  finished(): boolean { return this.stopLast && this.halves === 0 && this.curIterDone(); }
  continueTrial(id: string): boolean {
    if (!this.stopLast && this.halves === 0) return true;
    return this.time(id) < this.cumulR;
  }
  update(id: string, t: number, x: number): void {
    const prev = this.live.get(id)!;
    this.completedProgress += t - (prev.t ?? 0);
    this.live.set(id, { t, x });
  }
  cleanup(id: string): void { this.live.delete(id); }
  completion(): number { return this.totalWork > 0 ? this.completedProgress / this.totalWork : 1; }
  successiveHalving(): { good: string[]; bad: string[] } {
    if (this.halves === 0 && !this.stopLast) return { good: [...this.live.keys()], bad: [] };
    this.halves -= 1;
    this.n = Math.ceil(this.n / this.eta);
    this.r = this.milestones[this.s - this.halves];
    this.cumulR = this.r;
    const key = (id: string) => { const x = this.live.get(id)!.x; return Number.isFinite(x) ? x : -Infinity; };
    const sorted = [...this.live.keys()].sort((a, b) => key(a) - key(b)); // ascending: best last (stable)
    const cut = Math.max(0, sorted.length - this.n);
    return { good: sorted.slice(cut), bad: sorted.slice(0, cut) };
  }
  toJSON(): BracketState {
    return {
      s: this.s, n0: this.n0, r0: this.r0, n: this.n, r: this.r, cumulR: this.cumulR, halves: this.halves,
      live: [...this.live].map(([id, l]) => [id, l.t, encNum(l.x)]), all: this.all,
      totalWork: this.totalWork, completedProgress: this.completedProgress, toUnpause: [...this.toUnpause],
    };
  }
  static fromJSON(j: BracketState, eta: number, maxT: number, stopLast: boolean): Bracket {
    const b = new Bracket(eta, maxT, stopLast, j.s, j.n0, j.r0);
    Object.assign(b, { n: j.n, r: j.r, cumulR: j.cumulR, halves: j.halves, all: [...j.all], totalWork: j.totalWork, completedProgress: j.completedProgress });
    b.live = new Map(j.live.map(([id, t, x]) => [id, { t, x: decNum(x) }]));
    b.toUnpause = new Set(j.toUnpause);
    return b;
  }
}

type Status = "running" | "paused" | "resuming";

export class HyperbandScheduler implements Scheduler {
  readonly kind: string = "hyperband";
  readonly opts: HyperbandOptions;
  readonly sMax1: number;
  protected readonly op: 1 | -1;
  /** bands of brackets; null = a skipped bracket (r0 = 0). */
  protected bands: Array<Array<Bracket | null>> = [[]];
  protected current: Bracket | null = null;
  protected trialInfo = new Map<string, [number, number]>();
  protected status = new Map<string, Status>();
  protected rng: Rng;

  constructor(opts: HyperbandOptions, rng: Rng) {
    if (!(opts.reductionFactor > 1)) throw new Error(`${this.kind}: reductionFactor must be > 1`);
    if (!(opts.maxT > 0)) throw new Error(`${this.kind}: maxT must be > 0`);
    this.opts = opts;
    this.rng = rng; // unused by the algorithm; kept so every scheduler journals an Rng alike
    this.op = opOf(opts.mode);
    this.sMax1 = hyperbandSMax1(opts.maxT, opts.reductionFactor);
  }

  /** Which bracket s a new bracket gets, given how many the band already holds. */
  protected nextS(bandLength: number): number {
    return bandLength;
  }

  onTrialAdd(trial: SchedulerTrial): void {
    if (this.trialInfo.has(trial.trialId)) return;
    if (this.current === null || this.current.filled()) {
      for (;;) {
        let band = this.bands[this.bands.length - 1];
        if (band.length >= this.sMax1) {
          band = [];
          this.bands.push(band);
        }
        const s = this.nextS(band.length);
        const r0 = hyperbandR0(this.opts.maxT, this.opts.reductionFactor, s);
        if (r0 === 0) {
          band.push(null);
          this.current = null;
          continue;
        }
        this.current = new Bracket(this.opts.reductionFactor, this.opts.maxT, this.opts.stopLastTrials, s, hyperbandN0(this.sMax1, this.opts.reductionFactor, s), r0);
        band.push(this.current);
        break;
      }
    }
    this.current!.add(trial.trialId);
    const bi = this.bands.length - 1;
    this.trialInfo.set(trial.trialId, [bi, this.bands[bi].length - 1]);
    this.status.set(trial.trialId, "running");
  }

  protected bracketOf(trialId: string): Bracket {
    const info = this.trialInfo.get(trialId);
    if (!info) throw new Error(`${this.kind}: unknown trial ${trialId} (onTrialAdd first)`);
    return this.bands[info[0]][info[1]]!;
  }

  /** The bracket s and (n, r) stage of a trial: for views and BOHB's budget. */
  bracketInfo(trialId: string): { band: number; s: number; milestone: number; n: number } {
    const b = this.bracketOf(trialId);
    return { band: this.trialInfo.get(trialId)![0], s: b.s, milestone: b.cumulR, n: b.n };
  }

  protected record(trialId: string, report: Report): Bracket {
    const b = this.bracketOf(trialId);
    if (!b.live.has(trialId)) throw new Error(`${this.kind}: trial ${trialId} is no longer live in its bracket`);
    this.status.set(trialId, "running");
    const v = metricOf(report, this.opts.metric);
    b.update(trialId, report.t, v === undefined || !Number.isFinite(v) ? NaN : this.op * v);
    return b;
  }

  onResult(trialId: string, report: Report): SchedulerAction[] {
    const b = this.record(trialId, report);
    if (b.continueTrial(trialId)) return [cont(trialId)];
    return this.processBracket(b, trialId);
  }

  /** Ray's _process_bracket; `current` is the reporting trial (if any). */
  protected processBracket(b: Bracket, current: string | null): SchedulerAction[] {
    const out: SchedulerAction[] = [];
    let own: SchedulerAction | null = current ? pause(current, `waiting at milestone ${b.cumulR} for the rest of bracket s=${b.s}`) : null;
    if (b.curIterDone()) {
      if (b.finished()) {
        for (const id of [...b.live.keys()]) {
          if (id === current) continue;
          if (this.status.get(id) === "paused") out.push(stop(id, `bracket s=${b.s} finished`));
        }
        if (current) own = stop(current, `bracket s=${b.s} finished at milestone ${b.cumulR}`);
        if (own) out.push(own);
        for (const a of out) if (a.action === "stop") this.forget(a.trialId, b);
        return out;
      }
      const milestone = b.cumulR;
      const { good, bad } = b.successiveHalving();
      for (const id of bad) {
        const a = stop(id, `successive halving at milestone ${milestone}: not in the best ${b.n}`);
        if (id === current) own = a;
        else out.push(a);
        this.forget(id, b);
      }
      for (const id of good) {
        if (!b.continueTrial(id)) continue;
        if (id === current) own = cont(id);
        else if (this.status.get(id) === "paused") {
          b.toUnpause.add(id);
          this.status.set(id, "resuming");
          out.push(resume(id));
        }
      }
    }
    if (own) {
      if (own.action === "pause") this.status.set(own.trialId, "paused");
      out.unshift(own);
    }
    return out;
  }

  protected forget(id: string, b: Bracket): void {
    b.cleanup(id);
    this.status.delete(id);
  }

  protected onRemove(trialId: string): SchedulerAction[] {
    const info = this.trialInfo.get(trialId);
    if (!info) return [];
    const b = this.bands[info[0]][info[1]]!;
    this.forget(trialId, b);
    if (!b.finished() && b.live.size > 0) return this.processBracket(b, null);
    return [];
  }

  onTrialComplete(trialId: string, _last: Report | null): SchedulerAction[] {
    return this.onRemove(trialId);
  }
  onTrialError(trialId: string): SchedulerAction[] {
    return this.onRemove(trialId);
  }

  /** The milestones of the trial's bracket still ahead of it (below max_t). */
  decisionPoints(trialId: string): number[] {
    const b = this.bracketOf(trialId);
    const t = b.time(trialId);
    return b.milestones.slice(b.s - b.halves).filter((r) => r > t && r < this.opts.maxT);
  }

  wantsNewTrial(): boolean {
    return true;
  }

  /** Ray's choose_trial_to_run, restricted to paused trials marked for resume: least complete bracket first. */
  chooseTrialToResume(paused: string[]): string | null {
    const set = new Set(paused);
    for (const band of this.bands) {
      const brackets = band.filter((b): b is Bracket => b !== null).sort((a, c) => a.completion() - c.completion());
      for (const b of brackets) {
        for (const id of b.live.keys()) {
          if (set.has(id) && b.toUnpause.has(id)) {
            b.toUnpause.delete(id);
            this.status.set(id, "running");
            return id;
          }
        }
      }
    }
    return null;
  }

  /** Bracket layout for views: per band, per bracket: s, stage (n, r) and members. */
  layout(): Array<Array<{ s: number; n: number; milestone: number; members: string[]; live: string[] } | null>> {
    return this.bands.map((band) => band.map((b) => (b ? { s: b.s, n: b.n, milestone: b.cumulR, members: [...b.all], live: [...b.live.keys()] } : null)));
  }

  getState(): unknown {
    const cur = this.current ? this.locate(this.current) : null;
    return {
      kind: this.kind,
      rng: this.rng.getState(),
      bands: this.bands.map((band) => band.map((b) => (b ? b.toJSON() : null))),
      current: cur,
      trials: [...this.trialInfo],
      status: [...this.status],
      ...this.extraState(),
    };
  }
  protected extraState(): Record<string, unknown> {
    return {};
  }
  protected locate(b: Bracket): [number, number] {
    for (let i = 0; i < this.bands.length; i++) {
      const j = this.bands[i].indexOf(b);
      if (j >= 0) return [i, j];
    }
    throw new Error("bracket not found");
  }

  setState(state: unknown): void {
    const s = assertKind(state, this.kind) as {
      rng: number; bands: Array<Array<BracketState | null>>; current: [number, number] | null;
      trials: [string, [number, number]][]; status: [string, Status][];
    };
    this.rng.setState(s.rng);
    this.bands = s.bands.map((band) => band.map((b) => (b ? Bracket.fromJSON(b, this.opts.reductionFactor, this.opts.maxT, this.opts.stopLastTrials) : null)));
    this.current = s.current ? this.bands[s.current[0]][s.current[1]] : null;
    this.trialInfo = new Map(s.trials);
    this.status = new Map(s.status);
    this.setExtraState(s as unknown as Record<string, unknown>);
  }
  protected setExtraState(_s: Record<string, unknown>): void {}
}
