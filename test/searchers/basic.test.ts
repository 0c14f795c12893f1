import { test } from "node:test";
import assert from "node:assert/strict";
import { createSearcher, GridSearcher, RandomSearcher } from "../../src/searchers";
import { parseExperiment } from "../../src/config/schema";
import { Rng } from "../../src/space/rng";

test("grid searcher: full cross product in the documented order, then null", () => {
  const g = new GridSearcher({ lr: { grid: [1e-4, 1e-3] }, bs: { choice: [1, 2] } });
  assert.equal(g.size(), 4);
  const got = [0, 1, 2, 3].map((i) => g.suggest(`t${i}`)!.config);
  assert.deepEqual(got, [{ lr: 1e-4, bs: 1 }, { lr: 1e-4, bs: 2 }, { lr: 1e-3, bs: 1 }, { lr: 1e-3, bs: 2 }]);
  assert.equal(g.suggest("t4"), null);
});

test("grid searcher state: a restored grid continues where it was", () => {
  const a = new GridSearcher({ x: { grid: [1, 2, 3] } });
  a.suggest("t0");
  const b = new GridSearcher({ x: { grid: [1, 2, 3] } });
  b.setState(JSON.parse(JSON.stringify(a.getState())));
  assert.deepEqual(b.suggest("t1"), { config: { x: 2 } });
});

test("random searcher: seeded, restorable", () => {
  const space = { lr: { loguniform: [1e-5, 1e-1] as [number, number] }, bs: { choice: [1, 2, 4] } };
  const a = new RandomSearcher(space, new Rng(3));
  a.suggest("t0");
  const b = new RandomSearcher(space, new Rng(4));
  b.setState(JSON.parse(JSON.stringify(a.getState())));
  for (let i = 1; i < 10; i++) assert.deepEqual(b.suggest(`t${i}`), a.suggest(`t${i}`));
});

test("createSearcher: grid limited to samples; bohb; random otherwise", () => {
  const g = createSearcher(parseExperiment({ name: "g", space: { a: { grid: [1, 2, 3] }, b: { choice: ["x", "y"] } }, method: { kind: "grid" }, samples: 4 }), new Rng(1));
  assert.equal(g.size(), 4);
  assert.equal(createSearcher(parseExperiment({ name: "b", space: { a: { uniform: [0, 1] } }, method: { kind: "bohb" } }), new Rng(1)).kind, "bohb");
  assert.equal(createSearcher(parseExperiment({ name: "r", space: { a: { uniform: [0, 1] } }, method: { kind: "asha" } }), new Rng(1)).kind, "random");
});
