/**
 * Search-space domains: sampling with a seeded Rng, membership checks,
 * the [0,1]-vector encoding used by model-based searchers (BOHB's KDE), and
 * the grid cross product.
 *
 * Encoding (the ConfigSpace `get_array()` convention HpBandSter relies on):
 * - loguniform [lo,hi]: (ln x − ln lo)/(ln hi − ln lo), i.e. normalised in log space;
 * - uniform [lo,hi]: (x − lo)/(hi − lo);
 * - int [lo,hi] (both inclusive): continuous in [0,1], each integer owning an
 *   equal slice: (x − lo + 0.5)/(hi − lo + 1); decoding rounds back;
 * - choice / grid: the index of the value in the declared (ordered) list.
 */
import type { DomainSpec, HParams, SpaceSpec } from "../config/types";
import type { Rng } from "./rng";

export type Value = number | string | boolean;

export type Domain =
  | { type: "loguniform"; lo: number; hi: number }
  | { type: "uniform"; lo: number; hi: number }
  | { type: "int"; lo: number; hi: number }
  | { type: "choice"; values: Value[] }
  | { type: "grid"; values: Value[] };

export function toDomain(spec: DomainSpec): Domain {
  if ("loguniform" in spec) {
    const [lo, hi] = spec.loguniform;
    // parseExperiment refuses these too; this guards spaces built without it (every draw would be exp(−∞) = 0)
    if (!(lo > 0) || !(hi > lo)) throw new Error(`loguniform: got [${lo}, ${hi}]; expected 0 < lower < upper (a log-uniform range samples ln x; use uniform for a range that includes 0)`);
    return { type: "loguniform", lo, hi };
  }
  if ("uniform" in spec) return { type: "uniform", lo: spec.uniform[0], hi: spec.uniform[1] };
  if ("int" in spec) return { type: "int", lo: spec.int[0], hi: spec.int[1] };
  if ("choice" in spec) return { type: "choice", values: [...spec.choice] };
  return { type: "grid", values: [...spec.grid] };
}

/** Parsed space; keys keep their declaration order (JS object key order). */
export type Space = Array<[string, Domain]>;
export function toSpace(spec: SpaceSpec): Space {
  return Object.keys(spec).map((k) => [k, toDomain(spec[k])]);
}

export function isCategorical(d: Domain): d is Extract<Domain, { values: Value[] }> {
  return d.type === "choice" || d.type === "grid";
}

/** Number of categories (categorical) or 0 (continuous), as HpBandSter's vartypes. */
export function levels(d: Domain): number {
  return isCategorical(d) ? d.values.length : 0;
}

export function sample(d: Domain, rng: Rng): Value {
  switch (d.type) {
    case "loguniform":
      return Math.exp(rng.uniform(Math.log(d.lo), Math.log(d.hi)));
    case "uniform":
      return rng.uniform(d.lo, d.hi);
    case "int":
      return d.lo + rng.int(d.hi - d.lo + 1);
    default:
      return rng.pick(d.values);
  }
}

export function sampleSpace(space: Space, rng: Rng): HParams {
  const out: HParams = {};
  for (const [k, d] of space) out[k] = sample(d, rng);
  return out;
}

/** Whether `v` is a legal value of the domain (bounds inclusive). */
export function contains(d: Domain, v: unknown): boolean {
  switch (d.type) {
    case "loguniform":
    case "uniform":
      return typeof v === "number" && Number.isFinite(v) && v >= d.lo && v <= d.hi;
    case "int":
      return typeof v === "number" && Number.isInteger(v) && v >= d.lo && v <= d.hi;
    default:
      return d.values.some((x) => x === v);
  }
}

export function indexOf(d: Extract<Domain, { values: Value[] }>, v: unknown): number {
  return d.values.findIndex((x) => x === v);
}

export function encode(d: Domain, v: Value): number {
  switch (d.type) {
    case "loguniform":
      return (Math.log(v as number) - Math.log(d.lo)) / (Math.log(d.hi) - Math.log(d.lo));
    case "uniform":
      return (v as number - d.lo) / (d.hi - d.lo);
    case "int":
      return (v as number - d.lo + 0.5) / (d.hi - d.lo + 1);
    default: {
      const i = indexOf(d, v);
      if (i < 0) throw new Error(`value ${JSON.stringify(v)} is not one of ${JSON.stringify(d.values)}`);
      return i;
    }
  }
}

/** Inverse of encode; clamps continuous inputs into [0,1] and rounds indices. */
export function decode(d: Domain, x: number): Value {
  const u = Math.min(1, Math.max(0, x));
  switch (d.type) {
    case "loguniform":
      return clampNum(Math.exp(Math.log(d.lo) + u * (Math.log(d.hi) - Math.log(d.lo))), d.lo, d.hi);
    case "uniform":
      return clampNum(d.lo + u * (d.hi - d.lo), d.lo, d.hi);
    case "int":
      return clampNum(Math.round(d.lo - 0.5 + u * (d.hi - d.lo + 1)), d.lo, d.hi);
    default: {
      const i = Math.min(d.values.length - 1, Math.max(0, Math.round(x)));
      return d.values[i];
    }
  }
}

function clampNum(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

export function encodeConfig(space: Space, config: HParams): number[] {
  return space.map(([k, d]) => encode(d, config[k]));
}
export function decodeVector(space: Space, vec: readonly number[]): HParams {
  const out: HParams = {};
  space.forEach(([k, d], i) => (out[k] = decode(d, vec[i])));
  return out;
}

/** Clamp a (possibly perturbed) value into its domain: bounds, integer rounding. */
export function clampToDomain(d: Domain, v: number): Value {
  switch (d.type) {
    case "loguniform":
    case "uniform":
      return clampNum(v, d.lo, d.hi);
    case "int":
      return clampNum(Math.round(v), d.lo, d.hi);
    default:
      throw new Error("clampToDomain: categorical domains are shifted, not clamped");
  }
}

/**
 * The grid: cross product over the categorical (`grid` and `choice`)
 * dimensions, keys in declaration order, the LAST key varying fastest
 * (like nested for-loops written in declaration order, and like
 * itertools.product). Non-categorical dimensions are not allowed here; the
 * config schema refuses them for the grid method.
 */
export function gridPoints(space: Space): HParams[] {
  let out: HParams[] = [{}];
  for (const [k, d] of space) {
    if (!isCategorical(d)) throw new Error(`grid: dimension ${k} is ${d.type}, not grid/choice`);
    const next: HParams[] = [];
    for (const p of out) for (const v of d.values) next.push({ ...p, [k]: v });
    out = next;
  }
  return out;
}

export function gridSize(space: Space): number {
  return space.reduce((n, [, d]) => n * (isCategorical(d) ? d.values.length : 1), 1);
}
