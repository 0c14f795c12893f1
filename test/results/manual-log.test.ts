import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  parseManualLog, manualGridRow, manualRunsCsv, loadReference, referenceManualRow, loadRunDir, parsePyRepr, compare,
} from "../../src/results";

// The workshop's real line format: bloom_hpo_manual.py does `print("saved:", summary)`
// on every torchrun rank (2 per run), tag = f"lr{lr}_bs{bs}_wd{wd}".
const LOG = `===== JOB 39567495 START: Tue Oct 14 09:00:00 UTC 2025 =====
=== Training lr1e-05_bs1_wd0.0 ===
{'loss': 10.21, 'grad_norm': 3.5, 'learning_rate': 8e-06, 'epoch': 1.0}
saved: {'tag': 'lr1e-05_bs1_wd0.0', 'lr': 1e-05, 'bs': 1, 'wd': 0.0, 'eval_loss': 9.720812797546387, 'runtime_s': 993.66}
saved: {'tag': 'lr1e-05_bs1_wd0.0', 'lr': 1e-05, 'bs': 1, 'wd': 0.0, 'eval_loss': 9.720812797546387, 'runtime_s': 993.66}
saved: {'tag': 'lr5e-06_bs1_wd0.0', 'lr': 5e-06, 'bs': 1, 'wd': 0.0, 'eval_loss': 9.334712982177734, 'runtime_s': 1031.78}
[rank1]: saved: {'tag': 'lr0.0002_bs2_wd0.01', 'lr': 0.0002, 'bs': 2, 'wd': 0.01, 'eval_loss': 21.152557373046875, 'runtime_s': 779.51}
saved: {'tag': 'broken', 'lr': 1e-05, 'bs': 1
saved: {'tag': 'lr2e-4_nan', 'lr': 0.0002, 'bs': 1, 'wd': 0.0, 'eval_loss': nan, 'runtime_s': 12.0}
===== JOB 39567495 FINISH: Tue Oct 14 11:57:00 UTC 2025 =====
`;

test("parsePyRepr reads Python dict reprs (single quotes, 1e-05, nan, True/None, tuples, np.float64)", () => {
  assert.deepEqual(parsePyRepr("{'a': 1e-05, \"b\": 'x\\'y', 'c': True, 'd': None, 'e': (1, 2.5), 'f': [], 'g': -inf}"),
    { a: 1e-5, b: "x'y", c: true, d: null, e: [1, 2.5], f: [], g: -Infinity });
  assert.ok(Number.isNaN(parsePyRepr("nan") as number));
  assert.equal(parsePyRepr("np.float64(9.25)"), 9.25);
  assert.throws(() => parsePyRepr("{'a': 1"), /expected/);
});

test("parseManualLog: the workshop's saved: lines, rank duplicates dropped, broken lines reported", () => {
  const r = parseManualLog(LOG, "bloom_hpo_serial_5_epochs-39567495.out");
  assert.deepEqual(r.runs.map((x) => [x.tag, x.lr, x.bs, x.wd, x.runtime_s]), [
    ["lr1e-05_bs1_wd0.0", 1e-5, 1, 0, 993.66],
    ["lr5e-06_bs1_wd0.0", 5e-6, 1, 0, 1031.78],
    ["lr0.0002_bs2_wd0.01", 2e-4, 2, 0.01, 779.51],
    ["lr2e-4_nan", 2e-4, 1, 0, 12],
  ]);
  assert.equal(r.runs[1].eval_loss, 9.334712982177734);
  assert.ok(Number.isNaN(r.runs[3].eval_loss));
  assert.equal(r.duplicates, 1);
  assert.equal(r.skipped.length, 1);
  assert.equal(r.skipped[0].line, 8);
  assert.equal(r.runs[0].line, 4);
  assert.deepEqual(r.jobs.map((j) => [j.jobId, j.wallSeconds]), [["39567495", 177 * 60]]);
});

test("manualGridRow: best run (NaN ignored), wall time from the job stamps, GPU-minutes = runtime × GPUs", () => {
  const r = parseManualLog(LOG, "x.out");
  const row = manualGridRow(r.runs, { jobs: r.jobs, gpus: 2 });
  assert.equal(row.bestValue, 9.334712982177734);
  assert.deepEqual(row.bestConfig, { lr: 5e-6, bs: 1, wd: 0 });
  assert.equal(row.runtimeMinutes, 177);
  assert.equal(row.gpuMinutes, 354);
  // without stamps: the grid ran serially, so wall = Σ runtime_s
  const serial = manualGridRow(r.runs.slice(0, 2));
  assert.equal(serial.runtimeMinutes, (993.66 + 1031.78) / 60);
});

test("manualRunsCsv matches logs_parser.py's columns", () => {
  const csv = manualRunsCsv(parseManualLog(LOG, "a.out").runs.slice(0, 1));
  assert.equal(csv, "tag,lr,bs,wd,eval_loss,runtime_s,source\nlr1e-05_bs1_wd0.0,0.00001,1,0,9.720812797546387,993.66,a.out\n");
});

test("manualRunsCsv: a log read from an absolute path keeps only its last two parts", () => {
  const csv = manualRunsCsv(parseManualLog(LOG, "/home/ana/logs/bloom_hpo-39567495.out").runs.slice(0, 1));
  assert.equal(csv.split("\n")[1], "lr1e-05_bs1_wd0.0,0.00001,1,0,9.720812797546387,993.66,logs/bloom_hpo-39567495.out");
});

test("reference data: the workshop's 12-run grid and its 354 GPU-minute manual row", () => {
  const runs = loadReference();
  assert.equal(runs.length, 12);
  const row = referenceManualRow();
  assert.equal(row.bestValue, 9.3347);
  assert.deepEqual(row.bestConfig, { lr: 5e-6, bs: 1, wd: 0 });
  assert.equal(row.gpuMinutes, 354);
  assert.equal(compare([row]).rows[0].costRatio, 1);
});

test("loadRunDir: summary.json + experiment.json (contract 3) → comparison row", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-rundir-"));
  try {
    fs.writeFileSync(path.join(dir, "experiment.json"), JSON.stringify({ maxConcurrent: 4, trainer: { gpusPerTrial: 2, epochs: 5 } }));
    fs.writeFileSync(path.join(dir, "summary.json"), JSON.stringify({
      experiment: "asha-1", method: "asha", metric: "eval_loss", mode: "min",
      best: { trial_id: "t3", config: { lr: 1e-5, bs: 1 }, value: 9.5, t: 5 },
      best_any: { trial_id: "t1", config: { lr: 2e-5, bs: 1 }, value: 9.4, t: 2 },
      gpu_seconds: 6000, wall_seconds: 1800, time_to_best_s: 1200, states: { completed: 3 }, trials: [],
    }));
    const row = loadRunDir(dir, { member: "ann" });
    assert.deepEqual(
      [row.method, row.bestValue, row.bestAnyValue, row.bestAnyT, row.maxT, row.runtimeMinutes, row.gpus, row.gpuMinutes, row.member],
      ["asha", 9.5, 9.4, 2, 5, 20, 8, 100, "ann"],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
