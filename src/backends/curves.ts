/**
 * Recorded learning curves (design.md §4): parsing the CSV and answering a
 * trial's configuration with the nearest recorded one.
 *
 * CSV: hyperparameter columns named as in `space`, then `t`, the metric
 * column, optionally further metric columns (e.g. `train_loss`, replayed as
 * extra report keys), then `time_s` (seconds that step took); columns after
 * `time_s` (e.g. `trial`) are ignored. One row per (configuration, t).
 * "nan" (or an empty cell) in a metric column is a diverged step.
 *
 * Nearest configuration: choices/grids must match exactly; numeric domains
 * are compared by distance normalised to the domain's range, in log space
 * for loguniform and linearly for uniform/int; the squared distances add up.
 * Ties go to the configuration that comes first in the file.
 */
import * as fs from "node:fs";
import type { DomainSpec, HParams, SpaceSpec } from "../config/types";

export type CurveValue = number | string | boolean;

export interface CurvePoint {
  t: number;
  value: number;
  time_s: number;
  /** further metric columns of the row (between the metric and time_s), NaN for "nan"/empty */
  extra?: Record<string, number>;
}

export interface RecordedConfig {
  /** position in the file (first row) */
  index: number;
  values: Record<string, CurveValue>;
  /** points sorted by t; t = 1..maxT without gaps (checked on load). */
  points: CurvePoint[];
  maxT: number;
}

export interface CurveTable {
  source: string;
  keys: string[];
  metric: string;
  configs: RecordedConfig[];
}

/** A CSV line split on commas, honouring "quoted, cells" with "" escapes. */
function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"') q = true;
    else if (c === ",") {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function parseCell(s: string): CurveValue {
  const v = s.trim();
  if (v === "true") return true;
  if (v === "false") return false;
  if (v !== "" && Number.isFinite(Number(v))) return Number(v);
  return v;
}

function parseNumber(s: string, what: string): number {
  const v = s.trim().toLowerCase();
  if (v === "" || v === "nan" || v === "null") return NaN;
  const n = Number(v);
  if (Number.isNaN(n)) throw new Error(`${what}: not a number: ${JSON.stringify(s)}`);
  return n;
}

export function parseCurvesCsv(text: string, source = "curves.csv"): CurveTable {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length < 2) throw new Error(`${source}: needs a header and at least one row`);
  const header = splitCsvLine(lines[0]).map((h) => h.trim());
  const ti = header.indexOf("t");
  const si = header.indexOf("time_s");
  if (ti < 0) throw new Error(`${source}: no "t" column (header: ${header.join(",")})`);
  if (si < 0) throw new Error(`${source}: no "time_s" column (header: ${header.join(",")})`);
  if (si < ti + 2) throw new Error(`${source}: columns must be <hyperparameters...>, t, <metric>, [<more metrics>...], time_s (header: ${header.join(",")})`);
  const keys = header.slice(0, ti);
  const metric = header[ti + 1];
  const extraCols = header.slice(ti + 2, si);
  // report keys the replay backend writes itself
  for (const k of extraCols) {
    if (["t", "time_total_s", "checkpoint", "trial_id", "diverged", "preempted"].includes(k) || keys.includes(k)) {
      throw new Error(`${source}: metric column ${JSON.stringify(k)} clashes with a report key or hyperparameter; rename it (header: ${header.join(",")})`);
    }
  }
  const byKey = new Map<string, RecordedConfig>();
  const configs: RecordedConfig[] = [];
  for (let r = 1; r < lines.length; r++) {
    const cells = splitCsvLine(lines[r]);
    const where = `${source}:${r + 1}`;
    if (cells.length !== header.length) throw new Error(`${where}: ${cells.length} cells, header has ${header.length}`);
    const values: Record<string, CurveValue> = {};
    keys.forEach((k, i) => (values[k] = parseCell(cells[i])));
    const t = parseNumber(cells[ti], `${where} t`);
    if (!Number.isInteger(t) || t < 1) throw new Error(`${where}: t must be an integer >= 1, got ${cells[ti]}`);
    const value = parseNumber(cells[ti + 1], `${where} ${metric}`);
    const time_s = parseNumber(cells[si], `${where} time_s`);
    if (!(time_s >= 0)) throw new Error(`${where}: time_s must be a number >= 0, got ${cells[si]}`);
    let extra: Record<string, number> | undefined;
    if (extraCols.length) {
      extra = {};
      extraCols.forEach((k, j) => (extra![k] = parseNumber(cells[ti + 2 + j], `${where} ${k}`)));
    }
    const ck = JSON.stringify(keys.map((k) => values[k]));
    let c = byKey.get(ck);
    if (!c) {
      c = { index: configs.length, values, points: [], maxT: 0 };
      byKey.set(ck, c);
      configs.push(c);
    }
    c.points.push(extra ? { t, value, time_s, extra } : { t, value, time_s });
  }
  for (const c of configs) {
    c.points.sort((a, b) => a.t - b.t);
    c.points.forEach((p, i) => {
      if (p.t !== i + 1) throw new Error(`${source}: configuration ${JSON.stringify(c.values)} has t ${c.points.map((q) => q.t).join(",")}; expected 1..n without gaps or repeats`);
    });
    c.maxT = c.points.length;
  }
  return { source, keys, metric, configs };
}

export function loadCurves(file: string): CurveTable {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`backend.curves: cannot read ${file}: ${(e as Error).message}`);
  }
  return parseCurvesCsv(text, file);
}

function sameValue(a: CurveValue, b: CurveValue): boolean {
  if (typeof a === "number" && typeof b === "number") return a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
  return String(a) === String(b);
}

/** Check that the table can answer trials of `space` (every space key recorded, metric matches). */
export function checkCurvesForSpace(table: CurveTable, space: SpaceSpec, metric: string): void {
  if (table.metric !== metric) {
    throw new Error(`backend.curves: ${table.source} records "${table.metric}" but the experiment's metric is "${metric}"`);
  }
  const missing = Object.keys(space).filter((k) => !table.keys.includes(k));
  if (missing.length) {
    throw new Error(`backend.curves: ${table.source} has no column for space key(s) ${missing.join(", ")} (columns: ${table.keys.join(", ")})`);
  }
}

/** Normalised distance along one dimension; null when the values are incompatible. */
function distance(domain: DomainSpec | undefined, want: CurveValue, have: CurveValue, range: [number, number] | null): number | null {
  if (domain && ("choice" in domain || "grid" in domain)) return sameValue(want, have) ? 0 : null;
  if (typeof want !== "number" || typeof have !== "number") return sameValue(want, have) ? 0 : null;
  if (domain && "loguniform" in domain) {
    const [lo, hi] = domain.loguniform;
    if (want <= 0 || have <= 0) return null;
    const span = Math.log(hi) - Math.log(lo) || 1;
    return (Math.log(want) - Math.log(have)) / span;
  }
  let lo: number, hi: number;
  if (domain && "uniform" in domain) [lo, hi] = domain.uniform;
  else if (domain && "int" in domain) [lo, hi] = domain.int;
  else if (range) [lo, hi] = range;
  else return want === have ? 0 : null;
  return (want - have) / (hi - lo || 1);
}

export class NearestCurves {
  private readonly cache = new Map<string, RecordedConfig | string>();
  private readonly ranges = new Map<string, [number, number] | null>();

  constructor(readonly table: CurveTable, readonly space: SpaceSpec) {
    for (const k of table.keys) {
      const nums = table.configs.map((c) => c.values[k]).filter((v): v is number => typeof v === "number");
      this.ranges.set(k, nums.length ? [Math.min(...nums), Math.max(...nums)] : null);
    }
  }

  /** The nearest recorded configuration, or an error message. */
  find(config: HParams): RecordedConfig | string {
    const keys = this.table.keys.filter((k) => k in config);
    const ck = JSON.stringify(keys.map((k) => [k, config[k]]));
    const hit = this.cache.get(ck);
    if (hit !== undefined) return hit;
    let best: RecordedConfig | null = null;
    let bestD = Infinity;
    const blocked = new Set<string>();
    for (const c of this.table.configs) {
      let d = 0;
      let ok = true;
      for (const k of keys) {
        const x = distance(this.space[k], config[k], c.values[k], this.ranges.get(k) ?? null);
        if (x === null) {
          ok = false;
          blocked.add(k);
          break;
        }
        d += x * x;
      }
      if (ok && d < bestD) {
        best = c;
        bestD = d;
      }
    }
    const res =
      best ??
      `no recorded curve in ${this.table.source} matches ${JSON.stringify(config)}` +
        (blocked.size ? ` (no exact match for ${[...blocked].join(", ")}; recorded: ${[...blocked].map((k) => `${k} ∈ {${[...new Set(this.table.configs.map((c) => String(c.values[k])))].join(", ")}}`).join("; ")})` : "");
    this.cache.set(ck, res);
    return res;
  }
}
