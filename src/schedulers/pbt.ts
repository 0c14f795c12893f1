/**
 * Population Based Training (Jaderberg et al. 2017), following Ray Tune's
 * `PopulationBasedTraining` (docs/schedulers.md §2) with tunelab's changes:
 *
 * - choice/grid dimensions are ORDERED lists: explore shifts to a neighbour
 *   (clamped at the ends) or resamples from the list, never leaving it
 *   (Ray treats `tune.choice` as continuous and can turn batch size 1 into 0);
 * - continuous dimensions are multiplied by a perturbation factor or
 *   resampled, then CLAMPED into their declared bounds; int dimensions are
 *   rounded (Ray truncates with int()); every new value is checked with
 *   `contains` before it is returned;
 * - exploit only happens when the donor has a checkpoint (the `checkpoint`
 *   field of the report it made at its last perturbation point while in the
 *   upper quantile), exactly like Ray's "no checkpoint for trial … skip";
 * - a non-finite metric counts as the worst score (−∞ after sign adjustment);
 * - a report at t ≥ maxT only updates the score (the trial ends there; an
 *   exploit would restart a finished trial);
 * - synchronous mode re-checks the barrier when a trial completes or fails,
 *   so the last trial leaving does not leave the others waiting forever;
 * - the donor must be AHEAD of the receiver or at its t (donor's
 *   last_train_time ≥ the receiver's t): a uniform pick among such
 *   upper-quantile members, no exploit when there is none. Ray picks any
 *   upper-quantile member and copies its last_train_time and
 *   last_perturbation_time to the receiver (pbt.py `_exploit`), so an
 *   asynchronous receiver can move back in time; at interval 1 a member at the
 *   last perturbation point (t = maxT − 1) then exploits donors at maxT − 2,
 *   trains back to maxT − 1, and does it again: a livelock (docs/pbt-livelock.md).
 *   With the rule t never decreases, so every member reaches maxT. Scheduler
 *   states journaled before the rule (no `donorRule` field) keep Ray's rule
 *   when restored, so old runs reattach with the decisions they made.
 *
 * Actions: "continue"; "pause" (async: time-multiplexing because population
 * members are waiting; synch: wait at the barrier); "resume" (synch: the
 * barrier is passed, run on from your own checkpoint); "exploit" (restart
 * from the donor's checkpoint at donorT with the explored config).
 *
 * Policy logs: `policyRows()` is pbt_global.txt, `policyFor(id)` is
 * pbt_policy_<id>.txt (the donor's lineage, then the new row), rows in Ray's
 * format [target_tag, donor_tag, target_iter, donor_iter, donor_config,
 * new_config]. Tags are trial ids; target_iter is the t of the report that
 * triggered the exploit, donor_iter the t of the donor checkpoint copied.
 */
import type { HParams, SpaceSpec } from "../config/types";
import type { Report } from "../backends/types";
import { clampToDomain, contains, indexOf, isCategorical, sample, toDomain, type Domain } from "../space/domains";
import { decNum, encNum, type JsonNum } from "../space/math";
import type { Rng } from "../space/rng";
import { assertKind, cont, metricOf, opOf, pause, resume } from "./common";
import type { Scheduler, SchedulerAction, SchedulerTrial } from "./types";

export interface PbtOptions {
  metric: string;
  mode: "min" | "max";
  /** T_ready interval (paper: "ready" criterion): t units (epochs) between perturbations. */
  perturbationInterval: number;
  /** no exploit/explore while t < burnInPeriod. */
  burnInPeriod: number;
  /** truncation selection fraction (paper: bottom/top 20–25%). In [0, 0.5]. */
  quantileFraction: number;
  /** explore: probability of resampling instead of perturbing. */
  resampleProbability: number;
  /** explore: multiplicative perturbation factors (paper: 0.8 / 1.2). */
  perturbationFactors: [number, number];
  space: SpaceSpec;
  /** keys to mutate; default every key of space. */
  mutations?: string[];
  synch: boolean;
  /** population size N (= config.samples); members not yet added count as pending. */
  population: number;
  /** trainer epochs; reports at t ≥ maxT never exploit. */
  maxT: number;
}

export type PolicyRow = [string, string, number, number, HParams, HParams];

interface TrialState {
  tag: string;
  /** add order: ties in score keep it (Python's stable sort over the trial dict). */
  idx: number;
  config: HParams;
  lastScore: number | null;
  /** checkpoint reported with the last saved state (this perturbation point). */
  reportCheckpoint: string | null;
  lastCheckpoint: string | null;
  lastPerturbationTime: number;
  lastTrainTime: number;
  status: "live" | "paused" | "finished";
}

/** Ray's `_quantiles` sizing: k = ceil(n·f) capped at ⌊n/2⌋; 0 when n ≤ 1. */
export function quantileSize(n: number, fraction: number): number {
  if (n <= 1) return 0;
  let k = Math.ceil(n * fraction);
  if (k > n / 2) k = Math.floor(n / 2);
  return k;
}

/**
 * Explore one value (§2.5 with tunelab's ordered lists and clamping).
 * Returns the new value and Ray's operation label.
 */
export function exploreValue(d: Domain, c: unknown, rng: Rng, resampleProbability: number, factors: readonly number[]): { value: number | string | boolean; op: string } {
  if (isCategorical(d)) {
    const i = indexOf(d, c);
    if (rng.next() < resampleProbability || i < 0) return { value: rng.pick(d.values), op: "resample" };
    const shift = rng.next() < 0.5 ? -1 : 1;
    const j = Math.min(Math.max(i + shift, 0), d.values.length - 1);
    return { value: d.values[j], op: `shift ${shift < 0 ? "left" : "right"}${i === j ? " (noop)" : ""}` };
  }
  if (rng.next() < resampleProbability || typeof c !== "number") return { value: sample(d, rng), op: "resample" };
  const f = rng.pick(factors);
  const raw = c * f;
  const v = clampToDomain(d, raw);
  return { value: v, op: `* ${f}${v !== raw ? " (clamped)" : ""}` };
}

export class PbtScheduler implements Scheduler {
  readonly kind = "pbt";
  readonly opts: PbtOptions;
  private rng: Rng;
  private readonly op: 1 | -1;
  private readonly domains: Map<string, Domain>;
  private readonly mutated: string[];
  private trials = new Map<string, TrialState>();
  private added = 0;
  private nextSync: number;
  private global: PolicyRow[] = [];
  private policies = new Map<string, PolicyRow[]>();
  /** "[pbt]: no checkpoint for trial X. Skip exploit for Trial Y" events. */
  private skipped: Array<{ target: string; donor: string; t: number }> = [];
  private numPerturbations = 0;
  /** unfinished trials with a score, ascending by (score, add order): the quantiles without a sort per result. */
  private ranked: Array<{ score: number; idx: number; id: string }> = [];
  private pausedCount = 0;
  /** "ahead": donors at or ahead of the receiver's t (tunelab); "any": Ray's rule (states journaled before the fix). */
  private donorRule: "ahead" | "any" = "ahead";

  constructor(opts: PbtOptions, rng: Rng) {
    if (!(opts.perturbationInterval > 0)) throw new Error("pbt: perturbationInterval must be > 0");
    if (!(opts.quantileFraction >= 0 && opts.quantileFraction <= 0.5)) throw new Error("pbt: quantileFraction must lie in [0, 0.5]");
    this.opts = opts;
    this.rng = rng;
    this.op = opOf(opts.mode);
    this.domains = new Map(Object.entries(opts.space).map(([k, s]) => [k, toDomain(s)]));
    this.mutated = opts.mutations ?? Object.keys(opts.space);
    for (const k of this.mutated) if (!this.domains.has(k)) throw new Error(`pbt: mutation ${k} is not in the space`);
    this.nextSync = Math.max(opts.perturbationInterval, opts.burnInPeriod);
  }

  onTrialAdd(trial: SchedulerTrial): void {
    if (this.trials.has(trial.trialId)) return;
    this.trials.set(trial.trialId, {
      tag: trial.trialId,
      idx: this.added++,
      config: { ...trial.config },
      lastScore: null,
      reportCheckpoint: null,
      lastCheckpoint: null,
      lastPerturbationTime: 0,
      lastTrainTime: 0,
      status: "live",
    });
  }

  private get(trialId: string): TrialState {
    const s = this.trials.get(trialId);
    if (!s) throw new Error(`pbt: unknown trial ${trialId} (onTrialAdd first)`);
    return s;
  }

  private static before(a: { score: number; idx: number }, b: { score: number; idx: number }): boolean {
    return a.score < b.score || (a.score === b.score && a.idx < b.idx);
  }
  private rankOf(st: TrialState): number {
    // lower bound of (score, idx)
    const key = { score: st.lastScore as number, idx: st.idx };
    let lo = 0, hi = this.ranked.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (PbtScheduler.before(this.ranked[mid], key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  private unrank(st: TrialState): void {
    if (st.lastScore === null) return;
    const i = this.rankOf(st);
    if (i < this.ranked.length && this.ranked[i].idx === st.idx) this.ranked.splice(i, 1);
  }
  private setScore(id: string, st: TrialState, score: number): void {
    if (st.status !== "finished") this.unrank(st);
    st.lastScore = score;
    if (st.status !== "finished") this.ranked.splice(this.rankOf(st), 0, { score, idx: st.idx, id });
  }
  private setStatus(st: TrialState, status: TrialState["status"]): void {
    if (st.status === status) return;
    if (st.status === "paused") this.pausedCount--;
    if (status === "paused") this.pausedCount++;
    if (status === "finished") this.unrank(st);
    st.status = status;
  }

  /** k = quantile size, n = ranked trials; lower = ranks [0, k), upper = ranks [n−k, n) (all when k = 0, as Python's trials[-0:]). */
  private qsize(): { n: number; k: number } {
    const n = this.ranked.length;
    return { n, k: quantileSize(n, this.opts.quantileFraction) };
  }

  /** Quantiles over unfinished trials with a score, worst first (stable sort in add order). */
  quantiles(): { lower: string[]; upper: string[] } {
    const { n, k } = this.qsize();
    if (n <= 1) return { lower: [], upper: [] };
    const ids = this.ranked.map((r) => r.id);
    return { lower: ids.slice(0, k), upper: k === 0 ? ids : ids.slice(n - k) };
  }

  onResult(trialId: string, report: Report): SchedulerAction[] {
    const st = this.get(trialId);
    if (st.status === "paused") this.setStatus(st, "live");
    const v = metricOf(report, this.opts.metric);
    const t = report.t;
    if (typeof t !== "number" || v === undefined) return [cont(trialId)];
    if (t < this.opts.burnInPeriod) return [cont(trialId)];
    if (t - st.lastPerturbationTime < this.opts.perturbationInterval) return [cont(trialId)];
    // save trial state
    this.setScore(trialId, st, Number.isFinite(v) ? this.op * v : -Infinity);
    st.lastTrainTime = t;
    st.reportCheckpoint = report.checkpoint ?? null;
    if (t >= this.opts.maxT) return [cont(trialId)];
    if (!this.opts.synch) {
      st.lastPerturbationTime = t;
      const waiting = this.added < this.opts.population || this.pausedCount > 0;
      const ex = this.checkpointOrExploit(trialId, t);
      if (ex) return [ex];
      if (waiting) {
        this.setStatus(st, "paused");
        return [pause(trialId, "time-multiplexing: population members are waiting")];
      }
      return [cont(trialId)];
    }
    this.setStatus(st, "paused");
    const synced = this.trySync(t);
    if (!synced) return [pause(trialId, `waiting for the population to reach t=${this.nextSync}`)];
    return synced.map((a) => (a.trialId === trialId && a.action === "resume" ? cont(trialId) : a));
  }

  /** Synch mode: if no live member lags behind the sync point, perturb everyone. */
  private trySync(time: number): SchedulerAction[] | null {
    if (this.added < this.opts.population) return null;
    const live = [...this.trials].filter(([, s]) => s.status !== "finished");
    if (live.some(([, s]) => s.status === "live" || s.lastTrainTime < this.nextSync)) return null;
    const { lower, upper } = this.quantiles();
    const lowSet = new Set(lower), upSet = new Set(upper);
    const middle = live.map(([id]) => id).filter((id) => !lowSet.has(id) && !upSet.has(id));
    const actions: SchedulerAction[] = [];
    const exploited = new Set<string>();
    // the quantiles are fixed before anyone is perturbed (Ray computes them once per sync)
    const fixed = { lower: lowSet, upper };
    for (const id of [...upper, ...middle, ...lower]) {
      const s = this.trials.get(id)!;
      s.lastPerturbationTime = time;
      const ex = this.checkpointOrExploit(id, s.lastTrainTime, fixed);
      if (ex) {
        actions.push(ex);
        exploited.add(id);
      }
    }
    for (const [id, s] of live) {
      this.setStatus(s, "live");
      if (!exploited.has(id)) actions.push(resume(id));
    }
    const maxTrain = Math.max(...[...this.trials.values()].map((s) => s.lastTrainTime));
    this.nextSync = Math.max(this.nextSync + this.opts.perturbationInterval, maxTrain);
    return actions;
  }

  private checkpointOrExploit(trialId: string, t: number, fixed?: { lower: Set<string>; upper: string[] }): SchedulerAction | null {
    const st = this.trials.get(trialId)!;
    let inUpper: boolean, inLower: boolean, pickDonor: () => string | null;
    if (fixed) {
      inUpper = fixed.upper.includes(trialId);
      inLower = fixed.lower.has(trialId);
      pickDonor = () => this.rng.pick(fixed.upper);
    } else {
      const { n, k } = this.qsize();
      const r = n <= 1 ? -1 : this.rankOf(st);
      inUpper = n > 1 && (k === 0 || r >= n - k);
      inLower = n > 1 && r < k;
      pickDonor = () => this.ranked[n - k + this.rng.int(k)].id; // = rng.pick(upper)
      if (this.donorRule === "ahead") {
        pickDonor = () => {
          const ahead = this.ranked.slice(n - k).map((x) => x.id).filter((id) => this.trials.get(id)!.lastTrainTime >= t);
          return ahead.length ? this.rng.pick(ahead) : null;
        };
      }
    }
    if (fixed && this.donorRule === "ahead") {
      const upper = fixed.upper;
      pickDonor = () => {
        const ahead = upper.filter((id) => this.trials.get(id)!.lastTrainTime >= t);
        return ahead.length ? this.rng.pick(ahead) : null;
      };
    }
    st.lastCheckpoint = inUpper ? st.reportCheckpoint : null;
    if (!inLower) return null;
    const donorId = pickDonor();
    if (donorId === null) return null; // every upper-quantile member is behind: exploiting would move t back
    const donor = this.trials.get(donorId)!;
    if (!donor.lastCheckpoint) {
      this.skipped.push({ target: trialId, donor: donorId, t });
      return null;
    }
    const { config, mutations } = this.explore(donor.config);
    const row: PolicyRow = [st.tag, donor.tag, t, donor.lastTrainTime, { ...donor.config }, { ...config }];
    this.global.push(row);
    this.policies.set(trialId, [...(this.policies.get(donorId) ?? []), row]);
    st.config = config;
    st.lastPerturbationTime = donor.lastPerturbationTime;
    st.lastTrainTime = donor.lastTrainTime;
    this.numPerturbations++;
    return { trialId, action: "exploit", donor: donorId, checkpoint: donor.lastCheckpoint, donorT: donor.lastTrainTime, config, mutations };
  }

  /** explore(donor config): mutate the configured keys; others are copied. */
  explore(config: HParams): { config: HParams; mutations: Record<string, string> } {
    const out: HParams = { ...config };
    const mutations: Record<string, string> = {};
    for (const k of this.mutated) {
      const d = this.domains.get(k)!;
      const r = exploreValue(d, config[k], this.rng, this.opts.resampleProbability, this.opts.perturbationFactors);
      if (!contains(d, r.value)) throw new Error(`pbt: explore produced ${k}=${String(r.value)} outside its domain`);
      out[k] = r.value;
      mutations[k] = r.op;
    }
    return { config: out, mutations };
  }

  onTrialComplete(trialId: string, last: Report | null): SchedulerAction[] {
    const st = this.trials.get(trialId);
    if (!st) return [];
    if (last) {
      const v = metricOf(last, this.opts.metric);
      if (v !== undefined) this.setScore(trialId, st, Number.isFinite(v) ? this.op * v : -Infinity);
    }
    this.setStatus(st, "finished");
    return this.opts.synch ? this.trySync(this.nextSync) ?? [] : [];
  }

  onTrialError(trialId: string): SchedulerAction[] {
    return this.onTrialComplete(trialId, null);
  }

  decisionPoints(trialId: string): number[] {
    const st = this.get(trialId);
    const pts: number[] = [];
    let lp = st.lastPerturbationTime;
    for (let t = Math.floor(st.lastTrainTime) + 1; t < this.opts.maxT; t++) {
      if (t >= this.opts.burnInPeriod && t - lp >= this.opts.perturbationInterval) {
        pts.push(t);
        lp = t;
      }
    }
    return pts;
  }

  wantsNewTrial(): boolean {
    return this.added < this.opts.population;
  }

  /** Ray: the paused trial with the smallest last_train_time (synch: only those behind the sync point). */
  chooseTrialToResume(paused: string[]): string | null {
    const c = paused.filter((id) => {
      const s = this.trials.get(id);
      return s && s.status !== "finished" && (!this.opts.synch || s.lastTrainTime < this.nextSync);
    });
    if (c.length === 0) return null;
    let best = c[0];
    for (const id of c) if (this.trials.get(id)!.lastTrainTime < this.trials.get(best)!.lastTrainTime) best = id;
    this.setStatus(this.trials.get(best)!, "live");
    return best;
  }

  /** pbt_global.txt rows, in exploit order. */
  policyRows(): PolicyRow[] {
    return this.global.map((r) => structuredClone(r));
  }
  /** pbt_policy_<trialId>.txt rows: the lineage that produced this trial's current weights. */
  policyFor(trialId: string): PolicyRow[] {
    return (this.policies.get(trialId) ?? []).map((r) => structuredClone(r));
  }
  /** The trial's current config (after exploits). */
  configOf(trialId: string): HParams {
    return { ...this.get(trialId).config };
  }
  skippedExploits(): Array<{ target: string; donor: string; t: number }> {
    return [...this.skipped];
  }
  get perturbations(): number {
    return this.numPerturbations;
  }

  getState(): unknown {
    return {
      kind: "pbt",
      rng: this.rng.getState(),
      added: this.added,
      nextSync: this.nextSync,
      numPerturbations: this.numPerturbations,
      trials: [...this.trials].map(([id, s]) => [id, { ...s, lastScore: s.lastScore === null ? null : encNum(s.lastScore) }]),
      global: this.global,
      policies: [...this.policies],
      skipped: this.skipped,
      donorRule: this.donorRule,
    };
  }

  setState(state: unknown): void {
    const s = assertKind(state, "pbt") as {
      rng: number; added: number; nextSync: number; numPerturbations: number;
      trials: [string, TrialState & { lastScore: JsonNum | null }][];
      global: PolicyRow[]; policies: [string, PolicyRow[]][]; skipped: PbtScheduler["skipped"];
    };
    this.rng.setState(s.rng);
    this.added = s.added;
    this.nextSync = s.nextSync;
    this.numPerturbations = s.numPerturbations;
    this.trials = new Map(s.trials.map(([id, t]) => [id, { ...t, lastScore: t.lastScore === null ? null : decNum(t.lastScore) }]));
    this.ranked = [...this.trials]
      .filter(([, t]) => t.status !== "finished" && t.lastScore !== null)
      .map(([id, t]) => ({ score: t.lastScore as number, idx: t.idx, id }))
      .sort((a, b) => (PbtScheduler.before(a, b) ? -1 : PbtScheduler.before(b, a) ? 1 : 0));
    this.pausedCount = [...this.trials.values()].filter((t) => t.status === "paused").length;
    this.global = s.global;
    this.policies = new Map(s.policies);
    this.skipped = s.skipped;
    this.donorRule = (s as { donorRule?: "ahead" | "any" }).donorRule ?? "any";
  }
}
