import { test } from "node:test";
import assert from "node:assert/strict";
import { AshaScheduler, ashaCutoff, ashaRungs, bracketProbabilities, type AshaOptions } from "../../src/schedulers/asha";
import { createScheduler } from "../../src/schedulers";
import { parseExperiment } from "../../src/config/schema";
import { Rng } from "../../src/space/rng";
import { replay, report, type TraceEvent } from "./trace";

const base: AshaOptions = { metric: "loss", mode: "min", gracePeriod: 1, reductionFactor: 2, maxT: 5, brackets: 1, stopLastTrials: true, nanPolicy: "worst" };
const mk = (o: Partial<AshaOptions> = {}, seed = 1) => new AshaScheduler({ ...base, ...o }, new Rng(seed));

test("rung sets: every row of the ASHA table (schedulers.md §1.2)", () => {
  assert.deepEqual(ashaRungs(1, 5, 2), [1, 2, 4]);
  assert.deepEqual(ashaRungs(1, 100, 4), [1, 4, 16, 64]);
  assert.deepEqual([0, 1, 2].map((s) => ashaRungs(1, 100, 4, s)), [[1, 4, 16, 64], [4, 16, 64], [16, 64]]);
  assert.deepEqual([0, 1, 2].map((s) => ashaRungs(10, 100, 3, s)), [[10, 30, 90], [30, 90], [90]]);
  assert.deepEqual(ashaRungs(1, 81, 3), [1, 3, 9, 27, 81]);
  assert.deepEqual(ashaRungs(1, 5, 4), [1, 4]);
  const s = mk({ gracePeriod: 1, maxT: 100, reductionFactor: 4, brackets: 3 });
  assert.deepEqual([s.rungs(0), s.rungs(1), s.rungs(2)], [[1, 4, 16, 64], [4, 16, 64], [16, 64]]);
});

test("guarded log: the four ulp cases (numpy's rung counts)", () => {
  assert.deepEqual(ashaRungs(1, 243, 3), [1, 3, 9, 27, 81, 243]);
  assert.deepEqual(ashaRungs(1, 1000, 10), [1, 10, 100, 1000]);
  assert.deepEqual(ashaRungs(2, 486, 3), [2, 6, 18, 54, 162, 486]);
  assert.deepEqual(ashaRungs(3, 729, 3), [3, 9, 27, 81, 243, 729]);
});

test("bracket softmax: g=1, R=100, η=4, 3 brackets → 0.665 / 0.245 / 0.090, and seeded draws follow it", () => {
  const p = bracketProbabilities(1, 100, 4, 3);
  assert.deepEqual(p.map((x) => x.toFixed(3)), ["0.665", "0.245", "0.090"]);
  const s = mk({ gracePeriod: 1, maxT: 100, reductionFactor: 4, brackets: 3 }, 42);
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) {
    s.onTrialAdd({ trialId: `t${i}`, config: {} });
    counts[s.bracketOf(`t${i}`)!]++;
  }
  counts.forEach((c, i) => assert.ok(Math.abs(c / 3000 - p[i]) < 0.03, `bracket ${i}: ${c}`));
});

test("cutoff examples (§1.5): η=2 {2,4} → 3.0; η=4 {1,2,3,4} → 3.25", () => {
  assert.equal(ashaCutoff([2, 4], 2), 3.0);
  assert.equal(ashaCutoff([1, 2, 3, 4], 4), 3.25);
  assert.equal(ashaCutoff([], 4), null);
});

function run(s: AshaScheduler, ev: TraceEvent[]) {
  return replay(() => s, ev).map((l) => l.actions);
}

test("workshop example (§1.8): first arrival survives, worse stopped at 1, slightly worse than rung-2 median stopped at 2, max_t stops at 5", () => {
  const s = mk();
  const act = (id: string, t: number, v: number) => s.onResult(id, report(t, v))[0];
  for (const id of ["a", "b", "c"]) s.onTrialAdd({ trialId: id, config: {} });
  assert.equal(act("a", 1, 5).action, "continue"); // first arrival, empty rung
  assert.equal(act("b", 1, 9).action, "stop"); // cutoff = median{-5} → -5; -9 < -5
  assert.equal(act("c", 1, 4).action, "continue");
  assert.equal(act("a", 2, 4).action, "continue");
  assert.equal(act("c", 2, 3).action, "continue");
  s.onTrialAdd({ trialId: "d", config: {} });
  assert.equal(act("d", 1, 4.5).action, "continue"); // rung1 {-5,-9,-4}: median -5; -4.5 > -5
  assert.equal(act("d", 2, 3.6).action, "stop"); // rung2 {-4,-3}: cutoff -3.5; -3.6 < -3.5
  assert.equal(act("a", 3, 3).action, "continue"); // no rung at 3
  assert.equal(act("a", 4, 2).action, "continue");
  const last = s.onResult("a", report(5, 1))[0];
  assert.equal(last.action, "stop");
  assert.match((last as { reason: string }).reason, /max_t 5/);
  assert.deepEqual(s.decisionPoints("a"), [1, 2, 4]);
});

test("tie rule: a value exactly at the cutoff continues; strictly worse stops", () => {
  const s = mk();
  for (const id of ["a", "b", "c", "d"]) s.onTrialAdd({ trialId: id, config: {} });
  s.onResult("a", report(1, 2));
  s.onResult("b", report(1, 4));
  assert.equal(s.onResult("c", report(1, 3))[0].action, "continue"); // cutoff 3.0 (loss)
  assert.equal(s.onResult("d", report(1, 3.0000001))[0].action, "stop");
});

test("judged at most once per rung; a jump over several milestones judges only the highest", () => {
  const s = mk({ maxT: 16, reductionFactor: 2 }); // rungs 1,2,4,8,16
  for (const id of ["a", "b", "j"]) s.onTrialAdd({ trialId: id, config: {} });
  s.onResult("a", report(1, 1));
  s.onResult("a", report(4, 1));
  assert.equal(s.onResult("b", report(1, 5))[0].action, "stop");
  // b reports again at t=1 (not re-judged: already recorded there)
  assert.equal(s.onResult("b", report(1, 50))[0].action, "continue");
  // j jumps straight to t=6: judged at rung 4 only (vs a's 1); rungs 1 and 2 never get j's value
  assert.equal(s.onResult("j", report(6, 0.5))[0].action, "continue");
  const rec = s.recorded();
  assert.deepEqual(rec.map((r) => [r.milestone, Object.keys(r.values).sort()]), [[1, ["a", "b"]], [2, []], [4, ["a", "j"]], [8, []], [16, []]]);
});

test("NaN: nanPolicy 'worst' stops a NaN trial at the first rung holding a finite value; 'ignore' (Ray) never stops it", () => {
  for (const policy of ["worst", "ignore"] as const) {
    const s = mk({ nanPolicy: policy });
    for (const id of ["a", "n", "m"]) s.onTrialAdd({ trialId: id, config: {} });
    // a NaN first arrival: nothing to be worse than → continues in both modes
    assert.equal(s.onResult("m", report(1, null))[0].action, "continue");
    s.onResult("a", report(1, 5));
    const d = [1, 2, 3, 4, 5].map((t) => s.onResult("n", report(t, null))[0].action);
    // (this trace keeps reporting after a stop; rungs 2 and 4 are empty, so nothing to be worse than)
    if (policy === "worst") assert.deepEqual(d, ["stop", "continue", "continue", "continue", "stop"]);
    else assert.deepEqual(d, ["continue", "continue", "continue", "continue", "stop"]); // only max_t stops it
    // NaN values never shift the cutoff for others: rung 1 holds {m: NaN, a: -5, n: NaN}
    assert.equal(ashaCutoff(Object.values(s.recorded()[0].values).map((x) => -x), 2), -5);
  }
});

test("stopLastTrials=false: no stop at max_t; a trial already judged at its top rung keeps going", () => {
  const s = mk({ stopLastTrials: false });
  s.onTrialAdd({ trialId: "a", config: {} });
  s.onTrialAdd({ trialId: "b", config: {} });
  for (let t = 1; t <= 7; t++) assert.equal(s.onResult("a", report(t, 1))[0].action, "continue");
  s.onResult("b", report(1, 1));
  s.onResult("b", report(2, 1));
  s.onResult("b", report(4, 1));
  assert.equal(s.onResult("b", report(6, 100))[0].action, "continue");
});

test("onTrialComplete deposits the final value at the highest unrecorded rung (like Ray), then forgets the trial", () => {
  const s = mk({ maxT: 8, reductionFactor: 2 }); // rungs 1,2,4,8
  s.onTrialAdd({ trialId: "a", config: {} });
  s.onResult("a", report(1, 3));
  s.onTrialComplete("a", report(8, 0.7));
  assert.deepEqual(s.recorded().map((r) => r.values), [{ a: 3 }, {}, {}, { a: 0.7 }]);
  assert.throws(() => s.onResult("a", report(9, 1)), /unknown trial/);
});

test("mode max: higher is better", () => {
  const s = mk({ mode: "max" });
  for (const id of ["a", "b"]) s.onTrialAdd({ trialId: id, config: {} });
  s.onResult("a", report(1, 0.8));
  assert.equal(s.onResult("b", report(1, 0.5))[0].action, "stop");
});

/** A deterministic asynchronous trace: 12 trials, 3 brackets, interleaved arrivals, a NaN curve. */
function trace(): TraceEvent[] {
  const ev: TraceEvent[] = [];
  const curves = Array.from({ length: 12 }, (_, i) => (t: number) => (i === 5 ? null : 10 / (1 + ((i * 7) % 12)) + 3 / t + (i % 3) * 0.1));
  for (let i = 0; i < 12; i++) ev.push({ e: "add", id: `t${i}` });
  for (let t = 1; t <= 27; t++) for (let k = 0; k < 12; k++) {
    const i = (k * 5 + t) % 12;
    ev.push({ e: "result", id: `t${i}`, t, v: curves[i](t) });
  }
  return ev;
}

test("determinism: same seed + same events → identical decisions; a scheduler restored mid-run decides the same", () => {
  const make = (seed: number) => new AshaScheduler({ ...base, maxT: 27, reductionFactor: 3, brackets: 3 }, new Rng(seed));
  // stopped trials keep sending results in this trace; ASHA answers each independently
  const a = replay(make, trace(), { seed: 5 });
  const b = replay(make, trace(), { seed: 5 });
  assert.deepEqual(a, b);
  const stops = a.filter((l) => Array.isArray(l.actions) && l.actions.some((x) => x.action === "stop")).length;
  assert.ok(stops > 10, `trace exercises stops (${stops})`);
  for (const at of [6, 40, 150]) assert.deepEqual(replay(make, trace(), { seed: 5, restoreAt: at }), a, `restore at ${at}`);
  // restoring at 6 is mid-bracket-assignment: the Rng state must have been restored
  const c = replay(make, trace(), { seed: 6 });
  assert.notDeepEqual(c, a);
});

test("createScheduler builds ASHA/FIFO from a parsed config", () => {
  const cfg = parseExperiment({ name: "x", space: { lr: { loguniform: [1e-4, 1e-2] } }, method: { kind: "asha", reductionFactor: 2 } });
  const s = createScheduler(cfg, new Rng(1));
  assert.equal(s.kind, "asha");
  s.onTrialAdd({ trialId: "a", config: {} });
  assert.deepEqual(s.decisionPoints("a"), [1, 2, 4]);
  const f = createScheduler(parseExperiment({ name: "x", space: { lr: { loguniform: [1e-4, 1e-2] } } }), new Rng(1));
  assert.equal(f.kind, "fifo");
  assert.deepEqual(f.decisionPoints("a"), []);
});
