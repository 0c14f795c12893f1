import { test } from "node:test";
import assert from "node:assert/strict";
import { BohbSearcher, firstModelThreshold, hpbandsterBrackets, type BohbSearcherOptions } from "../../src/searchers/bohb";
import { fitKde, kdePdf, normalReference } from "../../src/searchers/kde";
import { contains, encodeConfig, toSpace } from "../../src/space/domains";
import { Rng } from "../../src/space/rng";
import type { SpaceSpec } from "../../src/config/types";

const defaults = { topNPercent: 15, numSamples: 64, randomFraction: 1 / 3, bandwidthFactor: 3, minBandwidth: 1e-3 };
function spaceOf(d: number): SpaceSpec {
  const s: SpaceSpec = {};
  for (let i = 0; i < d; i++) s[`x${i}`] = i % 3 === 2 ? { choice: ["a", "b", "c"] } : i % 3 === 1 ? { int: [1, 8] } : { loguniform: [1e-5, 1e-1] };
  return s;
}
const mk = (space: SpaceSpec, o: Partial<BohbSearcherOptions> = {}, seed = 1) => new BohbSearcher({ space, ...defaults, ...o }, new Rng(seed));

test("HpBandSter budgets and iterations: min=1, max=81, η=3 and min=1, max=5, η=4 (§3.3)", () => {
  const a = hpbandsterBrackets(1, 81, 3);
  assert.deepEqual(a.budgets.map((b) => +b.toFixed(9)), [1, 3, 9, 27, 81]);
  assert.deepEqual(a.iterations.map((it) => it.map(([n]) => n)), [[81, 27, 9, 3, 1], [27, 9, 3, 1], [9, 3, 1], [6, 2], [5]]);
  assert.deepEqual(a.iterations[3].map(([, b]) => +b.toFixed(9)), [27, 81]);
  const w = hpbandsterBrackets(1, 5, 4);
  assert.deepEqual(w.budgets, [1.25, 5]);
  // guarded log: (1, 243, 3) has 6 budgets
  assert.equal(hpbandsterBrackets(1, 243, 3).budgets.length, 6);
});

test("first-model threshold: d = 2, 3, 6 → 6, 8, 14 observations on one budget (formula and the searcher itself)", () => {
  assert.deepEqual([2, 3, 6].map(firstModelThreshold), [6, 8, 14]);
  for (const d of [2, 3, 6]) {
    const space = spaceOf(d);
    const s = mk(space);
    const gen = new BohbSearcher({ space, ...defaults, randomFraction: 1 }, new Rng(99));
    let n = 0;
    while (s.modelBudgets().length === 0) {
      s.observe({ trialId: `t${n}`, config: gen.suggest("x").config, budget: 1, loss: (n * 7919) % 13 });
      n++;
      assert.ok(n < 100);
    }
    assert.equal(n, firstModelThreshold(d), `d=${d}`);
  }
});

test("observations at a budget below an existing model's budget are discarded; the largest-budget model is the one used", () => {
  const space = spaceOf(2);
  const s = mk(space);
  const gen = new BohbSearcher({ space, ...defaults, randomFraction: 1 }, new Rng(5));
  for (let i = 0; i < 6; i++) s.observe({ trialId: `a${i}`, config: gen.suggest("x").config, budget: 1, loss: i });
  assert.deepEqual(s.modelBudgets(), [1]);
  for (let i = 0; i < 6; i++) s.observe({ trialId: `b${i}`, config: gen.suggest("x").config, budget: 3, loss: i });
  assert.deepEqual(s.modelBudgets(), [1, 3]);
  s.observe({ trialId: "late", config: gen.suggest("x").config, budget: 1, loss: 0 });
  assert.equal(s.observations(1), 6);
});

test("non-finite losses count as +∞ (bad) points", () => {
  const space = spaceOf(2);
  const s = mk(space);
  const gen = new BohbSearcher({ space, ...defaults, randomFraction: 1 }, new Rng(5));
  const cfgs = Array.from({ length: 6 }, () => gen.suggest("x").config);
  cfgs.forEach((c, i) => s.observe({ trialId: `a${i}`, config: c, budget: 1, loss: i === 0 ? NaN : i }));
  // good = 3 lowest: losses 1,2,3 (the NaN one is +∞ → in the bad set)
  const sp = toSpace(space);
  const enc = (c: Record<string, number | string | boolean>) => JSON.stringify(encodeConfig(sp, c));
  const good = s.model(1)!.good.data.map((r) => JSON.stringify(r));
  const bad = s.model(1)!.bad.data.map((r) => JSON.stringify(r));
  assert.deepEqual(good.sort(), [cfgs[1], cfgs[2], cfgs[3]].map(enc).sort());
  assert.ok(bad.includes(enc(cfgs[0])));
});

test("normal_reference bandwidth = 1.06·std·n^(−1/(4+q)) (statsmodels), clipped at min_bandwidth", () => {
  const data = [[0.1, 0], [0.3, 1], [0.5, 1], [0.9, 2]];
  const std0 = Math.sqrt([0.1, 0.3, 0.5, 0.9].reduce((a, x) => a + (x - 0.45) ** 2, 0) / 4);
  const bw = normalReference(data);
  assert.ok(Math.abs(bw[0] - 1.06 * std0 * Math.pow(4, -1 / 6)) < 1e-12);
  const k = fitKde([[0.5, 1], [0.5, 1], [0.5, 1]], [0, 3], 1e-3);
  assert.deepEqual(k.bw, [1e-3, 1e-3]);
  // Aitchison–Aitken with a single level in the data: h/(L−1) = ∞ off the level
  assert.equal(kdePdf(k, [0.5, 0]), Infinity);
  assert.ok(Number.isFinite(kdePdf(k, [0.5, 1])));
});

test("suggest: random until a model exists (modelBasedPick false); then about 2/3 model-based, all inside the space", () => {
  const space = spaceOf(3);
  const s = mk(space, {}, 11);
  const gen = new BohbSearcher({ space, ...defaults, randomFraction: 1 }, new Rng(3));
  for (let i = 0; i < 7; i++) {
    assert.equal(s.suggest(`p${i}`).modelBasedPick, false);
    s.observe({ trialId: `p${i}`, config: gen.suggest("x").config, budget: 1, loss: i });
  }
  s.observe({ trialId: "p7", config: gen.suggest("x").config, budget: 1, loss: 7 });
  assert.deepEqual(s.modelBudgets(), [1]);
  const sp = toSpace(space);
  let model = 0;
  for (let i = 0; i < 300; i++) {
    const sug = s.suggest(`q${i}`);
    if (sug.modelBasedPick) model++;
    for (const [k, d] of sp) assert.ok(contains(d, sug.config[k]), `${k}=${sug.config[k]}`);
  }
  assert.ok(Math.abs(model / 300 - 2 / 3) < 0.08, `model-based share ${model / 300}`);
});

test("the model concentrates suggestions near the good region", () => {
  const space: SpaceSpec = { lr: { loguniform: [1e-5, 1e-1] }, u: { uniform: [0, 1] } };
  const s = mk(space, { randomFraction: 0 }, 4);
  const gen = new BohbSearcher({ space, ...defaults, randomFraction: 1 }, new Rng(8));
  for (let i = 0; i < 40; i++) {
    const c = gen.suggest("x").config;
    s.observe({ trialId: `o${i}`, config: c, budget: 1, loss: Math.abs(Math.log10(c.lr as number) + 3) + Math.abs((c.u as number) - 0.5) });
  }
  const picks = Array.from({ length: 40 }, (_, i) => s.suggest(`s${i}`).config);
  const meanDist = picks.reduce((a, c) => a + Math.abs(Math.log10(c.lr as number) + 3), 0) / picks.length;
  assert.ok(meanDist < 1.0, `mean |log10 lr + 3| = ${meanDist} (uniform would be 1.0)`);
});

test("state round-trip: a restored searcher suggests the same configurations", () => {
  const space = spaceOf(3);
  const a = mk(space, {}, 21);
  const gen = new BohbSearcher({ space, ...defaults, randomFraction: 1 }, new Rng(2));
  for (let i = 0; i < 12; i++) a.observe({ trialId: `o${i}`, config: gen.suggest("x").config, budget: i < 9 ? 1 : 3, loss: (i * 5) % 7 });
  const b = mk(space, {}, 999);
  b.setState(JSON.parse(JSON.stringify(a.getState())));
  for (let i = 0; i < 20; i++) assert.deepEqual(b.suggest(`z${i}`), a.suggest(`z${i}`));
});
