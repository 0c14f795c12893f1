/**
 * Shared parts of the fault-injection suite (issue 14): experiment files for
 * the local backend with real trainer processes, `tunelab run`/`attach` as
 * real child processes (so kill -9 is a real kill), and the ledger that
 * counts, per trial, what the trainer wrote against what the journal holds.
 */
import { spawn, type ChildProcess } from "node:child_process";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { newReaderState, parseNewBytes } from "../../src/backends/metrics-reader";
import { killRunDirTrials } from "../../src/backends/local";
import { readJournal } from "../../src/experiment/journal";
import type { ExperimentEvent } from "../../src/experiment/events";

export const ROOT = path.resolve(__dirname, "..", "..");
export const FAKE_TRAINER = path.join(ROOT, "test", "backends", "fixtures", "fake_trainer.py");
export const BAD_TRAINER = path.join(__dirname, "fixtures", "bad_trainer.py");
const CLI = path.join(ROOT, "src", "cli", "main.ts");

const made: string[] = [];
export function tmpDir(prefix = "tunelab-faults-"): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}
/** Kill leftover trainers and remove every temp dir (call from after()). */
export function cleanupAll(): void {
  for (const d of made.splice(0)) {
    for (const run of findRunDirs(d)) killRunDirTrials(run);
    fs.rmSync(d, { recursive: true, force: true });
  }
}
function findRunDirs(d: string): string[] {
  const out: string[] = [];
  const walk = (x: string, depth: number) => {
    if (depth > 3) return;
    if (fs.existsSync(path.join(x, "trials"))) out.push(x);
    try {
      for (const e of fs.readdirSync(x, { withFileTypes: true })) if (e.isDirectory() && e.name !== "trials") walk(path.join(x, e.name), depth + 1);
    } catch { /* gone */ }
  };
  walk(d, 0);
  return out;
}

export interface ExpOpts {
  name: string;
  runDir: string;
  method?: Record<string, unknown>;
  space?: Record<string, unknown>;
  samples?: number;
  maxConcurrent?: number;
  epochs?: number;
  trainer?: string;
  options?: Record<string, number | string | boolean>;
  env?: Record<string, string>;
  seed?: number;
}

/** Write an experiment JSON (local backend, a Python trainer of the suite) and return its path. */
export function writeExp(dir: string, o: ExpOpts): string {
  const exp = {
    name: o.name,
    seed: o.seed ?? 7,
    space: o.space ?? { lr: { loguniform: [1e-4, 1e-1] } },
    method: o.method ?? { kind: "asha", reductionFactor: 2 },
    samples: o.samples ?? 5,
    maxConcurrent: o.maxConcurrent ?? 1,
    trainer: { epochs: o.epochs ?? 4, command: ["/usr/bin/python3", o.trainer ?? FAKE_TRAINER], options: { step_s: 0.03, ...o.options }, ...(o.env ? { env: o.env } : {}) },
    backend: { kind: "local" },
    runDir: o.runDir,
  };
  const f = path.join(dir, `${o.name}.json`);
  fs.writeFileSync(f, JSON.stringify(exp, null, 2));
  return f;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `tunelab ARGS` as a child process (TypeScript through tsx), like a user's terminal. */
export function startCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (b) => (stdout += b));
  child.stderr!.on("data", (b) => (stderr += b));
  const done = new Promise<CliResult>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** Resolves when `pred()` holds, checking every 20 ms (no clock asserted: the test's own timeout bounds it). */
export async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setTimeout(r, 20));
}

export function journalLines(runDir: string): number {
  try {
    return fs.readFileSync(path.join(runDir, "journal.jsonl"), "utf8").split("\n").filter(Boolean).length;
  } catch {
    return 0;
  }
}

/** One trial's count: lines the trainer wrote vs records in the journal. */
export interface TrialLedger {
  trialId: string;
  /** non-blank lines in metrics.jsonl (a torn fragment glued to a report counts as its own line) */
  written: number;
  recorded: number;
  rejected: number;
  lost: number;
  duplicated: number;
}

/**
 * What each trial's metrics.jsonl holds, parsed record by record, against
 * the journal's `report` and `report_rejected` events for that trial, in
 * order. Equal sequences = nothing lost, nothing doubled.
 */
export function ledger(runDir: string, events?: readonly ExperimentEvent[]): TrialLedger[] {
  const evs = events ?? readJournal(path.join(runDir, "journal.jsonl")).events;
  const out: TrialLedger[] = [];
  const trials = fs.readdirSync(path.join(runDir, "trials")).filter((n) => /^t\d+$/.test(n)).sort();
  for (const id of trials) {
    let buf = Buffer.alloc(0);
    try { buf = fs.readFileSync(path.join(runDir, "trials", id, "metrics.jsonl")); } catch { /* none */ }
    const onDisk = parseNewBytes(buf, newReaderState(), { final: true }).sequence;
    const mine = evs.filter((e) => (e.type === "report" || e.type === "report_rejected") && e.trialId === id);
    const recorded = mine.filter((e) => e.type === "report");
    const rejected = mine.filter((e) => e.type === "report_rejected");
    // key of a record: the report's JSON (NaN spelled out) or the rejection's reason
    const key = (x: { report: unknown } | { rejected: { reason: string } } | ExperimentEvent): string => {
      if ("report" in x) return "R" + JSON.stringify(x.report, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
      if ("rejected" in x) return "X" + x.rejected.reason;
      return "X" + (x as { reason: string }).reason;
    };
    const want = onDisk.map(key);
    const got = mine.map(key);
    const counts = (xs: string[]) => xs.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());
    const w = counts(want);
    const g = counts(got);
    let lost = 0;
    let duplicated = 0;
    for (const [k, n] of w) lost += Math.max(0, n - (g.get(k) ?? 0));
    for (const [k, n] of g) duplicated += Math.max(0, n - (w.get(k) ?? 0));
    assert.deepEqual(got, want, `${id}: the journal's records equal metrics.jsonl's, in order`);
    out.push({ trialId: id, written: onDisk.length, recorded: recorded.length, rejected: rejected.length, lost, duplicated });
  }
  return out;
}

/** Totals over trials, plus the row printed in the suite's table. */
export function total(rows: TrialLedger[]): Omit<TrialLedger, "trialId"> {
  return rows.reduce((a, r) => ({ written: a.written + r.written, recorded: a.recorded + r.recorded, rejected: a.rejected + r.rejected, lost: a.lost + r.lost, duplicated: a.duplicated + r.duplicated }), { written: 0, recorded: 0, rejected: 0, lost: 0, duplicated: 0 });
}

const TABLE = path.join(os.tmpdir(), "tunelab-fault-table.md");
/** One row of the suite's table: printed, and appended to $TMPDIR/tunelab-fault-table.md for the report. */
export function tableRow(caseName: string, rows: TrialLedger[], extra = ""): void {
  const t = total(rows);
  const line = `| ${caseName} | ${rows.length} | ${t.written} | ${t.recorded} | ${t.rejected} | ${t.lost} | ${t.duplicated} | ${extra} |`;
  console.log(line);
  fs.appendFileSync(TABLE, line + "\n");
}

/** The summary with wall-clock figures taken out (they differ between any two real runs). */
export function timeless(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(timeless);
  if (v && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (!/(_seconds|_s|^at)$/.test(k)) o[k] = timeless(x);
    return o;
  }
  return v;
}

/** Every decision of a run, in order, without timestamps. */
export function decisions(runDir: string): string[] {
  return readJournal(path.join(runDir, "journal.jsonl")).events
    .filter((e) => e.type === "decision")
    .map((e) => { const d = e as Extract<ExperimentEvent, { type: "decision" }>; return `${d.trialId}@${d.t}:${d.action}${d.reason ? ` (${d.reason})` : ""}`; });
}

export function summaryOf(runDir: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(runDir, "summary.json"), "utf8"));
}

/** `ls -l` of a directory, as text (the closing note shows it). */
export function lsl(dir: string): string {
  return fs.readdirSync(dir).sort().map((n) => {
    const st = fs.statSync(path.join(dir, n));
    return `${(st.mode & 0o7777).toString(8).padStart(4, "0")} ${st.isDirectory() ? "d" : "-"} ${n}`;
  }).join("\n");
}
