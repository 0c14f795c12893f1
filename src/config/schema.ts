/**
 * The experiment config schema (design.md contract 1), with zod 4.
 *
 * One entry point, `parseExperiment(input)`, serves notebook cells and
 * `tunelab run FILE`: it fills in the defaults of docs/schedulers.md, refuses
 * unknown keys, checks the cross-field rules, and throws a `ConfigError` whose
 * message lists every problem as `<path>: got <value>; <what is accepted>`.
 *
 * Defaults decided here (and why):
 * - `trainer.gpusPerTrial`: 0 for the local backend without `gpus` (the
 *   embedded small model trains on CPU), otherwise 1 (SLURM jobs, replayed
 *   GPU accounting, local with GPU ids).
 * - `trainer.epochs` defaults to 5 (the workshop); when only `method.maxT` is
 *   given, epochs = maxT. `method.maxT` defaults to `trainer.epochs`.
 * - `samples` defaults to 12 (the workshop's num_samples); for the grid
 *   method to the number of grid points.
 * - `seed` defaults to 0, so a run without a seed is still reproducible.
 * - `space` dimensions of kind `grid` are only accepted by the grid method;
 *   sampled methods use `choice` (they have no cross product to expand).
 */
import { z } from "zod";
import { evalBudget } from "./eval-every";
import type { BackendSpec, DomainSpec, ExperimentConfig, MethodSpec, SearcherSpec, SpaceSpec, TrainerSpec } from "./types";

export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`invalid experiment config:\n  ${issues.join("\n  ")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** A strict object whose unknown-key error lists the accepted keys. */
function strict<T extends z.ZodRawShape>(shape: T) {
  const keys = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss) => (iss.code === "unrecognized_keys" ? `unknown key; accepted keys: ${keys}` : undefined),
  });
}

const SAFE_NAME = /^[A-Za-z0-9_-]+$/;
/** Names that end up in sbatch headers / paths: no spaces, quotes or shell syntax. */
const SAFE_TOKEN = /^[A-Za-z0-9_.,:@+=\/-]+$/;
const KEY_NAME = /^[A-Za-z_][A-Za-z0-9_.\/-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const posNum = z.number().positive();
const posInt = z.number().int().min(1);
const safeToken = (what: string) => z.string().regex(SAFE_TOKEN, { error: `only letters, digits and _ . , : @ + = / - (${what})` });

// ---------- search space ----------
type Scalar = number | string | boolean;
const DOMAIN_KINDS = ["loguniform", "uniform", "int", "choice", "grid"] as const;

function fmtValue(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : String(v);
  if (Array.isArray(v)) return `[${v.map(fmtValue).join(", ")}]`;
  if (v !== null && typeof v === "object") {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}: ${fmtValue(x)}`).join(", ")}}`;
  }
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Validates one domain by hand so every mistake gets a precise message. */
const domainSchema = z.unknown().transform((v, ctx): DomainSpec => {
  const fail = (message: string, path: (string | number)[] = [], input: unknown = v) => {
    ctx.issues.push({ code: "custom", message, input, path });
    return z.NEVER;
  };
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    return fail(`expected an object with one of the keys ${DOMAIN_KINDS.join(", ")}`);
  }
  const keys = Object.keys(v);
  if (keys.length !== 1 || !(DOMAIN_KINDS as readonly string[]).includes(keys[0])) {
    return fail(`expected exactly one of the keys ${DOMAIN_KINDS.join(", ")}`);
  }
  const kind = keys[0] as (typeof DOMAIN_KINDS)[number];
  const arg = (v as Record<string, unknown>)[kind];
  if (kind === "choice" || kind === "grid") {
    if (!Array.isArray(arg) || arg.length === 0) return fail("expected a non-empty list of numbers, strings or booleans", [kind], arg);
    const bad = arg.findIndex((x) => !(typeof x === "string" || typeof x === "boolean" || (typeof x === "number" && Number.isFinite(x))));
    if (bad >= 0) return fail("expected a finite number, a string or a boolean", [kind, bad], arg[bad]);
    if (new Set(arg).size !== arg.length) return fail("values must be distinct", [kind], arg);
    return { [kind]: arg as Scalar[] } as DomainSpec;
  }
  if (!Array.isArray(arg) || arg.length !== 2 || !arg.every((x) => typeof x === "number" && Number.isFinite(x))) {
    return fail("expected [lower, upper], two finite numbers", [kind], arg);
  }
  const [lo, hi] = arg as [number, number];
  if (kind === "loguniform" && !(lo > 0)) {
    // sampled as exp(uniform(ln lo, ln hi)): ln 0 = −∞, so every draw would be 0 (or NaN) and trials fail
    return fail("lower bound must be > 0 (a log-uniform range samples ln x: both bounds positive, e.g. [1e-5, 1e-2]; use uniform for a range that includes 0)", [kind], arg);
  }
  if (kind === "int") {
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) return fail("bounds must be integers (both inclusive)", [kind], arg);
    if (lo > hi) return fail("lower bound must be <= upper bound", [kind], arg);
  } else if (!(lo < hi)) {
    return fail("lower bound must be < upper bound", [kind], arg);
  }
  return { [kind]: [lo, hi] } as DomainSpec;
});

const spaceSchema = z
  .record(z.string().regex(KEY_NAME, { error: "hyperparameter names: a letter or _, then letters, digits, _ . / -" }), domainSchema)
  .refine((s) => Object.keys(s).length > 0, { error: "expected at least one hyperparameter" });

// ---------- methods ----------
const gridMethod = strict({ kind: z.literal("grid") });
const randomMethod = strict({ kind: z.literal("random") });
const ashaMethod = strict({
  kind: z.literal("asha"),
  gracePeriod: posNum.default(1),
  reductionFactor: z.number().gt(1).default(4),
  maxT: posNum.optional(),
  brackets: posInt.default(1),
  stopLastTrials: z.boolean().default(true),
  nanPolicy: z.enum(["worst", "ignore"]).default("worst"),
});
const hyperbandMethod = strict({
  kind: z.literal("hyperband"),
  maxT: posNum.optional(),
  reductionFactor: z.number().gt(1).default(3),
  stopLastTrials: z.boolean().default(true),
});
const pbtMethod = strict({
  kind: z.literal("pbt"),
  // t is the training iteration (epochs) in tunelab's trial contract, so the
  // interval counts epochs. Ray's default of 60 is in seconds because its
  // default time_attr is time_total_s (docs/schedulers.md §2.1).
  perturbationInterval: posNum.default(1),
  burnInPeriod: z.number().min(0).default(0),
  quantileFraction: z.number().min(0).max(0.5).default(0.25),
  resampleProbability: z.number().min(0).max(1).default(0.25),
  perturbationFactors: z.tuple([posNum, posNum]).default([1.2, 0.8]),
  mutations: z.array(z.string()).min(1).optional(),
  synch: z.boolean().default(false),
});
const bohbMethod = strict({
  kind: z.literal("bohb"),
  maxT: posNum.optional(),
  reductionFactor: z.number().gt(1).default(3),
  minPointsInModel: posInt.optional(),
  topNPercent: z.number().gt(0).lt(100).default(15),
  numSamples: posInt.default(64),
  randomFraction: z.number().min(0).max(1).default(1 / 3),
  bandwidthFactor: posNum.default(3),
  minBandwidth: posNum.default(1e-3),
  stopLastTrials: z.boolean().default(true),
});
const methodSchema = z.discriminatedUnion("kind", [gridMethod, randomMethod, ashaMethod, hyperbandMethod, pbtMethod, bohbMethod]);

// ---------- searchers (Ray's search_alg; independent of the scheduler) ----------
const gridSearcher = strict({ kind: z.literal("grid") });
const randomSearcher = strict({ kind: z.literal("random") });
// Optuna 3.1 TPESampler defaults (docs/tpe.md)
const tpeSearcher = strict({
  kind: z.literal("tpe"),
  nStartupTrials: z.number().int().min(0).default(10),
  nEiCandidates: posInt.default(24),
  multivariate: z.boolean().default(false),
  constantLiar: z.boolean().default(false),
  considerPrior: z.boolean().default(true),
  priorWeight: posNum.default(1),
  considerMagicClip: z.boolean().default(true),
  considerEndpoints: z.boolean().default(false),
});
// no defaults here: left out, they come from method bohb's fields (or HpBandSter's defaults)
const bohbSearcher = strict({
  kind: z.literal("bohb"),
  minPointsInModel: posInt.optional(),
  topNPercent: z.number().gt(0).lt(100).optional(),
  numSamples: posInt.optional(),
  randomFraction: z.number().min(0).max(1).optional(),
  bandwidthFactor: posNum.optional(),
  minBandwidth: posNum.optional(),
});
const searcherSchema = z.discriminatedUnion("kind", [gridSearcher, randomSearcher, tpeSearcher, bohbSearcher]);

// ---------- trainer, backend, budget ----------
const trainerSchema = strict({
  command: z.array(z.string().min(1)).min(1).optional(),
  model: z.string().min(1).default("small"),
  dataset: z.string().min(1).optional(),
  epochs: posInt.optional(),
  evalEvery: posNum.optional(),
  gpusPerTrial: z.number().int().min(0).optional(),
  deepspeed: z.string().min(1).optional(),
  env: z.record(z.string().regex(ENV_NAME, { error: "environment names: letters, digits and _, not starting with a digit" }), z.string()).default({}),
  options: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).optional(),
});

const localBackend = strict({
  kind: z.literal("local"),
  maxConcurrent: posInt.optional(),
  gpus: z.array(z.number().int().min(0)).optional(),
  slotsPerGpu: posInt.optional(),
  // warm trainer processes (backends/local-workers.ts); left out = true
  reuseProcesses: z.boolean().optional(),
});
const slurmBackend = strict({
  kind: z.literal("slurm"),
  host: safeToken("host name").optional(),
  port: z.number().int().min(1).max(65535).optional(),
  user: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, { error: "user names: letters, digits, _ . -" }).optional(),
  identityFile: z.string().min(1).optional(),
  hostKey: z.string().regex(/^SHA256:[A-Za-z0-9+\/]+=*$/, { error: "expected a SHA256 fingerprint as ssh-keygen -lf prints it (SHA256:...)" }).optional(),
  knownHosts: z.string().min(1).optional(),
  jump: z.string().regex(/^([A-Za-z0-9_.-]+@)?[A-Za-z0-9_.-]+(:\d+)?$/, { error: "expected user@host:port" }).optional(),
  partition: safeToken("partition").optional(),
  account: safeToken("account").optional(),
  qos: safeToken("qos").optional(),
  reservation: safeToken("reservation").optional(),
  time: z.string().regex(/^(\d+-)?\d+(:\d{2}){0,2}$/, { error: "expected a SLURM time limit such as 30, 01:30:00 or 1-00:00:00" }).optional(),
  cpusPerTrial: posInt.optional(),
  memPerTrial: z.string().regex(/^\d+[KMGT]?$/, { error: "expected a SLURM memory size such as 16G" }).optional(),
  constraint: safeToken("constraint").optional(),
  remoteDir: z.string().min(1),
  setup: z.array(z.string()).optional(),
  accounting: z.enum(["sacct", "none"]).optional(),
  pollInterval: posNum.optional(),
  signalGrace: posInt.optional(),
  python: z.string().min(1).optional(),
  // warm workers: one job per slot runs successive trials (backends/slurm/workers.ts); left out = false
  reuseProcesses: z.boolean().optional(),
});
const replayBackend = strict({
  kind: z.literal("replay"),
  curves: z.string().min(1),
  timeScale: z.number().min(0).optional(),
  queueDelay: z.number().min(0).optional(),
});
const backendSchema = z.discriminatedUnion("kind", [localBackend, slurmBackend, replayBackend]);

const budgetSchema = strict({ gpuMinutes: posNum.optional(), wallMinutes: posNum.optional() });

/** The object as written, static defaults filled; epoch-dependent ones come in `finish`. */
const experimentObject = strict({
  name: z.string().regex(SAFE_NAME, { error: "only letters, digits, - and _" }).max(100, { error: "at most 100 characters (it names the run directory and remote folders; file names are limited to 255 bytes)" }),
  metric: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.\/-]*$/, { error: "metric names: a letter or _, then letters, digits, _ . / -" }).default("eval_loss"),
  mode: z.enum(["min", "max"]).default("min"),
  seed: z.number().int().min(0).max(0xffffffff).default(0),
  space: spaceSchema,
  method: methodSchema.prefault({ kind: "random" }),
  searcher: searcherSchema.optional(),
  samples: posInt.optional(),
  maxConcurrent: posInt.default(4),
  budget: budgetSchema.optional(),
  trainer: trainerSchema.prefault({}),
  backend: backendSchema.prefault({ kind: "local" }),
  runDir: z.string().min(1).optional(),
});
type Raw = z.output<typeof experimentObject>;

type Ctx = { issues: { code: "custom"; message: string; input: unknown; path: (string | number)[] }[] };

/** Points of the grid: `grid` dimensions, and `choice` ones too when the grid searcher enumerates them. */
function gridCount(space: SpaceSpec, withChoices: boolean): number {
  let n = 1;
  for (const d of Object.values(space)) {
    if ("grid" in d) n *= d.grid.length;
    else if ("choice" in d && withChoices) n *= d.choice.length;
  }
  return n;
}

/** The searcher: as written, or the method's usual one (grid → grid, bohb → bohb's KDE, others → random). */
function searcherFor(raw: Raw, m: Raw["method"], fail: (path: (string | number)[], input: unknown, message: string) => void): SearcherSpec {
  const kdeDefaults = { topNPercent: 15, numSamples: 64, randomFraction: 1 / 3, bandwidthFactor: 3, minBandwidth: 1e-3 };
  const fromMethod = m.kind === "bohb"
    ? { minPointsInModel: m.minPointsInModel, topNPercent: m.topNPercent, numSamples: m.numSamples, randomFraction: m.randomFraction, bandwidthFactor: m.bandwidthFactor, minBandwidth: m.minBandwidth }
    : kdeDefaults;
  const s = raw.searcher;
  if (!s) {
    if (m.kind === "grid") return { kind: "grid" };
    if (m.kind === "bohb") return withoutUndefined({ kind: "bohb", ...fromMethod }) as SearcherSpec;
    return { kind: "random" };
  }
  if (m.kind === "pbt" && (s.kind === "tpe" || s.kind === "bohb")) {
    // Ray's PopulationBasedTraining raises on a search algorithm: PBT's explore step replaces the searcher after the first population
    fail(["searcher", "kind"], s.kind, "method pbt takes searcher random or grid (its population is explored by PBT, not by a model)");
  }
  if (m.kind === "grid" && s.kind !== "grid") fail(["searcher", "kind"], s.kind, `method grid enumerates the grid itself; expected searcher grid (for ${s.kind} without early stopping use method random)`);
  if (s.kind === "bohb") {
    const merged: Record<string, unknown> = { ...fromMethod };
    for (const [k, v] of Object.entries(s)) if (v !== undefined) merged[k] = v;
    return withoutUndefined(merged) as unknown as SearcherSpec;
  }
  return s as SearcherSpec;
}

function withoutUndefined<T extends Record<string, unknown>>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

/** Cross-field rules and the defaults that depend on other fields. */
function finish(raw: Raw, ctx: Ctx): ExperimentConfig {
  const fail = (path: (string | number)[], input: unknown, message: string) =>
    ctx.issues.push({ code: "custom", message, input, path });
  const m = raw.method;
  const methodMaxT = "maxT" in m ? m.maxT : undefined;
  const every = raw.trainer.evalEvery;
  const epochs = raw.trainer.epochs ?? (methodMaxT !== undefined && every === undefined ? Math.ceil(methodMaxT) : 5);
  // with trainer.evalEvery, t counts evaluations: a full budget is epochs' worth of them (eval-every.ts)
  const budget = evalBudget({ epochs, evalEvery: every, options: raw.trainer.options });
  if ("message" in budget) fail(["trainer", ...budget.field.split(".")], budget.value, budget.message);
  const fullT = "message" in budget ? epochs : budget.maxT;
  const maxT = methodMaxT ?? fullT;
  if (methodMaxT !== undefined && methodMaxT > fullT) {
    fail(["method", "maxT"], methodMaxT, every === undefined
      ? `must be <= trainer.epochs (${epochs}): a trial cannot train past its epochs`
      : `must be <= ${fullT}, the evaluations in trainer.epochs (${epochs}) at trainer.evalEvery ${every}: a trial cannot train past its epochs`);
  }
  const space = raw.space as SpaceSpec;
  const keys = Object.keys(space);
  let method: MethodSpec;
  switch (m.kind) {
    case "grid":
      method = m;
      for (const k of keys) {
        const d = space[k];
        if (!("grid" in d) && !("choice" in d)) {
          fail(["space", k], d, `the grid method takes only grid or choice dimensions (${Object.keys(d)[0]} needs a sampling method: random, asha, hyperband, pbt or bohb)`);
        }
      }
      break;
    case "asha":
      method = { ...m, maxT };
      if (maxT < m.gracePeriod) fail(["method", "maxT"], maxT, `must be >= method.gracePeriod (${m.gracePeriod})`);
      break;
    case "hyperband":
    case "bohb":
      method = { ...m, maxT };
      break;
    case "pbt":
      method = m;
      for (const [i, k] of (m.mutations ?? []).entries()) {
        if (!keys.includes(k)) fail(["method", "mutations", i], k, `expected one of the space keys: ${keys.join(", ")}`);
      }
      break;
    default:
      method = m;
  }
  const searcher = searcherFor(raw, m, fail);
  const gridKeys = keys.filter((k) => "grid" in space[k]);
  const G = gridCount(space, searcher.kind === "grid");
  if (gridKeys.length > 0 && (searcher.kind === "tpe" || searcher.kind === "bohb")) {
    // as Ray: OptunaSearch and TuneBOHB raise on grid_search; a model cannot learn over a fixed enumeration
    for (const k of gridKeys) fail(["space", k, "grid"], (space[k] as { grid: unknown }).grid, `grid dimensions need searcher grid or random (searcher ${searcher.kind} samples every dimension); use choice`);
  }
  if (searcher.kind === "grid" && m.kind !== "grid") {
    for (const k of keys) {
      const d = space[k];
      if (!("grid" in d) && !("choice" in d)) fail(["space", k], d, `searcher grid takes only grid or choice dimensions (${Object.keys(d)[0]} needs searcher random, tpe or bohb)`);
    }
  }
  let samples = raw.samples ?? 12;
  if (m.kind === "grid" || searcher.kind === "grid" || gridKeys.length > 0) {
    // Ray's grid_search: every grid point once per repeat, samples = repeats × grid size
    const cut = m.kind === "grid" && searcher.kind === "grid"; // the grid method may also stop early (first `samples` points)
    if (raw.samples !== undefined && raw.samples % G !== 0 && !(cut && raw.samples < G)) {
      fail(["samples"], raw.samples, cut
        ? `the grid has ${G} points; expected at most ${G} or a multiple of ${G} (repeats × grid size; default: all of them)`
        : `the grid dimensions have ${G} points; expected a multiple of ${G} (repeats × grid size; default: ${G})`);
    }
    samples = raw.samples ?? G;
  }
  const backend = raw.backend as BackendSpec;
  const defaultGpus = backend.kind === "local" && !(backend.gpus && backend.gpus.length > 0) ? 0 : 1;
  const trainer: TrainerSpec = {
    ...raw.trainer,
    epochs,
    gpusPerTrial: raw.trainer.gpusPerTrial ?? defaultGpus,
  };
  const out: ExperimentConfig = {
    name: raw.name,
    metric: raw.metric,
    mode: raw.mode,
    seed: raw.seed,
    space,
    method,
    searcher,
    samples,
    maxConcurrent: raw.maxConcurrent,
    trainer,
    backend,
    runDir: raw.runDir ?? `runs/${raw.name}`,
  };
  if (raw.budget) out.budget = raw.budget;
  return out;
}

export const experimentSchema = experimentObject.transform((raw, ctx) => finish(raw, ctx as unknown as Ctx));

// Compile-time check: the schema's output is an ExperimentConfig, and the raw
// object (before cross-field defaults) agrees with the interfaces field by field.
type Assert<T extends true> = T;
export type _SchemaMatchesTypes = Assert<z.output<typeof experimentSchema> extends ExperimentConfig ? true : false>;
export type _SpaceMatches = Assert<z.output<typeof spaceSchema> extends SpaceSpec ? true : false>;
export type _MethodMatches = Assert<
  z.output<typeof ashaMethod> extends Omit<Extract<MethodSpec, { kind: "asha" }>, "maxT"> ? true : false
>;
export type _BackendMatches = Assert<z.output<typeof backendSchema> extends BackendSpec ? true : false>;

function pathString(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) {
    if (typeof p === "number") s += `[${p}]`;
    else s += s ? `.${String(p)}` : String(p);
  }
  return s || "(root)";
}

function article(t: string): string {
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

/** One issue as `<path>: got <value>; <what is accepted>`. */
function formatIssue(iss: z.core.$ZodIssue): string[] {
  const path = pathString(iss.path);
  const input = (iss as { input?: unknown }).input;
  const got = input === undefined ? "missing" : `got ${fmtValue(input)}`;
  switch (iss.code) {
    case "unrecognized_keys":
      return iss.keys.map((k) => `${pathString([...iss.path, k])}: unknown key; ${iss.message.replace(/^unknown key; /, "")}`);
    case "invalid_union": {
      const u = iss as z.core.$ZodIssueInvalidUnion & { discriminator?: string; options?: unknown[]; note?: string };
      if (u.note === "No matching discriminator" && u.discriminator) {
        const dv = input && typeof input === "object" ? (input as Record<string, unknown>)[u.discriminator] : undefined;
        const p = pathString([...iss.path]);
        return [`${p}: ${dv === undefined ? "missing" : `got ${fmtValue(dv)}`}; expected one of ${(u.options ?? []).map(String).join(", ")}`];
      }
      return [`${path}: ${got}; ${iss.message}`];
    }
    case "invalid_type": {
      if (input === undefined && /received undefined/.test(iss.message)) return [`${path}: missing; expected ${article(String(iss.expected))}`];
      if (iss.expected === "int") return [`${path}: ${got}; expected an integer`];
      const received = (iss as { received?: string }).received;
      return [`${path}: ${received && input === null ? `got ${received}` : got}; expected ${article(String(iss.expected))}`];
    }
    case "invalid_value":
      return [`${path}: ${got}; expected one of ${iss.values.map((v) => (typeof v === "string" ? v : fmtValue(v))).join(", ")}`];
    case "too_small": {
      const t = iss as z.core.$ZodIssueTooSmall;
      if (t.origin === "array" || t.origin === "set") return [`${path}: ${got}; expected at least ${t.minimum} item(s)`];
      if (t.origin === "string") return [`${path}: ${got}; must not be empty`];
      return [`${path}: ${got}; must be ${t.inclusive ? ">=" : ">"} ${t.minimum}`];
    }
    case "too_big": {
      const t = iss as z.core.$ZodIssueTooBig;
      if (t.origin === "array" || t.origin === "set") return [`${path}: ${got}; expected at most ${t.maximum} item(s)`];
      return [`${path}: ${got}; must be ${t.inclusive ? "<=" : "<"} ${t.maximum}`];
    }
    default:
      return [`${path}: ${got}; ${iss.message}`];
  }
}

/**
 * Validate an experiment config (a notebook object or a parsed JSON file)
 * and fill in defaults. Throws ConfigError listing every problem.
 */
export function parseExperiment(input: unknown): ExperimentConfig {
  const r = experimentSchema.safeParse(input, { reportInput: true });
  if (!r.success) throw new ConfigError(r.error.issues.flatMap(formatIssue));
  return r.data;
}

/** Like parseExperiment, but returns the issue lines instead of throwing. */
export function checkExperiment(input: unknown): { ok: true; config: ExperimentConfig } | { ok: false; issues: string[] } {
  try {
    return { ok: true, config: parseExperiment(input) };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, issues: e.issues };
    throw e;
  }
}
