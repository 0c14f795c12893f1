/**
 * Number and config formatting shared by the Markdown table, the CSV and the
 * discussion, so the three always show the same digits.
 */
import type { ComparisonRow, HParamValue, ScheduleStep } from "./row";

/** Hyperparameter value: small floats in exponent form as Python prints them (5e-06 → 5e-6). */
export function formatHp(v: HParamValue): string {
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) {
    const [m, e] = v.toExponential(4).split("e");
    return `${trimZeros(m)}e${Number(e)}`;
  }
  return trimZeros(v.toPrecision(4));
}

function trimZeros(s: string): string {
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

export function formatConfig(c: Record<string, HParamValue> | null | undefined): string {
  if (!c) return "—";
  const keys = Object.keys(c);
  if (!keys.length) return "—";
  return keys.map((k) => `${k}=${formatHp(c[k])}`).join(", ");
}

/** A PBT schedule as "t0: lr=1e-5, bs=1 → t2: lr=2e-5, bs=1". */
export function formatSchedule(s: ScheduleStep[]): string {
  return s.map((step) => `t${step.t}: ${formatConfig(step.config)}`).join(" → ");
}

/** What the "Best config" column shows: the schedule for PBT when present. */
export function rowConfigText(row: ComparisonRow): string {
  if (row.schedule && row.schedule.length > 1) return formatSchedule(row.schedule);
  return formatConfig(row.bestConfig);
}

export function fixed(v: number | null | undefined, digits: number): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return v.toFixed(digits);
}

/** Cost ratio: two decimals, or two significant digits below 0.1 so tiny ratios don't print as 0.00. */
export function formatRatio(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return "—";
  if (v !== 0 && Math.abs(v) < 0.1) return trimZeros(v.toPrecision(2));
  return v.toFixed(2);
}

/** A number for an export: rounded to `digits` decimals (no float noise such as 2.0333333333333), null kept. */
export function rounded(v: number | null | undefined, digits: number): number | null {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  return Number(v.toFixed(digits));
}

/** A loss as the notebooks print it: 4 decimals ("—" for none). */
export function formatLoss(v: number | null | undefined): string {
  return fixed(v, 4);
}

/**
 * A row's source for a file that leaves the machine: an absolute path keeps
 * only its last two parts ("/home/ana/course/runs/asha-1" → "runs/asha-1"),
 * enough to find the run and naming nobody's home directory.
 */
export function exportSource(s: string | undefined): string {
  if (!s) return "";
  if (!/^(\/|[A-Za-z]:[\\/]|\\\\)/.test(s)) return s;
  const parts = s.split(/[\\/]+/).filter(Boolean);
  return parts.slice(-2).join("/");
}

/** Markdown table cell: pipes and newlines would break the row. */
export function mdCell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** RFC 4180 CSV field. */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = typeof v === "number" ? (Number.isFinite(v) ? String(v) : "") : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
