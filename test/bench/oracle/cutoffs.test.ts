import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { cutoffsOf, OracleCutoffScheduler, shRungs } from "../../../bench/oracle/cutoffs";
import { curveOf, loadCsv, runMethod } from "../../../bench/schedulers";
import { parseExperiment } from "../../../src/config/schema";
import { Rng } from "../../../src/space/rng";

test("successive halving's rungs below maxT keep η^-(k+1) of the population", () => {
  assert.deepEqual(shRungs(3, 20), [{ t: 1, keep: 1 / 3 }, { t: 3, keep: 1 / 9 }, { t: 9, keep: 1 / 27 }]);
  assert.deepEqual(shRungs(2, 8), [{ t: 1, keep: 1 / 2 }, { t: 2, keep: 1 / 4 }, { t: 4, keep: 1 / 8 }]);
  assert.deepEqual(shRungs(3, 1), []);
});

test("a cutoff is the value at rank ⌈keep·n⌉ of the population at that t, NaN ranked last", () => {
  // 6 draws × t = 1, 2
  const pop = [[5, 1], [3, NaN], [4, 2], [1, 6], [2, 5], [6, 3]];
  const m = cutoffsOf(pop, [{ t: 1, keep: 1 / 3 }, { t: 2, keep: 1 / 2 }]);
  assert.deepEqual([...m], [[1, 2], [2, 3]]);
  // everything NaN: nothing can beat the cutoff
  assert.deepEqual([...cutoffsOf([[NaN], [NaN]], [{ t: 1, keep: 0.5 }])], [[1, Infinity]]);
});

const report = (t: number, v: number | null) => ({ t, time_total_s: t, checkpoint: null, eval_loss: v });

test("the oracle stops above the cutoff, at NaN or without the metric, and never judges a hedged trial", () => {
  const cutoffs = new Map([[1, 3], [3, 2]]);
  const judged = new OracleCutoffScheduler({ metric: "eval_loss", cutoffs, hedge: 0, rng: new Rng(1) });
  judged.onTrialAdd({ trialId: "a", config: {} });
  assert.deepEqual(judged.decisionPoints("a"), [1, 3]);
  assert.deepEqual(judged.onResult("a", report(1, 3)), [{ trialId: "a", action: "continue" }]);
  assert.deepEqual(judged.onResult("a", report(2, 9)), [{ trialId: "a", action: "continue" }]); // not a rung
  assert.deepEqual(judged.onResult("a", report(3, 2.5)), [{ trialId: "a", action: "stop", reason: "oracle cutoff at t=3: 2.5 > 2" }]);
  assert.equal(judged.onResult("a", report(1, null))[0].action, "stop");
  assert.equal(judged.onResult("a", { t: 1, time_total_s: 1, checkpoint: null })[0].action, "stop");

  const hedged = new OracleCutoffScheduler({ metric: "eval_loss", cutoffs, hedge: 1, rng: new Rng(1) });
  hedged.onTrialAdd({ trialId: "h", config: {} });
  assert.deepEqual(hedged.decisionPoints("h"), []);
  assert.deepEqual(hedged.onResult("h", report(1, 99)), [{ trialId: "h", action: "continue" }]);
});

test("the hedged share follows the seeded draw, and state round-trips into the same later draws", () => {
  const mk = () => new OracleCutoffScheduler({ metric: "eval_loss", cutoffs: new Map([[1, 0]]), hedge: 0.3, rng: new Rng(7) });
  const a = mk();
  const ids = Array.from({ length: 1000 }, (_, i) => `t${i}`);
  for (const id of ids.slice(0, 500)) a.onTrialAdd({ trialId: id, config: {} });
  const b = mk();
  b.setState(JSON.parse(JSON.stringify(a.getState())));
  for (const id of ids.slice(500)) {
    a.onTrialAdd({ trialId: id, config: {} });
    b.onTrialAdd({ trialId: id, config: {} });
  }
  const hedgedOf = (s: OracleCutoffScheduler) => ids.filter((id) => s.decisionPoints(id).length === 0);
  assert.deepEqual(hedgedOf(b), hedgedOf(a));
  const share = hedgedOf(a).length / ids.length;
  assert.ok(share > 0.25 && share < 0.35, `hedged share ${share}`);
  assert.throws(() => b.setState({ kind: "asha" }), /oracle-cutoffs/);
});

test("through the bench's simulator on small-cpu, every judged trial that continues past a rung is within its cutoff", () => {
  const tab = loadCsv(path.join(__dirname, "..", "..", "..", "data", "curves", "small-cpu.csv"));
  const space = { lr: { loguniform: [1e-4, 0.022] as [number, number] }, batch_size: { choice: [16, 32] }, weight_decay: { choice: [0, 0.1] } };
  const cfg = parseExperiment({ name: "b", space, method: { kind: "random" }, samples: 24, maxConcurrent: 4, trainer: { epochs: tab.maxT }, metric: tab.metric });
  const curve = curveOf(tab, cfg);
  const cutoffs = new Map([[1, 3.2], [3, 2.6]]);
  const r = runMethod(tab, cfg, 3, new OracleCutoffScheduler({ metric: tab.metric, cutoffs, hedge: 0, rng: new Rng(3) }));
  assert.equal(r.trials.length, 24);
  let stopped = 0;
  for (const t of r.trials) {
    const last = t.reports[t.reports.length - 1].t;
    for (const [rt, cut] of cutoffs) {
      const v = curve(t.config, rt).value;
      if (last > rt) assert.ok(v <= cut, `${t.id} passed t=${rt} with ${v} > ${cut}`);
      if (last === rt) {
        assert.ok(v > cut, `${t.id} stopped at t=${rt} with ${v} ≤ ${cut}`);
        stopped++;
      }
    }
    if (last === tab.maxT) assert.equal(t.state, "completed");
  }
  assert.ok(stopped > 0 && stopped < 24, `stopped ${stopped}`);
});
