/**
 * trainer.evalEvery (issue 15): t counts evaluations, so max_t and the
 * schedulers' budgets are epochs' worth of evaluations.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseExperiment } from "../../src/config/schema";
import { evalBudget } from "../../src/config/eval-every";
import { experimentMaxT } from "../../src/experiment/results";
import { trainerOptions } from "../../src/experiment/driver";

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

test("a fraction of an epoch: ASHA's maxT, PBT's and the grid's max_t count evaluations", () => {
  const asha = parseExperiment({ name: "e1", space, trainer: { epochs: 5, evalEvery: 0.25 }, method: { kind: "asha" } });
  assert.equal((asha.method as { maxT: number }).maxT, 20);
  assert.equal(experimentMaxT(asha), 20);
  assert.equal(asha.trainer.evalEvery, 0.25);
  const pbt = parseExperiment({ name: "e2", space, trainer: { epochs: 3, evalEvery: 0.5 }, method: { kind: "pbt", perturbationInterval: 2 } });
  assert.equal(experimentMaxT(pbt), 6);
  // the trainer gets it through trial.json's "trainer"
  assert.equal(trainerOptions(pbt).evalEvery, 0.5);
  const plain = parseExperiment({ name: "e3", space, trainer: { epochs: 3 }, method: { kind: "pbt" } });
  assert.equal(experimentMaxT(plain), 3);
  assert.equal("evalEvery" in trainerOptions(plain), false);
});

test("steps: max_t = ceil(epochs × steps_per_epoch / N)", () => {
  const c = parseExperiment({ name: "e4", space, trainer: { epochs: 2, evalEvery: 3, options: { steps_per_epoch: 8 } }, method: { kind: "hyperband" } });
  assert.equal((c.method as { maxT: number }).maxT, 6);
  assert.deepEqual(evalBudget({ epochs: 2, evalEvery: 3, options: { steps_per_epoch: 8 } }), { maxT: 6, perEpoch: null });
  assert.deepEqual(evalBudget({ epochs: 4 }), { maxT: 4, perEpoch: 1 });
});

test("bad evalEvery: the field, the value and what is accepted", () => {
  assert.deepEqual(issues({ name: "b1", space, trainer: { epochs: 5, evalEvery: 0.3 } }), [
    "trainer.evalEvery: got 0.3; a fraction of an epoch must be 1/k for a whole k (so every epoch ends on an evaluation): e.g. 0.3333333333333333 or 0.25",
  ]);
  assert.deepEqual(issues({ name: "b2", space, trainer: { epochs: 5, evalEvery: 100 } }), [
    "trainer.options.steps_per_epoch: missing; evalEvery 100 counts steps: set trainer.options.steps_per_epoch (a whole number >= 1) so every trial has the same number of evaluations, or give evalEvery as a fraction of an epoch (0.25 = 4 per epoch)",
  ]);
  assert.deepEqual(issues({ name: "b3", space, trainer: { epochs: 5, evalEvery: 2.5 } }), [
    "trainer.evalEvery: got 2.5; steps must be a whole number (or give a fraction of an epoch below 1)",
  ]);
  assert.deepEqual(issues({ name: "b4", space, trainer: { epochs: 2, evalEvery: 0.5 }, method: { kind: "asha", maxT: 5 } }), [
    "method.maxT: got 5; must be <= 4, the evaluations in trainer.epochs (2) at trainer.evalEvery 0.5: a trial cannot train past its epochs",
  ]);
});
