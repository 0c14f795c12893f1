/** Helpers shared by the schedulers: reading a metric from a report, sign handling. */
import type { Report } from "../backends/types";
import type { SchedulerAction } from "./types";

/**
 * The metric value of a report: a number (possibly NaN/±Infinity), or
 * undefined when the report lacks it. The trainer writes NaN as the JSON
 * strings "NaN"/"nan" or null when a run diverges; those count as NaN.
 */
export function metricOf(report: Report, metric: string): number | undefined {
  if (!(metric in report)) return undefined;
  const v = report[metric];
  if (typeof v === "number") return v;
  if (v === null) return NaN;
  if (typeof v === "string") {
    const s = v.trim().toLowerCase();
    if (s === "nan") return NaN;
    if (s === "inf" || s === "infinity") return Infinity;
    if (s === "-inf" || s === "-infinity") return -Infinity;
    const n = Number(v);
    return Number.isNaN(n) ? undefined : n;
  }
  return undefined;
}

/** op = +1 for "max", −1 for "min": sign-adjusted values are "higher is better". */
export function opOf(mode: "min" | "max"): 1 | -1 {
  return mode === "max" ? 1 : -1;
}

export const cont = (trialId: string): SchedulerAction => ({ trialId, action: "continue" });
export const stop = (trialId: string, reason: string): SchedulerAction => ({ trialId, action: "stop", reason });
export const pause = (trialId: string, reason: string): SchedulerAction => ({ trialId, action: "pause", reason });
export const resume = (trialId: string): SchedulerAction => ({ trialId, action: "resume" });

export function assertKind(state: unknown, kind: string): Record<string, unknown> {
  if (!state || typeof state !== "object" || (state as { kind?: unknown }).kind !== kind) {
    throw new Error(`setState: expected a ${kind} scheduler state`);
  }
  return state as Record<string, unknown>;
}
