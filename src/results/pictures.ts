/**
 * Small explanatory pictures for the method notebooks, computed from the
 * method's own arithmetic (docs/schedulers.md), so changing the team's
 * settings changes the picture.
 */
import { VEGA_LITE_V5_SCHEMA, type VegaLiteSpec } from "../plots/spec";

/** floor(log_eta(x)) guarded against the last-ulp trap of docs/schedulers.md §1.2. */
function logFloor(x: number, eta: number): number {
  return Math.floor(Math.log(x) / Math.log(eta) + 1e-9);
}

/** ASHA rungs: g·η^k ≤ R, plus R itself (where surviving trials finish). */
export function ashaRungs(gracePeriod: number, reductionFactor: number, maxT: number): number[] {
  const n = logFloor(maxT / gracePeriod, reductionFactor) + 1;
  const rungs = Array.from({ length: n }, (_, k) => gracePeriod * reductionFactor ** k).filter((t) => t < maxT);
  return [...rungs, maxT];
}

/** How many of `samples` trials are expected to reach each rung: a 1/η share is promoted. */
export function ashaFunnel(o: { samples: number; gracePeriod: number; reductionFactor: number; maxT: number }): Array<{ t: number; trials: number }> {
  const rungs = ashaRungs(o.gracePeriod, o.reductionFactor, o.maxT);
  return rungs.map((t, k) => ({ t, trials: Math.max(1, Math.floor(o.samples / o.reductionFactor ** k)) }));
}

export function ashaPicture(o: { samples: number; gracePeriod: number; reductionFactor: number; maxT: number }): VegaLiteSpec {
  const values = ashaFunnel(o).map((r) => ({ ...r, label: `t=${r.t}` }));
  return {
    $schema: VEGA_LITE_V5_SCHEMA,
    title: `ASHA: trials still training at each rung (η=${o.reductionFactor}, grace ${o.gracePeriod}, max_t ${o.maxT})`,
    width: 360, height: 160,
    data: { values },
    layer: [
      { mark: { type: "bar", color: "#4c78a8" }, encoding: { x: { field: "label", type: "ordinal", sort: null, title: "rung (epochs trained)" }, y: { field: "trials", type: "quantitative", title: "trials" } } },
      { mark: { type: "text", dy: -6 }, encoding: { x: { field: "label", type: "ordinal", sort: null }, y: { field: "trials", type: "quantitative" }, text: { field: "trials", type: "quantitative" } } },
    ],
  };
}

/** HyperBand brackets as BOHB runs them: bracket s starts n_s configs at budget R·η^-s. */
export function hyperbandBrackets(maxT: number, reductionFactor: number): Array<{ bracket: number; rung: number; configs: number; budget: number }> {
  const sMax = logFloor(maxT, reductionFactor);
  const out: Array<{ bracket: number; rung: number; configs: number; budget: number }> = [];
  for (let s = sMax; s >= 0; s--) {
    const n = Math.ceil(((sMax + 1) / (s + 1)) * reductionFactor ** s);
    for (let i = 0; i <= s; i++) {
      out.push({ bracket: s, rung: i, configs: Math.floor(n / reductionFactor ** i), budget: +(maxT * reductionFactor ** (i - s)).toPrecision(6) });
    }
  }
  return out;
}

export function bohbPicture(o: { maxT: number; reductionFactor: number }): VegaLiteSpec {
  const values = hyperbandBrackets(o.maxT, o.reductionFactor).map((r) => ({ ...r, bracketLabel: `bracket ${r.bracket}` }));
  return {
    $schema: VEGA_LITE_V5_SCHEMA,
    title: `BOHB's brackets (max_t ${o.maxT}, η=${o.reductionFactor}): configs × budget`,
    width: 360, height: 180,
    data: { values },
    mark: { type: "circle", opacity: 0.8 },
    encoding: {
      x: { field: "budget", type: "quantitative", title: "epochs per config at this rung", scale: { type: "log" } },
      y: { field: "bracketLabel", type: "nominal", title: null },
      size: { field: "configs", type: "quantitative", title: "configs" },
      color: { field: "bracketLabel", type: "nominal", legend: null },
      tooltip: [{ field: "bracket", type: "quantitative" }, { field: "configs", type: "quantitative" }, { field: "budget", type: "quantitative" }],
    },
  };
}

/**
 * PBT in a picture: a toy population of 4 whose worst member copies the best
 * one's weights at every perturbation point and perturbs its lr (×0.8/×1.2).
 * The numbers are an illustration computed here, not a run.
 */
export function pbtPicture(o: { perturbationInterval: number; maxT: number; population?: number }): VegaLiteSpec {
  const n = o.population ?? 4;
  let lrs = Array.from({ length: n }, (_, i) => 1e-4 * 3 ** i);
  const good = (lr: number) => -Math.abs(Math.log10(lr) - Math.log10(1e-3)); // toy: 1e-3 is best
  const values: Array<{ member: string; t: number; lr: number }> = [];
  for (let t = 0; t <= o.maxT; t++) {
    lrs.forEach((lr, i) => values.push({ member: `member ${i}`, t, lr }));
    if (t > 0 && t % o.perturbationInterval === 0 && t < o.maxT) {
      const order = lrs.map((lr, i) => [good(lr), i] as const).sort((a, b) => a[0] - b[0]);
      const worst = order[0][1];
      const best = order[order.length - 1][1];
      const next = [...lrs];
      next[worst] = lrs[best] * (t / o.perturbationInterval % 2 ? 1.2 : 0.8);
      lrs = next;
    }
  }
  return {
    $schema: VEGA_LITE_V5_SCHEMA,
    title: `PBT (toy): every ${o.perturbationInterval} epochs the worst member copies the best and perturbs lr`,
    width: 360, height: 180,
    data: { values },
    mark: { type: "line", interpolate: "step-after", point: true },
    encoding: {
      x: { field: "t", type: "quantitative", title: "epoch" },
      y: { field: "lr", type: "quantitative", scale: { type: "log" }, title: "learning rate" },
      color: { field: "member", type: "nominal" },
    },
  };
}
