/**
 * Learning curves: metric vs t, one line per trial. Stopped trials are dimmed
 * with a cross where they stopped, rung rules mark ASHA/HyperBand decision
 * points, PBT exploits get a triangle, the best trial is drawn thick on top.
 *
 * The layer structure and dataset names ("points", "stops", "rungs",
 * "exploits") are stable: the live plot's front-end streams into them with
 * vega changesets, so every dataset exists even when empty.
 */
import { STATUS_COLORS, VEGA_LITE_V5_SCHEMA, finite, type VegaLiteSpec } from "./spec";

export interface CurvePoint {
  trialId: string;
  t: number;
  value: number;
}

export interface ExploitMark {
  trialId: string;
  t: number;
  donor: string;
}

export interface LearningCurveOptions {
  /** axis title; default "metric" */
  metric?: string;
  /** rung / milestone t values */
  rungs?: number[];
  /** stopped trials: ids (stopped at their last point) or id → t */
  stopped?: string[] | Record<string, number>;
  /** trial id drawn highlighted */
  best?: string | null;
  /** other states by trial id (running, completed, paused, failed) for colour */
  states?: Record<string, string>;
  exploits?: ExploitMark[];
  logY?: boolean;
  title?: string;
  width?: number;
  height?: number;
}

export const STATUS_DOMAIN = ["running", "completed", "paused", "stopped", "failed", "best"];

export interface CurveRow extends CurvePoint {
  status: string;
}

/** The status a trial's points carry (best wins over stopped wins over state). */
export function trialStatus(trialId: string, opts: Pick<LearningCurveOptions, "best" | "stopped" | "states">): string {
  if (opts.best != null && trialId === opts.best) return "best";
  const stopped = opts.stopped;
  if (stopped && (Array.isArray(stopped) ? stopped.includes(trialId) : trialId in stopped)) return "stopped";
  return opts.states?.[trialId] ?? "running";
}

export function learningCurves(data: readonly CurvePoint[], opts: LearningCurveOptions = {}): VegaLiteSpec {
  const metric = opts.metric ?? "metric";
  const points: CurveRow[] = data
    .filter((p) => finite(p.t) && finite(p.value) && (!opts.logY || p.value > 0))
    .map((p) => ({ trialId: p.trialId, t: p.t, value: p.value, status: trialStatus(p.trialId, opts) }));

  // last point per trial, to place stop markers and exploit markers on the curve
  const lastByTrial = new Map<string, CurveRow>();
  const byTrialT = new Map<string, number>();
  for (const p of points) {
    const prev = lastByTrial.get(p.trialId);
    if (!prev || p.t >= prev.t) lastByTrial.set(p.trialId, p);
    byTrialT.set(`${p.trialId}@${p.t}`, p.value);
  }
  const stops: CurvePoint[] = [];
  const stopped = opts.stopped ?? [];
  const stopEntries: Array<[string, number | undefined]> = Array.isArray(stopped)
    ? stopped.map((id) => [id, undefined])
    : Object.entries(stopped);
  for (const [id, t] of stopEntries) {
    const last = lastByTrial.get(id);
    if (!last) continue;
    const at = t ?? last.t;
    const v = byTrialT.get(`${id}@${at}`) ?? last.value;
    stops.push({ trialId: id, t: at, value: v });
  }
  const exploits = (opts.exploits ?? [])
    .map((e) => ({ trialId: e.trialId, t: e.t, donor: e.donor, value: byTrialT.get(`${e.trialId}@${e.t}`) ?? byTrialT.get(`${e.donor}@${e.t}`) }))
    .filter((e): e is ExploitMark & { value: number } => finite(e.value));
  const rungs = [...new Set(opts.rungs ?? [])].filter(finite).sort((a, b) => a - b).map((t) => ({ t }));

  const yScale: Record<string, unknown> = opts.logY ? { type: "log" } : { zero: false };
  const x = { field: "t", type: "quantitative", title: "t (epoch)", axis: { tickMinStep: 1 } };
  const y = { field: "value", type: "quantitative", title: metric, scale: yScale };
  const tooltip = [
    { field: "trialId", type: "nominal", title: "trial" },
    { field: "t", type: "quantitative" },
    { field: "value", type: "quantitative", title: metric, format: ".4g" },
  ];

  return {
    $schema: VEGA_LITE_V5_SCHEMA,
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 560,
    height: opts.height ?? 320,
    data: { name: "points", values: points },
    layer: [
      {
        name: "rungs",
        data: { name: "rungs", values: rungs },
        mark: { type: "rule", strokeDash: [4, 4], color: "#888888" },
        encoding: { x: { field: "t", type: "quantitative" }, tooltip: [{ field: "t", type: "quantitative", title: "rung" }] },
      },
      {
        name: "curves",
        mark: { type: "line", interpolate: "linear", point: false },
        encoding: {
          x,
          y,
          detail: { field: "trialId", type: "nominal" },
          order: { field: "t", type: "quantitative" },
          color: {
            field: "status",
            type: "nominal",
            title: "status",
            scale: { domain: STATUS_DOMAIN, range: STATUS_DOMAIN.map((s) => STATUS_COLORS[s]) },
          },
          opacity: {
            field: "status",
            type: "ordinal",
            legend: null,
            scale: { domain: STATUS_DOMAIN, range: STATUS_DOMAIN.map((s) => (s === "stopped" ? 0.35 : s === "best" ? 1 : 0.8)) },
          },
          strokeWidth: {
            field: "status",
            type: "ordinal",
            legend: null,
            scale: { domain: STATUS_DOMAIN, range: STATUS_DOMAIN.map((s) => (s === "best" ? 3 : 1.5)) },
          },
          tooltip: [...tooltip, { field: "status", type: "nominal" }],
        },
      },
      {
        name: "best",
        transform: [{ filter: "datum.status === 'best'" }],
        mark: { type: "line", color: STATUS_COLORS.best, strokeWidth: 3 },
        encoding: { x, y, order: { field: "t", type: "quantitative" }, tooltip },
      },
      {
        name: "stops",
        data: { name: "stops", values: stops },
        mark: { type: "point", shape: "cross", filled: true, size: 60, color: "#666666" },
        encoding: { x, y, tooltip: [...tooltip.slice(0, 2), { field: "value", type: "quantitative", title: `${metric} at stop`, format: ".4g" }] },
      },
      {
        name: "exploits",
        data: { name: "exploits", values: exploits },
        mark: { type: "point", shape: "triangle-up", filled: true, size: 70, color: "#f58518" },
        encoding: {
          x,
          y,
          tooltip: [...tooltip, { field: "donor", type: "nominal", title: "copied from" }],
        },
      },
    ],
  };
}
