/**
 * GPU-minutes burnt over wall-clock, and the comparison chart of the team
 * notebook (best loss vs GPU-minutes, one point per method).
 */
import { VEGA_LITE_V5_SCHEMA, finite, type VegaLiteSpec } from "./spec";

export interface GpuMinutesPoint {
  /** wall-clock minutes since the experiment started */
  minutes: number;
  /** cumulative GPU-minutes at that time */
  gpuMinutes: number;
  /** series name (experiment or method); default "gpu-minutes" */
  series?: string;
}

export function gpuMinutesOverTime(points: readonly GpuMinutesPoint[], opts: { title?: string; width?: number; height?: number } = {}): VegaLiteSpec {
  const values = points
    .filter((p) => finite(p.minutes) && finite(p.gpuMinutes))
    .map((p) => ({ minutes: p.minutes, gpuMinutes: p.gpuMinutes, series: p.series ?? "gpu-minutes" }));
  return {
    $schema: VEGA_LITE_V5_SCHEMA,
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 480,
    height: opts.height ?? 240,
    data: { name: "gpu", values },
    mark: { type: "line", interpolate: "step-after", point: true },
    encoding: {
      x: { field: "minutes", type: "quantitative", title: "wall-clock (minutes)" },
      y: { field: "gpuMinutes", type: "quantitative", title: "GPU-minutes (cumulative)" },
      color: { field: "series", type: "nominal", title: null },
      tooltip: [
        { field: "series", type: "nominal" },
        { field: "minutes", type: "quantitative", format: ".1f", title: "minutes" },
        { field: "gpuMinutes", type: "quantitative", format: ".1f", title: "GPU-minutes" },
      ],
    },
  };
}

export interface ComparisonPoint {
  method: string;
  bestLoss: number;
  gpuMinutes: number;
  runtimeMinutes?: number;
  gpus?: number;
  costRatio?: number;
  /** what the row ran on (default "gpu"); CPU rows are placed by deviceMinutes */
  device?: "gpu" | "cpu";
  /** GPU-minutes or CPU-minutes, by `device` (default gpuMinutes) */
  deviceMinutes?: number;
  /** GPUs or CPU slots, by `device` */
  devices?: number;
}

/**
 * The target a run should meet (the workshop's: within 1% of the grid's best
 * at ≤ 0.35 of its GPU-minutes): drawn as two dashed rules, so the points in
 * the lower-left corner are the ones that met it.
 */
export interface ComparisonTarget {
  /** best loss at or below this (e.g. 1.01 × the grid's best) */
  maxLoss: number;
  /** GPU-minutes at or below this (e.g. 0.35 × the grid's) */
  maxGpuMinutes: number;
  /** legend text for the rules; default "target" */
  label?: string;
}

export function comparisonChart(rows: readonly ComparisonPoint[], opts: { metric?: string; logX?: boolean; title?: string; width?: number; height?: number; target?: ComparisonTarget } = {}): VegaLiteSpec {
  const anyCpu = rows.some((r) => r.device === "cpu");
  if (anyCpu) return deviceChart(rows, opts);
  const values = rows.filter((r) => finite(r.bestLoss) && finite(r.gpuMinutes) && r.gpuMinutes > 0).map((r) => gpuOnly(r));
  const g = values.map((v) => v.gpuMinutes);
  // a log axis once the methods differ by more than 10x in cost
  const logX = opts.logX ?? (g.length > 1 && Math.max(...g) / Math.min(...g) > 10);
  const x = { field: "gpuMinutes", type: "quantitative", title: "GPU-minutes", scale: logX ? { type: "log" } : { zero: true } };
  const y = { field: "bestLoss", type: "quantitative", title: `best ${opts.metric ?? "eval loss"}`, scale: { zero: false } };
  const tooltip = [
    { field: "method", type: "nominal" },
    { field: "bestLoss", type: "quantitative", format: ".4g", title: `best ${opts.metric ?? "eval loss"}` },
    { field: "gpuMinutes", type: "quantitative", format: ".1f", title: "GPU-minutes" },
    ...(values.some((v) => v.runtimeMinutes != null) ? [{ field: "runtimeMinutes", type: "quantitative", format: ".1f", title: "runtime to best (min)" }] : []),
    ...(values.some((v) => v.gpus != null) ? [{ field: "gpus", type: "quantitative", title: "GPUs" }] : []),
    ...(values.some((v) => v.costRatio != null) ? [{ field: "costRatio", type: "quantitative", format: ".2f", title: "cost vs grid" }] : []),
  ];
  return {
    $schema: VEGA_LITE_V5_SCHEMA,
    title: opts.title ?? "best loss vs GPU-minutes",
    width: opts.width ?? 420,
    height: opts.height ?? 280,
    data: { name: "methods", values },
    layer: [
      { mark: { type: "point", filled: true, size: 120 }, encoding: { x, y, color: { field: "method", type: "nominal" }, tooltip } },
      { mark: { type: "text", dx: 8, align: "left", baseline: "middle" }, encoding: { x, y, text: { field: "method", type: "nominal" } } },
      ...(opts.target && finite(opts.target.maxLoss) && finite(opts.target.maxGpuMinutes) ? targetRules(opts.target) : []),
    ],
  };
}

function targetRules(t: ComparisonTarget): object[] {
  const label = t.label ?? "target";
  const rule = { type: "rule", strokeDash: [4, 4], color: "#888" };
  return [
    { data: { values: [{ bestLoss: t.maxLoss, label }] }, mark: rule, encoding: { y: { field: "bestLoss", type: "quantitative" } } },
    { data: { values: [{ gpuMinutes: t.maxGpuMinutes, label }] }, mark: rule, encoding: { x: { field: "gpuMinutes", type: "quantitative" } } },
    {
      data: { values: [{ gpuMinutes: t.maxGpuMinutes, bestLoss: t.maxLoss, label }] },
      mark: { type: "text", align: "right", baseline: "top", dx: -4, dy: 4, color: "#666" },
      encoding: { x: { field: "gpuMinutes", type: "quantitative" }, y: { field: "bestLoss", type: "quantitative" }, text: { field: "label", type: "nominal" } },
    },
  ];
}

/** A GPU point as before the device keys existed (the GPU-only chart's data is unchanged). */
function gpuOnly(r: ComparisonPoint): ComparisonPoint {
  const { device: _d, deviceMinutes: _m, devices: _n, ...rest } = r;
  return rest;
}

/**
 * With CPU rows: x is each row's own device-minutes. All CPU: "CPU-minutes".
 * Mixed: one panel per device (GPU-minutes and CPU-minutes never share an axis).
 */
function deviceChart(rows: readonly ComparisonPoint[], opts: { metric?: string; logX?: boolean; title?: string; width?: number; height?: number }): VegaLiteSpec {
  const values = rows
    .map((r) => ({ ...r, device: r.device ?? "gpu", deviceMinutes: r.deviceMinutes ?? r.gpuMinutes }))
    .filter((r) => finite(r.bestLoss) && finite(r.deviceMinutes) && r.deviceMinutes > 0);
  const kinds = [...new Set(values.map((v) => v.device))].sort();
  const mixed = kinds.length > 1;
  const unit = mixed ? "device-minutes" : kinds[0] === "gpu" ? "GPU-minutes" : "CPU-minutes";
  const g = values.map((v) => v.deviceMinutes);
  const logX = opts.logX ?? (!mixed && g.length > 1 && Math.max(...g) / Math.min(...g) > 10);
  const x = { field: "deviceMinutes", type: "quantitative", title: unit, scale: logX ? { type: "log" } : { zero: true } };
  const y = { field: "bestLoss", type: "quantitative", title: `best ${opts.metric ?? "eval loss"}`, scale: { zero: false } };
  const tooltip = [
    { field: "method", type: "nominal" },
    { field: "bestLoss", type: "quantitative", format: ".4g", title: `best ${opts.metric ?? "eval loss"}` },
    { field: "device", type: "nominal" },
    { field: "deviceMinutes", type: "quantitative", format: ".1f", title: unit },
    ...(values.some((v) => v.runtimeMinutes != null) ? [{ field: "runtimeMinutes", type: "quantitative", format: ".1f", title: "runtime to best (min)" }] : []),
    ...(values.some((v) => v.devices != null) ? [{ field: "devices", type: "quantitative", title: mixed ? "GPUs / CPU slots" : kinds[0] === "gpu" ? "GPUs" : "CPU slots" }] : []),
    ...(values.some((v) => v.costRatio != null) ? [{ field: "costRatio", type: "quantitative", format: ".2f", title: "cost vs grid (same device)" }] : []),
  ];
  const layer = [
    { mark: { type: "point", filled: true, size: 120 }, encoding: { x, y, color: { field: "method", type: "nominal" }, tooltip } },
    { mark: { type: "text", dx: 8, align: "left", baseline: "middle" }, encoding: { x, y, text: { field: "method", type: "nominal" } } },
  ];
  const base = {
    $schema: VEGA_LITE_V5_SCHEMA,
    title: opts.title ?? `best loss vs ${unit}`,
    data: { name: "methods", values },
  };
  if (!mixed) return { ...base, width: opts.width ?? 420, height: opts.height ?? 280, layer };
  return {
    ...base,
    // one panel per device, each with its own x axis: the minutes are different costs
    facet: { column: { field: "device", type: "nominal", title: "device", sort: kinds } },
    spec: { width: Math.round((opts.width ?? 420) / 2), height: opts.height ?? 280, layer },
    resolve: { scale: { x: "independent" } },
  };
}
