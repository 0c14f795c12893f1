/**
 * Everything that turns finished runs into rows:
 * - the workshop's manual-grid logs, whose `bloom_hpo_manual.py` prints one
 *   `saved: {'tag': ..., 'lr': 1e-05, 'bs': 1, 'wd': 0.0, 'eval_loss': ..., 'runtime_s': ...}`
 *   line per run (a Python dict repr) and whose SLURM script prints
 *   `===== JOB <id> START/FINISH =====` stamps (workshop.md §2, §4);
 * - tunelab's own run directories (design.md contract 3: summary.json);
 * - the workshop's published numbers shipped under data/reference/.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parsePyRepr, type PyValue } from "./pyrepr";
import { parseCsv } from "./csv";
import { csvField, exportSource } from "./format";
import type { ComparisonRow, HParamValue, ScheduleStep } from "./row";
import { rowFromSummary, type SummaryForRow } from "./summary-row";

/** One manual run, as the workshop's logs_parser.py would put it in its CSV. */
export interface ManualRun {
  tag: string;
  lr: number;
  bs: number;
  wd: number;
  eval_loss: number;
  runtime_s: number;
  /** any other keys of the saved dict (e.g. eval_em, eval_f1) */
  extra?: Record<string, number | string | boolean | null>;
  /** file (or label) and 1-based line the run came from */
  source?: string;
  line?: number;
}

export interface JobStamp {
  jobId: string;
  start?: Date;
  finish?: Date;
  /** FINISH − START in seconds when both stamps carry a parseable date. */
  wallSeconds?: number;
}

export interface ManualLog {
  runs: ManualRun[];
  jobs: JobStamp[];
  /** `saved:` lines that could not be read, with the reason (nothing is dropped silently). */
  skipped: Array<{ line: number; text: string; error: string }>;
  /**
   * `saved:` lines dropped as repeats of an earlier one: bloom_hpo_manual.py
   * prints its summary on every torchrun rank (2 per run), with identical dicts.
   */
  duplicates: number;
}

const SAVED_RE = /\bsaved:\s*(\{.*?)\s*$/;
const JOB_RE = /=====\s*JOB\s+(\S+)\s+(START|FINISH)\b\s*[:\-]?\s*(.*?)\s*=====/;
const REQUIRED = ["tag", "lr", "bs", "wd", "eval_loss", "runtime_s"] as const;

/** Parse a manual-grid SLURM log (or several concatenated). */
export function parseManualLog(text: string, source = "log"): ManualLog {
  const runs: ManualRun[] = [];
  const skipped: ManualLog["skipped"] = [];
  const jobs = new Map<string, JobStamp>();
  const seen = new Set<string>();
  let duplicates = 0;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, idx) => {
    const lineNo = idx + 1;
    const j = JOB_RE.exec(raw);
    if (j) {
      const stamp = jobs.get(j[1]) ?? { jobId: j[1] };
      const when = parseStampDate(j[3]);
      if (when) {
        if (j[2] === "START") stamp.start = when; else stamp.finish = when;
      }
      if (stamp.start && stamp.finish) stamp.wallSeconds = (stamp.finish.getTime() - stamp.start.getTime()) / 1000;
      jobs.set(j[1], stamp);
      return;
    }
    const m = SAVED_RE.exec(raw);
    if (!m) return;
    try {
      const run = toRun(parsePyRepr(m[1]));
      const key = JSON.stringify([run.tag, run.lr, run.bs, run.wd, run.eval_loss, run.runtime_s]);
      if (seen.has(key)) { duplicates++; return; }
      seen.add(key);
      runs.push({ ...run, source, line: lineNo });
    } catch (e) {
      skipped.push({ line: lineNo, text: raw, error: (e as Error).message });
    }
  });
  return { runs, jobs: [...jobs.values()], skipped, duplicates };
}

function parseStampDate(s: string): Date | undefined {
  if (!s) return undefined;
  // `date` output ("Mon Mar  3 10:00:01 +03 2025") and ISO both occur; try as is, then without the zone word.
  for (const cand of [s, s.replace(/\s[A-Z]{2,5}\s(\d{4})$/, " $1"), s.replace(/\s[+-]\d{2}\s(\d{4})$/, " $1")]) {
    const t = Date.parse(cand);
    if (Number.isFinite(t)) return new Date(t);
  }
  return undefined;
}

function toRun(v: PyValue): Omit<ManualRun, "source" | "line"> {
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("saved: value is not a dict");
  for (const k of REQUIRED) if (!(k in v)) throw new Error(`saved: dict lacks '${k}'`);
  const num = (k: string): number => {
    const x = v[k];
    if (typeof x !== "number" || (k !== "eval_loss" && !Number.isFinite(x))) throw new Error(`saved: '${k}' is not a number (${JSON.stringify(x)})`);
    return x;
  };
  const extra: Record<string, number | string | boolean | null> = {};
  for (const [k, x] of Object.entries(v)) {
    if ((REQUIRED as readonly string[]).includes(k)) continue;
    if (x === null || typeof x !== "object") extra[k] = x;
  }
  return {
    tag: String(v.tag),
    lr: num("lr"), bs: num("bs"), wd: num("wd"), eval_loss: num("eval_loss"), runtime_s: num("runtime_s"),
    ...(Object.keys(extra).length ? { extra } : {}),
  };
}

/** Read one or more log files. */
export function parseManualLogFiles(files: string[]): ManualLog {
  const out: ManualLog = { runs: [], jobs: [], skipped: [], duplicates: 0 };
  for (const f of files) {
    const r = parseManualLog(fs.readFileSync(f, "utf8"), f);
    out.runs.push(...r.runs);
    out.jobs.push(...r.jobs);
    out.duplicates += r.duplicates;
    out.skipped.push(...r.skipped.map((s) => ({ ...s, text: `${f}: ${s.text}` })));
  }
  return out;
}

/** The CSV logs_parser.py wrote: tag,lr,bs,wd,eval_loss,runtime_s (+ source, without absolute paths: the file is shared). */
export function manualRunsCsv(runs: ManualRun[]): string {
  const cols = ["tag", "lr", "bs", "wd", "eval_loss", "runtime_s", "source"] as const;
  const cell = (r: ManualRun, c: (typeof cols)[number]) => (c === "source" ? exportSource(r.source) : r[c] ?? "");
  return [cols.join(","), ...runs.map((r) => cols.map((c) => csvField(cell(r, c))).join(","))].join("\n") + "\n";
}

/** danfojs DataFrame of the runs (lazy: danfojs is heavy). */
export function manualRunsFrame(runs: ManualRun[]): any {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const dfd = require("danfojs-node");
  return new dfd.DataFrame(runs.map(({ tag, lr, bs, wd, eval_loss, runtime_s }) => ({ tag, lr, bs, wd, eval_loss, runtime_s })));
}

export interface ManualRowOptions {
  /** GPUs per run (the workshop: 2 V100s). */
  gpus?: number;
  /** wall-clock of the whole grid; default: the job stamps, else the sum of runtimes (the grid ran serially). */
  wallMinutes?: number;
  jobs?: JobStamp[];
  label?: string;
  member?: string;
  source?: string;
  note?: string;
  maxT?: number;
}

/**
 * The manual grid as one comparison row. Like the workshop: runtime to find
 * the best = the whole grid's wall time (you only know the best after the
 * last run), GPU minutes = runtime × GPUs.
 */
export function manualGridRow(runs: ManualRun[], opts: ManualRowOptions = {}): ComparisonRow {
  if (!runs.length) throw new Error("manualGridRow: no runs (did the log contain `saved: {...}` lines?)");
  const finiteRuns = runs.filter((r) => Number.isFinite(r.eval_loss));
  if (!finiteRuns.length) throw new Error("manualGridRow: every run's eval_loss is NaN/inf (diverged?)");
  // strict "<": ties keep the first run, as Ray's get_best_result does
  const best = finiteRuns.reduce((a, b) => (b.eval_loss < a.eval_loss ? b : a));
  const stamped = (opts.jobs ?? []).map((j) => j.wallSeconds).filter((s): s is number => typeof s === "number");
  const wallMinutes = opts.wallMinutes
    ?? (stamped.length ? stamped.reduce((a, b) => a + b, 0) / 60 : runs.reduce((a, r) => a + r.runtime_s, 0) / 60);
  const gpus = opts.gpus ?? 2;
  return {
    method: "manual",
    ...(opts.label ? { label: opts.label } : {}),
    ...(opts.member ? { member: opts.member } : {}),
    metric: "eval_loss",
    mode: "min",
    bestValue: best.eval_loss,
    bestConfig: { lr: best.lr, bs: best.bs, wd: best.wd },
    ...(opts.maxT ? { maxT: opts.maxT, bestAnyT: opts.maxT } : {}),
    bestAnyValue: best.eval_loss,
    runtimeMinutes: wallMinutes,
    gpus,
    gpuMinutes: wallMinutes * gpus,
    source: opts.source ?? best.source,
    ...(opts.note ? { note: opts.note } : {}),
  };
}

// ---------------------------------------------------------------- reference data

/** data/reference/ of the installed package (works from src/ under tsx and from dist/). */
export function referenceDir(): string {
  let d = __dirname;
  for (let i = 0; i < 6; i++) {
    const cand = path.join(d, "data", "reference");
    if (fs.existsSync(path.join(cand, "workshop-manual-grid.csv"))) return cand;
    d = path.dirname(d);
  }
  throw new Error("data/reference/ not found next to the tunelab package");
}

/** The workshop's published 12-run manual grid (workshop.md §5). */
export function loadReference(file = "workshop-manual-grid.csv"): ManualRun[] {
  const p = path.isAbsolute(file) ? file : path.join(referenceDir(), file);
  return parseCsv(fs.readFileSync(p, "utf8")).map((r, i) => ({
    tag: r.tag, lr: Number(r.lr), bs: Number(r.bs), wd: Number(r.wd),
    eval_loss: Number(r.eval_loss), runtime_s: Number(r.runtime_s),
    source: `${path.basename(p)}:${i + 2}`,
  }));
}

/** Published total wall time of the workshop's grid: 2 h 57 min (job stamps). */
export const WORKSHOP_GRID_WALL_MINUTES = 177;

/** The workshop's "Manual best" reference row: 9.3347 (5 epochs), 177 min × 2 GPUs = 354 GPU-minutes. */
export function referenceManualRow(): ComparisonRow {
  return manualGridRow(loadReference(), {
    gpus: 2,
    wallMinutes: WORKSHOP_GRID_WALL_MINUTES,
    label: "Manual grid (workshop, V100)",
    source: "kaust-rccl/hpo-with-ray deepspeed/experiments/manual/readme.md",
    note: "published; 30-epoch rerun of the best: 11.7463",
    maxT: 5,
  });
}

// ---------------------------------------------------------------- tunelab run dirs

interface SummaryJson {
  experiment: string;
  method: string;
  metric: string;
  mode: "min" | "max";
  best: { trial_id: string; config: Record<string, HParamValue>; value: number; t: number } | null;
  best_any?: { trial_id: string; config: Record<string, HParamValue>; value: number; t: number } | null;
  gpu_seconds: number;
  wall_seconds: number;
  time_to_best_s?: number | null;
  trials?: Array<{ trial_id: string; config: Record<string, HParamValue>; state: string; last_t: number; gpu_seconds: number; queue_seconds?: number }>;
  schedule?: ScheduleStep[];
  [k: string]: unknown;
}

function readJson(p: string): any {
  try {
    return JSON.parse(fs.readFileSync(p, "utf8"));
  } catch (e) {
    throw new Error(`cannot read ${p}: ${(e as Error).message}`);
  }
}

/**
 * A tunelab run directory (runs/<name>/) as a comparison row: summary.json
 * through the same rowFromSummary as `exp.summaryRow()` (experiment.json
 * supplies what older summaries lack), so the notebook and `tunelab compare`
 * show the same row.
 */
export function loadRunDir(dir: string, opts: { member?: string; label?: string } = {}): ComparisonRow {
  const s = readJson(path.join(dir, "summary.json")) as SummaryJson;
  let exp: any = {};
  const ep = path.join(dir, "experiment.json");
  if (fs.existsSync(ep)) exp = readJson(ep);
  return rowFromSummary(s as SummaryForRow, exp, { source: dir, ...opts });
}

/** One line per trial of a run directory (for a DataFrame/CSV of a tunelab grid). */
export function loadRunTrials(dir: string): Array<Record<string, HParamValue | null>> {
  const s = readJson(path.join(dir, "summary.json")) as SummaryJson;
  return (s.trials ?? []).map((t) => ({ trial_id: t.trial_id, ...t.config, state: t.state, last_t: t.last_t, gpu_seconds: t.gpu_seconds }));
}
