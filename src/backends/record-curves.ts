/**
 * Record a learning-curve table for the replay backend (design.md §4) by
 * running a full grid of real trials through the local backend.
 *
 * Output CSV: hyperparameter columns (grid order), `t`, the metric, `time_s`
 * (seconds that step took: the trainer's `epoch_time_s` when it reports one,
 * else the difference of its time_total_s; process start-up is not counted),
 * one row per (configuration, t).
 *
 * CLI:
 *   node --import tsx src/backends/record-curves.ts --out data/curves/x.csv \
 *     --epochs 6 --grid '{"lr":[1e-3,3e-3],"batch_size":[16,64]}' \
 *     --options '{"model":"small","tokens_per_epoch":16384}' --concurrency 2
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalBackend, killRunDirTrials } from "./local";
import type { BackendEvent, Report, TrialLaunch } from "./types";

export type GridValue = number | string | boolean;

export interface RecordOptions {
  out: string;
  grid: Record<string, GridValue[]>;
  epochs: number;
  metric?: string;
  /** trial.json "trainer" options (model, tokens_per_epoch, threads...). */
  options?: Record<string, unknown>;
  /** trainer argv; default: /usr/bin/python3 src/trainer/train.py */
  command?: string[];
  concurrency?: number;
  gpus?: number[];
  gpusPerTrial?: number;
  env?: Record<string, string>;
  runDir?: string;
  seed?: number;
  /** progress lines (default: none). */
  log?: (line: string) => void;
}

export interface RecordResult {
  file: string;
  rows: number;
  configs: number;
  failed: string[];
  wallSeconds: number;
}

export function gridProduct(grid: Record<string, GridValue[]>): Array<Record<string, GridValue>> {
  let out: Array<Record<string, GridValue>> = [{}];
  for (const [k, vs] of Object.entries(grid)) {
    if (!Array.isArray(vs) || vs.length === 0) throw new Error(`grid.${k} must be a non-empty list`);
    out = out.flatMap((c) => vs.map((v) => ({ ...c, [k]: v })));
  }
  return out;
}

/** CSV cell: numbers as JS prints them (round-trip exact), NaN/null as "nan". */
function cell(v: unknown): string {
  if (v === null || v === undefined || (typeof v === "number" && !Number.isFinite(v))) return "nan";
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function curvesCsv(keys: string[], metric: string, rows: Array<{ config: Record<string, GridValue>; t: number; value: number | null; time_s: number }>): string {
  const lines = [[...keys, "t", metric, "time_s"].join(",")];
  for (const r of rows) {
    lines.push([...keys.map((k) => cell(r.config[k])), String(r.t), cell(r.value), cell(Math.round(r.time_s * 10000) / 10000)].join(","));
  }
  return lines.join("\n") + "\n";
}

export async function recordCurves(o: RecordOptions): Promise<RecordResult> {
  const metric = o.metric ?? "eval_loss";
  const keys = Object.keys(o.grid);
  const configs = gridProduct(o.grid);
  const root = path.resolve(__dirname, "../..");
  const command = o.command ?? ["/usr/bin/python3", path.join(root, "src", "trainer", "train.py")];
  const runDir = o.runDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-record-"));
  const backend = new LocalBackend({ runDir, maxConcurrent: o.concurrency ?? 1, gpus: o.gpus ?? [] });
  await backend.start();
  const t0 = Date.now();
  const ids = configs.map((_, i) => `c${String(i).padStart(3, "0")}`);
  const launches: TrialLaunch[] = configs.map((config, i) => ({
    trialId: ids[i],
    trial: {
      trial_id: ids[i],
      experiment: "record-curves",
      config,
      max_t: o.epochs,
      start_t: 0,
      restore_from: null,
      seed: o.seed ?? 0,
      metric,
      mode: "min",
      trainer: { ...(o.options ?? {}), checkpoint_every: 0 },
    },
    command,
    env: o.env ?? {},
    gpus: o.gpusPerTrial ?? 0,
  }));
  const reports = new Map<string, Report[]>(ids.map((id) => [id, []]));
  const ended = new Map<string, BackendEvent & { type: "state" }>();
  const onInterrupt = () => {
    backend.killAll();
    process.exit(130);
  };
  process.once("SIGINT", onInterrupt);
  try {
    await backend.submit(launches);
    while (ended.size < ids.length) {
      for (const e of await backend.poll()) {
        if (e.type === "report") reports.get(e.trialId)!.push(e.report);
        else if (e.type === "state" && ["completed", "stopped", "failed"].includes(e.state)) {
          ended.set(e.trialId, e);
          const c = configs[ids.indexOf(e.trialId)];
          o.log?.(`${e.trialId} ${JSON.stringify(c)} ${e.state}${e.message ? ": " + e.message.split("\n").slice(-1)[0] : ""} (${ended.size}/${ids.length})`);
        }
      }
      await backend.wait(250);
    }
  } finally {
    process.removeListener("SIGINT", onInterrupt);
    backend.killAll();
    await backend.close();
    killRunDirTrials(runDir);
  }
  const rows: Array<{ config: Record<string, GridValue>; t: number; value: number | null; time_s: number }> = [];
  const failed: string[] = [];
  ids.forEach((id, i) => {
    const st = ended.get(id);
    if (!st || st.state !== "completed") {
      failed.push(`${id} ${JSON.stringify(configs[i])}: ${st?.state ?? "?"} ${st?.message ?? ""}`.trim());
      return;
    }
    let prev = 0;
    for (const r of reports.get(id)!.filter((r) => r.preempted !== true)) {
      const v = r[metric];
      // the trainer's own per-epoch time when it reports one (start-up excluded), else the time_total_s step
      const step = typeof r.epoch_time_s === "number" ? r.epoch_time_s : r.time_total_s - prev;
      rows.push({ config: configs[i], t: r.t, value: typeof v === "number" ? v : null, time_s: Math.max(0, step) });
      prev = r.time_total_s;
    }
  });
  fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
  fs.writeFileSync(o.out, curvesCsv(keys, metric, rows));
  if (!o.runDir) fs.rmSync(runDir, { recursive: true, force: true });
  return { file: path.resolve(o.out), rows: rows.length, configs: configs.length - failed.length, failed, wallSeconds: (Date.now() - t0) / 1000 };
}

function parseArgs(argv: string[]): RecordOptions {
  const a = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith("--")) throw new Error(`unexpected argument ${argv[i]}`);
    a.set(argv[i].slice(2), argv[i + 1]);
    i++;
  }
  const need = (k: string) => {
    const v = a.get(k);
    if (v === undefined) throw new Error(`--${k} is required`);
    return v;
  };
  return {
    out: need("out"),
    grid: JSON.parse(need("grid")),
    epochs: Number(need("epochs")),
    metric: a.get("metric"),
    options: a.has("options") ? JSON.parse(a.get("options")!) : { model: "small" },
    concurrency: a.has("concurrency") ? Number(a.get("concurrency")) : 1,
    gpus: a.has("gpus") ? a.get("gpus")!.split(",").filter(Boolean).map(Number) : [],
    gpusPerTrial: a.has("gpus-per-trial") ? Number(a.get("gpus-per-trial")) : 0,
    command: a.has("command") ? JSON.parse(a.get("command")!) : undefined,
    env: a.has("env") ? JSON.parse(a.get("env")!) : undefined,
    log: (l) => process.stderr.write(l + "\n"),
  };
}

if (require.main === module) {
  recordCurves(parseArgs(process.argv.slice(2)))
    .then((r) => {
      process.stdout.write(JSON.stringify(r, null, 2) + "\n");
      process.exit(r.failed.length ? 1 : 0);
    })
    .catch((e) => {
      process.stderr.write(`record-curves: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(2);
    });
}
