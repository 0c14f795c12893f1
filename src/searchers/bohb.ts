/**
 * BOHB's configuration generator (HpBandSter `config_generators/bohb.py`,
 * docs/schedulers.md §3.4), paired with the HyperBandForBOHB scheduler
 * (schedulers/bohb.ts), which says which budget each result counts for.
 *
 * - Configurations are stored as [0,1] vectors (space/domains.ts encoding:
 *   log domains in log space, ints continuous, choices as indices).
 * - Per-budget data; an observation is DISCARDED when a model already exists
 *   for a larger budget. Non-finite losses count as +∞ (bad points).
 * - min_points = max(minPointsInModel ?? d+1, d+1) (HpBandSter raises smaller values).
 * - Refit after each observation at budget b once N_b ≥ min_points:
 *   n_good = max(min_points, ⌊top_n·N/100⌋), n_bad = max(min_points, ⌊(100−top_n)·N/100⌋);
 *   good = n_good lowest losses, bad = the next ≤ n_bad; both need MORE rows
 *   than d, so the first model needs N_b ≥ 2(d+1) (`firstModelThreshold`).
 *   The loss ranking is a stable sort (numpy's argsort is not; ties differ).
 * - suggest(): random when no model exists or with probability
 *   random_fraction; else num_samples candidates from the good KDE of the
 *   LARGEST budget with a model: a random good datum, continuous dims from a
 *   normal truncated to [0,1] with sd = max(bw, min_bw)·bandwidth_factor,
 *   categorical dims kept with probability 1−bw (else uniform); score
 *   max(1e−32, g)/max(l, 1e−32), minimum wins; a non-finite score with a
 *   finite l(x) is taken at once; no finite candidate → random.
 *   Every suggestion says whether the model picked it (`modelBasedPick`).
 */
import type { HParams, SpaceSpec } from "../config/types";
import { decodeVector, encodeConfig, levels, sampleSpace, toSpace, type Space } from "../space/domains";
import { decNum, encNum, type JsonNum } from "../space/math";
import type { Rng } from "../space/rng";
import { fitKde, kdePdf, type Kde } from "./kde";
import type { Observation, Searcher, Suggestion } from "./types";

export interface BohbSearcherOptions {
  space: SpaceSpec;
  minPointsInModel?: number;
  /** top_n_percent: share of observations in the good density l(x). */
  topNPercent: number;
  /** candidates drawn from l(x) per model-based suggestion. */
  numSamples: number;
  /** share of purely random suggestions even when a model exists. */
  randomFraction: number;
  /** widening of the good KDE's bandwidth when drawing candidates. */
  bandwidthFactor: number;
  minBandwidth: number;
}

/** N_b at which the first model for a budget can appear, with the default min_points = d+1. */
export function firstModelThreshold(d: number): number {
  return 2 * (d + 1);
}

interface BudgetData {
  vectors: number[][];
  losses: number[];
}

export class BohbSearcher implements Searcher {
  readonly kind = "bohb";
  readonly minPoints: number;
  private readonly space: Space;
  private readonly vartypes: number[];
  private data = new Map<number, BudgetData>();
  private models = new Map<number, { good: Kde; bad: Kde }>();

  constructor(readonly opts: BohbSearcherOptions, private readonly rng: Rng) {
    this.space = toSpace(opts.space);
    this.vartypes = this.space.map(([, d]) => levels(d));
    const d = this.space.length;
    this.minPoints = Math.max(opts.minPointsInModel ?? d + 1, d + 1);
  }

  size(): null {
    return null;
  }

  /** Budgets that have a model, ascending. */
  modelBudgets(): number[] {
    return [...this.models.keys()].sort((a, b) => a - b);
  }
  observations(budget: number): number {
    return this.data.get(budget)?.vectors.length ?? 0;
  }
  model(budget: number): { good: Kde; bad: Kde } | undefined {
    return this.models.get(budget);
  }

  observe(obs: Observation): void {
    const loss = Number.isFinite(obs.loss) ? obs.loss : Infinity;
    const b = obs.budget;
    if (!this.data.has(b)) this.data.set(b, { vectors: [], losses: [] });
    if (Math.max(-Infinity, ...this.models.keys()) > b) return;
    const bd = this.data.get(b)!;
    bd.vectors.push(encodeConfig(this.space, obs.config));
    bd.losses.push(loss);
    this.refit(b);
  }

  private refit(b: number): void {
    const { vectors, losses } = this.data.get(b)!;
    const n = vectors.length;
    const d = this.space.length;
    if (n < this.minPoints) return;
    const top = this.opts.topNPercent;
    const nGood = Math.max(this.minPoints, Math.floor((top * n) / 100));
    const nBad = Math.max(this.minPoints, Math.floor(((100 - top) * n) / 100));
    const idx = losses.map((_, i) => i).sort((i, j) => losses[i] - losses[j] || i - j);
    const good = idx.slice(0, nGood).map((i) => vectors[i]);
    const bad = idx.slice(nGood, nGood + nBad).map((i) => vectors[i]);
    if (good.length <= d || bad.length <= d) return;
    this.models.set(b, {
      good: fitKde(good, this.vartypes, this.opts.minBandwidth),
      bad: fitKde(bad, this.vartypes, this.opts.minBandwidth),
    });
  }

  suggest(_trialId: string): Suggestion {
    if (this.models.size === 0 || this.rng.next() < this.opts.randomFraction) {
      return { config: sampleSpace(this.space, this.rng), modelBasedPick: false };
    }
    const budget = Math.max(...this.models.keys());
    const { good, bad } = this.models.get(budget)!;
    const score = (x: number[]) => Math.max(1e-32, kdePdf(bad, x)) / Math.max(kdePdf(good, x), 1e-32);
    let best = Infinity;
    let bestVec: number[] | null = null;
    for (let i = 0; i < this.opts.numSamples; i++) {
      const datum = good.data[this.rng.int(good.data.length)];
      const vec: number[] = [];
      datum.forEach((m, j) => {
        const bw = Math.max(good.bw[j], this.opts.minBandwidth);
        const t = this.vartypes[j];
        if (t === 0) vec.push(this.truncNormal(m, bw * this.opts.bandwidthFactor));
        else vec.push(this.rng.next() < 1 - bw ? Math.trunc(m) : this.rng.int(t));
      });
      const val = score(vec);
      if (!Number.isFinite(val) && Number.isFinite(kdePdf(good, vec))) {
        bestVec = vec;
        break;
      }
      if (val < best) {
        best = val;
        bestVec = vec;
      }
    }
    if (!bestVec) return { config: sampleSpace(this.space, this.rng), modelBasedPick: false };
    const rounded = bestVec.map((x, j) => (this.vartypes[j] > 0 ? Math.round(x) : x));
    return { config: decodeVector(this.space, rounded), modelBasedPick: true };
  }

  /** A normal N(m, sd²) truncated to [0,1] (scipy truncnorm(−m/sd, (1−m)/sd)), by rejection. */
  private truncNormal(m: number, sd: number): number {
    for (let k = 0; k < 1000; k++) {
      const x = m + sd * this.rng.normal();
      if (x >= 0 && x <= 1) return x;
    }
    return Math.min(1, Math.max(0, m));
  }

  getState(): unknown {
    const kde = (k: Kde) => ({ data: k.data, bw: k.bw });
    return {
      kind: "bohb",
      rng: this.rng.getState(),
      data: [...this.data].map(([b, d]) => [b, d.vectors, d.losses.map(encNum)]),
      models: [...this.models].map(([b, m]) => [b, kde(m.good), kde(m.bad)]),
    };
  }

  setState(state: unknown): void {
    const s = state as {
      kind?: string; rng: number;
      data: [number, number[][], JsonNum[]][];
      models: [number, { data: number[][]; bw: number[] }, { data: number[][]; bw: number[] }][];
    };
    if (s?.kind !== "bohb") throw new Error("setState: expected a bohb searcher state");
    this.rng.setState(s.rng);
    this.data = new Map(s.data.map(([b, v, l]) => [b, { vectors: v, losses: l.map(decNum) }]));
    this.models = new Map(s.models.map(([b, g, bd]) => [b, { good: { ...g, vartypes: this.vartypes }, bad: { ...bd, vartypes: this.vartypes } }]));
  }
}


/**
 * HpBandSter's BOHB master arithmetic (§3.3), for comparison with Ray's
 * HyperBandForBOHB that tunelab schedules with: max_SH_iter =
 * ⌊log_η(max/min)⌋ + 1 (guarded), geometric budgets ending at max, and
 * iteration i using s = max_SH_iter − 1 − (i mod max_SH_iter) with
 * n0 = FLOOR(max_SH_iter/(s+1))·η^s (Ray and the paper use ceil).
 */
export function hpbandsterBrackets(minBudget: number, maxBudget: number, eta: number): {
  budgets: number[];
  iterations: Array<Array<[number, number]>>;
} {
  const maxSH = Math.floor(Math.log(maxBudget / minBudget) / Math.log(eta) + 1e-9) + 1;
  const budgets = Array.from({ length: maxSH }, (_, k) => maxBudget * Math.pow(eta, -(maxSH - 1 - k)));
  const iterations: Array<Array<[number, number]>> = [];
  for (let i = 0; i < maxSH; i++) {
    const s = maxSH - 1 - (i % maxSH);
    const n0 = Math.floor(maxSH / (s + 1)) * Math.pow(eta, s);
    const bs = budgets.slice(budgets.length - s - 1);
    iterations.push(Array.from({ length: s + 1 }, (_, j) => [Math.max(Math.trunc(n0 * Math.pow(eta, -j)), 1), bs[j]]));
  }
  return { budgets, iterations };
}
