/**
 * summary.json (design.md §3) → comparison row (§5), in one function, so the
 * notebook's `exp.summaryRow()` and `tunelab compare RUN_DIR` (which reads
 * the same summary back from disk) can never disagree: same method name,
 * same runtime, same device accounting.
 */
import type { ComparisonRow, HParamValue, ScheduleStep } from "./row";
import { experimentDevice, type DeviceConfig, type DeviceKind } from "./device";

/** The summary.json keys a row needs; older files may lack the device keys. */
export interface SummaryForRow {
  experiment: string;
  method: string;
  metric: string;
  mode: "min" | "max";
  best: { config: Record<string, HParamValue>; value: number; t: number; schedule?: ScheduleStep[] } | null;
  best_any?: { value: number; t: number } | null;
  gpu_seconds: number;
  wall_seconds: number;
  time_to_best_s?: number | null;
  max_t?: number;
  gpus?: number;
  device?: DeviceKind;
  devices?: number;
  device_seconds?: number;
  schedule?: ScheduleStep[];
}

/** The experiment.json keys a row needs (all optional: hand-made files). */
export interface ConfigForRow extends DeviceConfig {
  trainer?: DeviceConfig["trainer"] & { epochs?: number };
  method?: { kind?: string; maxT?: number };
}

/**
 * The row of one run. A tunelab grid is the team's manual grid ("manual"):
 * like the workshop, its runtime to the best is the whole grid's wall time
 * (the winner is known only once the last configuration finished).
 */
export function rowFromSummary(s: SummaryForRow, config: ConfigForRow, opts: { source?: string; member?: string; label?: string } = {}): ComparisonRow {
  const method = s.method === "grid" ? "manual" : s.method;
  const maxT = Number(s.max_t ?? config.method?.maxT ?? config.trainer?.epochs ?? s.best?.t ?? NaN);
  const runtimeSeconds = method === "manual" || s.time_to_best_s == null ? s.wall_seconds : s.time_to_best_s;
  const gpusPerTrial = Number(config.trainer?.gpusPerTrial ?? 1);
  const width = Number(config.maxConcurrent ?? 1);
  // summaries written before the device keys existed: the config decides, assuming the host had GPUs
  const device: DeviceKind = s.device ?? experimentDevice(config, () => true);
  const gpus = device === "cpu" ? 0 : typeof s.gpus === "number" ? s.gpus : Math.max(0, gpusPerTrial * width);
  const gpuMinutes = device === "cpu" ? 0 : s.gpu_seconds / 60;
  const row: ComparisonRow = {
    method,
    ...(opts.label ? { label: opts.label } : {}),
    ...(opts.member ? { member: opts.member } : {}),
    experiment: s.experiment,
    metric: s.metric,
    mode: s.mode,
    bestValue: s.best ? s.best.value : null,
    bestConfig: s.best ? { ...s.best.config } : null,
    bestAnyValue: s.best_any ? s.best_any.value : null,
    bestAnyT: s.best_any ? s.best_any.t : null,
    ...(Number.isFinite(maxT) ? { maxT } : {}),
    runtimeMinutes: runtimeSeconds / 60,
    gpus,
    gpuMinutes,
    device,
    devices: device === "cpu" ? Number(s.devices ?? width) : gpus,
    // an old CPU summary has no device time: left out (shown as "—"), not a made-up 0
    ...(device === "gpu" ? { deviceMinutes: gpuMinutes } : typeof s.device_seconds === "number" ? { deviceMinutes: s.device_seconds / 60 } : {}),
    ...(opts.source !== undefined ? { source: opts.source } : {}),
  };
  const schedule = s.best?.schedule ?? s.schedule;
  if (schedule) row.schedule = schedule;
  return row;
}
