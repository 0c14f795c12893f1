/**
 * `tunelab` command line: run / status / attach an experiment headless, plus
 * the subcommands other modules provide (compare, notebooks, cluster,
 * workshop), loaded only when called so `tunelab status` stays fast.
 *
 * Exit codes: 0 ok; 1 runtime error; 2 invalid input (config, arguments).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ExperimentConfig } from "../config/types";
import { experiment, Experiment, resolveRunDir, type ExperimentOptions } from "../experiment";
import type { ExperimentEvent } from "../experiment/events";
import { readJournal } from "../experiment/journal";
import { buildSummary, experimentMaxT, type Summary } from "../experiment/results";
import { foldEvents, type TrialTable } from "../experiment/table";
import { formatProgress, formatSummary, formatTrialTable, ProgressCounter } from "./format";

export interface CliIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  cwd: string;
  /** injected into Experiment (tests) */
  experimentOptions?: ExperimentOptions;
}

export class UsageError extends Error {}

export const HELP = `tunelab — hyperparameter optimization workshops (grid, ASHA, PBT, BOHB)

Usage:
  tunelab run FILE [--poll MS] [--overwrite]
                              run the experiment in FILE (JSON, design.md contract 1)
                              headless; progress on stderr; prints the summary
  tunelab status NAME|DIR     trial states and the best so far of runs/NAME (or DIR)
  tunelab attach NAME|DIR     re-attach to a run whose driver stopped and finish it
  tunelab compare DIR... [--csv] [--baseline METHOD] [--method M] [--scope S]
                              comparison table of finished run directories; a Ray Tune
                              experiment directory is read as one (--method names its
                              scheduler when it has no tuner.pkl; --scope last|all picks
                              the best as Ray's get_best_result does, default full-budget)
  tunelab export --ray RUN_DIR OUT
                              write a tunelab run in Ray Tune's layout (params.json,
                              result.json, progress.csv, experiment_state-*.json)
  tunelab export --curves RAY_DIR FILE [--method M]
                              recorded-curves CSV of a Ray Tune experiment (replay backend)
  tunelab notebooks build --course COURSE.json --out DIR
                              prefilled notebooks per team member
  tunelab cluster check FILE [--json]
                              can we reach the cluster (FILE's slurm backend), submit, see GPUs
  tunelab workshop [--port N] [--notebook-dir DIR] [--frontend auto|lab|notebook7|page] [--open]
                              start Jupyter with the tunelab kernel
  tunelab --help

Exit codes: 0 success, 1 failure, 2 invalid configuration or arguments.
`;

/** Entry point (bin/tunelab.js). Resolves to the exit code and sets process.exitCode. */
export async function main(argv: string[], io?: Partial<CliIO>): Promise<number> {
  const full: CliIO = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), ...io };
  let code: number;
  try {
    code = await dispatch(argv, full);
  } catch (e) {
    const err = e as Error;
    if (err instanceof UsageError || err.name === "ConfigError" || err.name === "CourseError") {
      full.stderr.write(`${err.message}\n`);
      code = 2;
    } else {
      full.stderr.write(`tunelab: ${err.message}\n`);
      code = 1;
    }
  }
  if (!io) {
    process.exitCode = code;
    // the command is over: an open SSH connection or a timer left by a failed run
    // (sbatch refused the job, remoteDir not writable) must not keep the process alive
    if (argv[0] !== "workshop") exitWhenFlushed(code);
  }
  return code;
}

function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = () => { if (--pending === 0) process.exit(code); };
  process.stdout.write("", done);
  process.stderr.write("", done);
}

/** `tunelab CMD --help`: that command's lines of HELP (each command's block starts with "  tunelab CMD"). */
export function commandHelp(cmd: string): string | null {
  const lines = HELP.split("\n");
  const out: string[] = [];
  let inBlock = false;
  for (const l of lines) {
    if (/^  tunelab /.test(l)) inBlock = l.startsWith(`  tunelab ${cmd} `) || l === `  tunelab ${cmd}`;
    else if (!/^ {4,}/.test(l)) inBlock = false;
    if (inBlock) out.push(l);
  }
  return out.length ? `Usage:\n${out.join("\n")}\n\nExit codes: 0 success, 1 failure, 2 invalid configuration or arguments.\n` : null;
}

async function dispatch(argv: string[], io: CliIO): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
    io.stdout.write(HELP);
    return cmd ? 0 : 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    const h = commandHelp(cmd);
    if (!h) throw new UsageError(`tunelab: unknown command "${cmd}" (try tunelab --help)`);
    io.stdout.write(h);
    return 0;
  }
  switch (cmd) {
    case "run": return cmdRun(rest, io);
    case "status": return cmdStatus(rest, io);
    case "attach": return cmdAttach(rest, io);
    case "compare": return cmdCompare(rest, io);
    case "export": return cmdExport(rest, io);
    case "notebooks": return cmdNotebooks(rest, io);
    case "cluster": return cmdCluster(rest, io);
    case "workshop": return cmdWorkshop(rest);
    default:
      throw new UsageError(`tunelab: unknown command "${cmd}" (try tunelab --help)`);
  }
}

interface Flags { positional: string[]; flags: Record<string, string | true> }

function parseFlags(args: string[], valued: string[], boolean: string[]): Flags {
  const out: Flags = { positional: [], flags: {} };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith("--")) {
      const [k, inline] = a.slice(2).split("=", 2);
      if (valued.includes(k)) {
        const v = inline ?? args[++i];
        if (v === undefined) throw new UsageError(`--${k}: a value is required`);
        out.flags[k] = v;
      } else if (boolean.includes(k)) out.flags[k] = true;
      else throw new UsageError(`unknown option --${k}`);
    } else out.positional.push(a);
  }
  return out;
}

// ---------------------------------------------------------------- run / attach

/** A terminal's experiment: Ctrl-C pauses it (again: stops), and its messages go to stderr. */
function cliExperimentOptions(io: CliIO): ExperimentOptions {
  return { handleSigint: true, write: (l) => io.stderr.write(l + "\n"), ...io.experimentOptions };
}

async function cmdRun(args: string[], io: CliIO): Promise<number> {
  const f = parseFlags(args, ["poll"], ["overwrite"]);
  if (f.positional.length !== 1) throw new UsageError("usage: tunelab run FILE");
  const file = path.resolve(io.cwd, f.positional[0]);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`${f.positional[0]}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${f.positional[0]}: not valid JSON: ${(e as Error).message}`);
  }
  const opts = cliExperimentOptions(io);
  if (f.flags.poll !== undefined) opts.pollMs = pollMs(f.flags.poll);
  if (f.flags.overwrite) opts.overwrite = true;
  const exp = withCwd(io.cwd, () => experiment(input as any, opts));
  return drive(exp, io);
}

async function cmdAttach(args: string[], io: CliIO): Promise<number> {
  const f = parseFlags(args, ["poll"], []);
  if (f.positional.length !== 1) throw new UsageError("usage: tunelab attach NAME|DIR");
  const opts = cliExperimentOptions(io);
  if (f.flags.poll !== undefined) opts.pollMs = pollMs(f.flags.poll);
  const dir = withCwd(io.cwd, () => resolveRunDir(f.positional[0]));
  const exp = withCwd(io.cwd, () => Experiment.attach(dir, opts));
  const st = exp.summary().state;
  if (st === "finished" || st === "budget_exhausted" || st === "stopped") {
    io.stderr.write(`${exp.name} already ended (${st}); nothing to attach to\n`);
    io.stdout.write(formatSummary(exp.summary()));
    return 0;
  }
  io.stderr.write(`attached to ${dir}: ${exp.history().length} events restored\n`);
  return drive(exp, io);
}

function pollMs(v: string | true): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--poll: expected milliseconds >= 0, got ${String(v)}`);
  return n;
}

/** Relative runDir / curves paths in a config resolve against the CLI's cwd. */
function withCwd<T>(cwd: string, fn: () => T): T {
  const old = process.cwd();
  if (path.resolve(cwd) === old) return fn();
  process.chdir(cwd);
  try {
    return fn();
  } finally {
    process.chdir(old);
  }
}

async function drive(exp: Experiment, io: CliIO): Promise<number> {
  const tty = !!io.stderr.isTTY;
  const counter = new ProgressCounter(exp.config);
  for (const e of exp.history()) counter.apply(e);
  let lastLen = 0;
  const unsubscribe = exp.subscribe((e: ExperimentEvent) => {
    const line = counter.apply(e);
    if (tty) {
      const bar = formatProgress(counter, 30);
      io.stderr.write(`\r${bar}${" ".repeat(Math.max(0, lastLen - bar.length))}`);
      lastLen = bar.length;
    } else if (line) io.stderr.write(line + "\n");
  });
  // Ctrl-C pauses the run (the experiment's own SIGINT handler); the shell then sees 130, as for any interrupted command
  let interrupted = false;
  const onSigint = () => { interrupted = true; };
  const hearsSigint = io.experimentOptions?.handleSigint !== false;
  if (hearsSigint) process.on("SIGINT", onSigint);
  let summary: Summary;
  try {
    summary = await exp.run();
  } finally {
    if (hearsSigint) process.removeListener("SIGINT", onSigint);
    unsubscribe();
    if (tty) io.stderr.write("\n");
  }
  io.stdout.write(formatSummary(summary));
  io.stdout.write(`run dir: ${exp.runDir}\n`);
  const verdict = failureVerdict(summary);
  if (verdict) io.stderr.write(verdict + "\n");
  if (interrupted && (summary.state === "paused" || summary.state === "stopped")) return 130;
  return summary.state === "failed" || allTrialsFailed(summary) ? 1 : 0;
}

function allTrialsFailed(s: Summary): boolean {
  return s.trials.length > 0 && s.trials.every((t) => t.state === "failed");
}

/** A run with failed trials says so; one whose trials all failed is a failed run. */
export function failureVerdict(s: Summary): string | null {
  const failed = s.trials.filter((t) => t.state === "failed");
  if (!failed.length) return null;
  const first = failed[0];
  const why = first.message ? `: ${first.message.trim().split("\n").slice(-3).join(" | ")}` : "";
  if (allTrialsFailed(s)) return `tunelab: all ${failed.length} trials failed (first, ${first.trial_id}${why}); see ${"trials/" + first.trial_id + "/"} in the run dir`;
  return `tunelab: ${failed.length} of ${s.trials.length} trials failed (first, ${first.trial_id}${why})`;
}

// ---------------------------------------------------------------- status

/** Read a run dir (without starting anything): config, events (all, even an unfinished batch), table. */
export function readRun(dir: string): { config: ExperimentConfig; events: ExperimentEvent[]; table: TrialTable; summary: Summary } {
  const config = JSON.parse(fs.readFileSync(path.join(dir, "experiment.json"), "utf8")) as ExperimentConfig;
  const j = readJournal(path.join(dir, "journal.jsonl"));
  const events = [...j.events, ...j.trailing];
  const table = foldEvents(events, config.metric, config.mode, experimentMaxT(config), config.trainer.gpusPerTrial);
  return { config, events, table, summary: buildSummary(config, table) };
}

async function cmdStatus(args: string[], io: CliIO): Promise<number> {
  const f = parseFlags(args, [], []);
  if (f.positional.length !== 1) throw new UsageError("usage: tunelab status NAME|DIR");
  const dir = withCwd(io.cwd, () => resolveRunDir(f.positional[0]));
  const { config, table, summary } = readRun(dir);
  io.stdout.write(`${config.name} (${config.method.kind}, ${config.backend.kind}) — ${summary.state}; ${dir}\n`);
  io.stdout.write(formatTrialTable(config, table));
  io.stdout.write(formatSummary(summary, { header: false }));
  return 0;
}

// ---------------------------------------------------------------- other modules' commands

function tryRequire(mod: string): any | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require(mod);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" && String((e as Error).message).includes(mod.replace(/^\.+\//, ""))) return null;
    throw e;
  }
}

async function cmdCompare(args: string[], io: CliIO): Promise<number> {
  const f = parseFlags(args, ["baseline", "method", "scope"], ["csv"]);
  if (f.positional.length === 0) throw new UsageError("usage: tunelab compare DIR... [--csv] [--baseline METHOD] [--method M] [--scope S]");
  const results = tryRequire("../results");
  if (!results) throw new Error("compare: the results module is not available in this build");
  const scope = f.flags.scope === undefined ? undefined : String(f.flags.scope);
  if (scope !== undefined && !["full-budget", "last", "all"].includes(scope)) throw new UsageError(`--scope: got ${JSON.stringify(scope)}; expected one of full-budget, last, all`);
  const rows = f.positional.map((d) => {
    const dir = path.resolve(io.cwd, d);
    // a Ray Tune experiment directory (experiment_state-*.json) next to tunelab runs (summary.json)
    if (!results.isRayExperimentDir(dir)) return results.loadRunDir(dir);
    const r = results.readRay(dir, { ...(f.flags.method ? { method: String(f.flags.method) } : {}), ...(scope ? { scope } : {}) });
    for (const w of r.warnings) io.stderr.write(`${d}: ${w}\n`);
    return r.row;
  });
  const cmp = results.compare(rows, f.flags.baseline ? { baseline: String(f.flags.baseline) } : {});
  io.stdout.write((f.flags.csv ? cmp.csv() : cmp.markdown()).replace(/\n?$/, "\n"));
  return 0;
}

async function cmdExport(args: string[], io: CliIO): Promise<number> {
  const usage = "usage: tunelab export --ray RUN_DIR OUT | tunelab export --curves RAY_DIR FILE [--method M]";
  const f = parseFlags(args, ["method"], ["ray", "curves"]);
  if (!!f.flags.ray === !!f.flags.curves || f.positional.length !== 2) throw new UsageError(usage);
  const results = tryRequire("../results");
  if (!results) throw new Error("export: the results module is not available in this build");
  const [from, to] = f.positional.map((p) => path.resolve(io.cwd, p));
  if (f.flags.ray) {
    const r = results.exportRay(from, to);
    io.stdout.write(`${r.trials} trials, ${r.results} results → ${r.dir}\n`);
  } else {
    const r = results.readRay(from, f.flags.method ? { method: String(f.flags.method) } : {});
    for (const w of r.warnings) io.stderr.write(`${f.positional[0]}: ${w}\n`);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    const csv = results.rayCurvesCsv(r);
    fs.writeFileSync(to, csv);
    io.stdout.write(`${csv.trim().split("\n").length - 1} curve rows → ${to}\n`);
  }
  return 0;
}

async function cmdNotebooks(args: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "build") throw new UsageError("usage: tunelab notebooks build --course COURSE.json --out DIR");
  const f = parseFlags(rest, ["course", "out", "notebooks"], []);
  if (typeof f.flags.course !== "string" || typeof f.flags.out !== "string") throw new UsageError("usage: tunelab notebooks build --course COURSE.json --out DIR");
  const nb = tryRequire("./notebooks");
  if (!nb) throw new Error("notebooks: the notebooks module is not available in this build");
  const res = nb.buildNotebooks({
    course: path.resolve(io.cwd, f.flags.course), outDir: path.resolve(io.cwd, f.flags.out),
    ...(typeof f.flags.notebooks === "string" ? { notebooksDir: path.resolve(io.cwd, f.flags.notebooks) } : {}),
  });
  for (const t of res.teams) io.stdout.write(`${t.team}: ${t.members.join(", ")} → ${t.dir}\n`);
  io.stdout.write(`${res.files.length} files written\n`);
  return 0;
}

async function cmdCluster(args: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "check") throw new UsageError("usage: tunelab cluster check FILE [--json]");
  const mod = tryRequire("./cluster");
  if (!mod || typeof mod.clusterCheckCommand !== "function") throw new Error("cluster: the cluster module is not available in this build");
  const argv = rest.map((a) => (a.startsWith("--") ? a : path.resolve(io.cwd, a)));
  return mod.clusterCheckCommand(argv, (line: string) => io.stdout.write(line + "\n"));
}

async function cmdWorkshop(args: string[]): Promise<number> {
  const ws = tryRequire("../../kernel-setup/workshop");
  if (!ws) throw new Error("workshop: kernel-setup/workshop is not available in this build");
  await ws.runWorkshopCli(args);
  // runs in the foreground until Ctrl-C; the process exits from there
  await new Promise<never>(() => undefined);
  return 0;
}

if (require.main === module) {
  void main(process.argv.slice(2));
}
