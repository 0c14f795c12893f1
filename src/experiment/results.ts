/**
 * Results of an experiment, computed from the trial table (a fold of the
 * event stream), so a running, finished or re-read experiment gives the same
 * answers: summary.json (design.md contract 3), the comparison row
 * (contract 5), and danfojs DataFrame views for notebook cells.
 */
import { fullBudgetT } from "../config/eval-every";
import * as path from "node:path";
import type { ExperimentConfig, HParams } from "../config/types";
import type { ComparisonRow, ScheduleStep } from "../results/row";
import { cpuSlots, experimentDevice, runSeconds, type DeviceKind } from "../results/device";
import { rowFromSummary } from "../results/summary-row";
import { writeFileAtomic } from "../backends/trial-files";
import type { ExperimentEvent } from "./events";
import { metricValue, type BestPoint, type PolicyRow, type TrialRecord, type TrialTable } from "./table";

export type { ComparisonRow, ScheduleStep };

/** `best` / `best_any` of summary.json. */
export interface BestResult {
  trial_id: string;
  /** the config the trial trained with when it reported this value (PBT: its final config) */
  config: HParams;
  value: number;
  t: number;
  /** PBT: the policy phases that produced the weights (first phase at t = 0) */
  schedule?: ScheduleStep[];
}

export interface TrialSummary {
  trial_id: string;
  config: HParams;
  state: string;
  last_t: number | null;
  gpu_seconds: number;
  queue_seconds: number;
  /** extra keys */
  /** seconds its processes ran (the CPU-slot time of a CPU run) */
  run_seconds: number;
  /** of run_seconds: start-up (Σ of its report lines' `startup_s`, one per run: interpreter,
   *  imports, model, data and device before the first training step; a warm worker's job
   *  pays only loading the trial) and the rest, training + evaluation + waits at decision points */
  startup_seconds: number;
  train_seconds: number;
  last_value: number | null;
  reports: number;
  bracket?: number;
  model_based_pick?: boolean;
  parent?: string;
  message?: string;
}

/** summary.json, exactly the keys of contract 3 plus a few extra. */
export interface Summary {
  experiment: string;
  method: string;
  metric: string;
  mode: "min" | "max";
  best: BestResult | null;
  best_any: BestResult | null;
  gpu_seconds: number;
  wall_seconds: number;
  time_to_best_s: number | null;
  states: Record<string, number>;
  trials: TrialSummary[];
  /** extra keys */
  state: string;
  max_t: number;
  gpus: number;
  gpus_per_trial: number;
  /** what the trials computed on (results/device.ts); a CPU run has gpus = gpu_seconds = 0 */
  device: DeviceKind;
  /** GPUs, or CPU slots (trials at once) of a CPU run */
  devices: number;
  /** gpu_seconds for a GPU run; for a CPU run the trials' process seconds (CPU-slot-seconds) */
  device_seconds: number;
  /** the trials' process seconds, whatever the device */
  run_seconds: number;
  /** Σ of the trials' startup_seconds / train_seconds; startup_share = startup_seconds /
   *  run_seconds (0 when nothing ran): the start-up share of the device time, each trial
   *  holding the same device share while it runs */
  startup_seconds: number;
  train_seconds: number;
  startup_share: number;
}

/** The full budget of a config: the method's maxT where it has one, else trainer.epochs. */
export function experimentMaxT(config: ExperimentConfig): number {
  const m = config.method as { maxT?: number };
  // with trainer.evalEvery, t counts evaluations: epochs' worth of them
  return typeof m.maxT === "number" ? m.maxT : fullBudgetT(config.trainer);
}

/** GPUs of the allocation: trials that may run at once × GPUs per trial. */
export function allocationGpus(config: ExperimentConfig): number {
  const b = config.backend;
  // trials sharing a GPU (local slotsPerGpu) hold a fraction of it each
  const share = b.kind === "local" && b.slotsPerGpu ? b.slotsPerGpu : 1;
  const conc = Math.max(1, b.kind === "local" && b.maxConcurrent ? b.maxConcurrent : config.maxConcurrent);
  return Math.ceil((conc * Math.max(0, config.trainer.gpusPerTrial)) / share);
}

/**
 * The schedule behind a PBT trial's weights from its policy rows, walking
 * them backwards as Ray's PopulationBasedTrainingReplay does: each earlier
 * row must have as target the donor of the row after it.
 */
export function scheduleFromPolicy(rows: readonly PolicyRow[], fallback: HParams): ScheduleStep[] {
  const steps: ScheduleStep[] = [];
  let lastDonor: string | null = null;
  let initial: HParams | null = null;
  for (let i = rows.length - 1; i >= 0; i--) {
    const [target, donor, , donorT, donorConfig, newConfig] = rows[i];
    if (lastDonor !== null && target !== lastDonor) break;
    lastDonor = donor;
    initial = donorConfig;
    steps.push({ t: donorT, config: { ...newConfig } });
  }
  steps.reverse();
  return [{ t: 0, config: { ...(initial ?? fallback) } }, ...steps];
}

function bestResult(table: TrialTable, p: BestPoint | null, pbt: boolean): BestResult | null {
  if (!p) return null;
  const r: BestResult = { trial_id: p.trialId, config: { ...p.config }, value: p.value, t: p.t };
  if (pbt) r.schedule = scheduleFromPolicy(table.policies.get(p.trialId) ?? [], p.config);
  return r;
}

export function buildSummary(config: ExperimentConfig, table: TrialTable): Summary {
  const pbt = config.method.kind === "pbt";
  const start = table.startedAt ?? table.lastAt ?? 0;
  const end = table.lastAt ?? start;
  // a CPU run (e.g. the small model with backend.gpus set) used no GPU time, whatever the slots were called
  const device = experimentDevice(config);
  const gpuOf = (tr: TrialRecord) => (device === "cpu" ? 0 : round6(table.gpuSeconds(tr)));
  let runTotal = 0;
  let startupTotal = 0;
  let trainTotal = 0;
  const trials = table.list().map((tr): TrialSummary => {
    const run = round6(runSeconds(tr.runs, table.lastAt));
    // start-up is measured by the trainer, run time by the backend: start-up never exceeds the run it is part of
    const startup = round6(Math.min(run, tr.startupSeconds));
    const train = round6(run - startup);
    runTotal += run;
    startupTotal += startup;
    trainTotal += train;
    const s: TrialSummary = {
      trial_id: tr.trialId, config: { ...tr.config }, state: tr.state, last_t: tr.lastT,
      gpu_seconds: gpuOf(tr), queue_seconds: round6(table.queueSeconds(tr)), run_seconds: run,
      startup_seconds: startup, train_seconds: train,
      last_value: tr.lastValue, reports: tr.reports,
    };
    if (tr.bracket !== undefined) s.bracket = tr.bracket;
    if (tr.modelBasedPick !== undefined) s.model_based_pick = tr.modelBasedPick;
    if (tr.parent !== undefined) s.parent = tr.parent;
    if (tr.message !== undefined) s.message = tr.message;
    return s;
  });
  return {
    experiment: config.name,
    method: config.method.kind,
    metric: config.metric,
    mode: config.mode,
    best: bestResult(table, table.best, pbt),
    best_any: bestResult(table, table.bestAny, pbt),
    gpu_seconds: device === "cpu" ? 0 : round6(table.totalGpuSeconds()),
    wall_seconds: round6(Math.max(0, end - start) / 1000),
    time_to_best_s: table.best ? round6(Math.max(0, table.best.at - start) / 1000) : null,
    states: table.stateCounts(),
    trials,
    state: table.experimentState,
    max_t: table.maxT,
    gpus: device === "cpu" ? 0 : allocationGpus(config),
    gpus_per_trial: config.trainer.gpusPerTrial,
    device,
    devices: device === "cpu" ? cpuSlots(config) : allocationGpus(config),
    device_seconds: device === "cpu" ? round6(runTotal) : round6(table.totalGpuSeconds()),
    run_seconds: round6(runTotal),
    startup_seconds: round6(startupTotal),
    train_seconds: round6(trainTotal),
    startup_share: runTotal > 0 ? round6(startupTotal / runTotal) : 0,
  };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export function writeSummary(runDir: string, summary: Summary): string {
  const file = path.join(runDir, "summary.json");
  writeFileAtomic(file, JSON.stringify(summary, null, 2) + "\n", 0o600);
  return file;
}

/**
 * The comparison row (contract 5): the results module's rowFromSummary, the
 * same function `tunelab compare RUN_DIR` applies to summary.json.
 */
export function summaryRow(config: ExperimentConfig, summary: Summary): ComparisonRow {
  return rowFromSummary(summary, config, { source: config.runDir });
}

/** Column-oriented rows → danfojs DataFrame (loaded lazily: it is heavy). */
function dataFrame(rows: Array<Record<string, unknown>>, columns: string[]): any {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const dfd = require("danfojs-node");
  if (rows.length === 0) return new dfd.DataFrame([], { columns });
  const data = rows.map((r) => columns.map((c) => (r[c] === undefined ? null : r[c])));
  return new dfd.DataFrame(data, { columns });
}

/** Rows of `table()`: one per trial; hyperparameters as columns. */
export function trialRows(config: ExperimentConfig, table: TrialTable): { rows: Array<Record<string, unknown>>; columns: string[] } {
  const fixed = ["trial_id", "state", "last_t", config.metric, "best", "gpu_seconds", "queue_seconds", "bracket", "parent"];
  const hp = Object.keys(config.space).map((k) => (fixed.includes(k) ? `config/${k}` : k));
  const columns = ["trial_id", "state", ...hp, "last_t", config.metric, "best", "gpu_seconds", "queue_seconds", "bracket", "parent"];
  const bestPer = bestPerTrial(table);
  // as in summary.json: a CPU run used no GPU time, whatever its backend called the slots
  const cpu = experimentDevice(config) === "cpu";
  const rows = table.list().map((tr: TrialRecord) => {
    const r: Record<string, unknown> = {
      trial_id: tr.trialId, state: tr.state, last_t: tr.lastT, [config.metric]: tr.lastValue,
      best: bestPer.get(tr.trialId) ?? null, gpu_seconds: cpu ? 0 : round6(table.gpuSeconds(tr)),
      queue_seconds: round6(table.queueSeconds(tr)), bracket: tr.bracket ?? null, parent: tr.parent ?? null,
    };
    Object.keys(config.space).forEach((k, i) => { r[hp[i]] = tr.config[k] ?? null; });
    return r;
  });
  return { rows, columns };
}

function bestPerTrial(table: TrialTable): Map<string, number> {
  // recomputed from the reports kept in curves; the table keeps only the last value
  return table.bestPerTrial;
}

export function trialsFrame(config: ExperimentConfig, table: TrialTable): any {
  const { rows, columns } = trialRows(config, table);
  return dataFrame(rows, columns);
}

/** Rows of `curves()`: every report line, in arrival order. */
export function curveRows(config: ExperimentConfig, events: readonly ExperimentEvent[], startedAt: number | null): { rows: Array<Record<string, unknown>>; columns: string[] } {
  const columns = ["trial_id", "t", config.metric, "time_total_s", "checkpoint", "at_s"];
  const rows: Array<Record<string, unknown>> = [];
  for (const e of events) {
    if (e.type !== "report") continue;
    const v = metricValue(e.report, config.metric);
    rows.push({
      trial_id: e.trialId, t: e.report.t, [config.metric]: Number.isFinite(v) ? v : null,
      time_total_s: e.report.time_total_s ?? null, checkpoint: e.report.checkpoint ?? null,
      at_s: startedAt === null ? null : round6((e.at - startedAt) / 1000),
    });
  }
  return { rows, columns };
}

export function curvesFrame(config: ExperimentConfig, events: readonly ExperimentEvent[], startedAt: number | null): any {
  const { rows, columns } = curveRows(config, events, startedAt);
  return dataFrame(rows, columns);
}
