/**
 * The same run shows the same row in the notebook (exp.summaryRow() and
 * results.compare in a cell) and in `tunelab compare RUN_DIR` (the real CLI
 * reading summary.json back): one experiment of the embedded default (local
 * backend, the real small-model trainer on the CPU, `backend.gpus` named as
 * the notebooks' settings do on a machine that may have no GPU).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { experiment } from "../../src/experiment";
import { killRunDirTrials } from "../../src/backends/local";
import { compare, loadRunDir } from "../../src/results";
import { experimentDevice, hostHasGpu } from "../../src/results/device";
import { ensureBuilt, ROOT } from "../kernel-setup/helpers";
import { tmpDir } from "../experiment/helpers";

const TINY = { steps_per_epoch: 3, d_model: 32, eval_windows: 8 };

test("a grid of the embedded default: notebook row, summary.json row and `tunelab compare` agree; CPU is accounted as CPU", async () => {
  ensureBuilt();
  const dir = tmpDir("tunelab-row-");
  const runDir = path.join(dir, "runs", "row-grid");
  const exp = experiment({
    name: "row-grid", seed: 1,
    space: { lr: { grid: [0.002, 0.008] }, batch_size: { grid: [4] } }, method: { kind: "grid" }, maxConcurrent: 2,
    trainer: { model: "small", epochs: 2, gpusPerTrial: 1, env: { TUNELAB_THREADS: "1" }, options: TINY },
    backend: { kind: "local", gpus: [0, 1] }, runDir,
  }, { pollMs: 200 });
  let s;
  try {
    s = await exp.run();
  } finally {
    killRunDirTrials(runDir);
  }
  assert.equal(s.state, "finished");
  assert.deepEqual(s.states, { completed: 2 });

  // the bundled small model never uses CUDA: CPU whatever backend.gpus says, on any host
  assert.equal(experimentDevice(exp.config), "cpu");
  const row = exp.summaryRow();
  const onDisk = JSON.parse(fs.readFileSync(path.join(runDir, "summary.json"), "utf8"));
  assert.deepEqual([onDisk.device, onDisk.devices, onDisk.gpus, onDisk.gpu_seconds], ["cpu", 2, 0, 0]);
  assert.equal(onDisk.device_seconds, onDisk.run_seconds);
  assert.equal(onDisk.run_seconds, Math.round(onDisk.trials.reduce((a: number, t: any) => a + t.run_seconds, 0) * 1e6) / 1e6);
  assert.ok(onDisk.run_seconds > 0, "the trials' processes ran");
  // start-up apart from training: each trial's startup_seconds is the sum of its report lines' startup_s (the real trainer's)
  const journal = fs.readFileSync(path.join(runDir, "journal.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const r6 = (x: number) => Math.round(x * 1e6) / 1e6;
  for (const t of onDisk.trials) {
    const su = journal.filter((e) => e.type === "report" && e.trialId === t.trial_id && typeof e.report.startup_s === "number").map((e) => e.report.startup_s);
    assert.equal(su.length, 1, `${t.trial_id}: one run, one startup_s`);
    assert.equal(t.startup_seconds, r6(Math.min(su[0], t.run_seconds)));
    assert.equal(t.train_seconds, r6(t.run_seconds - t.startup_seconds));
    assert.ok(t.startup_seconds > 0 && t.train_seconds > 0, JSON.stringify(t));
  }
  assert.equal(onDisk.startup_seconds, r6(onDisk.trials.reduce((a: number, t: any) => a + t.startup_seconds, 0)));
  assert.equal(onDisk.startup_share, r6(onDisk.startup_seconds / onDisk.run_seconds));
  assert.deepEqual(
    [row.method, row.device, row.devices, row.gpus, row.gpuMinutes, row.deviceMinutes, row.runtimeMinutes],
    ["manual", "cpu", 2, 0, 0, onDisk.device_seconds / 60, onDisk.wall_seconds / 60],
  );
  // the grid's runtime to its best is the whole grid's wall time (the winner is known at the end)
  assert.equal(row.runtimeMinutes, s.wall_seconds / 60);

  // exp.table() agrees: no GPU time on the CPU
  assert.deepEqual(exp.table()["gpu_seconds"].values, [0, 0]);

  // the row read back from the run directory is the notebook's row
  assert.deepEqual(loadRunDir(runDir), row);

  // and the real CLI prints the table the notebook cell displays
  const cell = compare([row]).markdown();
  const cli = spawnSync(process.execPath, [path.join(ROOT, "bin/tunelab.js"), "compare", path.relative(dir, runDir)], { cwd: dir, encoding: "utf8" });
  assert.equal(cli.stderr, "");
  assert.equal(cli.status, 0);
  assert.equal(cli.stdout, cell);
  assert.match(cell, /^\| Run Type \| Eval Loss \| Runtime to find best HP \(min\) \| # CPU slots \| CPU Minutes \| Cost Ratio \| Best config \|\n/);
  assert.match(cell.split("\n")[2], /^\| Manual grid \| \d+\.\d{4} \| \d+\.\d \| 2 \| \d+\.\d \| 1\.00 \| lr=0\.00[28], batch_size=4 \|$/);
  const csv = spawnSync(process.execPath, [path.join(ROOT, "bin/tunelab.js"), "compare", runDir, "--csv"], { cwd: dir, encoding: "utf8" });
  assert.equal(csv.stdout, compare([row]).csv());
  assert.ok(!csv.stdout.includes(dir), "no absolute path in the CSV");
  assert.equal(hostHasGpu(), fs.existsSync("/dev/nvidiactl") || fs.existsSync("/proc/driver/nvidia/version"));
});
