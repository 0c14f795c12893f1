/**
 * The trial table: a pure fold over ExperimentEvents. The live driver, the
 * results, `tunelab status` and attach all build it the same way from the
 * same stream, so a re-attached experiment sees exactly the table the
 * interrupted one had. It also tracks "best" (full budget and any budget)
 * and the PBT policy rows, because both depend on event order.
 */
import type { HParams } from "../config/types";
import type { Report, TrialState } from "../backends/types";
import type { ExperimentEvent } from "./events";

/** One row of a PBT policy file (Ray's format, trial ids as tags):
 *  [target_tag, donor_tag, target_t, donor_t, donor_config_before_explore, new_config] */
export type PolicyRow = [string, string, number, number, HParams, HParams];

export interface RunInfo {
  queuedAt?: number;
  runningAt?: number;
  endedAt?: number;
  /** from the backend's accounting event for this run, when one came */
  accounted?: { gpuSeconds: number; queueSeconds: number; runSeconds: number; gpus: number };
}

export interface TrialRecord {
  trialId: string;
  /** the configuration it trains with now (PBT: changes at each exploit) */
  config: HParams;
  initialConfig: HParams;
  state: TrialState;
  addedAt: number;
  bracket?: number;
  modelBasedPick?: boolean;
  parent?: string;
  /** last reported t, value of the metric there, and the last checkpoint named */
  lastT: number | null;
  lastValue: number | null;
  lastCheckpoint: string | null;
  lastReport: Report | null;
  /** report lines received over all runs (= lines of metrics.jsonl consumed) */
  reports: number;
  /** Σ of its report lines' `startup_s` (each run of the trainer reports it once: process or
   *  warm-worker job start to the first training step) */
  startupSeconds: number;
  runs: RunInfo[];
  jobId?: string;
  message?: string;
  exitCode?: number | null;
  /** last decision reason (e.g. why it was stopped) */
  reason?: string;
}

export interface BestPoint {
  trialId: string;
  config: HParams;
  value: number;
  t: number;
  /** backend clock (ms) of the report that set it */
  at: number;
}

/** Metric value of a report as a number (NaN when missing or not numeric). */
export function metricValue(report: Report, metric: string): number {
  const v = report[metric];
  return typeof v === "number" ? v : NaN;
}

export class TrialTable {
  readonly trials = new Map<string, TrialRecord>();
  readonly order: string[] = [];
  best: BestPoint | null = null;
  bestAny: BestPoint | null = null;
  startedAt: number | null = null;
  lastAt: number | null = null;
  experimentState: string = "running";
  /** every PBT exploit row, in order (pbt_global.txt) */
  readonly policyGlobal: PolicyRow[] = [];
  /** per trial: its lineage rows (pbt_policy_<id>.txt) */
  readonly policies = new Map<string, PolicyRow[]>();
  /** per trial: its best finite metric value at any t */
  readonly bestPerTrial = new Map<string, number>();

  constructor(readonly metric: string, readonly mode: "min" | "max", readonly maxT: number, readonly gpusPerTrial = 1) {}

  get(id: string): TrialRecord | undefined {
    return this.trials.get(id);
  }

  list(): TrialRecord[] {
    return this.order.map((id) => this.trials.get(id)!);
  }

  /** strictly better (ties keep the first, as Ray's get_best_result) */
  better(a: number, b: number): boolean {
    return this.mode === "min" ? a < b : a > b;
  }

  apply(e: ExperimentEvent): void {
    this.lastAt = e.at;
    switch (e.type) {
      case "experiment_started":
        if (this.startedAt === null) this.startedAt = e.at;
        this.experimentState = "running";
        break;
      case "experiment_state":
        this.experimentState = e.state;
        break;
      case "trial_added": {
        if (this.trials.has(e.trialId)) break;
        this.trials.set(e.trialId, {
          trialId: e.trialId, config: { ...e.config }, initialConfig: { ...e.config }, state: "pending", addedAt: e.at,
          bracket: e.bracket, modelBasedPick: e.modelBasedPick, parent: e.parent,
          lastT: null, lastValue: null, lastCheckpoint: null, lastReport: null, reports: 0, startupSeconds: 0, runs: [],
        });
        this.order.push(e.trialId);
        break;
      }
      case "trial_state": {
        const tr = this.trials.get(e.trialId);
        if (!tr) break;
        tr.state = e.state;
        const run = this.run(tr, e.run);
        // a new submission ends the previous runs (a PBT restart has no end event of its own)
        if (e.state === "pending") for (const r of tr.runs) if (r !== run && r.endedAt === undefined) r.endedAt = e.at;
        if (e.state === "queued" && run.queuedAt === undefined) run.queuedAt = e.at;
        if (e.state === "running" && run.runningAt === undefined) run.runningAt = e.at;
        if (["completed", "stopped", "failed", "paused"].includes(e.state) && run.endedAt === undefined) run.endedAt = e.at;
        if (e.message !== undefined) tr.message = e.message;
        if (e.exitCode !== undefined) tr.exitCode = e.exitCode;
        if (e.jobId !== undefined) tr.jobId = e.jobId;
        break;
      }
      case "report": {
        const tr = this.trials.get(e.trialId);
        if (!tr) break;
        const r = e.report;
        tr.reports++;
        const su = (r as { startup_s?: unknown }).startup_s;
        if (typeof su === "number" && Number.isFinite(su) && su > 0) tr.startupSeconds += su;
        tr.lastT = r.t;
        tr.lastReport = r;
        if (r.checkpoint) tr.lastCheckpoint = r.checkpoint;
        const v = metricValue(r, this.metric);
        tr.lastValue = Number.isFinite(v) ? v : null;
        if (Number.isFinite(v)) {
          const prev = this.bestPerTrial.get(tr.trialId);
          if (prev === undefined || this.better(v, prev)) this.bestPerTrial.set(tr.trialId, v);
          const point = { trialId: tr.trialId, config: { ...tr.config }, value: v, t: r.t, at: e.at };
          if (!this.bestAny || this.better(v, this.bestAny.value)) this.bestAny = point;
          if (r.t >= this.maxT && (!this.best || this.better(v, this.best.value))) this.best = point;
        }
        break;
      }
      case "decision": {
        const tr = this.trials.get(e.trialId);
        if (tr && e.reason) tr.reason = e.reason;
        break;
      }
      case "exploit": {
        const tr = this.trials.get(e.trialId);
        const donor = this.trials.get(e.donor);
        if (!tr) break;
        const row: PolicyRow = [e.trialId, e.donor, e.t, e.donorT, { ...(donor ? donor.config : e.oldConfig) }, { ...e.config }];
        this.policyGlobal.push(row);
        this.policies.set(e.trialId, [...(this.policies.get(e.donor) ?? []), row]);
        tr.config = { ...e.config };
        tr.parent = e.donor;
        break;
      }
      case "accounting": {
        const tr = this.trials.get(e.trialId);
        if (!tr) break;
        this.run(tr, e.run).accounted = { gpuSeconds: e.gpuSeconds, queueSeconds: e.queueSeconds, runSeconds: e.runSeconds, gpus: e.gpus };
        break;
      }
    }
  }

  private run(tr: TrialRecord, idx: number | undefined): RunInfo {
    const i = idx ?? Math.max(0, tr.runs.length - 1);
    while (tr.runs.length <= i) tr.runs.push({});
    return tr.runs[i];
  }

  /** GPU-seconds of a trial: the backend's accounting per run, else run time × GPUs. */
  gpuSeconds(tr: TrialRecord, now: number | null = this.lastAt): number {
    let s = 0;
    for (const run of tr.runs) {
      if (run.accounted) s += run.accounted.gpuSeconds;
      else if (run.runningAt !== undefined) {
        const end = run.endedAt ?? now ?? run.runningAt;
        s += Math.max(0, end - run.runningAt) / 1000 * this.gpusPerTrial;
      }
    }
    return s;
  }

  queueSeconds(tr: TrialRecord): number {
    let s = 0;
    for (const run of tr.runs) {
      if (run.accounted) s += run.accounted.queueSeconds;
      else if (run.queuedAt !== undefined && run.runningAt !== undefined) s += Math.max(0, run.runningAt - run.queuedAt) / 1000;
    }
    return s;
  }

  totalGpuSeconds(now: number | null = this.lastAt): number {
    let s = 0;
    for (const tr of this.trials.values()) s += this.gpuSeconds(tr, now);
    return s;
  }

  stateCounts(): Record<string, number> {
    const c: Record<string, number> = {};
    for (const tr of this.trials.values()) c[tr.state] = (c[tr.state] ?? 0) + 1;
    return c;
  }
}

/** Build a table from an event list. */
export function foldEvents(events: readonly ExperimentEvent[], metric: string, mode: "min" | "max", maxT: number, gpusPerTrial = 1): TrialTable {
  const t = new TrialTable(metric, mode, maxT, gpusPerTrial);
  for (const e of events) t.apply(e);
  return t;
}
