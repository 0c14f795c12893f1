/**
 * Side by side with Optuna 3.1 (Debian python3-optuna, a real Python process):
 * the same recorded curves, the same fixed arrival order, through tunelab's
 * ASHA and Optuna's SuccessiveHalvingPruner (min_resource=1, η=2 → rungs
 * 1, 2, 4 on both sides; max_t = 5 = the curves' length).
 * Semantics per docs/schedulers.md §4.5.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { AshaScheduler } from "../../src/schedulers/asha";
import { ashaCutoff } from "../../src/schedulers/asha";
import { Rng } from "../../src/space/rng";
import { report } from "./trace";

type Curves = Record<string, Array<number | null>>;
type Fate = { state: "pruned" | "complete"; step: number };
const RUNGS = [1, 2, 4];
const ETA = 2;

/** Trials one after another, each reporting every step (Optuna's study.optimize order). */
function sequential(curves: Curves): Array<[string, number]> {
  return Object.entries(curves).flatMap(([k, c]) => c.map((_, i) => [k, i + 1] as [string, number]));
}

function optuna(curves: Curves): Record<string, Fate> {
  const r = spawnSync("/usr/bin/python3", [path.join(__dirname, "py", "optuna_sh.py")], {
    input: JSON.stringify({ reduction_factor: ETA, min_resource: 1, min_early_stopping_rate: 0, direction: "minimize", curves, order: sequential(curves) }),
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function tunelab(curves: Curves, nanPolicy: "worst" | "ignore"): Record<string, Fate> {
  const s = new AshaScheduler({ metric: "loss", mode: "min", gracePeriod: 1, reductionFactor: ETA, maxT: 5, brackets: 1, stopLastTrials: true, nanPolicy }, new Rng(0));
  const out: Record<string, Fate> = {};
  for (const [k, step] of sequential(curves)) {
    if (out[k]) continue;
    if (step === 1) s.onTrialAdd({ trialId: k, config: {} });
    const a = s.onResult(k, report(step, curves[k][step - 1]))[0];
    if (a.action === "stop") {
      out[k] = step >= 5 ? { state: "complete", step } : { state: "pruned", step };
      s.onTrialComplete(k, report(step, curves[k][step - 1]));
    }
  }
  return out;
}

/** The two documented rules, written out: successive halving with a pluggable promotion test. */
function rule(curves: Curves, kind: "ray" | "optuna"): Record<string, Fate> {
  const rec = new Map<number, number[]>(RUNGS.map((r) => [r, []]));
  const out: Record<string, Fate> = {};
  for (const [k, step] of sequential(curves)) {
    if (out[k]) continue;
    const raw = curves[k][step - 1];
    const v = raw === null ? NaN : raw;
    if (RUNGS.includes(step)) {
      const others = rec.get(step)!;
      let stop: boolean;
      if (kind === "ray") {
        // others only; interpolated (1 − 1/η) quantile of −loss; strict <; NaN ignored/never stopped
        const cutoff = ashaCutoff(others.map((x) => -x), ETA);
        stop = cutoff !== null && -v < cutoff;
        others.push(v);
      } else {
        // NaN pruned at once (not recorded); competitors include self; index ⌊n/η⌋−1 clamped to 0; ≤
        if (Number.isNaN(v)) stop = true;
        else {
          others.push(v);
          const comp = [...others].sort((a, b) => a - b);
          const idx = Math.max(Math.floor(comp.length / ETA) - 1, 0);
          stop = !(v <= comp[idx]);
        }
      }
      if (stop) {
        out[k] = { state: "pruned", step };
        continue;
      }
    }
    if (step === 5) out[k] = { state: "complete", step };
  }
  return out;
}

/** A: curves on which the two semantics coincide (odd comparison sets, or values clear of the interpolation gap). */
const coincide: Curves = {
  a: [5, 4, 3, 2, 1],
  b: [6, 5, 4, 3, 2],
  c: [4, 3, 2, 1, 0.5],
  d: [7, 6, 5, 4, 3],
  e: [5, 4, 3.5, 3, 2],
  f: [3, 2.5, 2.2, 2.5, 2],
  g: [8, 7, 6, 5, 4],
  h: [4.4, 2.9, 2.8, 2.7, 2.6],
};

/** B: the documented differences: a NaN curve, and a value between the lower middle and the interpolated median. */
const differ: Curves = {
  a: [5, 4, 3, 2, 1],
  b: [3, 2, 1.5, 1.2, 1],
  c: [3.5, 3.5, 2.5, 2, 1.5], // rung 1: others {5, 3}: Ray median 4 → continue; Optuna {3, 3.5, 5}[0] = 3 → prune
  n: [null, null, null, null, null], // diverging run
};

test("Optuna side by side (real python3-optuna 3.1): where the semantics coincide, the same trials are stopped at the same rungs", () => {
  const o = optuna(coincide);
  assert.deepEqual(tunelab(coincide, "ignore"), o);
  assert.deepEqual(tunelab(coincide, "worst"), o);
  // and it is not a trivial table: both prune, at rung 1 and at rung 2
  assert.deepEqual(Object.values(o).filter((f) => f.state === "pruned").map((f) => f.step).sort(), [1, 1, 1, 2, 4, 4]);
});

test("Optuna side by side: where they differ, the difference is exactly the documented one (NaN; comparison set incl. self + index rule)", () => {
  const o = optuna(differ);
  const ray = tunelab(differ, "ignore");
  const worst = tunelab(differ, "worst");
  assert.deepEqual(o, { a: { state: "complete", step: 5 }, b: { state: "complete", step: 5 }, c: { state: "pruned", step: 1 }, n: { state: "pruned", step: 1 } });
  // Ray semantics: c survives rung 1 (3.5 ≤ interpolated median 4) and rung 2; NaN never stopped, runs to max_t
  assert.deepEqual(ray, { a: { state: "complete", step: 5 }, b: { state: "complete", step: 5 }, c: { state: "pruned", step: 2 }, n: { state: "complete", step: 5 } });
  // tunelab's default NaN policy stops the NaN run where Optuna does; c keeps the Ray rule
  assert.deepEqual(worst, { ...ray, n: { state: "pruned", step: 1 } });
});

test("Optuna side by side on 40 generated curves: Optuna == the documented Optuna rule, tunelab ASHA == the documented Ray rule", () => {
  const curves: Curves = {};
  const rng = new Rng(2024);
  for (let i = 0; i < 40; i++) {
    const base = 1 + 4 * rng.next();
    const rate = 0.3 + rng.next();
    curves[`t${String(i).padStart(2, "0")}`] = i === 13 ? [null, null, null, null, null] : i === 29 ? [base, null, null, null, null] : [1, 2, 3, 4, 5].map((t) => +(base / Math.pow(t, rate) + 0.2 * rng.next()).toFixed(4));
  }
  const o = optuna(curves);
  assert.deepEqual(o, rule(curves, "optuna"));
  const ray = tunelab(curves, "ignore");
  assert.deepEqual(ray, rule(curves, "ray"));
  const differing = Object.keys(curves).filter((k) => JSON.stringify(o[k]) !== JSON.stringify(ray[k]));
  assert.ok(differing.length > 0, "the generated table exercises the differences");
  assert.ok(differing.includes("t13"), "the NaN run differs (Optuna prunes it at rung 1, Ray never stops it)");
  assert.deepEqual([o.t13, ray.t13], [{ state: "pruned", step: 1 }, { state: "complete", step: 5 }]);
});
