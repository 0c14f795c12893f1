/**
 * `createBackend(config)`: the one place that turns a validated experiment
 * config into a Backend (local processes, SLURM, or replay of recorded curves).
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import type { ExperimentConfig } from "../config/types";
import type { Backend } from "./types";
import { LocalBackend } from "./local";
import { ReplayBackend } from "./replay";
import { createSlurmBackend, type CreateSlurmOptions } from "./slurm";

export interface CreateBackendOptions {
  /** overrides config.runDir (already resolved by the driver). */
  runDir?: string;
  /** relative `backend.curves` paths resolve against this (default: process.cwd()). */
  baseDir?: string;
  /** local: GPU ids when config.backend.gpus is not set (default: detected). */
  detectGpus?: () => number[];
  /** local: SIGTERM -> SIGKILL grace, ms. */
  killGraceMs?: number;
  /** slurm: extra options (prompt callback for a second factor, transport...). */
  slurm?: Partial<CreateSlurmOptions>;
}

/**
 * GPU ids this process may use: CUDA_VISIBLE_DEVICES when set (numeric ids
 * only), else `nvidia-smi` indexes, else none (CPU).
 */
export function detectGpus(): number[] {
  const cvd = process.env.CUDA_VISIBLE_DEVICES;
  if (cvd !== undefined) {
    const ids = cvd.split(",").map((s) => s.trim()).filter((s) => /^\d+$/.test(s)).map(Number);
    return ids;
  }
  try {
    const r = spawnSync("nvidia-smi", ["--query-gpu=index", "--format=csv,noheader"], { encoding: "utf8", timeout: 5000 });
    if (r.status !== 0 || !r.stdout) return [];
    return r.stdout.split("\n").map((s) => s.trim()).filter((s) => /^\d+$/.test(s)).map(Number);
  } catch {
    return [];
  }
}

export function createBackend(config: ExperimentConfig, opts: CreateBackendOptions = {}): Backend {
  const runDir = path.resolve(opts.runDir ?? config.runDir);
  const b = config.backend;
  switch (b.kind) {
    case "local":
      return new LocalBackend({
        runDir,
        maxConcurrent: b.maxConcurrent ?? config.maxConcurrent,
        gpus: b.gpus ?? (opts.detectGpus ?? detectGpus)(),
        slotsPerGpu: b.slotsPerGpu,
        killGraceMs: opts.killGraceMs,
        // warm workers by default: start-up once per slot, not per trial (Ray's reuse_actors)
        reuseProcesses: b.reuseProcesses ?? true,
      });
    case "replay":
      return new ReplayBackend({
        curves: path.resolve(opts.baseDir ?? process.cwd(), b.curves),
        space: config.space,
        metric: config.metric,
        maxConcurrent: config.maxConcurrent,
        timeScale: b.timeScale,
        queueDelay: b.queueDelay,
        runDir,
      });
    case "slurm":
      return createSlurmBackend(b, { experiment: config.name, runDir, maxConcurrent: config.maxConcurrent, ...opts.slurm });
    default: {
      const never: never = b;
      throw new Error(`backend.kind: unknown backend ${JSON.stringify((never as { kind: string }).kind)}`);
    }
  }
}

export { LocalBackend, killRunDirTrials } from "./local";
export type { LocalBackendOptions } from "./local";
export { ReplayBackend } from "./replay";
export type { ReplayOptions } from "./replay";
export { loadCurves, parseCurvesCsv, NearestCurves } from "./curves";
export type { CurveTable, RecordedConfig } from "./curves";
export { MetricsFileReader, parseNewBytes, newReaderState } from "./metrics-reader";
export type { ReaderState } from "./metrics-reader";
export { recordCurves } from "./record-curves";
export type * from "./types";
