import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { ForesightScheduler, hitThresholds, ThresholdOracleScheduler } from "../../../bench/oracle/foresight";
import { curveOf, gridBestOf, loadCsv, runMethod } from "../../../bench/schedulers";
import { parseExperiment } from "../../../src/config/schema";

const report = (t: number, v: number | null) => ({ t, time_total_s: t, checkpoint: null, eval_loss: v });

test("perfect thresholds are the worst within-1% value at each t < maxT; NaN there lets everything through", () => {
  assert.deepEqual([...hitThresholds([[3, 2, 1], [4, 1.5, 1.01]], 3)], [[1, 4], [2, 2]]);
  assert.deepEqual([...hitThresholds([[3, NaN, 1], [4, 1.5, 1.01]], 3)], [[1, 4], [2, Infinity]]);
  assert.deepEqual([...hitThresholds([], 3)], []);
});

test("the threshold oracle stops above the threshold, at NaN and without the metric, not at maxT", () => {
  const s = new ThresholdOracleScheduler({ metric: "eval_loss", thresholds: new Map([[1, 4], [2, 2]]) });
  s.onTrialAdd({ trialId: "a", config: {} });
  assert.deepEqual(s.decisionPoints("a"), [1, 2]);
  assert.deepEqual(s.onResult("a", report(1, 4)), [{ trialId: "a", action: "continue" }]);
  assert.deepEqual(s.onResult("a", report(2, 2.5)), [{ trialId: "a", action: "stop", reason: "oracle threshold at t=2: 2.5 > 2" }]);
  assert.deepEqual(s.onResult("a", report(3, 99)), [{ trialId: "a", action: "continue" }]);
  assert.equal(s.onResult("a", report(1, null))[0].action, "stop");
  assert.equal(s.onResult("a", { t: 1, time_total_s: 1, checkpoint: null })[0].action, "stop");
  const open = new ThresholdOracleScheduler({ metric: "eval_loss", thresholds: new Map([[1, Infinity]]) });
  assert.equal(open.onResult("b", report(1, null))[0].action, "continue");
  assert.throws(() => s.setState({ kind: "asha" }), /oracle-thresholds/);
});

test("foresight stops at the first report exactly the trials whose final value misses the target; state round-trips", () => {
  const finals: Record<string, number> = { good: 1.0, bad: 1.2 };
  const mk = () => new ForesightScheduler({ final: (c) => finals[String(c.name)], target: 1.01 });
  const a = mk();
  a.onTrialAdd({ trialId: "g", config: { name: "good" } });
  a.onTrialAdd({ trialId: "b", config: { name: "bad" } });
  const b = mk();
  b.setState(JSON.parse(JSON.stringify(a.getState())));
  for (const s of [a, b]) {
    assert.deepEqual(s.decisionPoints("g"), [1]);
    assert.deepEqual(s.onResult("g", report(1, 9)), [{ trialId: "g", action: "continue" }]);
    assert.deepEqual(s.onResult("b", report(1, 0)), [{ trialId: "b", action: "stop", reason: "foresight: final 1.2 > 1.01" }]);
    assert.deepEqual(s.onResult("b", report(2, 0)), [{ trialId: "b", action: "continue" }]); // judged once, at t = 1
  }
  assert.throws(() => b.setState({ kind: "oracle-thresholds" }), /oracle-foresight/);
});

test("through the bench's simulator on small-cpu, neither bound stops a within-1% configuration, and each stops the rest as it says", () => {
  const tab = loadCsv(path.join(__dirname, "..", "..", "..", "data", "curves", "small-cpu.csv"));
  const space = { lr: { loguniform: [1e-4, 0.022] as [number, number] }, batch_size: { choice: [16, 32] }, weight_decay: { choice: [0, 0.1] } };
  const cfg = parseExperiment({ name: "b", space, method: { kind: "random" }, samples: 24, maxConcurrent: 4, trainer: { epochs: tab.maxT }, metric: tab.metric });
  const curve = curveOf(tab, cfg);
  const target = gridBestOf(tab) * 1.01;
  const thresholds = hitThresholds([...tab.rows.values()].map((r) => r.values).filter((v) => v[tab.maxT - 1] <= target), tab.maxT);
  // small-cpu: the two lr 2.2e-3, bs 16 configurations are within 1%; at t = 2 nothing else is as good
  assert.equal(thresholds.size, tab.maxT - 1);
  for (const seed of [1, 2, 3]) {
    const th = runMethod(tab, cfg, seed, new ThresholdOracleScheduler({ metric: tab.metric, thresholds }));
    const fs = runMethod(tab, cfg, seed, new ForesightScheduler({ final: (c) => curve(c, tab.maxT).value, target }));
    for (const r of [th, fs]) assert.equal(r.trials.length, 24);
    for (const t of th.trials) {
      const last = t.reports[t.reports.length - 1].t;
      const final = curve(t.config, tab.maxT).value;
      if (final <= target) assert.equal(last, tab.maxT, `${t.id} within 1% stopped at t=${last}`);
      else {
        assert.ok(last < tab.maxT, `${t.id} (final ${final}) ran to max_t`);
        assert.ok(curve(t.config, last).value > thresholds.get(last)!, `${t.id} stopped at t=${last} within the threshold`);
      }
    }
    for (const t of fs.trials) {
      const last = t.reports[t.reports.length - 1].t;
      assert.equal(last, curve(t.config, tab.maxT).value <= target ? tab.maxT : 1, `${t.id}`);
    }
  }
});
