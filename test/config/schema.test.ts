import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseExperiment } from "../../src/config/schema";

const space = { lr: { loguniform: [1e-5, 1e-3] }, bs: { choice: [1, 2] } };

function issues(input: unknown): string[] {
  try {
    parseExperiment(input);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.issues;
  }
  assert.fail("expected a ConfigError");
}

test("defaults: ASHA from schedulers.md, maxT = trainer.epochs, runDir, local CPU", () => {
  const c = parseExperiment({ name: "a1", space, method: { kind: "asha" } });
  assert.deepEqual(c.method, { kind: "asha", gracePeriod: 1, reductionFactor: 4, brackets: 1, stopLastTrials: true, nanPolicy: "worst", maxT: 5 });
  assert.equal(c.metric, "eval_loss");
  assert.equal(c.mode, "min");
  assert.equal(c.seed, 0);
  assert.equal(c.samples, 12);
  assert.equal(c.maxConcurrent, 4);
  assert.deepEqual(c.trainer, { model: "small", env: {}, epochs: 5, gpusPerTrial: 0 });
  assert.deepEqual(c.backend, { kind: "local" });
  assert.equal(c.runDir, "runs/a1");
});

test("defaults: HyperBand, PBT, BOHB", () => {
  assert.deepEqual(parseExperiment({ name: "h", space, method: { kind: "hyperband" }, trainer: { epochs: 81 } }).method, {
    kind: "hyperband", maxT: 81, reductionFactor: 3, stopLastTrials: true,
  });
  assert.deepEqual(parseExperiment({ name: "p", space, method: { kind: "pbt" } }).method, {
    kind: "pbt", perturbationInterval: 1, burnInPeriod: 0, quantileFraction: 0.25, resampleProbability: 0.25, perturbationFactors: [1.2, 0.8], synch: false,
  });
  assert.deepEqual(parseExperiment({ name: "b", space, method: { kind: "bohb" } }).method, {
    kind: "bohb", maxT: 5, reductionFactor: 3, topNPercent: 15, numSamples: 64, randomFraction: 1 / 3, bandwidthFactor: 3, minBandwidth: 1e-3, stopLastTrials: true,
  });
});

test("defaults: grid samples = grid size; slurm/replay/local-with-gpus get 1 GPU per trial; epochs follow method.maxT", () => {
  const g = parseExperiment({ name: "g", space: { bs: { grid: [1, 2] }, wd: { choice: [0, 0.01, 0.1] } }, method: { kind: "grid" } });
  assert.equal(g.samples, 6);
  assert.equal(parseExperiment({ name: "s", space, backend: { kind: "slurm", remoteDir: "/scratch/x" } }).trainer.gpusPerTrial, 1);
  assert.equal(parseExperiment({ name: "r", space, backend: { kind: "replay", curves: "data/curves/x.csv" } }).trainer.gpusPerTrial, 1);
  assert.equal(parseExperiment({ name: "l", space, backend: { kind: "local", gpus: [0, 1] } }).trainer.gpusPerTrial, 1);
  const m = parseExperiment({ name: "m", space, method: { kind: "asha", maxT: 9 } });
  assert.equal(m.trainer.epochs, 9);
  assert.equal((m.method as { maxT: number }).maxT, 9);
});

test("reject: the three documented example messages, exactly", () => {
  assert.deepEqual(issues({ name: "x; rm -rf ~", space: { lr: { loguniform: [0, 1] } }, method: { kind: "ashaa" } }), [
    'name: got "x; rm -rf ~"; only letters, digits, - and _',
    "space.lr.loguniform: got [0, 1]; lower bound must be > 0 (a log-uniform range samples ln x: both bounds positive, e.g. [1e-5, 1e-2]; use uniform for a range that includes 0)",
    "method.kind: got \"ashaa\"; expected one of grid, random, asha, hyperband, pbt, bohb",
  ]);
});

test("reject: unknown keys (strict objects) list the accepted keys", () => {
  assert.deepEqual(issues({ name: "a", space, method: { kind: "asha", grace: 2 }, extra: 1 }), [
    "method.grace: unknown key; accepted keys: kind, gracePeriod, reductionFactor, maxT, brackets, stopLastTrials, nanPolicy",
    "extra: unknown key; accepted keys: name, metric, mode, seed, space, method, searcher, samples, maxConcurrent, budget, trainer, backend, runDir",
  ]);
});

test("reject: types, ranges, enums, missing fields", () => {
  assert.deepEqual(issues({ space, mode: "mx", trainer: { epochs: 1.5 }, method: { kind: "asha", reductionFactor: 1 } }), [
    "name: missing; expected a string",
    "mode: got \"mx\"; expected one of min, max",
    "method.reductionFactor: got 1; must be > 1",
    "trainer.epochs: got 1.5; expected an integer",
  ]);
  assert.deepEqual(issues({ name: "p", space, method: { kind: "pbt", quantileFraction: 0.6, perturbationInterval: 0 } }), [
    "method.perturbationInterval: got 0; must be > 0",
    "method.quantileFraction: got 0.6; must be <= 0.5",
  ]);
  assert.deepEqual(issues({ name: "s", space, backend: { kind: "slurm", partition: "gpu; reboot" } }), [
    'backend.partition: got "gpu; reboot"; only letters, digits and _ . , : @ + = / - (partition)',
    "backend.remoteDir: missing; expected a string",
  ]);
});

test("reject: domains", () => {
  assert.deepEqual(
    issues({
      name: "d",
      space: {
        a: { uniform: [2, 1] },
        b: { int: [1.5, 4] },
        c: { choice: [] },
        d: { choice: [1, 1] },
        e: { normal: [0, 1] },
        f: { loguniform: [1e-3] },
      },
    }),
    [
      "space.a.uniform: got [2, 1]; lower bound must be < upper bound",
      "space.b.int: got [1.5, 4]; bounds must be integers (both inclusive)",
      "space.c.choice: got []; expected a non-empty list of numbers, strings or booleans",
      "space.d.choice: got [1, 1]; values must be distinct",
      'space.e: got {"normal": [0, 1]}; expected exactly one of the keys loguniform, uniform, int, choice, grid',
      "space.f.loguniform: got [0.001]; expected [lower, upper], two finite numbers",
    ],
  );
});

test("reject: cross-field rules", () => {
  assert.deepEqual(issues({ name: "a", space, method: { kind: "asha", gracePeriod: 3, maxT: 2 }, trainer: { epochs: 5 } }), [
    "method.maxT: got 2; must be >= method.gracePeriod (3)",
  ]);
  assert.deepEqual(issues({ name: "a", space, method: { kind: "asha", maxT: 10 }, trainer: { epochs: 5 } }), [
    "method.maxT: got 10; must be <= trainer.epochs (5): a trial cannot train past its epochs",
  ]);
  assert.deepEqual(issues({ name: "g", space, method: { kind: "grid" }, samples: 3 }), [
    'space.lr: got {"loguniform": [0.00001, 0.001]}; the grid method takes only grid or choice dimensions (loguniform needs a sampling method: random, asha, hyperband, pbt or bohb)',
    "samples: got 3; the grid has 2 points; expected at most 2 or a multiple of 2 (repeats × grid size; default: all of them)",
  ]);
  assert.deepEqual(issues({ name: "r", space: { bs: { grid: [1, 2] } }, method: { kind: "random" }, samples: 3 }), [
    "samples: got 3; the grid dimensions have 2 points; expected a multiple of 2 (repeats × grid size; default: 2)",
  ]);
  assert.deepEqual(issues({ name: "p", space, method: { kind: "pbt", mutations: ["lr", "wd"] } }), [
    'method.mutations[1]: got "wd"; expected one of the space keys: lr, bs',
  ]);
});

test("BOHB and PBT accept every sampled domain kind", () => {
  const s = { lr: { loguniform: [1e-5, 1e-3] }, m: { uniform: [0, 1] }, n: { int: [1, 8] }, bs: { choice: [1, 2, 4] } };
  assert.equal(parseExperiment({ name: "b", space: s, method: { kind: "bohb" } }).method.kind, "bohb");
  assert.equal(parseExperiment({ name: "p", space: s, method: { kind: "pbt" } }).method.kind, "pbt");
});

test("the message of a ConfigError lists every issue on its own line", () => {
  assert.throws(() => parseExperiment({ name: "", space: {} }), (e: Error) => {
    assert.equal(e.message, 'invalid experiment config:\n  name: got ""; only letters, digits, - and _\n  space: got {}; expected at least one hyperparameter');
    return true;
  });
});

test("searcher: defaults keep today's pairings; tpe gets Optuna 3.1's defaults; bohb's options come from the method", () => {
  const s = { lr: { loguniform: [1e-5, 1e-3] }, bs: { choice: [1, 2] } };
  assert.deepEqual(parseExperiment({ name: "a", space: s, method: { kind: "asha" } }).searcher, { kind: "random" });
  assert.deepEqual(parseExperiment({ name: "g", space: { bs: { grid: [1, 2] } }, method: { kind: "grid" } }).searcher, { kind: "grid" });
  assert.deepEqual(parseExperiment({ name: "b", space: s, method: { kind: "bohb", topNPercent: 20 } }).searcher, {
    kind: "bohb", topNPercent: 20, numSamples: 64, randomFraction: 1 / 3, bandwidthFactor: 3, minBandwidth: 1e-3,
  });
  assert.deepEqual(parseExperiment({ name: "t", space: s, method: { kind: "asha" }, searcher: { kind: "tpe" } }).searcher, {
    kind: "tpe", nStartupTrials: 10, nEiCandidates: 24, multivariate: false, constantLiar: false,
    considerPrior: true, priorWeight: 1, considerMagicClip: true, considerEndpoints: false,
  });
  // bohb's KDE under ASHA: HpBandSter's defaults, overridable
  assert.deepEqual(parseExperiment({ name: "k", space: s, method: { kind: "asha" }, searcher: { kind: "bohb", numSamples: 8 } }).searcher, {
    kind: "bohb", topNPercent: 15, numSamples: 8, randomFraction: 1 / 3, bandwidthFactor: 3, minBandwidth: 1e-3,
  });
});

test("searcher: rejected pairings and options name the field, the value and what is accepted", () => {
  const s = { lr: { loguniform: [1e-5, 1e-3] }, bs: { choice: [1, 2] } };
  assert.deepEqual(issues({ name: "p", space: s, method: { kind: "pbt" }, searcher: { kind: "tpe" } }), [
    'searcher.kind: got "tpe"; method pbt takes searcher random or grid (its population is explored by PBT, not by a model)',
  ]);
  assert.deepEqual(issues({ name: "g", space: { bs: { grid: [1, 2] } }, method: { kind: "grid" }, searcher: { kind: "random" } }), [
    'searcher.kind: got "random"; method grid enumerates the grid itself; expected searcher grid (for random without early stopping use method random)',
  ]);
  assert.deepEqual(issues({ name: "t", space: { bs: { grid: [1, 2] } }, method: { kind: "asha" }, searcher: { kind: "tpe" } }), [
    "space.bs.grid: got [1, 2]; grid dimensions need searcher grid or random (searcher tpe samples every dimension); use choice",
  ]);
  assert.deepEqual(issues({ name: "t", space: s, method: { kind: "asha" }, searcher: { kind: "grid" } }), [
    'space.lr: got {"loguniform": [0.00001, 0.001]}; searcher grid takes only grid or choice dimensions (loguniform needs searcher random, tpe or bohb)',
  ]);
  assert.deepEqual(issues({ name: "t", space: s, searcher: { kind: "tpe", nStartupTrials: -1, gamma: 3 } }), [
    "searcher.nStartupTrials: got -1; must be >= 0",
    "searcher.gamma: unknown key; accepted keys: kind, nStartupTrials, nEiCandidates, multivariate, constantLiar, considerPrior, priorWeight, considerMagicClip, considerEndpoints",
  ]);
  assert.deepEqual(issues({ name: "t", space: s, searcher: { kind: "optuna" } }), [
    'searcher.kind: got "optuna"; expected one of grid, random, tpe, bohb',
  ]);
});

test("grid dimensions under any scheduler (Ray's grid_search): samples = repeats × grid size", () => {
  const grid = { lr: { grid: [1e-4, 1e-3, 1e-2] }, bs: { grid: [1, 2] }, wd: { choice: [0, 0.1] } };
  const a = parseExperiment({ name: "a", space: grid, method: { kind: "asha" } });
  assert.equal(a.samples, 6); // one repeat of the 3 × 2 grid; wd is sampled
  assert.equal(parseExperiment({ name: "a", space: grid, method: { kind: "asha" }, samples: 12 }).samples, 12);
  const g = parseExperiment({ name: "g", space: { lr: { grid: [1, 2] }, bs: { choice: [1, 2] } }, method: { kind: "hyperband" }, searcher: { kind: "grid" }, samples: 8 });
  assert.equal(g.samples, 8); // two repeats of the 4-point cross product
});

test("loguniform bounds <= 0 are refused with what is accepted (today's trials would fail on ln 0)", () => {
  for (const b of [[0, 1e-2], [-1e-3, 1e-2]]) {
    assert.deepEqual(issues({ name: "x", space: { lr: { loguniform: b } } }), [
      `space.lr.loguniform: got [${b[0]}, 0.01]; lower bound must be > 0 (a log-uniform range samples ln x: both bounds positive, e.g. [1e-5, 1e-2]; use uniform for a range that includes 0)`,
    ]);
  }
});
