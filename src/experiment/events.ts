/**
 * Driver events: what widgets, the journal and the results store subscribe
 * to. The journal (journal.jsonl) is these events, one per line, plus
 * scheduler/searcher snapshots, so the same stream drives live views, replay
 * of a finished run and re-attachment after a kernel restart.
 */
import type { HParams, MethodSpec, SpaceSpec } from "../config/types";
import type { Report, TrialState } from "../backends/types";

export type ExperimentEvent =
  | { type: "experiment_started"; at: number; name: string; method: MethodSpec["kind"]; maxT: number }
  | { type: "trial_added"; at: number; trialId: string; config: HParams; bracket?: number; modelBasedPick?: boolean; parent?: string }
  /** `run`: 0 for the first submission of the trial, +1 per resubmission (resume, PBT exploit). */
  | { type: "trial_state"; at: number; trialId: string; state: TrialState; message?: string; exitCode?: number | null; run?: number; jobId?: string }
  | { type: "report"; at: number; trialId: string; report: Report }
  /** a metrics.jsonl line that is not a report (bad JSON, no t, torn, a repeat): recorded, never silently dropped. `record`: its 1-based number among the file's records (reports + rejections); `offset`: its byte offset. */
  | { type: "report_rejected"; at: number; trialId: string; record: number; offset: number; reason: string; text: string }
  | { type: "decision"; at: number; trialId: string; t: number | null; action: "continue" | "stop" | "pause" | "resume" | "exploit"; reason?: string;
      /** seconds the trainer waited at this decision point before the answer (absent when answered at once) */
      waited_s?: number }
  | { type: "exploit"; at: number; trialId: string; donor: string; donorT: number; t: number; oldConfig: HParams; config: HParams; mutations: Record<string, string> }
  /** per run of the trial (see trial_state.run); a later event for the same run replaces an earlier one. */
  | { type: "accounting"; at: number; trialId: string; gpuSeconds: number; queueSeconds: number; runSeconds: number; gpus: number; run?: number }
  | { type: "experiment_state"; at: number; state: "running" | "paused" | "finished" | "failed" | "budget_exhausted" | "stopped"; message?: string };

/** What a live view needs from a running (or finished) experiment. */
export interface ExperimentSource {
  readonly name: string;
  readonly metric: string;
  readonly mode: "min" | "max";
  readonly method: MethodSpec;
  readonly space: SpaceSpec;
  readonly maxT: number;
  /** rung / milestone t values to draw (ASHA, HyperBand, BOHB); empty otherwise. */
  readonly rungs: number[];
  /** every event so far, in order (late subscribers replay these first). */
  history(): readonly ExperimentEvent[];
  /** returns an unsubscribe function */
  subscribe(fn: (e: ExperimentEvent) => void): () => void;
  /** user actions from widgets */
  stopTrial(trialId: string): Promise<void>;
  pause(): void;
  resume(): void;
}
