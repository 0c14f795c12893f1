/**
 * `tunelab status` / `run` text: a run on the CPU is accounted in CPU time
 * (summary.json's device_seconds), never labelled GPU-min.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatSummary, formatTrialTable } from "../../src/cli/format";
import { parseExperiment } from "../../src/config/schema";
import { TrialTable } from "../../src/experiment/table";
import type { Summary } from "../../src/experiment/results";

const space = { lr: { loguniform: [1e-4, 1e-2] } };

function summary(over: Partial<Summary>): Summary {
  return {
    experiment: "e", method: "asha", metric: "eval_loss", mode: "min", max_t: 4,
    best: { trial_id: "t000", config: { lr: 0.001 }, value: 2.5, t: 4 }, best_any: null,
    gpu_seconds: 0, wall_seconds: 120, time_to_best_s: 60, states: { completed: 1 }, trials: [],
    gpus: 0, gpus_per_trial: 1, device: "cpu", devices: 2, device_seconds: 90,
    ...over,
  } as unknown as Summary;
}

test("formatSummary: a CPU run says CPU time in CPU-min on its CPU slots", () => {
  const out = formatSummary(summary({}));
  assert.match(out, /^CPU time 1\.5 CPU-min on 2 CPU slot\(s\) · wall 2 min · time to best 1 min$/m);
  assert.doesNotMatch(out, /GPU/);
});

test("formatSummary: a GPU run says GPU time in GPU-min on its GPUs", () => {
  const out = formatSummary(summary({ device: "gpu", devices: 4, gpus: 4, gpu_seconds: 600, device_seconds: 600 }));
  assert.match(out, /^GPU time 10 GPU-min on 4 GPU\(s\) · wall 2 min/m);
});

test("formatTrialTable: the time column of a CPU run is cpu_s with the trials' process seconds", () => {
  // the small model trains on the CPU (results/device.ts)
  const config = parseExperiment({ name: "e", space, method: { kind: "random" }, samples: 1, trainer: { model: "small", epochs: 4 }, backend: { kind: "local" } });
  const table = new TrialTable("eval_loss", "min", 4);
  table.apply({ type: "trial_added", at: 0, trialId: "t000", config: { lr: 0.001 } });
  table.apply({ type: "accounting", at: 1, trialId: "t000", gpuSeconds: 0, queueSeconds: 0, runSeconds: 42, gpus: 0 });
  const out = formatTrialTable(config, table);
  assert.match(out, /^trial\s+state\s+last_t\s+eval_loss\s+best\s+cpu_s\s+lr$/m);
  assert.match(out, /^t000\s+pending\s+-\s+-\s+-\s+42\s+0\.001$/m);
});
