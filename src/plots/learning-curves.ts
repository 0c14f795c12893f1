/**
 * Learning curves: metric vs t, one line per trial (per segment: a PBT
 * receiver's line restarts where it took a donor's weights). Each trial's
 * latest report is a dot, so a trial with one report is visible; stopped
 * trials are dimmed with a cross where they stopped, rung rules mark
 * ASHA/HyperBand decision points, a PBT exploit is a triangle at the donor's
 * point with a dashed connector to the receiver's continuation (the
 * lineage), and the best trial is drawn thick on top. A legend names the
 * marks.
 *
 * The layer structure and dataset names ("points", "rungs", "heads",
 * "stops", "exploits", "lineage") are stable: the live plot's front-end
 * streams into them with vega changesets, so every dataset exists even when
 * empty. Order-dependent marks come from curve-marks.ts, which the front-end
 * runs too.
 */
import { STATUS_COLORS, VEGA_LITE_V5_SCHEMA, finite, type VegaLiteSpec } from "./spec";
import { exploitPositions, latestIndex, lineageMarks, segmentIds, type ExploitMark, type MarkPoint } from "./curve-marks";

export type { ExploitMark, ExploitRow, LineageRow } from "./curve-marks";

export type CurvePoint = MarkPoint;

/** Legend entries of the marks (a shape each; the lineage connector is dashed). */
export const MARK_LEGEND = { latest: "latest report", stopped: "stopped at rung", stoppedNoRungs: "stopped", exploit: "exploit: copied weights" } as const;
export const LINEAGE_LEGEND = "lineage: donor → receiver";

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
  /** exploits in arrival order; `index` (points before it in `data`) places the receiver's continuation exactly */
  exploits?: ExploitMark[];
  /** show the exploit/lineage legend entries even before any exploit (PBT); default: when exploits are given */
  lineage?: boolean;
  logY?: boolean;
  title?: string;
  width?: number;
  height?: number;
}

export const STATUS_DOMAIN = ["running", "completed", "paused", "stopped", "failed", "best"];

export interface CurveRow extends CurvePoint {
  status: string;
  /** the line this point belongs to: `<trialId>#<exploits before it>` */
  segment: string;
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
  // exploit positions refer to `data` as given: keep the filtered-out points' positions in step
  const kept: CurvePoint[] = [];
  const keptBefore: number[] = [];
  data.forEach((p) => {
    keptBefore.push(kept.length);
    if (finite(p.t) && finite(p.value) && (!opts.logY || p.value > 0)) kept.push({ trialId: p.trialId, t: p.t, value: p.value });
  });
  const exploitsIn = (opts.exploits ?? []).map((e) => {
    const index = typeof e.index === "number" ? (e.index >= data.length ? kept.length : keptBefore[e.index]) : undefined;
    return { trialId: e.trialId, t: e.t, donor: e.donor, ...(e.donorT !== undefined ? { donorT: e.donorT } : {}), ...(index !== undefined ? { index } : {}) };
  });
  const positions = exploitPositions(kept, exploitsIn);
  const segments = segmentIds(kept, exploitsIn, positions);
  const points: CurveRow[] = kept.map((p, i) => ({ ...p, status: trialStatus(p.trialId, opts), segment: segments[i] }));

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
  const heads = [...latestIndex(points).values()].map((i) => ({ trialId: points[i].trialId, t: points[i].t, value: points[i].value, status: points[i].status }));
  const { exploits, lineage } = lineageMarks(points, exploitsIn, positions);
  const rungs = [...new Set(opts.rungs ?? [])].filter(finite).sort((a, b) => a - b).map((t) => ({ t }));

  const yScale: Record<string, unknown> = opts.logY ? { type: "log" } : { zero: false };
  const x = { field: "t", type: "quantitative", title: "t (epoch)", axis: { tickMinStep: 1 } };
  const y = { field: "value", type: "quantitative", title: metric, scale: yScale };
  const tooltip = [
    { field: "trialId", type: "nominal", title: "trial" },
    { field: "t", type: "quantitative" },
    { field: "value", type: "quantitative", title: metric, format: ".4g" },
  ];
  const statusColor = {
    field: "status",
    type: "nominal",
    title: "status",
    scale: { domain: STATUS_DOMAIN, range: STATUS_DOMAIN.map((s) => STATUS_COLORS[s]) },
  };
  // the marks legend lists what this plot can show: stops always (a user may stop any trial; "at rung" where
  // there are rungs), the exploit for PBT
  const stopWord = rungs.length > 0 ? MARK_LEGEND.stopped : MARK_LEGEND.stoppedNoRungs;
  const showLineage = opts.lineage ?? exploitsIn.length > 0;
  const shapeDomain: string[] = [MARK_LEGEND.latest, stopWord, ...(showLineage ? [MARK_LEGEND.exploit] : [])];
  const shapeRange = shapeDomain.map((d) => (d === MARK_LEGEND.latest ? "circle" : d === stopWord ? "cross" : "triangle-up"));
  // each mark layer names itself in a computed field (a `datum` shape cannot carry a scale in the v5 schema)
  const named = (d: string, as = "mark") => [{ calculate: JSON.stringify(d), as }];
  const shape = { field: "mark", type: "nominal", title: "marks", scale: { domain: shapeDomain, range: shapeRange }, legend: { labelLimit: 240 } };

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
          detail: { field: "segment", type: "nominal" },
          order: { field: "t", type: "quantitative" },
          color: statusColor,
          // same field as the colour, so vega-lite merges these into the status legend (null here would hide it)
          opacity: {
            field: "status",
            type: "ordinal",
            scale: { domain: STATUS_DOMAIN, range: STATUS_DOMAIN.map((s) => (s === "stopped" ? 0.35 : s === "best" ? 1 : 0.8)) },
          },
          strokeWidth: {
            field: "status",
            type: "ordinal",
            scale: { domain: STATUS_DOMAIN, range: STATUS_DOMAIN.map((s) => (s === "best" ? 3 : 1.5)) },
          },
          tooltip: [...tooltip, { field: "status", type: "nominal" }],
        },
      },
      {
        name: "best",
        transform: [{ filter: "datum.status === 'best'" }],
        mark: { type: "line", color: STATUS_COLORS.best, strokeWidth: 3 },
        encoding: { x, y, detail: { field: "segment", type: "nominal" }, order: { field: "t", type: "quantitative" }, tooltip },
      },
      {
        name: "lineage",
        data: { name: "lineage", values: lineage },
        // its own field: on "mark" vega-lite would merge this legend into the shapes' one
        transform: named(LINEAGE_LEGEND, "connector"),
        mark: { type: "rule", color: "#f58518", strokeWidth: 1.5 },
        encoding: {
          x,
          y,
          x2: { field: "t2" },
          y2: { field: "value2" },
          strokeDash: { field: "connector", type: "nominal", title: null, scale: { domain: [LINEAGE_LEGEND], range: [[4, 3]] }, legend: showLineage ? { labelLimit: 240 } : null },
          tooltip: [
            { field: "trialId", type: "nominal", title: "receiver" },
            { field: "donor", type: "nominal", title: "copied from" },
            { field: "t", type: "quantitative", title: "donor t" },
            { field: "t2", type: "quantitative", title: "receiver continues at t" },
          ],
        },
      },
      {
        name: "heads",
        data: { name: "heads", values: heads },
        transform: named(MARK_LEGEND.latest),
        mark: { type: "point", filled: true, size: 36, opacity: 1 },
        encoding: { x, y, color: statusColor, shape, tooltip: [...tooltip, { field: "status", type: "nominal" }] },
      },
      {
        name: "stops",
        data: { name: "stops", values: stops },
        transform: named(stopWord),
        mark: { type: "point", filled: true, size: 60, color: "#666666" },
        encoding: { x, y, shape, tooltip: [...tooltip.slice(0, 2), { field: "value", type: "quantitative", title: `${metric} at stop`, format: ".4g" }] },
      },
      {
        name: "exploits",
        data: { name: "exploits", values: exploits },
        transform: named(MARK_LEGEND.exploit),
        mark: { type: "point", filled: true, size: 70, color: "#f58518" },
        encoding: {
          x,
          y,
          shape,
          tooltip: [
            { field: "donor", type: "nominal", title: "weights of" },
            { field: "t", type: "quantitative", title: "donor t" },
            { field: "value", type: "quantitative", title: metric, format: ".4g" },
            { field: "trialId", type: "nominal", title: "copied by" },
            { field: "exploitT", type: "quantitative", title: "at its t" },
          ],
        },
      },
    ],
  };
}
