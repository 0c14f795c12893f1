/**
 * Ray Tune experiment directories (docs/workshop.md Appendix A) as
 * tunelab results: the comparison row (design.md §5) and a recorded-curves
 * table (design.md §4) that the replay backend can run.
 *
 * What is read, and from where:
 * - experiment_state-*.json (the newest, as ExperimentAnalysis does): the
 *   trial list, each trial's status, config, experiment tag, directory and
 *   resources (the pickled placement group factory: GPUs per trial);
 * - per trial `result.json` (JSON lines; `progress.csv` when it is missing)
 *   and `params.json`, `error.txt` for errored trials;
 * - tuner.pkl: the scheduler's class (ASHA, HyperBand, BOHB, PBT, FIFO),
 *   metric, mode and max_t, when present;
 * - pbt_policy_<trial_id>.txt: the PBT schedule of the best trial;
 * - tunelab.json: written by `tunelab export --ray` for what Ray's layout has
 *   no field for (method, budget, allocation); Ray ignores it.
 *
 * The row is built by the same rowFromSummary as a tunelab run's, from a
 * summary in design.md §3's shape: t = training_iteration; best at the full
 * budget (t ≥ maxT) and at any budget; runtime = wall-clock from the
 * experiment's start to the result that set the best; GPU-minutes = Σ
 * time_this_iter_s × GPUs per trial (the trials' used GPU time); # GPUs =
 * most trials running at once × GPUs per trial.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ComparisonRow, HParamValue, ScheduleStep } from "./row";
import { rowLabel } from "./row";
import { rowFromSummary, type SummaryForRow } from "./summary-row";
import { parseCsv } from "./csv";
import { objectState, pickledObjects, readPickle } from "./ray-pickle";
import { scheduleFromPolicy } from "../experiment/results";

export interface RayImportOptions {
  /** method kind for the row (asha, hyperband, bohb, pbt, random, grid, ...); default: tunelab.json, then tuner.pkl's scheduler. */
  method?: string;
  /** metric; default: tunelab.json, tuner.pkl's scheduler, else "eval_loss". */
  metric?: string;
  mode?: "min" | "max";
  /** full budget in training iterations; default: tunelab.json, the scheduler's max_t, else the most iterations any trial reached. */
  maxT?: number;
  /**
   * which trial is "best": "full-budget" (tunelab's row, default: best value
   * among results at t ≥ maxT), or Ray's `get_best_result(scope=...)`:
   * "last" (each trial's last result — what the workshop published) or
   * "all" (each trial's best-ever result).
   */
  scope?: "full-budget" | "last" | "all";
  /** hyperparameter renames after flattening (default: per_device_bs → bs, the workshop's key for batch size). */
  rename?: Record<string, string>;
  /** GPUs per trial when the state file's resources cannot be read (or to override them). */
  gpusPerTrial?: number;
  /** GPUs of the allocation (default: most trials at once × GPUs per trial). */
  gpus?: number;
  member?: string;
  label?: string;
  note?: string;
}

export type RayTrialStatus = "PENDING" | "RUNNING" | "PAUSED" | "TERMINATED" | "ERROR";

/** One reported result of a trial, as tunelab sees it. */
export interface RayResult {
  /** training_iteration */
  t: number;
  value: number;
  config: Record<string, HParamValue>;
  time_this_iter_s: number;
  time_total_s: number;
  /** seconds since the epoch when the result was reported (as precise as the files allow) */
  wallTime: number;
  /** true for the first result after a restore (a PBT pause/exploit or a Tune resume) */
  restored: boolean;
}

export interface RayTrial {
  trialId: string;
  status: RayTrialStatus;
  /** tunelab's word for it: completed (reached maxT), stopped (terminated earlier), failed, running, pending, paused */
  state: string;
  experimentTag: string;
  dir: string;
  /** initial configuration (params.json), flattened */
  config: Record<string, HParamValue>;
  gpus: number;
  results: RayResult[];
  /** first line(s) of error.txt for an errored trial */
  error?: string;
}

export interface RayExperiment {
  dir: string;
  name: string;
  stateFile: string;
  method: string;
  metric: string;
  mode: "min" | "max";
  maxT: number;
  startTime: number;
  gpusPerTrial: number;
  /** most trials running at once */
  peakConcurrent: number;
  trials: RayTrial[];
  /** the trial chosen by `scope`, with Ray's own numbers for it */
  best: { trialId: string; t: number; value: number; timeTotalS: number; config: Record<string, HParamValue> } | null;
  /** trials still running / errored and other facts worth saying, one line each */
  warnings: string[];
  /** the summary (design.md §3 shape) the row was built from */
  summary: SummaryForRow & { states: Record<string, number>; trials: Array<{ trial_id: string; config: Record<string, HParamValue>; state: string; last_t: number | null; gpu_seconds: number }> };
  row: ComparisonRow;
  /** true when the directory was written by `tunelab export --ray` */
  fromTunelab: boolean;
}

const DEFAULT_RENAME: Record<string, string> = { per_device_bs: "bs" };

/** The row of a Ray Tune experiment directory, for `results.compare([...])` next to tunelab rows. */
export function importRay(dir: string, options: RayImportOptions = {}): ComparisonRow {
  return readRay(dir, options).row;
}

// ---------------------------------------------------------------- files

/** Python's json writes NaN / Infinity / -Infinity, which JSON.parse rejects: quote them first, outside strings. */
export function parsePyJson(text: string, where: string): any {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (text.startsWith("NaN", i)) { out += '{"$py":"NaN"}'; i += 3; }
    else if (text.startsWith("-Infinity", i)) { out += '{"$py":"-Infinity"}'; i += 9; }
    else if (text.startsWith("Infinity", i)) { out += '{"$py":"Infinity"}'; i += 8; }
    else { out += c; i++; }
  }
  try {
    return JSON.parse(out, (_k, v) => (v && typeof v === "object" && !Array.isArray(v) && typeof v.$py === "string" && Object.keys(v).length === 1 ? Number(v.$py) : v));
  } catch (e) {
    throw new Error(`${where}: not valid JSON: ${(e as Error).message}`);
  }
}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read ${what} (${code === "ENOENT" ? "no such file" : code ?? (e as Error).message})`);
  }
}

/** The newest experiment_state-*.json (names sort by their session date, as Ray picks them). */
export function rayStateFile(dir: string): string {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new Error(`${dir}: not a readable directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const states = names.filter((n) => n.startsWith("experiment_state") && n.endsWith(".json")).sort();
  if (!states.length) {
    const hint = names.includes("summary.json") ? " (it has summary.json: a tunelab run directory, read it with loadRunDir)" : "";
    throw new Error(`${path.join(dir, "experiment_state-*.json")}: not found; a Ray Tune experiment directory holds one (Ray 2.x writes it next to the trial directories)${hint}`);
  }
  return path.join(dir, states[states.length - 1]);
}

/** Is `dir` a Ray Tune experiment directory (for `tunelab compare`)? */
export function isRayExperimentDir(dir: string): boolean {
  try {
    return fs.readdirSync(dir).some((n) => n.startsWith("experiment_state") && n.endsWith(".json"));
  } catch {
    return false;
  }
}

interface TrialState {
  trial_id: string;
  status: string;
  config: unknown;
  experiment_tag?: string;
  relative_logdir?: string;
  logdir?: string;
  placement_group_factory?: unknown;
  trainable_name?: string;
}

interface RunMeta {
  start_time?: number | null;
  error_filename?: string | null;
}

/** experiment_state JSON → [trial state, run metadata] per trial (Ray ≥ 2.7 "trial_data", older "checkpoints"). */
function stateTrials(state: any, file: string): Array<[TrialState, RunMeta]> {
  const list = Array.isArray(state?.trial_data) ? state.trial_data : Array.isArray(state?.checkpoints) ? state.checkpoints : null;
  if (!list) throw new Error(`${file}: no "trial_data" (Ray ≥ 2.7) or "checkpoints" (older Ray) list of trials`);
  return list.map((entry: unknown, i: number) => {
    const pair = Array.isArray(entry) ? entry : [entry, "{}"];
    const parse = (v: unknown, what: string) => (typeof v === "string" ? parsePyJson(v, `${file}: trial ${i} ${what}`) : v ?? {});
    const t = parse(pair[0], "state") as TrialState;
    if (!t || typeof t.trial_id !== "string") throw new Error(`${file}: trial ${i} has no "trial_id"`);
    if (typeof t.status !== "string") throw new Error(`${file}: trial ${t.trial_id} has no "status"`);
    return [t, parse(pair[1], "run metadata") as RunMeta];
  });
}

/** GPUs of one trial from its pickled resource request (the sum over its bundles). */
function trialGpus(t: TrialState, file: string): number | null {
  const hex = t.placement_group_factory;
  if (typeof hex !== "string" || !/^[0-9a-f]+$/i.test(hex)) return null;
  let v: unknown;
  try {
    v = readPickle(Buffer.from(hex, "hex"), `${file}: trial ${t.trial_id} placement_group_factory`);
  } catch {
    return null;
  }
  for (const o of [v, ...pickledObjects(v)]) {
    const st = o && typeof o === "object" ? objectState(o as any) : {};
    const bundles = (st as any)._bundles ?? (o as any)?._bundles;
    if (Array.isArray(bundles)) return bundles.reduce((s: number, b: any) => s + Number(b?.GPU ?? 0), 0);
  }
  return null;
}

/** Scheduler facts from tuner.pkl, when it is there and readable. */
function tunerFacts(dir: string): { method?: string; metric?: string; mode?: "min" | "max"; maxT?: number } {
  const f = path.join(dir, "tuner.pkl");
  if (!fs.existsSync(f)) return {};
  let objs;
  try {
    objs = pickledObjects(readPickle(fs.readFileSync(f), f));
  } catch {
    // an unreadable tuner.pkl (a cloudpickled trainable using opcodes outside the subset): say what the bytes name
    const text = fs.readFileSync(f).toString("latin1");
    const hit = SCHEDULERS.find(([cls]) => text.includes(cls));
    return hit ? { method: hit[1] } : {};
  }
  for (const [cls, method] of SCHEDULERS) {
    const o = objs.find((x) => x.__class__.endsWith(`.${cls}`));
    if (!o) continue;
    const s = objectState(o);
    const maxT = Number(s._max_t ?? s._max_t_attr ?? NaN);
    return {
      method,
      ...(typeof s._metric === "string" ? { metric: s._metric } : {}),
      ...(s._mode === "min" || s._mode === "max" ? { mode: s._mode } : {}),
      ...(Number.isFinite(maxT) ? { maxT } : {}),
    };
  }
  return {};
}

/** Scheduler classes → tunelab method kinds (subclasses first). */
const SCHEDULERS: Array<[string, string]> = [
  ["HyperBandForBOHB", "bohb"],
  ["AsyncHyperBandScheduler", "asha"],
  ["ASHAScheduler", "asha"],
  ["HyperBandScheduler", "hyperband"],
  ["PopulationBasedTraining", "pbt"],
  ["PB2", "pbt"],
  ["MedianStoppingRule", "median"],
  ["FIFOScheduler", "random"],
];

/** Nested Ray config → flat hyperparameters: a lone wrapper (train_loop_config) is unwrapped, deeper keys joined with "/". */
export function flattenRayConfig(config: unknown, rename: Record<string, string> = DEFAULT_RENAME): Record<string, HParamValue> {
  let c = config && typeof config === "object" && !Array.isArray(config) ? (config as Record<string, unknown>) : {};
  const keys = Object.keys(c);
  if (keys.length === 1 && c[keys[0]] && typeof c[keys[0]] === "object" && !Array.isArray(c[keys[0]])) c = c[keys[0]] as Record<string, unknown>;
  const out: Record<string, HParamValue> = {};
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      if (k.startsWith("__")) continue; // Ray's internal keys (__trial_info__ ...)
      const name = prefix + k;
      if (v && typeof v === "object" && !Array.isArray(v)) walk(v as Record<string, unknown>, `${name}/`);
      else if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") out[rename[name] ?? name] = v;
    }
  };
  walk(c, "");
  return out;
}

/** A trial's results: result.json (JSON lines), else progress.csv. */
function readResults(dir: string, trialId: string): Array<Record<string, any>> {
  const rj = path.join(dir, "result.json");
  if (fs.existsSync(rj)) {
    const text = readText(rj, "results");
    const lines = text.split("\n");
    const rows: Array<Record<string, any>> = [];
    lines.forEach((l, i) => {
      if (!l.trim()) return;
      try {
        rows.push(parsePyJson(l, `${rj}:${i + 1}`));
      } catch (e) {
        // a torn last line (no newline yet) is a trial writing right now; anything else is damage
        if (i === lines.length - 1 && !text.endsWith("\n")) return;
        throw e;
      }
    });
    return rows;
  }
  const pc = path.join(dir, "progress.csv");
  if (fs.existsSync(pc)) {
    return parseCsv(readText(pc, "results")).map((r) => {
      const o: Record<string, any> = {};
      for (const [k, v] of Object.entries(r)) {
        if (v === "") o[k] = null;
        else if (v === "True" || v === "False") o[k] = v === "True";
        else if (/^(nan|-?inf)$/i.test(v)) o[k] = Number(v.replace(/inf$/i, "Infinity").replace(/^nan$/i, "NaN"));
        else o[k] = Number.isFinite(Number(v)) ? Number(v) : v;
      }
      // progress.csv drops "config": the flattened config/... columns (older Ray) or params.json stand in
      const cfg: Record<string, unknown> = {};
      for (const k of Object.keys(o)) if (k.startsWith("config/")) cfg[k.slice(7)] = o[k];
      if (Object.keys(cfg).length) o.config = cfg;
      return o;
    });
  }
  throw new Error(`${path.join(dir, "result.json")}: no such file (nor progress.csv) for trial ${trialId}; was the experiment run with Ray's JSON/CSV loggers disabled (TUNE_DISABLE_AUTO_CALLBACK_LOGGERS)?`);
}

function findTrialDir(dir: string, t: TrialState, file: string): string {
  const rel = t.relative_logdir ?? (t.logdir ? path.basename(t.logdir) : undefined);
  if (rel && fs.existsSync(path.join(dir, rel))) return path.join(dir, rel);
  const hit = fs.readdirSync(dir).find((n) => n.includes(`_${t.trial_id}_`) && fs.statSync(path.join(dir, n)).isDirectory());
  if (hit) return path.join(dir, hit);
  throw new Error(`${path.join(dir, rel ?? `*_${t.trial_id}_*`)}: trial directory of ${t.trial_id} (named in ${path.basename(file)}) not found`);
}

// ---------------------------------------------------------------- the import

export function readRay(dir: string, options: RayImportOptions = {}): RayExperiment {
  const root = path.resolve(dir);
  const stateFile = rayStateFile(root);
  const state = parsePyJson(readText(stateFile, "the experiment state"), stateFile);
  const entries = stateTrials(state, stateFile);
  if (!entries.length) throw new Error(`${stateFile}: lists no trials`);
  const sidecarFile = path.join(root, "tunelab.json");
  const sidecar = fs.existsSync(sidecarFile) ? parsePyJson(readText(sidecarFile, "tunelab's export facts"), sidecarFile) : null;
  const tuner = tunerFacts(root);
  const rename = options.rename ?? DEFAULT_RENAME;
  const metric = options.metric ?? sidecar?.metric ?? tuner.metric ?? "eval_loss";
  const mode = options.mode ?? sidecar?.mode ?? tuner.mode ?? "min";
  if (mode !== "min" && mode !== "max") throw new Error(`options.mode: got ${JSON.stringify(mode)}; expected "min" or "max"`);
  for (const k of ["gpusPerTrial", "gpus"] as const) {
    const v = options[k];
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v >= 0)) throw new Error(`options.${k}: got ${JSON.stringify(v)}; expected a number >= 0`);
  }
  const scope = options.scope ?? "full-budget";
  if (!["full-budget", "last", "all"].includes(scope)) throw new Error(`options.scope: got ${JSON.stringify(scope)}; expected one of full-budget, last, all`);
  const hasPbtFiles = fs.readdirSync(root).some((n) => n === "pbt_global.txt" || /^pbt_policy_.*\.txt$/.test(n));
  const method = options.method ?? sidecar?.method ?? tuner.method ?? (hasPbtFiles ? "pbt" : "ray");
  const warnings: string[] = [];
  if (method === "ray") warnings.push(`${root}: the scheduler is not recorded (no tuner.pkl); pass options.method (asha, hyperband, bohb, pbt, random) to name the row`);

  const better = (a: number, b: number) => (mode === "min" ? a < b : a > b);
  let gpusPerTrialSeen: number | null = null;
  const trials: RayTrial[] = entries.map(([t, meta]) => {
    // a PENDING trial that never started has no directory (nor results) yet
    const notStarted = t.status === "PENDING" && !t.relative_logdir && !t.logdir;
    const tdir = notStarted ? root : findTrialDir(root, t, stateFile);
    const raw = notStarted || (t.status === "PENDING" && !fs.existsSync(path.join(tdir, "result.json")) && !fs.existsSync(path.join(tdir, "progress.csv"))) ? [] : readResults(tdir, t.trial_id);
    const paramsFile = path.join(tdir, "params.json");
    const params = !notStarted && fs.existsSync(paramsFile) ? parsePyJson(readText(paramsFile, "the trial's config"), paramsFile) : t.config;
    const initial = flattenRayConfig(params, rename);
    const gpus = options.gpusPerTrial ?? trialGpus(t, stateFile);
    if (gpus === null) throw new Error(`${stateFile}: trial ${t.trial_id}: its resources (placement_group_factory) cannot be read; pass options.gpusPerTrial`);
    if (gpusPerTrialSeen === null) gpusPerTrialSeen = gpus;
    const start = typeof meta.start_time === "number" && Number.isFinite(meta.start_time) ? meta.start_time : null;
    let restoredOnce = false;
    const results: RayResult[] = raw.map((r, i) => {
      const where = `${path.join(tdir, "result.json")} result ${i + 1}`;
      const tt = Number(r.training_iteration);
      if (!Number.isInteger(tt) || tt < 1) throw new Error(`${where}: "training_iteration" must be an integer >= 1, got ${JSON.stringify(r.training_iteration)}`);
      const v = r[metric];
      if (v !== undefined && v !== null && typeof v !== "number") throw new Error(`${where}: "${metric}" must be a number, got ${JSON.stringify(v)}`);
      // iterations_since_restore starts again at 1 after a restore (PBT pause/exploit, Tune resume)
      const restored = r.iterations_since_restore === 1 && tt > 1;
      if (restored) restoredOnce = true;
      const total = Number(r.time_total_s ?? 0);
      // result timestamps are whole seconds; a trial that never restored started at start_time, so start + time_total_s is exact
      const wallTime = !restoredOnce && start !== null ? start + total : Number(r.timestamp ?? NaN);
      return {
        t: tt,
        value: typeof v === "number" ? v : NaN,
        config: r.config !== undefined ? flattenRayConfig(r.config, rename) : { ...initial },
        time_this_iter_s: Number(r.time_this_iter_s ?? 0),
        time_total_s: total,
        wallTime,
        restored,
      };
    });
    const trial: RayTrial = { trialId: t.trial_id, status: t.status as RayTrialStatus, state: "", experimentTag: t.experiment_tag ?? "", dir: tdir, config: initial, gpus, results };
    if (t.status === "ERROR") {
      const ef = path.join(tdir, meta.error_filename ?? "error.txt");
      trial.error = fs.existsSync(ef) ? fs.readFileSync(ef, "utf8").split("\n").filter((l) => l.trim()).slice(0, 2).join(" ").slice(0, 300) : `(no ${path.basename(ef)})`;
    }
    return trial;
  });
  const withMetric = trials.some((tr) => tr.results.some((r) => Number.isFinite(r.value)));
  if (trials.some((tr) => tr.results.length) && !withMetric) {
    const first = trials.find((tr) => tr.results.length)!;
    throw new Error(`${path.join(first.dir, "result.json")}: no result has a finite "${metric}" (missing, NaN or inf in every result); pass options.metric to name the metric Ray reported`);
  }
  const reached = Math.max(0, ...trials.flatMap((tr) => tr.results.map((r) => r.t)));
  const maxT = Number(options.maxT ?? sidecar?.max_t ?? tuner.maxT ?? reached);
  if (!Number.isFinite(maxT) || maxT < 1) throw new Error(`options.maxT: got ${JSON.stringify(options.maxT ?? maxT)}; expected the full budget in training iterations (>= 1)`);

  for (const tr of trials) {
    const lastT = tr.results.length ? tr.results[tr.results.length - 1].t : null;
    tr.state = tr.status === "TERMINATED" ? (lastT !== null && lastT >= maxT ? "completed" : "stopped")
      : tr.status === "ERROR" ? "failed" : tr.status.toLowerCase();
    if (tr.status === "RUNNING" || tr.status === "PENDING" || tr.status === "PAUSED") {
      warnings.push(`trial ${tr.trialId} is still ${tr.status} (${lastT === null ? "no result yet" : `last result at training_iteration ${lastT}`}): the experiment has not finished`);
    } else if (tr.status === "ERROR") {
      warnings.push(`trial ${tr.trialId} ERROR: ${tr.error}`);
    }
  }

  const startTime = Number(state?.stats?.start_time ?? state?.runner_data?._start_time ?? NaN);
  const firstStart = Math.min(...trials.flatMap((tr) => tr.results.slice(0, 1).map((r) => r.wallTime - r.time_total_s)));
  const start = Number.isFinite(startTime) ? startTime : Number.isFinite(firstStart) ? firstStart : 0;

  // every result in report order (ties: trial order), so "strictly better keeps the first" as in tunelab and Ray
  const all = trials.flatMap((tr, ti) => tr.results.map((r, ri) => ({ tr, ti, ri, r })));
  const ordered = [...all].sort((a, b) => a.r.wallTime - b.r.wallTime || a.ti - b.ti || a.ri - b.ri);
  type Pick = (typeof all)[number];
  let full: Pick | null = null;
  let any: Pick | null = null;
  for (const p of ordered) {
    if (!Number.isFinite(p.r.value)) continue;
    if (!any || better(p.r.value, any.r.value)) any = p;
    if (p.r.t >= maxT && (!full || better(p.r.value, full.r.value))) full = p;
  }
  // Ray's get_best_result: per trial its last (or best-ever) finite value; trials in experiment order, strict comparison
  let rayPick: Pick | null = null;
  if (scope !== "full-budget") {
    for (const p of trials.map((tr, ti) => {
      const rs = all.filter((x) => x.tr === tr && Number.isFinite(x.r.value));
      if (!rs.length) return null;
      if (scope === "last") return all.filter((x) => x.tr === tr).slice(-1)[0];
      return rs.reduce((a, b) => (better(b.r.value, a.r.value) ? b : a));
    })) {
      if (p && Number.isFinite(p.r.value) && (!rayPick || better(p.r.value, rayPick.r.value))) rayPick = p;
    }
  }
  const chosen = scope === "full-budget" ? full : rayPick;

  // PBT: the chosen trial's schedule from its policy file (tags are experiment tags; map them to trial ids)
  let schedule: ScheduleStep[] | undefined;
  if (method === "pbt" && chosen) {
    const pf = path.join(root, `pbt_policy_${chosen.tr.trialId}.txt`);
    const byTag = new Map<string, string>();
    for (const tr of trials) {
      byTag.set(tr.trialId, tr.trialId);
      if (tr.experimentTag) byTag.set(tr.experimentTag.replace(/@perturbed\[.*$/, ""), tr.trialId);
    }
    const rows = fs.existsSync(pf)
      ? readText(pf, "the PBT policy").split("\n").filter((l) => l.trim()).map((l, i) => {
        const r = parsePyJson(l, `${pf}:${i + 1}`);
        if (!Array.isArray(r) || r.length !== 6) throw new Error(`${pf}:${i + 1}: expected [target_tag, clone_tag, target_iteration, clone_iteration, clone_config, new_config], got ${l.slice(0, 80)}`);
        const id = (tag: unknown) => byTag.get(String(tag).replace(/@perturbed\[.*$/, "")) ?? String(tag);
        return [id(r[0]), id(r[1]), Number(r[2]), Number(r[3]), flattenRayConfig(r[4], rename), flattenRayConfig(r[5], rename)] as [string, string, number, number, Record<string, HParamValue>, Record<string, HParamValue>];
      })
      : [];
    // no policy rows: one phase with the config it reported under (as tunelab's own summary)
    schedule = scheduleFromPolicy(rows, chosen.r.config);
  }

  const gpusPerTrial = gpusPerTrialSeen ?? options.gpusPerTrial ?? 0;
  const peak = peakConcurrency(trials);
  // a tunelab export says what its trials computed on (the small model asks for a GPU slot and trains on the CPU)
  const device: "gpu" | "cpu" = sidecar?.device === "cpu" || sidecar?.device === "gpu" ? sidecar.device : gpusPerTrial > 0 ? "gpu" : "cpu";
  const gpus = options.gpus ?? (typeof sidecar?.gpus === "number" ? sidecar.gpus : peak * gpusPerTrial);
  const trialSeconds = (tr: RayTrial) => tr.results.reduce((s, r) => s + r.time_this_iter_s, 0);
  const gpuSeconds = trials.reduce((s, tr) => s + trialSeconds(tr) * tr.gpus, 0);
  const runSeconds = trials.reduce((s, tr) => s + trialSeconds(tr), 0);
  // the state file's save time (Ray < 2.7 "stats.timestamp") bounds the run's end too
  const saved = Number(state?.stats?.timestamp ?? NaN);
  const lastWall = Math.max(start, ...all.map((p) => p.r.wallTime).filter(Number.isFinite), ...(Number.isFinite(saved) ? [saved] : []));
  const bestOf = (p: Pick | null) => (p ? { trial_id: p.tr.trialId, config: { ...p.r.config }, value: p.r.value, t: p.r.t } : null);
  const states: Record<string, number> = {};
  for (const tr of trials) states[tr.state] = (states[tr.state] ?? 0) + 1;
  const summary = {
    experiment: sidecar?.experiment ?? path.basename(root),
    method,
    metric,
    mode: mode as "min" | "max",
    best: chosen ? { ...bestOf(chosen)!, ...(schedule ? { schedule } : {}) } : null,
    best_any: bestOf(any),
    gpu_seconds: device === "cpu" ? 0 : round6(gpuSeconds),
    wall_seconds: round6(Math.max(0, lastWall - start)),
    time_to_best_s: chosen ? round6(Math.max(0, chosen.r.wallTime - start)) : null,
    max_t: maxT,
    gpus: device === "cpu" ? 0 : gpus,
    device,
    devices: device === "cpu" ? (typeof sidecar?.devices === "number" ? sidecar.devices : Math.max(1, peak)) : gpus,
    device_seconds: device === "cpu" ? round6(runSeconds) : round6(gpuSeconds),
    states,
    trials: trials.map((tr) => ({
      trial_id: tr.trialId, config: tr.results.length ? tr.results[tr.results.length - 1].config : tr.config, state: tr.state,
      last_t: tr.results.length ? tr.results[tr.results.length - 1].t : null, gpu_seconds: round6(trialSeconds(tr) * tr.gpus),
    })),
  };
  const base = rowFromSummary(summary, { trainer: { gpusPerTrial }, maxConcurrent: Math.max(1, peak) }, {
    source: root,
    ...(options.member ? { member: options.member } : {}),
  });
  const row: ComparisonRow = { ...base };
  if (options.label) row.label = options.label;
  else if (!sidecar) {
    const name = rowLabel({ ...base, member: undefined, label: undefined });
    row.label = scope === "full-budget"
      ? `${name} (Ray Tune${options.member ? `, ${options.member}` : ""})`
      : `Ray Best (${name}${options.member ? `, ${options.member}` : ""})`;
  }
  const notes: string[] = [];
  if (options.note) notes.push(options.note);
  if (scope !== "full-budget" && chosen) {
    notes.push(`Ray get_best_result(scope="${scope}"): trial ${chosen.tr.trialId} at training_iteration ${chosen.r.t} of ${maxT}, time_total_s ${chosen.r.time_total_s.toFixed(1)}`);
  }
  const unfinished = trials.filter((tr) => ["RUNNING", "PENDING", "PAUSED"].includes(tr.status));
  const errored = trials.filter((tr) => tr.status === "ERROR");
  if (unfinished.length) notes.push(`${unfinished.length} trial(s) still running (${unfinished.map((t) => `${t.trialId} ${t.status}`).join(", ")}): not finished`);
  if (errored.length) notes.push(`${errored.length} trial(s) errored (${errored.map((t) => t.trialId).join(", ")})`);
  if (notes.length) row.note = notes.join("; ");
  return {
    dir: root, name: path.basename(root), stateFile, method, metric, mode: mode as "min" | "max", maxT, startTime: start,
    gpusPerTrial, peakConcurrent: peak, trials,
    best: chosen ? { trialId: chosen.tr.trialId, t: chosen.r.t, value: chosen.r.value, timeTotalS: chosen.r.time_total_s, config: { ...chosen.r.config } } : null,
    warnings, summary, row, fromTunelab: !!sidecar,
  };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Most trials running at once: each run of a trial spans from its first result minus that iteration to its last result. */
function peakConcurrency(trials: RayTrial[]): number {
  const ev: Array<[number, number]> = [];
  for (const tr of trials) {
    let seg: RayResult[] = [];
    const flush = () => {
      if (seg.length) {
        ev.push([seg[0].wallTime - seg[0].time_this_iter_s, 1], [seg[seg.length - 1].wallTime, -1]);
      }
      seg = [];
    };
    for (const r of tr.results) {
      if (r.restored) flush();
      seg.push(r);
    }
    flush();
  }
  // ends before starts at the same instant: a slot handed over is not two trials at once
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let n = 0;
  let peak = 0;
  for (const [, d] of ev) {
    n += d;
    peak = Math.max(peak, n);
  }
  return peak;
}

// ---------------------------------------------------------------- recorded curves

export interface RayCurvesOptions {
  /** only configurations recorded up to maxT (default true: the replay backend fails a trial whose nearest curve is shorter than its max_t). */
  complete?: boolean;
}

/**
 * The recorded-curves CSV (design.md §4) of an imported experiment: one row
 * per (configuration, t) with the hyperparameter columns, t, the metric and
 * time_s (time_this_iter_s). Each trial contributes its results from t = 1
 * while it kept its first configuration and was not restored from another
 * trial (a PBT exploit starts someone else's curve); a configuration seen
 * twice keeps its longest curve.
 */
export function rayCurvesCsv(exp: RayExperiment, opts: RayCurvesOptions = {}): string {
  const complete = opts.complete ?? true;
  const keys = Object.keys(exp.trials[0]?.config ?? {});
  const bad = keys.find((k) => k === "t" || k === exp.metric || k === "time_s");
  if (bad) throw new Error(`rayCurvesCsv: hyperparameter "${bad}" collides with a column of the curves table; rename it (options.rename)`);
  const byConfig = new Map<string, Array<{ t: number; value: number; time_s: number }>>();
  const order: Array<[string, Record<string, HParamValue>]> = [];
  for (const tr of exp.trials) {
    const pts: Array<{ t: number; value: number; time_s: number }> = [];
    for (const r of tr.results) {
      if (r.t !== pts.length + 1) break;
      if (keys.some((k) => String(r.config[k]) !== String(tr.config[k]))) break;
      pts.push({ t: r.t, value: r.value, time_s: r.time_this_iter_s });
    }
    if (!pts.length || (complete && pts.length < exp.maxT)) continue;
    const ck = JSON.stringify(keys.map((k) => tr.config[k]));
    const prev = byConfig.get(ck);
    if (!prev) order.push([ck, tr.config]);
    if (!prev || pts.length > prev.length) byConfig.set(ck, pts);
  }
  if (!order.length) throw new Error(`rayCurvesCsv: no trial of ${exp.dir} has results from t = 1${complete ? ` up to maxT = ${exp.maxT} (pass { complete: false } for the shorter ones)` : ""}`);
  const cell = (v: HParamValue | number) => {
    const s = typeof v === "number" ? (Number.isNaN(v) ? "nan" : String(v)) : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [[...keys, "t", exp.metric, "time_s"].join(",")];
  for (const [ck, config] of order) {
    for (const p of byConfig.get(ck)!) lines.push([...keys.map((k) => cell(config[k])), p.t, cell(p.value), p.time_s].join(","));
  }
  return lines.join("\n") + "\n";
}

/** Write the curves table of a Ray experiment directory to `file`; returns the file. */
export function writeRayCurves(dir: string, file: string, options: RayImportOptions & RayCurvesOptions = {}): string {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, rayCurvesCsv(readRay(dir, options), options));
  return file;
}
