/**
 * Small numeric helpers shared by schedulers and searchers. They exist so
 * that the float arithmetic matching the reference implementations lives in
 * one place (see docs/schedulers.md §1.2 and §1.5).
 */

/**
 * floor(x + 1e-9): the guarded truncation of a log ratio. numpy's `log` and
 * JavaScript's `Math.log` differ in the last ulp for some inputs, so the
 * naive `Math.trunc(Math.log(R/g)/Math.log(η))` undercounts e.g. R=1000,
 * η=10 (2.9999999999999996). The epsilon matches numpy on every tested case.
 */
export function guardedFloor(x: number): number {
  return Math.floor(x + 1e-9);
}

/** ⌊log_base(ratio)⌋ with the guard above. */
export function guardedLogFloor(ratio: number, base: number): number {
  return guardedFloor(Math.log(ratio) / Math.log(base));
}

/**
 * numpy.nanpercentile with the default "linear" method: NaN entries are
 * ignored; the q-th percentile (0..100) of the sorted rest is interpolated
 * between x[⌊p⌋] and x[⌈p⌉] at p = q/100·(n−1). Returns null for an empty
 * input and NaN when every entry is NaN (numpy returns NaN then too).
 */
export function nanPercentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const xs = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  return sortedPercentile(xs, q);
}

/**
 * Numbers that JSON cannot carry (NaN, ±Infinity) as strings, so scheduler
 * and searcher state round-trips through the journal unchanged.
 */
export type JsonNum = number | "NaN" | "Infinity" | "-Infinity";
export function encNum(x: number): JsonNum {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  return x;
}
export function decNum(x: JsonNum | null | undefined): number {
  if (x === "NaN" || x === null || x === undefined) return NaN;
  if (x === "Infinity") return Infinity;
  if (x === "-Infinity") return -Infinity;
  return x;
}

/** Softmax-weighted index draw with a uniform u in [0,1) (Ray's np.random.choice(p=...)). */
export function drawIndex(weights: readonly number[], u: number): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i] / total;
    if (u < acc) return i;
  }
  return weights.length - 1;
}

/** Index of the first element > x (upper bound) in an ascending array. */
export function upperBound(xs: readonly number[], x: number): number {
  let lo = 0, hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The linear-interpolation percentile (as nanPercentile) of an already sorted, NaN-free array. */
export function sortedPercentile(xs: readonly number[], q: number): number {
  const p = (q / 100) * (xs.length - 1);
  const lo = Math.floor(p);
  const hi = Math.ceil(p);
  if (lo === hi) return xs[lo];
  const frac = p - lo;
  // numpy's lerp: a + (b-a)*t, switched to b - (b-a)*(1-t) for t >= 0.5
  const a = xs[lo];
  const b = xs[hi];
  const diff = b - a;
  return frac >= 0.5 ? b - diff * (1 - frac) : a + diff * frac;
}
