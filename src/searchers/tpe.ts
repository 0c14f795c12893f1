/**
 * Tree-structured Parzen Estimator with the semantics of Optuna 3.1's
 * `TPESampler` (single objective, no constraints, no `group`). Formulas and
 * sources: docs/tpe.md. In short:
 *
 * - trials are random until n ≥ nStartupTrials (10), n = completed + stopped
 *   ("pruned") trials; running and failed trials do not count;
 * - observations are ranked by (−last step, last value): completed trials
 *   first (their step counts as +∞), then stopped ones, later-stopped before
 *   earlier-stopped; the best γ(n) = min(⌈0.1·n⌉, 25) form l(x) ("below"),
 *   the rest g(x) ("above"), each kept in trial order;
 * - each side is a Parzen estimator: one truncated normal per observation
 *   (+ a prior component, weight priorWeight = 1), weights all 1 below 25
 *   observations, else a ramp 1/n…1 over the oldest n−25; σ from the
 *   neighbour distances (consider_endpoints=false), clipped to
 *   [(high−low)/min(100, 1+#components), high−low] ("magic clip");
 *   multivariate: σ = 0.2·n^(−1/(d+4))·(high−low) for every component;
 *   categorical dimensions: a per-observation distribution with prior mass
 *   priorWeight/(n+1) on every choice and +1 on the observed one;
 * - nEiCandidates (24) candidates are drawn from l(x) and the one maximising
 *   log l(x) − log g(x) is suggested, per dimension (univariate, Optuna's
 *   default) or jointly (multivariate);
 * - constantLiar: running trials join the ranking as the worst observations
 *   (step +∞, value +∞), so parallel workers do not all propose the same point.
 *
 * Domains map to Optuna's distributions: loguniform → FloatDistribution(log),
 * uniform → FloatDistribution, int → IntDistribution (step 1: a discrete
 * mass over [v−½, v+½]), choice → CategoricalDistribution (unordered).
 *
 * What the searcher learns: `observe` = an intermediate value at step
 * `budget` (sign-adjusted loss, NaN/∞ → +∞); `trialEnded` = the trial's final
 * state ("completed" → COMPLETE with its last value; "stopped" → PRUNED unless
 * it reached maxT; "failed" → left out, as Optuna leaves out FAIL). Without
 * `trialEnded`, an observation at budget ≥ maxT completes the trial and any
 * other trial counts as running.
 *
 * Deliberate differences: a diverged (NaN) final value is +∞ here (tunelab
 * maps NaN to +∞ before searchers see it), a worst COMPLETE trial, where
 * Optuna's `tell(nan)` marks the trial FAIL; the random draws come from
 * tunelab's seeded Rng, not numpy's MT19937, so the same seed proposes
 * different points than Optuna (the estimator and the acquisition values are
 * the same, test/searchers/tpe.test.ts).
 */
import type { HParams, SpaceSpec } from "../config/types";
import { sampleSpace, toSpace, type Domain, type Space, type Value } from "../space/domains";
import { decNum, drawIndex, encNum, type JsonNum } from "../space/math";
import type { Rng } from "../space/rng";
import { logGaussMass, normLogPdf, truncnormPpf } from "./normal";
import type { Observation, Searcher, Suggestion, TrialEndState } from "./types";

export interface TpeOptions {
  space: SpaceSpec;
  /** full budget: an observation at t ≥ maxT is a final value. */
  maxT: number;
  nStartupTrials?: number;
  nEiCandidates?: number;
  multivariate?: boolean;
  constantLiar?: boolean;
  considerPrior?: boolean;
  priorWeight?: number;
  considerMagicClip?: boolean;
  considerEndpoints?: boolean;
}

type TrialState = "running" | "complete" | "pruned" | "failed";

interface TrialRec {
  id: string;
  config: HParams;
  state: TrialState;
  /** largest step with an intermediate value, and that value (sign-adjusted loss) */
  step: number | null;
  value: number | null;
}

/** Optuna's default_gamma: the number of observations in l(x). */
export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** Optuna's default_weights: 1 for n < 25; else linspace(1/n, 1, n−25) then 25 ones (oldest first). */
export function defaultWeights(n: number): number[] {
  if (n === 0) return [];
  if (n < 25) return Array(n).fill(1);
  const m = n - 25;
  const ramp = Array.from({ length: m }, (_, i) => (m === 1 ? 1 / n : i === m - 1 ? 1 : 1 / n + i * ((1 - 1 / n) / (m - 1))));
  return [...ramp, ...Array(25).fill(1)];
}

/** One dimension as the estimator sees it. */
export type TpeDim =
  | { name: string; kind: "numeric"; log: boolean; q: number | null; low: number; high: number; domain: Domain }
  | { name: string; kind: "categorical"; choices: Value[]; domain: Domain };

export function tpeDims(space: Space): TpeDim[] {
  return space.map(([name, d]) => {
    switch (d.type) {
      case "loguniform":
        return { name, kind: "numeric", log: true, q: null, low: Math.log(d.lo), high: Math.log(d.hi), domain: d };
      case "uniform":
        return { name, kind: "numeric", log: false, q: null, low: d.lo, high: d.hi, domain: d };
      case "int":
        return { name, kind: "numeric", log: false, q: 1, low: d.lo - 0.5, high: d.hi + 0.5, domain: d };
      default:
        return { name, kind: "categorical", choices: [...d.values], domain: d };
    }
  });
}

/** A configuration value in the estimator's internal representation (log for log domains, index for choices). */
export function toInternal(dim: TpeDim, v: Value): number {
  if (dim.kind === "categorical") {
    const i = dim.choices.findIndex((c) => c === v);
    if (i < 0) throw new Error(`tpe: ${dim.name}=${JSON.stringify(v)} is not one of ${JSON.stringify(dim.choices)}`);
    return i;
  }
  return dim.log ? Math.log(v as number) : (v as number);
}

function toExternal(dim: TpeDim, x: number): Value {
  if (dim.kind === "categorical") return dim.choices[x];
  const d = dim.domain as Extract<Domain, { lo: number }>;
  if (dim.q !== null) {
    // Optuna: round((x − low)/q)·q + low (numpy's half-to-even), clipped
    const r = roundHalfEven((x - d.lo) / dim.q) * dim.q + d.lo;
    return Math.min(d.hi, Math.max(d.lo, r));
  }
  const v = dim.log ? Math.exp(x) : x;
  return Math.min(d.hi, Math.max(d.lo, v));
}

const msb = (n: number) => 31 - Math.clz32(n);

/**
 * numpy's default `argsort` (kind "quicksort": introsort with median-of-3
 * pivots and insertion sort below 16 elements; numpy 1.24's npysort), so
 * ties come out in the same order as Optuna sees them. Not stable: equal
 * values may be reordered. The heapsort numpy falls back to after 2·⌊log₂ n⌋
 * levels (adversarial inputs only) is replaced by a stable sort.
 */
export function numpyArgsort(v: readonly number[]): number[] {
  const n = v.length;
  const t = v.map((_, i) => i);
  if (n < 2) return t;
  // numpy's float "less than": NaN sorts last
  const lt = (a: number, b: number) => a < b || (b !== b && a === a);
  const swap = (i: number, j: number) => { const x = t[i]; t[i] = t[j]; t[j] = x; };
  let pl = 0, pr = n - 1;
  let cdepth = msb(n) * 2;
  const stack: number[] = [];
  const depths: number[] = [];
  for (;;) {
    if (cdepth < 0) {
      const part = t.slice(pl, pr + 1).sort((a, b) => (lt(v[a], v[b]) ? -1 : lt(v[b], v[a]) ? 1 : a - b));
      for (let i = 0; i < part.length; i++) t[pl + i] = part[i];
    } else {
      while (pr - pl > 15) {
        const pm = pl + ((pr - pl) >> 1);
        if (lt(v[t[pm]], v[t[pl]])) swap(pm, pl);
        if (lt(v[t[pr]], v[t[pm]])) swap(pr, pm);
        if (lt(v[t[pm]], v[t[pl]])) swap(pm, pl);
        const vp = v[t[pm]];
        let pi = pl, pj = pr - 1;
        swap(pm, pj);
        for (;;) {
          do ++pi; while (lt(v[t[pi]], vp));
          do --pj; while (lt(vp, v[t[pj]]));
          if (pi >= pj) break;
          swap(pi, pj);
        }
        swap(pi, pr - 1);
        // the larger part goes on the stack
        if (pi - pl < pr - pi) {
          stack.push(pi + 1, pr);
          pr = pi - 1;
        } else {
          stack.push(pl, pi - 1);
          pl = pi + 1;
        }
        depths.push(--cdepth);
      }
      for (let pi = pl + 1; pi <= pr; ++pi) {
        const vi = t[pi], vp = v[vi];
        let pj = pi, pk = pi - 1;
        while (pj > pl && lt(vp, v[t[pk]])) t[pj--] = t[pk--];
        t[pj] = vi;
      }
    }
    if (stack.length === 0) break;
    pr = stack.pop()!;
    pl = stack.pop()!;
    cdepth = depths.pop()!;
  }
  return t;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface ParzenParams {
  considerPrior: boolean;
  priorWeight: number;
  considerMagicClip: boolean;
  considerEndpoints: boolean;
  multivariate: boolean;
}

/**
 * Optuna 3.1's `_ParzenEstimator` over the given dimensions, fitted on the
 * observations (internal representation, one array per dimension).
 */
export class ParzenEstimator {
  readonly weights: number[];
  /** per dimension: numeric → mus, sigmas; categorical → per-component choice probabilities */
  readonly mus: Array<number[] | null> = [];
  readonly sigmas: Array<number[] | null> = [];
  readonly categoricalWeights: Array<number[][] | null> = [];
  /** log mass of each numeric component inside [low, high] (the truncation), cached */
  private readonly logMass: Array<number[] | null> = [];
  readonly n: number;

  constructor(readonly dims: TpeDim[], observations: number[][], readonly p: ParzenParams) {
    const n = observations[0]?.length ?? 0;
    this.n = n;
    const prior = p.considerPrior || n === 0;
    const w = defaultWeights(n);
    const ws = prior ? [...w, p.priorWeight] : w;
    const total = ws.reduce((a, b) => a + b, 0);
    this.weights = ws.map((x) => x / total);
    const sigma0 = p.multivariate ? 0.2 * Math.pow(Math.max(n, 1), -1 / (dims.length + 4)) : null;
    dims.forEach((dim, j) => {
      const obs = observations[j] ?? [];
      if (dim.kind === "categorical") {
        const C = dim.choices.length;
        const rows = prior ? n + 1 : n;
        const value = prior ? p.priorWeight / (n + 1) : p.priorWeight / n;
        const cw: number[][] = [];
        for (let i = 0; i < rows; i++) {
          const row = Array(C).fill(value);
          if (i < n) row[obs[i]] += 1;
          const s = row.reduce((a: number, b: number) => a + b, 0);
          cw.push(row.map((x: number) => x / s));
        }
        this.mus.push(null);
        this.sigmas.push(null);
        this.logMass.push(null);
        this.categoricalWeights.push(cw);
        return;
      }
      const { low, high } = dim;
      const mus = prior ? [...obs, 0.5 * (low + high)] : [...obs];
      let sig: number[];
      if (sigma0 !== null) {
        sig = mus.map(() => sigma0 * (high - low));
      } else {
        // neighbour distances over [low, sorted mus…, high]; tied mus (ints, repeated values) get their
        // σ in numpy's argsort order, so the same observation gets the same σ as in Optuna
        const order = numpyArgsort(mus);
        const s = [low, ...order.map((i) => mus[i]), high];
        const sorted = order.map((_, k) => Math.max(s[k + 1] - s[k], s[k + 2] - s[k + 1]));
        if (!p.considerEndpoints && s.length >= 4) {
          sorted[0] = s[2] - s[1];
          sorted[sorted.length - 1] = s[s.length - 2] - s[s.length - 3];
        }
        sig = Array(mus.length);
        order.forEach((i, k) => (sig[i] = sorted[k]));
      }
      const maxSigma = high - low;
      const minSigma = p.considerMagicClip ? (high - low) / Math.min(100, 1 + mus.length) : 1e-12;
      sig = sig.map((x) => Math.min(maxSigma, Math.max(minSigma, x)));
      if (prior) sig[n] = high - low;
      this.mus.push(mus);
      this.sigmas.push(sig);
      this.logMass.push(mus.map((m, i) => logGaussMass((low - m) / sig[i], (high - m) / sig[i])));
      this.categoricalWeights.push(null);
    });
  }

  /** `size` samples (internal representation, per dimension) from the mixture. */
  sample(rng: Rng, size: number): number[][] {
    const active = Array.from({ length: size }, () => drawIndex(this.weights, rng.next()));
    return this.dims.map((dim, j) => active.map((c) => {
      if (dim.kind === "categorical") return drawIndex(this.categoricalWeights[j]![c], rng.next());
      const mu = this.mus[j]![c], sd = this.sigmas[j]![c];
      const a = (dim.low - mu) / sd, b = (dim.high - mu) / sd;
      let u = rng.next();
      if (u === 0) u = Number.MIN_VALUE;
      const x = mu + sd * truncnormPpf(u, a, b);
      // back through the domain (round ints, clip), then to the internal form log pdfs take
      return toInternal(dim, toExternal(dim, Math.min(dim.high, Math.max(dim.low, x))));
    }));
  }

  /**
   * log of the mixture density at each sample (internal representation).
   * As Optuna 3.1's `_truncnorm.logpdf`, a continuous component's log
   * density is −z²/2 − log√(2π) − log Z(a, b) WITHOUT −log σ (docs/tpe.md §4).
   */
  logPdf(samples: number[][]): number[] {
    const m = samples[0]?.length ?? 0;
    const K = this.weights.length;
    const out: number[] = [];
    const logW = this.weights.map(Math.log);
    for (let s = 0; s < m; s++) {
      const comp = logW.slice();
      this.dims.forEach((dim, j) => {
        const x = samples[j][s];
        if (dim.kind === "categorical") {
          const cw = this.categoricalWeights[j]!;
          for (let c = 0; c < K; c++) comp[c] += Math.log(cw[c][x]);
          return;
        }
        const mus = this.mus[j]!, sig = this.sigmas[j]!, lm = this.logMass[j]!;
        for (let c = 0; c < K; c++) {
          const mu = mus[c], sd = sig[c];
          if (dim.q === null) {
            comp[c] += x < dim.low || x > dim.high ? -Infinity : normLogPdf((x - mu) / sd) - lm[c];
          } else {
            const up = Math.min(x + dim.q / 2, dim.high), lo = Math.max(x - dim.q / 2, dim.low);
            comp[c] += logGaussMass((lo - mu) / sd, (up - mu) / sd) - lm[c];
          }
        }
      });
      let mx = -Infinity;
      for (const v of comp) if (v > mx) mx = v;
      if (mx === -Infinity) {
        out.push(-Infinity);
        continue;
      }
      let sum = 0;
      for (const v of comp) sum += Math.exp(v - mx);
      out.push(Math.log(sum) + mx);
    }
    return out;
  }
}

/** The ranking key of a trial: [step key, value] compared lexicographically (lower = better). */
export function scoreOf(t: { state: TrialState; step: number | null; value: number | null }): [number, number] {
  if (t.state === "complete") return [-Infinity, t.value ?? Infinity];
  if (t.state === "pruned") {
    if (t.step === null) return [1, 0];
    return [-t.step, Number.isNaN(t.value) ? Infinity : (t.value as number)];
  }
  return [Infinity, Infinity]; // running, constant liar
}

/** Optuna's `_split_observation_pairs` (single objective): stable argsort by (step key, value); both sides in trial order. */
export function splitObservations(scores: Array<[number, number]>, nBelow: number): { below: number[]; above: number[] } {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[a][0] - scores[b][0] || cmp(scores[a][1], scores[b][1]) || a - b);
  const below = idx.slice(0, nBelow).sort((a, b) => a - b);
  const above = idx.slice(nBelow).sort((a, b) => a - b);
  return { below, above };
}
function cmp(a: number, b: number): number {
  if (a === b) return 0;
  if (Number.isNaN(a) || Number.isNaN(b)) return 0;
  return a < b ? -1 : 1;
}

export interface TpeSplitView {
  /** trial ids in the ranking's input order (trial order) */
  ids: string[];
  n: number;
  gamma: number;
  below: string[];
  above: string[];
}

export class TpeSearcher implements Searcher {
  readonly kind = "tpe";
  private readonly space: Space;
  readonly dims: TpeDim[];
  readonly opts: Required<Omit<TpeOptions, "space">> & { space: SpaceSpec };
  private trials: TrialRec[] = [];
  private index = new Map<string, number>();
  /** how the last suggestion was made, for views and tests */
  lastPick: "random" | "model" | null = null;

  constructor(opts: TpeOptions, private readonly rng: Rng) {
    this.space = toSpace(opts.space);
    this.dims = tpeDims(this.space);
    this.opts = {
      space: opts.space,
      maxT: opts.maxT,
      nStartupTrials: opts.nStartupTrials ?? 10,
      nEiCandidates: opts.nEiCandidates ?? 24,
      multivariate: opts.multivariate ?? false,
      constantLiar: opts.constantLiar ?? false,
      considerPrior: opts.considerPrior ?? true,
      priorWeight: opts.priorWeight ?? 1,
      considerMagicClip: opts.considerMagicClip ?? true,
      considerEndpoints: opts.considerEndpoints ?? false,
    };
  }

  size(): null {
    return null;
  }

  private rec(trialId: string, config?: HParams): TrialRec {
    const i = this.index.get(trialId);
    if (i !== undefined) return this.trials[i];
    const r: TrialRec = { id: trialId, config: { ...(config ?? {}) }, state: "running", step: null, value: null };
    this.index.set(trialId, this.trials.length);
    this.trials.push(r);
    return r;
  }

  /** A trial started with a configuration from elsewhere (attach, tests): running until it reports or ends. */
  addTrial(trialId: string, config: HParams): void {
    this.rec(trialId, config).config = { ...config };
  }

  observe(obs: Observation): void {
    const r = this.rec(obs.trialId, obs.config);
    if (r.state === "failed" || r.state === "complete") return;
    if (r.step === null || obs.budget >= r.step) {
      r.step = obs.budget;
      r.value = Number.isNaN(obs.loss) ? Infinity : obs.loss;
    }
    if (obs.budget >= this.opts.maxT) r.state = "complete";
  }

  trialEnded(trialId: string, state: TrialEndState): void {
    const r = this.index.has(trialId) ? this.rec(trialId) : null;
    if (!r || r.state === "failed") return;
    if (state === "failed") r.state = "failed";
    else if (state === "completed" || (r.step !== null && r.step >= this.opts.maxT)) r.state = r.step === null ? "failed" : "complete";
    else r.state = "pruned";
  }

  /** The trials the ranking sees (Optuna's `_get_observation_pairs`), excluding `except`. */
  private considered(except: string | null): TrialRec[] {
    return this.trials.filter((t) => t.id !== except && (t.state === "complete" || t.state === "pruned" || (this.opts.constantLiar && t.state === "running")));
  }

  /** The below/above split a suggestion would use now (null while random). */
  split(except: string | null = null): TpeSplitView | null {
    const ts = this.considered(except);
    const scores = ts.map(scoreOf);
    const n = scores.filter((s) => s[0] < Infinity).length;
    if (n < this.opts.nStartupTrials) return null;
    const g = defaultGamma(n);
    const { below, above } = splitObservations(scores, g);
    return { ids: ts.map((t) => t.id), n, gamma: g, below: below.map((i) => ts[i].id), above: above.map((i) => ts[i].id) };
  }

  /** The two estimators over `dims` (all dimensions, or one for univariate) for a split. */
  estimators(view: TpeSplitView, dims: TpeDim[] = this.dims): { below: ParzenEstimator; above: ParzenEstimator } {
    const params: ParzenParams = {
      considerPrior: this.opts.considerPrior, priorWeight: this.opts.priorWeight,
      considerMagicClip: this.opts.considerMagicClip, considerEndpoints: this.opts.considerEndpoints,
      multivariate: this.opts.multivariate,
    };
    const obs = (ids: string[]) => dims.map((d) => ids.map((id) => toInternal(d, this.rec(id).config[d.name] as Value)));
    return { below: new ParzenEstimator(dims, obs(view.below), params), above: new ParzenEstimator(dims, obs(view.above), params) };
  }

  suggest(trialId: string): Suggestion {
    const view = this.split(trialId);
    let config: HParams;
    if (view === null) {
      config = sampleSpace(this.space, this.rng);
      this.lastPick = "random";
    } else {
      config = {};
      const groups = this.opts.multivariate ? [this.dims] : this.dims.map((d) => [d]);
      for (const dims of groups) {
        const { below, above } = this.estimators(view, dims);
        const cand = below.sample(this.rng, this.opts.nEiCandidates);
        const l = below.logPdf(cand), g = above.logPdf(cand);
        let best = 0;
        for (let i = 1; i < l.length; i++) if (l[i] - g[i] > l[best] - g[best]) best = i;
        dims.forEach((d, j) => (config[d.name] = toExternal(d, cand[j][best])));
      }
      this.lastPick = "model";
    }
    const r = this.rec(trialId, config);
    r.config = { ...config };
    return { config, modelBasedPick: this.lastPick === "model" };
  }

  getState(): unknown {
    return {
      kind: "tpe",
      rng: this.rng.getState(),
      trials: this.trials.map((t) => [t.id, t.config, t.state, t.step, t.value === null ? null : encNum(t.value)]),
    };
  }

  setState(state: unknown): void {
    const s = state as { kind?: string; rng: number; trials: Array<[string, HParams, TrialState, number | null, JsonNum | null]> };
    if (s?.kind !== "tpe" || !Array.isArray(s.trials)) throw new Error("setState: expected a tpe searcher state");
    this.rng.setState(s.rng);
    this.trials = s.trials.map(([id, config, st, step, value]) => ({ id, config, state: st, step, value: value === null ? null : decNum(value) }));
    this.index = new Map(this.trials.map((t, i) => [t.id, i]));
  }
}
