/**
 * `tunelab export --ray RUN_DIR OUT`: a tunelab run directory (design.md §3)
 * written in Ray Tune's experiment layout (docs/workshop.md Appendix A), so
 * readers built for Ray — ExperimentAnalysis-style loaders of
 * experiment_state + result.json, TensorBoard-from-CSV tools reading
 * progress.csv — open it, and `results.importRay(OUT)` gives back the run's
 * comparison row.
 *
 * Per trial `tunelab_<trial_id>_<n>_<k=v,...>_<date>/` with params.json
 * (the first config, sorted, indent 2 like Ray's JsonLogger), result.json
 * (one JSON object per report: the trainer's metrics, then Ray's auto-filled
 * keys in Ray's order), progress.csv (the same rows without config, Python
 * csv spelling: True/False, empty for None, nan); experiment_state-<date>.json
 * (trial_data: [trial state JSON, run metadata JSON] per trial, the resources
 * as a pickled PlacementGroupFactory); pbt_global.txt / pbt_policy_<id>.txt
 * with experiment tags as Ray writes them; tunelab.json for what Ray's layout
 * has no field for (method, full budget, allocation, device).
 *
 * Times follow Ray's meaning: time_this_iter_s is the wall time since the
 * previous report of the same process (the first one since the process
 * started), time_total_s adds up over the trial's lineage (after a PBT
 * exploit it continues from the donor's checkpoint, after a resume from the
 * trial's own), timestamp is whole seconds.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ExperimentConfig, HParams } from "../config/types";
import type { ExperimentEvent } from "../experiment/events";
import { readJournal } from "../experiment/journal";
import { foldEvents } from "../experiment/table";
import { buildSummary, experimentMaxT } from "../experiment/results";
import { writePickledObject } from "./ray-pickle";

export interface RayExportResult {
  /** the Ray experiment directory written */
  dir: string;
  stateFile: string;
  trials: number;
  results: number;
}

const AUTO_KEYS = ["timestamp", "checkpoint_dir_name", "done", "training_iteration", "trial_id", "date", "time_this_iter_s", "time_total_s", "pid", "hostname", "node_ip", "config", "time_since_restore", "iterations_since_restore", "experiment_tag"] as const;
/** trainer keys that Ray's own keys replace (design.md §2 report line) */
const TRAINER_KEYS = new Set(["t", "time_total_s", "checkpoint", "trial_id"]);

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** Ray's date_str(): local time "%Y-%m-%d_%H-%M-%S". */
function dateStr(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}_${pad(d.getHours())}-${pad(d.getMinutes())}-${pad(d.getSeconds())}`;
}

/** Ray's format_vars value spelling in experiment tags: floats with 4 decimals. */
function tagValue(v: unknown): string {
  return typeof v === "number" && !Number.isInteger(v) ? v.toFixed(4) : String(v);
}

/** A Python float's repr-like spelling for CSV (json numbers, nan/inf as Python writes them). */
function pyCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "nan";
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    return Number.isInteger(v) && !String(v).includes("e") ? String(v) : String(v);
  }
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** JSON as Python's json.dumps writes it (NaN / Infinity are bare tokens there). */
function pyJson(v: unknown, indent?: number): string {
  const s = JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? `__py_${Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity"}__` : x), indent);
  return s.replace(/"__py_(NaN|Infinity|-Infinity)__"/g, "$1");
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

/** Export the tunelab run in `runDir` as a Ray Tune experiment directory `outDir` (created; must not hold files). */
export function exportRay(runDir: string, outDir: string): RayExportResult {
  const run = path.resolve(runDir);
  const out = path.resolve(outDir);
  const expFile = path.join(run, "experiment.json");
  if (!fs.existsSync(expFile)) throw new Error(`${expFile}: not found; RUN_DIR must be a tunelab run directory (runs/<name>/)`);
  let config: ExperimentConfig;
  try {
    config = JSON.parse(fs.readFileSync(expFile, "utf8")) as ExperimentConfig;
  } catch (e) {
    throw new Error(`${expFile}: not valid JSON: ${(e as Error).message}`);
  }
  const journalFile = path.join(run, "journal.jsonl");
  if (!fs.existsSync(journalFile)) throw new Error(`${journalFile}: not found; the run has no events to export`);
  if (fs.existsSync(out) && fs.readdirSync(out).length) throw new Error(`${out}: exists and is not empty; export into a new directory`);
  const j = readJournal(journalFile);
  const events: ExperimentEvent[] = [...j.events, ...j.trailing];
  const maxT = experimentMaxT(config);
  const table = foldEvents(events, config.metric, config.mode, maxT, config.trainer.gpusPerTrial);
  const summary = buildSummary(config, table);
  fs.mkdirSync(out, { recursive: true });

  const hostname = os.hostname();
  const gpusPerTrial = Math.max(0, config.trainer.gpusPerTrial);
  const order = table.order;
  const index = new Map(order.map((id, i) => [id, i + 1]));
  const initial = new Map<string, HParams>();
  const tags = new Map<string, string>();
  const current = new Map<string, HParams>();
  const dirs = new Map<string, string>();
  const rows = new Map<string, Array<Record<string, unknown>>>();
  /** per trial: the exported time_total_s at each t (restore points for resumes and exploits) */
  const totals = new Map<string, Map<number, number>>();
  /** per trial: the process now running (started at, reports since, base of time_total_s, restore pending) */
  const proc = new Map<string, { startedAt: number; lastAt: number; since: number; base: number | null; pid: number }>();
  const pendingBase = new Map<string, number>();
  const firstStart = new Map<string, number>();
  let pid = 10000 + (process.pid % 50000);
  const policyRows: unknown[][] = [];
  const policies = new Map<string, unknown[][]>();
  const tagOf = (cfg: HParams, i: number) => `${i}_${Object.entries(cfg).map(([k, v]) => `${k}=${tagValue(v)}`).join(",")}`;

  for (const e of events) {
    if (e.type === "trial_added") {
      if (initial.has(e.trialId)) continue;
      initial.set(e.trialId, { ...e.config });
      current.set(e.trialId, { ...e.config });
      tags.set(e.trialId, tagOf(e.config, index.get(e.trialId) ?? 0));
      rows.set(e.trialId, []);
      totals.set(e.trialId, new Map());
    } else if (e.type === "trial_state" && e.state === "running") {
      if (!firstStart.has(e.trialId)) firstStart.set(e.trialId, e.at);
      proc.set(e.trialId, { startedAt: e.at, lastAt: e.at, since: 0, base: pendingBase.get(e.trialId) ?? null, pid: ++pid });
      pendingBase.delete(e.trialId);
    } else if (e.type === "exploit") {
      // the next process of the target continues from the donor's checkpoint at donorT
      pendingBase.set(e.trialId, totals.get(e.donor)?.get(e.donorT) ?? 0);
      const row = [tags.get(e.trialId), tags.get(e.donor), e.t, e.donorT, { ...(current.get(e.donor) ?? e.oldConfig) }, { ...e.config }];
      policyRows.push(row);
      policies.set(e.trialId, [...(policies.get(e.donor) ?? []), row]);
      current.set(e.trialId, { ...e.config });
    } else if (e.type === "report") {
      const p = proc.get(e.trialId);
      const list = rows.get(e.trialId);
      if (!p || !list) continue;
      const r = e.report;
      if (p.base === null) {
        // a resume from the trial's own checkpoint at t-1 (or a fresh start at t = 1)
        p.base = r.t > 1 ? totals.get(e.trialId)?.get(r.t - 1) ?? 0 : 0;
      }
      const thisIter = (e.at - p.lastAt) / 1000;
      p.lastAt = e.at;
      p.since++;
      const sinceRestore = (e.at - p.startedAt) / 1000;
      const total = p.base + sinceRestore;
      totals.get(e.trialId)!.set(r.t, total);
      const user: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) if (!TRAINER_KEYS.has(k)) user[k] = v;
      const tag = tags.get(e.trialId)!;
      const cfg = current.get(e.trialId)!;
      const changed = JSON.stringify(cfg) !== JSON.stringify(initial.get(e.trialId));
      list.push({
        ...user,
        timestamp: Math.floor(e.at / 1000),
        checkpoint_dir_name: r.checkpoint ? `checkpoint_${pad(r.t - 1, 6)}` : null,
        done: false,
        training_iteration: r.t,
        trial_id: e.trialId,
        date: dateStr(e.at),
        time_this_iter_s: thisIter,
        time_total_s: total,
        pid: p.pid,
        hostname,
        node_ip: "127.0.0.1",
        config: { ...cfg },
        time_since_restore: sinceRestore,
        iterations_since_restore: p.since,
        experiment_tag: changed ? `${tag}@perturbed[${Object.entries(cfg).map(([k, v]) => `${k}=${tagValue(v)}`).join(",")}]` : tag,
      });
    }
  }

  const session = dateStr(table.startedAt ?? Date.now());
  const trialData: Array<[string, string]> = [];
  let nResults = 0;
  for (const id of order) {
    const tr = table.get(id)!;
    const list = rows.get(id) ?? [];
    if (list.length && ["completed", "stopped", "failed"].includes(tr.state)) list[list.length - 1].done = true;
    const started = firstStart.get(id) ?? tr.addedAt;
    const dirName = `tunelab_${id}_${tags.get(id)}`.slice(0, 130).replace(/[/()]/g, "_") + `_${dateStr(started)}`;
    dirs.set(id, dirName);
    const tdir = path.join(out, dirName);
    fs.mkdirSync(tdir, { recursive: true });
    fs.writeFileSync(path.join(tdir, "params.json"), pyJson(sortKeys(initial.get(id) ?? tr.initialConfig), 2));
    fs.writeFileSync(path.join(tdir, "result.json"), list.map((r) => pyJson(r) + "\n").join(""));
    if (list.length) {
      const cols = Object.keys(list[0]).filter((k) => k !== "config");
      const csv = [cols.join(","), ...list.map((r) => cols.map((c) => pyCell(r[c])).join(","))];
      fs.writeFileSync(path.join(tdir, "progress.csv"), csv.join("\r\n") + "\r\n");
    } else fs.writeFileSync(path.join(tdir, "progress.csv"), "");
    nResults += list.length;
    const status = tr.state === "completed" || tr.state === "stopped" ? "TERMINATED" : tr.state === "failed" ? "ERROR"
      : tr.state === "paused" ? "PAUSED" : tr.state === "running" ? "RUNNING" : "PENDING";
    if (status === "ERROR") fs.writeFileSync(path.join(tdir, "error.txt"), `Failure # 1 (occurred at ${dateStr(table.lastAt ?? started)})\n${tr.message ?? "the trial failed"}${tr.exitCode != null ? ` (exit code ${tr.exitCode})` : ""}\n`);
    const bundle: Record<string, number> = { CPU: 1 };
    if (gpusPerTrial > 0) bundle.GPU = gpusPerTrial;
    const pgf = Buffer.from(writePickledObject("ray.tune.execution.placement_groups", "PlacementGroupFactory", {
      _bundles: [bundle], _head_bundle_is_empty: false, _strategy: "PACK", _args: [], _kwargs: {},
    })).toString("hex");
    const state = {
      stub: false, trainable_name: "tunelab", trial_id: id, config: current.get(id) ?? tr.config,
      evaluated_params: { ...(initial.get(id) ?? {}) }, experiment_tag: list.length ? list[list.length - 1].experiment_tag : tags.get(id),
      stopping_criterion: {}, log_to_file: [null, null], max_failures: 0, export_formats: [], status,
      relative_logdir: dirName, trial_name_creator: null, trial_dirname_creator: null, custom_trial_name: null,
      custom_dirname: null, restore_path: null, placement_group_factory: pgf,
    };
    const meta = {
      start_time: started / 1000, num_failures: status === "ERROR" ? 1 : 0, num_failures_after_restore: 0,
      error_filename: status === "ERROR" ? "error.txt" : null, pickled_error_filename: null,
      last_result: list.length ? list[list.length - 1] : {}, last_result_time: list.length ? (list[list.length - 1].timestamp as number) : -Infinity,
    };
    trialData.push([pyJson(state, 2), pyJson(meta, 2)]);
  }
  const stateFile = path.join(out, `experiment_state-${session}.json`);
  fs.writeFileSync(stateFile, pyJson({
    trial_data: trialData,
    runner_data: { _session_str: session, _start_time: (table.startedAt ?? 0) / 1000 },
    // start_time as Ray ≥ 2.7; timestamp (when the state was saved: here the run's last event) as Ray < 2.7
    stats: { start_time: (table.startedAt ?? 0) / 1000, timestamp: (table.lastAt ?? table.startedAt ?? 0) / 1000 },
  }));
  if (policyRows.length) {
    fs.writeFileSync(path.join(out, "pbt_global.txt"), policyRows.map((r) => pyJson(r) + "\n").join(""));
    for (const [id, list] of policies) fs.writeFileSync(path.join(out, `pbt_policy_${id}.txt`), list.map((r) => pyJson(r) + "\n").join(""));
  }
  fs.writeFileSync(path.join(out, "tunelab.json"), JSON.stringify({
    format: "tunelab-ray-export/1",
    note: "written by `tunelab export --ray`: what Ray's layout has no field for; Ray's tools ignore this file",
    experiment: config.name, method: config.method.kind, metric: config.metric, mode: config.mode, max_t: maxT,
    gpus: summary.gpus, gpus_per_trial: gpusPerTrial, device: summary.device, devices: summary.devices,
    exported_from: run,
  }, null, 2) + "\n");
  return { dir: out, stateFile, trials: order.length, results: nResults };
}
