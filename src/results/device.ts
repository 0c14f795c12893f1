/**
 * What a run's trials computed on: GPUs or CPU. The comparison row and
 * summary.json account "device-minutes" in the unit the trials really used,
 * so a CPU run never shows up as GPUs and GPU-minutes (the embedded default
 * trains the small model on the CPU even when `backend.gpus` names ids).
 *
 * The decision uses only what is known without running anything:
 * - `trainer.gpusPerTrial` 0: no GPU was asked for;
 * - the bundled trainer's small model (`model: "small"`, no custom
 *   `command`): src/trainer/small_lm.py never moves to CUDA;
 * - the local backend without GPU ids, or on a host without an NVIDIA
 *   driver (the trainer's torch would report "cpu" there);
 * - replay accounts GPU time "as if real" (design.md §4) unless
 *   gpusPerTrial is 0.
 */
import * as fs from "node:fs";

export type DeviceKind = "gpu" | "cpu";

/** The parts of an experiment config the decision reads (an experiment.json may lack some). */
export interface DeviceConfig {
  maxConcurrent?: number;
  trainer?: { command?: string[]; model?: string; gpusPerTrial?: number };
  backend?: { kind?: string; gpus?: number[]; maxConcurrent?: number; slotsPerGpu?: number };
}

let hostProbe: boolean | null = null;

/** An NVIDIA driver on this host (what CUDA needs); checked once per process, without spawning anything. */
export function hostHasGpu(): boolean {
  hostProbe ??= fs.existsSync("/dev/nvidiactl") || fs.existsSync("/proc/driver/nvidia/version");
  return hostProbe;
}

export function experimentDevice(config: DeviceConfig, hasGpu: () => boolean = hostHasGpu): DeviceKind {
  const tr = config.trainer ?? {};
  if (Number(tr.gpusPerTrial ?? 1) <= 0) return "cpu";
  const kind = config.backend?.kind;
  if (kind === "replay") return "gpu";
  if (!tr.command && tr.model === "small") return "cpu";
  // local with `gpus: []` hands out no GPU (local.ts: an empty pool asks for none)
  if (kind === "local" && Array.isArray(config.backend?.gpus) && config.backend!.gpus!.length === 0) return "cpu";
  if (kind === "local" && !hasGpu()) return "cpu";
  return "gpu";
}

/** CPU slots of a CPU run: trials that may run at once, one process (slot) each. */
export function cpuSlots(config: DeviceConfig): number {
  const b = config.backend ?? {};
  const conc = b.kind === "local" && b.maxConcurrent ? b.maxConcurrent : Number(config.maxConcurrent ?? 1);
  return Math.max(1, conc);
}

/** The run-time intervals of one trial, as the trial table keeps them. */
export interface RunSpan {
  runningAt?: number;
  endedAt?: number;
  accounted?: { runSeconds: number };
}

/** Seconds a trial's processes ran: the backend's accounting per run, else the running interval so far. */
export function runSeconds(runs: readonly RunSpan[], now: number | null): number {
  let s = 0;
  for (const run of runs) {
    if (run.accounted) s += run.accounted.runSeconds;
    else if (run.runningAt !== undefined) s += Math.max(0, (run.endedAt ?? now ?? run.runningAt) - run.runningAt) / 1000;
  }
  return s;
}

/** Column and unit words for a device kind. */
export function deviceWords(kind: DeviceKind): { count: string; minutes: string; unit: string; per: string } {
  return kind === "cpu"
    ? { count: "# CPU slots", minutes: "CPU Minutes", unit: "CPU-min", per: "CPU slot(s)" }
    : { count: "# GPUs", minutes: "GPU Minutes", unit: "GPU-min", per: "GPU(s)" };
}
