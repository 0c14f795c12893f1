/**
 * The comparison row (design.md contract 5): one line of the group summary
 * per method. The experiment driver produces these with `exp.summaryRow()`;
 * the manual-log parser and the run-dir loader produce the same shape, so the
 * comparison table never cares where a row came from.
 *
 * Plain interface (no zod inference) because notebook cells touch it and
 * tslab type-checks cells with TypeScript 5.0. The zod schema below validates
 * rows read back from a team folder (other people's files).
 */
import { z } from "zod";

export type HParamValue = number | string | boolean;

/** One step of a PBT schedule: from iteration `t` on, these hyperparameters. */
export interface ScheduleStep {
  t: number;
  config: Record<string, HParamValue>;
}

export interface ComparisonRow {
  /** method kind: "manual" | "grid" | "random" | "asha" | "hyperband" | "pbt" | "bohb" | ... */
  method: string;
  /** what the table's "Run Type" column shows; default derived from `method`. */
  label?: string;
  /** who ran it (team folder rows). */
  member?: string;
  /** experiment name, for tracing a row back to its run directory. */
  experiment?: string;
  metric: string;
  mode: "min" | "max";
  /** best metric value at the full budget (t = maxT); null if no trial reached it. */
  bestValue: number | null;
  /** configuration of that trial; for PBT the final config (see `schedule`). */
  bestConfig: Record<string, HParamValue> | null;
  /** PBT: the hyperparameter schedule of the best trial (its lineage). */
  schedule?: ScheduleStep[];
  /** best value seen at any budget, and the budget (t) it was seen at. */
  bestAnyValue?: number | null;
  bestAnyT?: number | null;
  /** full budget (epochs) the row's `bestValue` refers to. */
  maxT?: number;
  /** wall-clock minutes from start to the report that set the best. */
  runtimeMinutes: number;
  /** GPUs of the allocation (the table's "# GPUs"); 0 for a CPU run. */
  gpus: number;
  /** GPU-minutes spent (used GPU time; for the manual grid runtime × GPUs); 0 for a CPU run. */
  gpuMinutes: number;
  /** what the trials computed on; left out = "gpu" (rows written before this key existed). */
  device?: "gpu" | "cpu";
  /** devices of the allocation in that unit: GPUs, or CPU slots (trials running at once, one process each). */
  devices?: number;
  /** device time spent in that unit: GPU-minutes, or CPU-slot-minutes (the trials' process run time). */
  deviceMinutes?: number;
  /** where the numbers came from (a log file, a run dir, the workshop's readme). */
  source?: string;
  /** free-form note shown in exports (e.g. "A100, not comparable"). */
  note?: string;
}

const hparam = z.union([z.number(), z.string(), z.boolean()]);
const nullableNumber = z.number().nullable();

/** Validates rows written by others (team folder, CSV/JSON imports). */
export const comparisonRowSchema = z.object({
  method: z.string().min(1),
  label: z.string().optional(),
  member: z.string().optional(),
  experiment: z.string().optional(),
  metric: z.string().min(1),
  mode: z.enum(["min", "max"]),
  bestValue: nullableNumber,
  bestConfig: z.record(z.string(), hparam).nullable(),
  schedule: z.array(z.object({ t: z.number(), config: z.record(z.string(), hparam) })).optional(),
  bestAnyValue: nullableNumber.optional(),
  bestAnyT: nullableNumber.optional(),
  maxT: z.number().optional(),
  runtimeMinutes: z.number().nonnegative(),
  gpus: z.number().nonnegative(),
  gpuMinutes: z.number().nonnegative(),
  device: z.enum(["gpu", "cpu"]).optional(),
  devices: z.number().nonnegative().optional(),
  deviceMinutes: z.number().nonnegative().optional(),
  source: z.string().optional(),
  note: z.string().optional(),
}).passthrough();

/** Display names for the "Run Type" column (the workshop wrote "Manual best"). */
const LABELS: Record<string, string> = {
  manual: "Manual grid",
  grid: "Grid",
  random: "Random",
  asha: "ASHA",
  hyperband: "HyperBand",
  pbt: "PBT",
  bohb: "BOHB",
};

export function rowLabel(row: ComparisonRow): string {
  if (row.label) return row.label;
  const base = LABELS[row.method] ?? row.method;
  return row.member ? `${base} (${row.member})` : base;
}

/** Parse and validate one row; errors name the field path. */
export function parseRow(input: unknown, where = "row"): ComparisonRow {
  const r = comparisonRowSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue.path.length ? issue.path.join(".") : "(root)";
    throw new Error(`${where}: invalid comparison row at "${field}": ${issue.message}`);
  }
  return r.data as ComparisonRow;
}
