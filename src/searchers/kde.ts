/**
 * The multivariate product-kernel KDE of statsmodels' `KDEMultivariate`, as
 * HpBandSter's BOHB uses it (docs/schedulers.md §3.4):
 *
 * - bandwidth "normal_reference" (Scott's rule of thumb), for EVERY column,
 *   continuous or not: bw_j = 1.06 · std_j · n^(−1/(4+q)), std with ddof=0,
 *   q = number of variables (for q = 1 this is the familiar n^(−1/5)).
 *   statsmodels does not bound normal_reference bandwidths; HpBandSter then
 *   clips them below at min_bandwidth. An unordered bandwidth may exceed 1.
 * - continuous ('c') kernel: Gaussian exp(−(x−Xi)²/(2h²))/√(2π), the product
 *   divided by ∏ h over continuous columns, summed over rows, divided by n;
 * - unordered ('u') kernel: Aitchison–Aitken, 1−h on a match and h/(L−1)
 *   otherwise, with L = the number of DISTINCT values of that column in the
 *   data (statsmodels passes no num_levels), so L = 1 divides by zero (∞).
 */

export interface Kde {
  data: number[][];
  bw: number[];
  /** per column: 0 = continuous, k > 0 = categorical with k declared levels */
  vartypes: number[];
}

export function normalReference(data: readonly number[][]): number[] {
  const n = data.length;
  const q = data[0]?.length ?? 0;
  const out: number[] = [];
  for (let j = 0; j < q; j++) {
    let mean = 0;
    for (const row of data) mean += row[j];
    mean /= n;
    let v = 0;
    for (const row of data) v += (row[j] - mean) ** 2;
    out.push(1.06 * Math.sqrt(v / n) * Math.pow(n, -1 / (4 + q)));
  }
  return out;
}

export function fitKde(data: number[][], vartypes: number[], minBandwidth: number): Kde {
  const bw = normalReference(data).map((b) => Math.max(b, minBandwidth));
  return { data: data.map((r) => [...r]), bw, vartypes };
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export function kdePdf(kde: Kde, x: readonly number[]): number {
  const { data, bw, vartypes } = kde;
  const q = bw.length;
  const levels: number[] = vartypes.map((t, j) => (t > 0 ? new Set(data.map((r) => r[j])).size : 0));
  let denomBw = 1;
  for (let j = 0; j < q; j++) if (vartypes[j] === 0) denomBw *= bw[j];
  let sum = 0;
  for (const row of data) {
    let k = 1;
    for (let j = 0; j < q; j++) {
      const h = bw[j];
      if (vartypes[j] === 0) {
        const d = row[j] - x[j];
        k *= INV_SQRT_2PI * Math.exp(-(d * d) / (h * h * 2));
      } else {
        k *= row[j] === x[j] ? 1 - h : h / (levels[j] - 1);
      }
    }
    sum += k / denomBw;
  }
  return sum / data.length;
}
