/** Results: best / best_any, the comparison row, PBT schedules, DataFrame views. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Experiment } from "../../src/experiment";
import { scheduleFromPolicy } from "../../src/experiment/results";
import type { PolicyRow } from "../../src/experiment/table";
import { parseRow } from "../../src/results/row";
import { config, LETTERS_CSV, ListSearcher, sim, tmpDir } from "./helpers";

const LETTERS = ["A", "B", "C", "D", "E", "F"].map((cfg) => ({ cfg }));

async function lettersRun() {
  const cfg = config({ name: "res", space: { cfg: { choice: ["A", "B", "C", "D", "E", "F"] } }, method: { kind: "asha", reductionFactor: 2 }, samples: 6, maxConcurrent: 1, trainer: { epochs: 5, gpusPerTrial: 2 } }, tmpDir());
  const { backend } = sim(LETTERS_CSV);
  const exp = new Experiment(cfg, { backend, searcher: new ListSearcher(LETTERS) });
  await exp.run();
  return exp;
}

test("summaryRow: best at full budget, runtime to best, GPUs of the allocation, GPU-minutes; valid for the comparison table", async () => {
  const exp = await lettersRun();
  const row = exp.summaryRow();
  const s = exp.summary();
  // sequential: A 5×10 s, B 1×11 s, C 5×12 s, plus one poll (1 s) to learn that B's
  // trainer took its stop decision → C's last report at 50+11+1+60 = 122 s after the start
  assert.equal(s.time_to_best_s, 122);
  // GPU-seconds: 2 GPUs × (50 + 11 + 60 + 13 + 28 + 75) s
  assert.equal(s.gpu_seconds, 2 * 237);
  assert.deepEqual(row, parseRow(row));
  assert.equal(row.method, "asha");
  assert.equal(row.bestValue, 0.5);
  assert.deepEqual(row.bestConfig, { cfg: "C" });
  assert.equal(row.bestAnyValue, 0.4);
  assert.equal(row.bestAnyT, 4);
  assert.equal(row.runtimeMinutes, 122 / 60);
  assert.equal(row.gpus, 2);
  assert.equal(row.gpuMinutes, (2 * 237) / 60);
  assert.equal(row.maxT, 5);
  assert.equal(row.schedule, undefined);
});

test("scheduleFromPolicy walks the lineage backwards like Ray's PopulationBasedTrainingReplay", () => {
  const rows: PolicyRow[] = [
    ["t001", "t000", 2, 2, { lr: 0.01 }, { lr: 0.012 }],
    ["t002", "t001", 4, 4, { lr: 0.012 }, { lr: 0.0096 }],
  ];
  assert.deepEqual(scheduleFromPolicy(rows, { lr: 1 }), [
    { t: 0, config: { lr: 0.01 } },
    { t: 2, config: { lr: 0.012 } },
    { t: 4, config: { lr: 0.0096 } },
  ]);
  // a row whose target is not the next row's donor ends the walk
  const broken: PolicyRow[] = [["t005", "t003", 2, 2, { lr: 9 }, { lr: 8 }], ...rows.slice(1)];
  assert.deepEqual(scheduleFromPolicy(broken, { lr: 1 }), [{ t: 0, config: { lr: 0.012 } }, { t: 4, config: { lr: 0.0096 } }]);
  assert.deepEqual(scheduleFromPolicy([], { lr: 1 }), [{ t: 0, config: { lr: 1 } }]);
});

test("table() and curves() are danfojs DataFrames: one row per trial / per report line", async () => {
  const exp = await lettersRun();
  const df = exp.table();
  assert.equal(df.shape[0], 6);
  assert.deepEqual(df.columns, ["trial_id", "state", "cfg", "last_t", "eval_loss", "best", "gpu_seconds", "queue_seconds", "bracket", "parent"]);
  const rows = df.values as unknown[][];
  assert.deepEqual(rows.map((r) => `${r[0]}:${r[2]}:${r[1]}:${r[3]}`), ["t000:A:completed:5", "t001:B:stopped:1", "t002:C:completed:5", "t003:D:stopped:1", "t004:E:stopped:2", "t005:F:completed:5"]);
  assert.equal(rows[5][5], 0.4); // F's best at any t
  const cv = exp.curves();
  assert.equal(cv.shape[0], 5 + 1 + 5 + 1 + 2 + 5);
  assert.deepEqual(cv.columns, ["trial_id", "t", "eval_loss", "time_total_s", "checkpoint", "at_s"]);
  assert.deepEqual((cv.values as unknown[][])[0].slice(0, 3), ["t000", 1, 5]);
});
