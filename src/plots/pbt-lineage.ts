/**
 * PBT lineage: which trial copied which (an arrow from the donor at the
 * checkpoint it gave to the receiver at the time it restarted), and below,
 * one panel per hyperparameter showing how each trial's value changed over t
 * (steps: a config holds until the next exploit). Learning-rate-like names
 * get a log axis.
 */
import type { HParams } from "../config/types";
import { VEGA_LITE_V5_SCHEMA, finite, looksLogScale, type VegaLiteSpec } from "./spec";

export interface ConfigChange {
  trialId: string;
  /** t from which `config` is in effect */
  t: number;
  config: HParams;
}

export interface LineageEdge {
  trialId: string;
  t: number;
  donor: string;
  donorT: number;
}

export interface PbtLineageData {
  configs: readonly ConfigChange[];
  exploits: readonly LineageEdge[];
  /** extend every trial's last config to this t */
  maxT?: number;
}

export interface PbtLineageOptions {
  /** hyperparameters to draw (default: every key seen) */
  params?: string[];
  /** hyperparameters drawn on a log axis (default: lr-like names) */
  logParams?: string[];
  width?: number;
  title?: string;
}

export function pbtLineage(data: PbtLineageData, opts: PbtLineageOptions = {}): VegaLiteSpec {
  const width = opts.width ?? 560;
  const trials = [...new Set(data.configs.map((c) => c.trialId))].sort();
  const sorted = [...data.configs].sort((a, b) => (a.trialId === b.trialId ? a.t - b.t : a.trialId < b.trialId ? -1 : 1));
  const params = opts.params ?? [...new Set(sorted.flatMap((c) => Object.keys(c.config)))].sort();
  const isLog = (p: string) => (opts.logParams ? opts.logParams.includes(p) : looksLogScale(p));

  // long form rows: one per (trial, t, param); a final row at maxT closes the step
  const rows: Array<{ trialId: string; t: number; param: string; value: number | string | boolean }> = [];
  const lifetimes: Array<{ trialId: string; t: number; t2: number }> = [];
  for (const id of trials) {
    const changes = sorted.filter((c) => c.trialId === id);
    for (const c of changes) for (const p of params) if (p in c.config) rows.push({ trialId: id, t: c.t, param: p, value: c.config[p] });
    const last = changes[changes.length - 1];
    const end = Math.max(data.maxT ?? last.t, last.t);
    if (end > last.t) for (const p of params) if (p in last.config) rows.push({ trialId: id, t: end, param: p, value: last.config[p] });
    lifetimes.push({ trialId: id, t: changes[0].t, t2: end });
  }
  const edges = data.exploits.map((e) => ({ ...e }));
  const many = trials.length > 12;
  const trialColor = { field: "trialId", type: "nominal", title: "trial", ...(many ? { legend: null } : {}) };

  const lineage = {
    title: "who copied whom",
    width,
    height: Math.max(120, Math.min(18 * trials.length, 480)),
    layer: [
      {
        data: { name: "lifetimes", values: lifetimes },
        mark: { type: "rule", color: "#cccccc", strokeWidth: 2 },
        encoding: {
          y: { field: "trialId", type: "nominal", title: "trial", sort: trials },
          x: { field: "t", type: "quantitative", title: "t (epoch)" },
          x2: { field: "t2" },
        },
      },
      {
        data: { name: "edges", values: edges },
        mark: { type: "rule", color: "#f58518", strokeWidth: 1.5 },
        encoding: {
          y: { field: "donor", type: "nominal", sort: trials },
          y2: { field: "trialId" },
          x: { field: "donorT", type: "quantitative" },
          x2: { field: "t" },
          tooltip: [
            { field: "trialId", type: "nominal", title: "trial" },
            { field: "donor", type: "nominal", title: "copied from" },
            { field: "donorT", type: "quantitative", title: "donor t" },
            { field: "t", type: "quantitative" },
          ],
        },
      },
      {
        data: { name: "edges", values: edges },
        mark: { type: "point", shape: "triangle-right", filled: true, color: "#f58518", size: 60 },
        encoding: {
          y: { field: "trialId", type: "nominal", sort: trials },
          x: { field: "t", type: "quantitative" },
          tooltip: [
            { field: "trialId", type: "nominal", title: "trial" },
            { field: "donor", type: "nominal", title: "copied from" },
            { field: "t", type: "quantitative" },
          ],
        },
      },
    ],
  };

  const panels = params.map((p) => {
    const numeric = rows.filter((r) => r.param === p).every((r) => finite(r.value));
    return {
      title: p,
      width,
      height: 140,
      data: { name: "configs" },
      transform: [{ filter: { field: "param", equal: p } }],
      mark: numeric ? { type: "line", interpolate: "step-after", point: true } : { type: "point", filled: true },
      encoding: {
        x: { field: "t", type: "quantitative", title: "t (epoch)" },
        y: numeric
          ? { field: "value", type: "quantitative", title: p, scale: isLog(p) ? { type: "log" } : { zero: false } }
          : { field: "value", type: "nominal", title: p },
        color: trialColor,
        ...(numeric ? { detail: { field: "trialId", type: "nominal" } } : {}),
        tooltip: [
          { field: "trialId", type: "nominal", title: "trial" },
          { field: "t", type: "quantitative" },
          { field: "value", type: numeric ? "quantitative" : "nominal", title: p, ...(numeric ? { format: ".4g" } : {}) },
        ],
      },
    };
  });

  return {
    $schema: VEGA_LITE_V5_SCHEMA,
    ...(opts.title ? { title: opts.title } : {}),
    datasets: { configs: rows },
    vconcat: [lineage, ...panels],
    resolve: { scale: { color: "independent" } },
  };
}
