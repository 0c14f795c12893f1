import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import type { HParams, SpaceSpec } from "../../src/config/types";
import { defaultGamma, defaultWeights, ParzenEstimator, TpeSearcher, toInternal, type ParzenParams } from "../../src/searchers/tpe";
import { erf, erfc, logGaussMass, logNdtr, ndtr, truncnormPpf } from "../../src/searchers/normal";
import { sampleSpace, toSpace } from "../../src/space/domains";
import { Rng } from "../../src/space/rng";

const SCRIPT = path.join(__dirname, "py", "tpe_reference.py");

function py(input: unknown): any {
  const r = spawnSync("/usr/bin/python3", [SCRIPT], { input: JSON.stringify(input), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const quoted = r.stdout.replace(/(?<=[:\[,]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, '"$1"');
  return JSON.parse(quoted, (_k, v) => (v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v === "NaN" ? NaN : v));
}

function close(a: number, b: number, what: string, rtol = 1e-9): void {
  if (a === b) return;
  assert.ok(Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= rtol * Math.max(1, Math.abs(a), Math.abs(b)), `${what}: tunelab ${a} vs optuna ${b}`);
}
function closeArr(a: number[], b: number[], what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  a.forEach((x, i) => close(x, b[i], `${what}[${i}]`));
}

const SPACE: SpaceSpec = {
  lr: { loguniform: [1e-5, 1e-1] },
  dropout: { uniform: [0, 0.5] },
  layers: { int: [1, 8] },
  bs: { choice: [16, 32, 64] },
};
const MAXT = 8;

type State = "complete" | "pruned" | "running" | "failed";
interface Hist { id: string; config: HParams; state: State; intermediate: Array<[number, number | null]>; value: number | null }

/** A seeded history with every kind of trial Optuna ranks: completed, pruned at various steps (one NaN, one without values), failed, running. */
function history(seed: number, count: number): Hist[] {
  const rng = new Rng(seed);
  const sp = toSpace(SPACE);
  const out: Hist[] = [];
  for (let i = 0; i < count; i++) {
    const config = sampleSpace(sp, rng);
    const base = Math.abs(Math.log10(config.lr as number) + 3) + (config.dropout as number) + 0.05 * (config.layers as number) + (config.bs === 32 ? 0 : 0.2);
    const curve = (t: number) => base + 1 / t + 0.01 * rng.next();
    const u = rng.next();
    const state: State = i === 3 ? "pruned" : u < 0.5 ? "complete" : u < 0.8 ? "pruned" : u < 0.87 ? "failed" : "running";
    const last = state === "complete" ? MAXT : 1 + rng.int(MAXT - 1);
    let intermediate: Array<[number, number | null]> = [];
    for (let t = 1; t <= last; t++) if (t === last || rng.next() < 0.3) intermediate.push([t, curve(t)]);
    if (i === 3) intermediate = []; // pruned before any report
    if (i === 5 && state === "pruned") intermediate[intermediate.length - 1][1] = null; // diverged: NaN
    out.push({ id: `t${i}`, config, state, intermediate, value: state === "complete" ? intermediate[intermediate.length - 1][1] : null });
  }
  return out;
}

function feed(h: Hist[], opts: Partial<ConstructorParameters<typeof TpeSearcher>[0]>): TpeSearcher {
  const s = new TpeSearcher({ space: SPACE, maxT: MAXT, ...opts }, new Rng(99));
  for (const t of h) {
    s.addTrial(t.id, t.config);
    for (const [step, v] of t.intermediate) s.observe({ trialId: t.id, config: t.config, budget: step, loss: v === null ? NaN : v });
    if (t.state === "complete") s.trialEnded(t.id, "completed");
    if (t.state === "pruned") s.trialEnded(t.id, "stopped");
    if (t.state === "failed") s.trialEnded(t.id, "failed");
  }
  return s;
}

function compare(seed: number, count: number, opts: { multivariate: boolean; constantLiar: boolean; considerEndpoints: boolean }): void {
  const h = history(seed, count);
  const tpe = feed(h, opts);
  const view = tpe.split();
  assert.ok(view, "enough observations for the model");
  const options = { considerPrior: true, priorWeight: 1, considerMagicClip: true, ...opts };
  // candidates: draws from l(x) plus the bounds and a few fixed points
  const groups = opts.multivariate ? [tpe.dims] : tpe.dims.map((d) => [d]);
  const candidates: Record<string, Array<number | string | boolean>> = {};
  const rng = new Rng(seed + 1);
  for (const dims of groups) {
    const { below } = tpe.estimators(view!, dims);
    const cand = below.sample(rng, 24);
    dims.forEach((d, j) => {
      const ext = cand[j].map((x) => (d.kind === "categorical" ? d.choices[x] : d.log ? Math.exp(x) : x));
      const extra = d.kind === "categorical" ? d.choices : d.name === "layers" ? [1, 8, 4] : d.name === "lr" ? [1e-5, 1e-1, 3e-3] : [0, 0.5, 0.25];
      candidates[d.name] = [...ext, ...extra];
    });
  }
  const ref = py({
    space: Object.fromEntries(Object.entries(SPACE).map(([k, d]) => [k, "loguniform" in d ? { type: "loguniform", lo: d.loguniform[0], hi: d.loguniform[1] } : "uniform" in d ? { type: "uniform", lo: d.uniform[0], hi: d.uniform[1] } : "int" in d ? { type: "int", lo: d.int[0], hi: d.int[1] } : { type: "choice", values: (d as { choice: unknown[] }).choice }])),
    trials: h.map((t) => ({ params: t.config, state: t.state, intermediate: t.intermediate, value: t.value })),
    options, candidates,
  });
  // the split: same n, γ(n), and the same trials below and above
  assert.equal(view!.n, ref.n);
  assert.equal(view!.gamma, ref.gamma);
  assert.deepEqual(view!.below.map((id) => view!.ids.indexOf(id)), ref.below);
  assert.deepEqual(view!.above.map((id) => view!.ids.indexOf(id)), ref.above);
  groups.forEach((dims, gi) => {
    const g = ref.groups[gi];
    assert.deepEqual(g.names, dims.map((d) => d.name));
    const est = tpe.estimators(view!, dims);
    for (const side of ["below", "above"] as const) {
      const e: ParzenEstimator = est[side];
      const r = g[side];
      closeArr(e.weights, r.weights, `${side} weights`);
      dims.forEach((d, j) => {
        if (d.kind === "categorical") {
          assert.equal(e.categoricalWeights[j]!.length, r.categorical[j].length);
          e.categoricalWeights[j]!.forEach((row, c) => closeArr(row, r.categorical[j][c], `${side} ${d.name} categorical[${c}]`));
        } else {
          closeArr(e.mus[j]!, r.mus[j], `${side} ${d.name} mus`);
          closeArr(e.sigmas[j]!, r.sigmas[j], `${side} ${d.name} sigmas`);
        }
      });
    }
    const samples = dims.map((d) => candidates[d.name].map((v) => toInternal(d, v)));
    const lb = est.below.logPdf(samples), la = est.above.logPdf(samples);
    closeArr(lb, g.logpdf_below, "log l(x)");
    closeArr(la, g.logpdf_above, "log g(x)");
    // the acquisition Optuna maximises, and so the same winner among the candidates
    closeArr(lb.map((x, i) => x - la[i]), g.logpdf_below.map((x: number, i: number) => x - g.logpdf_above[i]), "log l − log g");
    const arg = (xs: number[]) => xs.reduce((b, x, i) => (x > xs[b] ? i : b), 0);
    assert.equal(arg(lb.map((x, i) => x - la[i])), arg(g.logpdf_below.map((x: number, i: number) => x - g.logpdf_above[i])));
  });
}

test("TPE agrees with python3-optuna 3.1 (univariate, 30 trials): split, Parzen estimators, acquisition", () => {
  compare(1, 30, { multivariate: false, constantLiar: false, considerEndpoints: false });
});

test("TPE agrees with python3-optuna 3.1 with > 25 observations above (the weights ramp), 80 trials", () => {
  compare(2, 80, { multivariate: false, constantLiar: false, considerEndpoints: false });
});

test("TPE agrees with python3-optuna 3.1: multivariate, constant liar (running trials rank last)", () => {
  compare(3, 40, { multivariate: true, constantLiar: true, considerEndpoints: false });
});

test("TPE agrees with python3-optuna 3.1: consider_endpoints, univariate with constant liar", () => {
  compare(4, 24, { multivariate: false, constantLiar: true, considerEndpoints: true });
});

test("TPE: random for the first 10 finished trials (running ones do not count), then model-based", () => {
  const s = new TpeSearcher({ space: SPACE, maxT: MAXT }, new Rng(5));
  const picks: boolean[] = [];
  for (let i = 0; i < 14; i++) {
    const sug = s.suggest(`t${i}`);
    picks.push(sug.modelBasedPick!);
    // t0 stays running; the others finish (odd ones cut at step 2)
    if (i === 0) continue;
    s.observe({ trialId: `t${i}`, config: sug.config, budget: i % 2 ? 2 : MAXT, loss: i });
    s.trialEnded(`t${i}`, i % 2 ? "stopped" : "completed");
  }
  // suggestion k sees k−1 finished trials (t1…t(k−1)): random while < 10
  assert.deepEqual(picks, [false, false, false, false, false, false, false, false, false, false, false, true, true, true]);
  const v = s.split()!;
  assert.equal(v.n, 13);
  assert.equal(v.gamma, 2);
  // completed trials rank before stopped ones whatever their values: the best two completed are t2, t4
  assert.deepEqual(v.below, ["t2", "t4"]);
});

test("TPE: suggestions are seeded and survive a state round trip; model picks stay in their domains", () => {
  const run = (restoreAt: number | null) => {
    let s = new TpeSearcher({ space: SPACE, maxT: MAXT }, new Rng(7));
    const out: HParams[] = [];
    for (let i = 0; i < 20; i++) {
      if (i === restoreAt) {
        const st = JSON.parse(JSON.stringify(s.getState()));
        s = new TpeSearcher({ space: SPACE, maxT: MAXT }, new Rng(0));
        s.setState(st);
      }
      const { config } = s.suggest(`t${i}`);
      out.push(config);
      s.observe({ trialId: `t${i}`, config, budget: MAXT, loss: Math.abs(Math.log10(config.lr as number) + 3) });
    }
    return out;
  };
  const a = run(null);
  assert.deepEqual(run(15), a);
  for (const c of a) {
    assert.ok((c.lr as number) >= 1e-5 && (c.lr as number) <= 1e-1);
    assert.ok(Number.isInteger(c.layers) && (c.layers as number) >= 1 && (c.layers as number) <= 8);
    assert.ok([16, 32, 64].includes(c.bs as number));
  }
});

test("TPE: γ and weights are Optuna's defaults", () => {
  assert.deepEqual([0, 1, 9, 10, 11, 100, 250, 300].map(defaultGamma), [0, 1, 1, 1, 2, 10, 25, 25]);
  assert.deepEqual(defaultWeights(3), [1, 1, 1]);
  const w = defaultWeights(30);
  assert.equal(w.length, 30);
  close(w[0], 1 / 30, "first");
  close(w[4], 1, "end of ramp");
  close(w[2], 1 / 30 + 2 * ((1 - 1 / 30) / 4), "ramp");
  assert.deepEqual(w.slice(5), Array(25).fill(1));
});

test("normal helpers: erf/erfc, log Φ, log mass, truncated-normal quantiles against python3 (math.erf and Optuna's _truncnorm)", () => {
  const xs = [-30, -19, -7, -3, -2.01, -1, -0.3, 0, 0.5, 1.5, 2, 2.5, 5, 10];
  const ab: Array<[number, number]> = [[-1, 2], [3, 5], [-50, -40], [-0.1, 0.1], [-8, -7.5], [0.2, 30]];
  const r = spawnSync("/usr/bin/python3", ["-c", `
import json, math, numpy as np
from optuna.samplers._tpe import _truncnorm as t
xs=${JSON.stringify(xs)}; ab=${JSON.stringify(ab)}
print(json.dumps({"erf":[math.erf(x) for x in xs],"erfc":[math.erfc(x) for x in xs],"logndtr":[t._log_ndtr_single(x) for x in xs],
 "mass":[float(t._log_gauss_mass(np.array([a]),np.array([b]))[0]) for a,b in ab],
 "ppf":[float(t.ppf(np.array([q]),a,b)[0]) for a,b in ab for q in (0.01,0.5,0.93)]}))`], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const ref = JSON.parse(r.stdout);
  xs.forEach((x, i) => {
    close(erf(x), ref.erf[i], `erf(${x})`, 1e-14);
    close(erfc(x), ref.erfc[i], `erfc(${x})`, 1e-13);
    close(logNdtr(x), ref.logndtr[i], `log Φ(${x})`, 1e-13);
  });
  ab.forEach(([a, b], i) => close(logGaussMass(a, b), ref.mass[i], `log mass(${a}, ${b})`, 1e-12));
  let k = 0;
  for (const [a, b] of ab) for (const q of [0.01, 0.5, 0.93]) close(truncnormPpf(q, a, b), ref.ppf[k++], `ppf(${q}; ${a}, ${b})`, 1e-9);
  close(ndtr(0), 0.5, "Φ(0)");
});

test("Parzen estimator with no observations is the prior alone", () => {
  const dims = new TpeSearcher({ space: { x: { uniform: [0, 2] } }, maxT: 1 }, new Rng(1)).dims;
  const p: ParzenParams = { considerPrior: false, priorWeight: 1, considerMagicClip: true, considerEndpoints: false, multivariate: false };
  const e = new ParzenEstimator(dims, [[]], p);
  assert.deepEqual(e.weights, [1]);
  assert.deepEqual(e.mus[0], [1]);
  assert.deepEqual(e.sigmas[0], [2]);
});
