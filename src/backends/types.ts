/**
 * The one backend interface (design.md). Backends do transport only:
 * start trainer processes that obey the trial contract, forward their
 * report lines and state changes, and account GPU time. No decisions here.
 */
import type { HParams } from "../config/types";

/** trial.json, exactly as the trial contract (design.md §2) names its keys. */
export interface TrialJson {
  trial_id: string;
  experiment: string;
  config: HParams;
  max_t: number;
  start_t: number;
  restore_from: string | null;
  seed: number;
  metric: string;
  mode: "min" | "max";
  pause_at?: number[];
  /** model family / trainer options (model, dataset, steps, deepspeed...). */
  trainer?: Record<string, unknown>;
}

/** One line of metrics.jsonl. */
export interface Report {
  t: number;
  time_total_s: number;
  checkpoint: string | null;
  [metric: string]: number | string | boolean | null | undefined;
}

export type TrialState = "pending" | "queued" | "running" | "paused" | "completed" | "stopped" | "failed";

export interface TrialLaunch {
  trialId: string;
  trial: TrialJson;
  /** argv of the trainer (the launcher already applied for gpus > 1). */
  command: string[];
  env: Record<string, string>;
  gpus: number;
}

export type BackendEvent =
  | { type: "state"; trialId: string; state: TrialState; at: number; exitCode?: number | null; signal?: string | null; message?: string; jobId?: string }
  | { type: "report"; trialId: string; report: Report; at: number }
  /** a metrics.jsonl line that is no report (see metrics-reader.ts): journaled with its reason */
  | { type: "rejected"; trialId: string; at: number; record: number; offset: number; reason: string; text: string }
  | { type: "accounting"; trialId: string; gpuSeconds: number; runSeconds: number; queueSeconds: number; gpus: number; source: string };

export interface AdoptedTrial {
  trialId: string;
  jobId?: string;
  /** records of metrics.jsonl already journaled (reports + rejected lines); the backend resumes reading after them. */
  reportsSeen: number;
  /** bytes of metrics.jsonl already consumed, when known. */
  offset?: number;
}

export interface Backend {
  readonly kind: "local" | "slurm" | "replay";
  /** Connect / prepare. Idempotent. */
  start(): Promise<void>;
  /** Start trials (several at once: a grid may become one job array). */
  submit(trials: TrialLaunch[]): Promise<void>;
  /** Stop for good (SIGTERM then SIGKILL / scancel). */
  stop(trialId: string): Promise<void>;
  /** Graceful: the trainer checkpoints, reports and exits 0 (SIGUSR1). */
  pause(trialId: string): Promise<void>;
  /** Answer a decision point; written no later than the next poll. */
  decide(trialId: string, t: number, action: "continue" | "stop"): void;
  /** New events since the last poll, in order. */
  poll(): Promise<BackendEvent[]>;
  /** Wait until the next poll is worth doing (real or virtual time). */
  wait(ms: number): Promise<void>;
  /** Milliseconds since the epoch on this backend's clock (virtual for replay). */
  now(): number;
  /** Make `rel` (a checkpoint path relative to fromTrial's dir) available to
   *  toTrial and return the path the trainer should pass as restore_from. */
  copyCheckpoint(fromTrial: string, rel: string, toTrial: string): Promise<string>;
  /** After a kernel restart: resume watching trials that were already submitted. */
  adopt(trials: AdoptedTrial[]): Promise<void>;
  /** Write-ahead (optional): make the trials' files exist before the journal says they were
   *  added, so that a driver killed before submit() leaves trials attach can start. */
  prepare?(trials: TrialLaunch[]): Promise<void>;
  /** Where a trial's files live (local path or remote path). */
  trialDir(trialId: string): string;
  close(): Promise<void>;
}
