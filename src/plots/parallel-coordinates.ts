/**
 * Parallel coordinates: one vertical axis per hyperparameter plus the final
 * metric, one polyline per trial coloured by the metric. Positions are
 * normalised here (log10 first for lr-like parameters; categories spread
 * evenly) so the spec stays simple and renders the same everywhere; each axis
 * carries its min/max labels in real units.
 */
import type { HParams } from "../config/types";
import { VEGA_LITE_V5_SCHEMA, finite, looksLogScale, type VegaLiteSpec } from "./spec";

export interface TrialOutcome {
  trialId: string;
  config: HParams;
  value: number;
}

export interface ParallelCoordinatesOptions {
  metric?: string;
  mode?: "min" | "max";
  params?: string[];
  logParams?: string[];
  width?: number;
  height?: number;
  title?: string;
}

export interface AxisRow {
  trialId: string;
  dim: string;
  /** position on the axis, 0..1 */
  pos: number;
  raw: string;
  value: number;
}

function fmt(v: unknown): string {
  return typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(3)) : String(v);
}

/** Normalised axis rows plus the min/max labels, exported for tests. */
export function parallelRows(rows: readonly TrialOutcome[], opts: ParallelCoordinatesOptions = {}): { lines: AxisRow[]; labels: Array<{ dim: string; pos: number; label: string }> } {
  const metric = opts.metric ?? "metric";
  const ok = rows.filter((r) => finite(r.value));
  const params = opts.params ?? [...new Set(ok.flatMap((r) => Object.keys(r.config)))].sort();
  const isLog = (p: string) => (opts.logParams ? opts.logParams.includes(p) : looksLogScale(p));
  const lines: AxisRow[] = [];
  const labels: Array<{ dim: string; pos: number; label: string }> = [];
  const axis = (dim: string, get: (r: TrialOutcome) => unknown, log: boolean) => {
    const vals = ok.map(get);
    if (vals.every((v) => finite(v) && (!log || v > 0))) {
      const f = (v: number) => (log ? Math.log10(v) : v);
      const nums = (vals as number[]).map(f);
      const lo = Math.min(...nums);
      const hi = Math.max(...nums);
      ok.forEach((r, i) => lines.push({ trialId: r.trialId, dim, pos: hi > lo ? (nums[i] - lo) / (hi - lo) : 0.5, raw: fmt(vals[i]), value: r.value }));
      const rawNums = vals as number[];
      labels.push({ dim, pos: 0, label: fmt(Math.min(...rawNums)) + (log ? " (log)" : "") }, { dim, pos: 1, label: fmt(Math.max(...rawNums)) });
    } else {
      const cats = [...new Set(vals.map(String))].sort();
      ok.forEach((r, i) => lines.push({ trialId: r.trialId, dim, pos: cats.length > 1 ? cats.indexOf(String(vals[i])) / (cats.length - 1) : 0.5, raw: String(vals[i]), value: r.value }));
      cats.forEach((c, i) => labels.push({ dim, pos: cats.length > 1 ? i / (cats.length - 1) : 0.5, label: c }));
    }
  };
  for (const p of params) axis(p, (r) => r.config[p], isLog(p));
  axis(metric, (r) => r.value, false);
  return { lines, labels };
}

export function parallelCoordinates(rows: readonly TrialOutcome[], opts: ParallelCoordinatesOptions = {}): VegaLiteSpec {
  const metric = opts.metric ?? "metric";
  const { lines, labels } = parallelRows(rows, opts);
  const dims = [...new Set(lines.map((l) => l.dim))];
  const x = { field: "dim", type: "nominal", sort: dims, title: null, axis: { orient: "top", labelAngle: 0, domain: false, ticks: false } };
  const y = { field: "pos", type: "quantitative", axis: null, scale: { domain: [0, 1] } };
  return {
    $schema: VEGA_LITE_V5_SCHEMA,
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? Math.max(320, 110 * dims.length),
    height: opts.height ?? 280,
    layer: [
      {
        data: { name: "axes", values: dims.map((dim) => ({ dim, pos: 0, pos2: 1 })) },
        mark: { type: "rule", color: "#999999" },
        encoding: { x, y, y2: { field: "pos2" } },
      },
      {
        data: { name: "lines", values: lines },
        mark: { type: "line", opacity: 0.7, strokeWidth: 1.5 },
        encoding: {
          x,
          y,
          detail: { field: "trialId", type: "nominal" },
          color: {
            field: "value",
            type: "quantitative",
            title: metric,
            scale: { scheme: "viridis", reverse: (opts.mode ?? "min") === "min" },
          },
          tooltip: [
            { field: "trialId", type: "nominal", title: "trial" },
            { field: "dim", type: "nominal", title: "parameter" },
            { field: "raw", type: "nominal", title: "value" },
            { field: "value", type: "quantitative", title: metric, format: ".4g" },
          ],
        },
      },
      {
        data: { name: "labels", values: labels },
        mark: { type: "text", align: "left", dx: 4, fontSize: 10, color: "#333333" },
        encoding: { x, y, text: { field: "label", type: "nominal" } },
      },
    ],
  };
}
