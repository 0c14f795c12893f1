import { test } from "node:test";
import assert from "node:assert/strict";
import { createScheduler, rungsFor } from "../../src/schedulers";
import { parseExperiment } from "../../src/config/schema";
import { Rng } from "../../src/space/rng";

const space = { lr: { loguniform: [1e-5, 1e-3] }, bs: { choice: [1, 2] } };

test("createScheduler: every method kind gets its scheduler with the config's parameters", () => {
  const kinds: Array<[unknown, string]> = [
    [{ kind: "grid" }, "fifo"], [{ kind: "random" }, "fifo"], [{ kind: "asha" }, "asha"],
    [{ kind: "hyperband" }, "hyperband"], [{ kind: "pbt" }, "pbt"], [{ kind: "bohb" }, "bohb"],
  ];
  for (const [method, kind] of kinds) {
    const cfg = parseExperiment({ name: "f", space: (method as { kind: string }).kind === "grid" ? { bs: { grid: [1, 2] } } : space, method });
    const s = createScheduler(cfg, new Rng(1));
    assert.equal(s.kind, kind);
    s.onTrialAdd({ trialId: "a", config: { lr: 1e-4, bs: 1 } });
    assert.ok(Array.isArray(s.decisionPoints("a")));
    const round = JSON.parse(JSON.stringify(s.getState()));
    const s2 = createScheduler(cfg, new Rng(2));
    s2.setState(round);
    assert.deepEqual(s2.getState(), round);
  }
});

test("decision points from the factory: workshop ASHA (η=2, 5 epochs) → 1,2,4; PBT interval 1 → every epoch before max_t; BOHB workshop → 1 (its last rung is max_t 5)", () => {
  const asha = createScheduler(parseExperiment({ name: "a", space, method: { kind: "asha", reductionFactor: 2 } }), new Rng(1));
  asha.onTrialAdd({ trialId: "a", config: {} });
  assert.deepEqual(asha.decisionPoints("a"), [1, 2, 4]);
  const pbt = createScheduler(parseExperiment({ name: "p", space, method: { kind: "pbt" } }), new Rng(1));
  pbt.onTrialAdd({ trialId: "a", config: { lr: 1e-4, bs: 1 } });
  assert.deepEqual(pbt.decisionPoints("a"), [1, 2, 3, 4]);
  const bohb = createScheduler(parseExperiment({ name: "b", space, method: { kind: "bohb", reductionFactor: 4 } }), new Rng(1));
  bohb.onTrialAdd({ trialId: "a", config: {} });
  assert.deepEqual(bohb.decisionPoints("a"), [1]);
});

test("rungsFor: rung markers for plots", () => {
  assert.deepEqual(rungsFor(parseExperiment({ name: "a", space, method: { kind: "asha", reductionFactor: 2 } })), [1, 2, 4]);
  assert.deepEqual(rungsFor(parseExperiment({ name: "h", space, method: { kind: "hyperband" }, trainer: { epochs: 81 } })), [1, 3, 9, 27, 81]);
  assert.deepEqual(rungsFor(parseExperiment({ name: "b", space, method: { kind: "bohb", reductionFactor: 4 } })), [1, 5]);
  assert.deepEqual(rungsFor(parseExperiment({ name: "p", space, method: { kind: "pbt" } })), []);
});
