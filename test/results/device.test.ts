/** What a run computed on, decided from its config (results/device.ts). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { experimentDevice, cpuSlots, runSeconds } from "../../src/results/device";
import { rowFromSummary } from "../../src/results/summary-row";

const yes = () => true;
const no = () => false;
const hf = (backend: Record<string, unknown>, gpusPerTrial = 1) => ({ maxConcurrent: 4, trainer: { model: "tiny-bloom", gpusPerTrial }, backend });

test("experimentDevice: CPU without GPUs asked, for the bundled small model, local without ids or without a driver; GPU otherwise", () => {
  const cases: Array<[string, unknown, () => boolean, string]> = [
    ["gpusPerTrial 0", hf({ kind: "slurm" }, 0), yes, "cpu"],
    ["small model, local with ids, GPU host", { trainer: { model: "small", gpusPerTrial: 1 }, backend: { kind: "local", gpus: [0, 1] } }, yes, "cpu"],
    ["small model on SLURM", { trainer: { model: "small", gpusPerTrial: 1 }, backend: { kind: "slurm" } }, yes, "cpu"],
    ["small model name under a custom command", { trainer: { model: "small", command: ["python3", "mine.py"], gpusPerTrial: 1 }, backend: { kind: "slurm" } }, yes, "gpu"],
    ["local, empty id list", hf({ kind: "local", gpus: [] }), yes, "cpu"],
    ["local with ids, no NVIDIA driver on the host", hf({ kind: "local", gpus: [0, 1] }), no, "cpu"],
    ["local with ids, GPU host", hf({ kind: "local", gpus: [0, 1] }), yes, "gpu"],
    ["SLURM with a GPU per trial (host irrelevant)", hf({ kind: "slurm" }), no, "gpu"],
    ["replay accounts GPU time as if real", { trainer: { model: "small", gpusPerTrial: 1 }, backend: { kind: "replay" } }, no, "gpu"],
  ];
  assert.deepEqual(cases.map(([name, c, probe]) => [name, experimentDevice(c as any, probe)]), cases.map(([name, , , want]) => [name, want]));
});

test("cpuSlots: the local backend's concurrency, else the experiment's; runSeconds: accounting, else the running interval", () => {
  assert.equal(cpuSlots({ maxConcurrent: 4, backend: { kind: "local", maxConcurrent: 2 } }), 2);
  assert.equal(cpuSlots({ maxConcurrent: 3, backend: { kind: "slurm" } }), 3);
  assert.equal(runSeconds([{ runningAt: 0, endedAt: 5000, accounted: { runSeconds: 4.5 } }, { runningAt: 6000, endedAt: 8000 }, { runningAt: 9000 }], 10_000), 4.5 + 2 + 1);
});

test("rowFromSummary: an older summary.json without device keys keeps its GPU row; a CPU one leaves device-minutes out", () => {
  const base = { experiment: "e", method: "asha", metric: "eval_loss", mode: "min" as const, best: { config: { lr: 1 }, value: 2, t: 4 }, best_any: null, gpu_seconds: 600, wall_seconds: 300, time_to_best_s: 120 };
  const gpu = rowFromSummary(base, { maxConcurrent: 2, trainer: { model: "tiny-bloom", gpusPerTrial: 1, epochs: 4 }, backend: { kind: "slurm" } });
  assert.deepEqual([gpu.device, gpu.gpus, gpu.gpuMinutes, gpu.devices, gpu.deviceMinutes, gpu.runtimeMinutes, gpu.maxT], ["gpu", 2, 10, 2, 10, 2, 4]);
  const cpu = rowFromSummary({ ...base, gpu_seconds: 0 }, { maxConcurrent: 2, trainer: { model: "small", gpusPerTrial: 0 }, backend: { kind: "local" } });
  assert.deepEqual([cpu.device, cpu.gpus, cpu.gpuMinutes, cpu.devices, "deviceMinutes" in cpu], ["cpu", 0, 0, 2, false]);
  const grid = rowFromSummary({ ...base, method: "grid" }, {});
  assert.deepEqual([grid.method, grid.runtimeMinutes], ["manual", 5]);
});
