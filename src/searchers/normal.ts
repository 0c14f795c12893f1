/**
 * The standard normal distribution in log space, as the truncated normals of
 * TPE's Parzen estimators need it (docs/tpe.md §4): erf/erfc to ~1e-15,
 * log Φ without underflow in the far tail, the log of the Gaussian mass of an
 * interval, and inverse-CDF sampling of a truncated normal.
 *
 * Written from the textbook formulas (not ported): erf by its everywhere-
 * positive series (no cancellation) for |x| ≤ 2, erfc by its continued
 * fraction (modified Lentz) above; log Φ(a) for a < −20 by the asymptotic
 * series of Mills' ratio. The case split of `logGaussMass` (both ends left of
 * 0 / right of 0 / straddling 0) is the one Optuna 3.1 uses, so the values
 * agree in the tails as well (test/searchers/tpe.test.ts compares them).
 */

const SQRT_PI = Math.sqrt(Math.PI);
const SQRT2 = Math.SQRT2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** erf(x) = (2/√π)·e^(−x²)·Σ (2x²)^n·x / (1·3·…·(2n+1)), every term positive: exact to rounding for |x| ≤ 2. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 0; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 3);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
  }
  return ((2 / SQRT_PI) * Math.exp(-x2)) * sum;
}

/** erfc(x) for x > 2: e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), modified Lentz. */
function erfcFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let C = x;
  let D = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    D = x + a * D;
    D = D === 0 ? tiny : 1 / D;
    C = x + a / C;
    if (C === 0) C = tiny;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / SQRT_PI / f;
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax <= 2) return erfSeries(x);
  const r = 1 - erfcFraction(ax);
  return x < 0 ? -r : r;
}

export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x > 2) return erfcFraction(x);
  if (x >= -2) return 1 - erfSeries(x);
  return 2 - erfcFraction(-x);
}

/** Φ(a), the standard normal CDF, accurate in both tails. */
export function ndtr(a: number): number {
  const x = a / SQRT2;
  if (x < -1 / SQRT2) return 0.5 * erfc(-x);
  if (x < 1 / SQRT2) return 0.5 + 0.5 * erf(x);
  return 1 - 0.5 * erfc(x);
}

/** log Φ(a): −Φ(−a) for a > 6 (log(1−ε) ≈ −ε), log Φ(a) down to −20, the asymptotic series of the Mills ratio below. */
export function logNdtr(a: number): number {
  if (a > 6) return -ndtr(-a);
  if (a > -20) return Math.log(ndtr(a));
  // log Φ(a) = −a²/2 − log(−a) − log√(2π) + log(1 − 1/a² + 3/a⁴ − 15/a⁶ + …), summed until the terms stop changing it
  const logLHS = -0.5 * a * a - Math.log(-a) - LOG_SQRT_2PI;
  let last = 0;
  let rhs = 1;
  let num = 1;
  let denom = 1;
  const inv = 1 / (a * a);
  let sign = 1;
  for (let i = 1; Math.abs(last - rhs) > Number.EPSILON && i < 100; i++) {
    last = rhs;
    sign = -sign;
    denom *= inv;
    num *= 2 * i - 1;
    rhs += sign * num * denom;
  }
  return logLHS + Math.log(rhs);
}

export function normLogPdf(z: number): number {
  return -(z * z) / 2 - LOG_SQRT_2PI;
}

/** p + log(1 − e^(q−p)): log(e^p − e^q) for p ≥ q. */
function logDiff(p: number, q: number): number {
  return p + Math.log1p(-Math.exp(q - p));
}

/** log of the standard normal mass in [a, b]. */
export function logGaussMass(a: number, b: number): number {
  if (b <= 0) return logDiff(logNdtr(b), logNdtr(a));
  if (a > 0) return logDiff(logNdtr(-a), logNdtr(-b));
  // straddling 0: 1 − Φ(a) − Φ(−b) has no cancellation problem there
  return Math.log1p(-ndtr(a) - ndtr(-b));
}

function logAddExp(x: number, y: number): number {
  if (x === -Infinity) return y;
  if (y === -Infinity) return x;
  const m = Math.max(x, y);
  return m + Math.log(Math.exp(x - m) + Math.exp(y - m));
}

/**
 * x with log Φ(x) = y. Newton on the concave, increasing log Φ: the tangent
 * lies above the curve, so after the first step every iterate lies at or
 * left of the root and moves right monotonically: it converges from any start.
 */
export function ndtriExp(y: number): number {
  if (y >= 0) return Infinity;
  if (y === -Infinity) return -Infinity;
  // start: the tail asymptote log Φ(x) ≈ −x²/2 for small Φ, else 0
  let x = y < -2 ? -Math.sqrt(-2 * y) : 0;
  for (let i = 0; i < 100; i++) {
    const l = logNdtr(x);
    const step = (l - y) / Math.exp(normLogPdf(x) - l);
    x -= step;
    if (Math.abs(step) <= 1e-14 * Math.max(1, Math.abs(x))) break;
  }
  return x;
}

/** The q-quantile (0 < q < 1) of the standard normal truncated to [a, b], computed in log space (Optuna 3.1's ppf formulas). */
export function truncnormPpf(q: number, a: number, b: number): number {
  if (a < 0) return ndtriExp(logAddExp(logNdtr(a), Math.log(q) + logGaussMass(a, b)));
  return -ndtriExp(logAddExp(logNdtr(-b), Math.log1p(-q) + logGaussMass(a, b)));
}
