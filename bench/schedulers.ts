/**
 * Schedulers and searchers on recorded curves (design.md §4 CSV): for grid,
 * random, ASHA, HyperBand, PBT and BOHB (tunelab's pure implementations,
 * driven by the event simulator in src/schedulers/simulate.ts on a virtual
 * clock), and Optuna 3.1's SuccessiveHalving / Hyperband pruners + TPE
 * (a real python3-optuna process on the same curves):
 *
 * - GPU-minutes until a configuration within 1% of the grid's best final
 *   loss has been trained to the full budget;
 * - regret at equal GPU-minutes (best full-budget loss found within a fixed
 *   GPU budget, minus the grid's best);
 * - simulated wall-clock until the method's best full-budget result;
 * - decision overhead per scheduler call at 1k and 10k trials, and memory.
 *
 * Curves: data/curves/*.csv when present (the first file; configurations are
 * answered with the nearest recorded one, log-space for lr-like columns),
 * else a deterministic synthetic table generated here (the output says which).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { parseExperiment } from "../src/config/schema";
import type { ExperimentConfig, HParams, SpaceSpec } from "../src/config/types";
import { createScheduler } from "../src/schedulers";
import { createSearcher, observationFor } from "../src/searchers";
import { simulate, type SimResult } from "../src/schedulers/simulate";
import { Rng } from "../src/space/rng";
import type { Report } from "../src/backends/types";

interface Table {
  source: string;
  keys: string[];
  logKeys: Set<string>;
  metric: string;
  maxT: number;
  rows: Map<string, { config: HParams; values: number[]; seconds: number[] }>;
}

function loadCsv(file: string): Table {
  const lines = fs.readFileSync(file, "utf8").trim().split(/\r?\n/);
  const head = lines[0].split(",");
  const ti = head.indexOf("t");
  const si = head.indexOf("time_s");
  const keys = head.slice(0, ti);
  const metric = head[ti + 1];
  const rows: Table["rows"] = new Map();
  let maxT = 0;
  for (const line of lines.slice(1)) {
    const cells = line.split(",");
    const config: HParams = {};
    keys.forEach((k, i) => {
      const n = Number(cells[i]);
      config[k] = cells[i] !== "" && !Number.isNaN(n) ? n : cells[i];
    });
    const id = JSON.stringify(config);
    const t = Number(cells[ti]);
    if (rows.has(id) && rows.get(id)!.values[t - 1] !== undefined) continue; // repeated configuration: keep the first
    const v = cells[ti + 1].toLowerCase() === "nan" ? NaN : Number(cells[ti + 1]);
    if (!rows.has(id)) rows.set(id, { config, values: [], seconds: [] });
    const r = rows.get(id)!;
    r.values[t - 1] = v;
    r.seconds[t - 1] = Number(cells[si]);
    maxT = Math.max(maxT, t);
  }
  const logKeys = new Set(keys.filter((k) => {
    const vs = [...rows.values()].map((r) => r.config[k]).filter((x): x is number => typeof x === "number");
    return vs.length > 0 && Math.min(...vs) > 0 && Math.max(...vs) / Math.min(...vs) > 20;
  }));
  return { source: path.relative(process.cwd(), file), keys, logKeys, metric, maxT, rows };
}

/** Deterministic synthetic curves (used only when no recorded file exists). */
function synthetic(): Table {
  const rows: Table["rows"] = new Map();
  const lrs = [1e-4, 2.2e-4, 4.6e-4, 1e-3, 2.2e-3, 4.6e-3, 1e-2, 2.2e-2];
  for (const lr of lrs) for (const bs of [16, 32]) for (const wd of [0, 0.1]) {
    const q = Math.log10(lr / 2.2e-3);
    const values = Array.from({ length: 8 }, (_, i) => {
      const t = i + 1;
      if (lr > 1.5e-2 && bs === 16 && t > 3) return NaN;
      return 2.3 + 0.35 * q * q + (1.5 * Math.max(0.2, -q)) / Math.sqrt(t) + wd * 0.004 + (bs === 32 ? 0.05 : 0);
    });
    rows.set(JSON.stringify({ lr, batch_size: bs, weight_decay: wd }), { config: { lr, batch_size: bs, weight_decay: wd }, values, seconds: values.map(() => (bs === 16 ? 1.4 : 0.9)) });
  }
  return { source: "synthetic (no data/curves/*.csv found)", keys: ["lr", "batch_size", "weight_decay"], logKeys: new Set(["lr"]), metric: "eval_loss", maxT: 8, rows };
}

function nearest(tab: Table, c: HParams) {
  let best: { config: HParams; values: number[]; seconds: number[] } | null = null;
  let bd = Infinity;
  for (const r of tab.rows.values()) {
    let d = 0;
    for (const k of tab.keys) {
      const a = c[k], b = r.config[k];
      if (typeof a === "number" && typeof b === "number") d += tab.logKeys.has(k) ? Math.abs(Math.log(a) - Math.log(b)) : Math.abs(a - b);
      else if (a !== b) d += 1e6;
    }
    if (d < bd) { bd = d; best = r; }
  }
  return best!;
}

function spaceOf(tab: Table): SpaceSpec {
  const s: SpaceSpec = {};
  for (const k of tab.keys) {
    const vs = [...new Set([...tab.rows.values()].map((r) => r.config[k]))].sort((a, b) => (a < b ? -1 : 1));
    if (tab.logKeys.has(k)) s[k] = { loguniform: [Math.min(...(vs as number[])), Math.max(...(vs as number[]))] };
    else s[k] = { choice: vs };
  }
  return s;
}
function gridSpaceOf(tab: Table): SpaceSpec {
  const s: SpaceSpec = {};
  for (const k of tab.keys) s[k] = { grid: [...new Set([...tab.rows.values()].map((r) => r.config[k]))].sort((a, b) => (a < b ? -1 : 1)) };
  return s;
}

interface Metrics { toWithin1: number | null; regretAtB: number; wallToBest: number; bestFinal: number; gpuMin: number; wallMin: number; modelPicks?: string }

function metricsOf(r: SimResult, maxT: number, gridBest: number, budgetMin: number): Metrics {
  const finals = r.trials.flatMap((t) => t.reports.filter((x) => x.t >= maxT && Number.isFinite(x.value)));
  finals.sort((a, b) => a.gpuSeconds - b.gpuSeconds);
  const hit = finals.find((x) => x.value <= gridBest * 1.01);
  const inBudget = finals.filter((x) => x.gpuSeconds / 60 <= budgetMin);
  const bestIn = inBudget.length ? Math.min(...inBudget.map((x) => x.value)) : Infinity;
  const bestFinal = finals.length ? Math.min(...finals.map((x) => x.value)) : Infinity;
  const firstBest = finals.filter((x) => x.value === bestFinal).sort((a, b) => a.clock - b.clock)[0];
  const mb = r.trials.filter((t) => t.modelBasedPick !== undefined);
  return {
    toWithin1: hit ? hit.gpuSeconds / 60 : null,
    regretAtB: bestIn - gridBest,
    wallToBest: firstBest ? firstBest.clock / 60 : NaN,
    bestFinal,
    gpuMin: r.gpuSeconds / 60,
    wallMin: r.wallSeconds / 60,
    modelPicks: mb.length ? `${mb.filter((t) => t.modelBasedPick).length}/${mb.length}` : undefined,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const f2 = (x: number | null) => (x === null || !Number.isFinite(x) ? "—" : x.toFixed(2));
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "—");

function methods(tab: Table): Array<{ label: string; method: Record<string, unknown>; samples: number; grid?: boolean }> {
  const T = tab.maxT;
  return [
    { label: "grid (all recorded configurations)", method: { kind: "grid" }, samples: tab.rows.size, grid: true },
    { label: "random", method: { kind: "random" }, samples: tab.rows.size },
    { label: "ASHA (g=1, η=2, max_t)", method: { kind: "asha", gracePeriod: 1, reductionFactor: 2, maxT: T }, samples: tab.rows.size },
    { label: "ASHA (defaults: η=4)", method: { kind: "asha" }, samples: tab.rows.size },
    { label: "HyperBand (η=2)", method: { kind: "hyperband", reductionFactor: 2, maxT: T }, samples: tab.rows.size },
    { label: "PBT (population 8, interval 1)", method: { kind: "pbt" }, samples: 8 },
    { label: "BOHB (η=2)", method: { kind: "bohb", reductionFactor: 2, maxT: T }, samples: tab.rows.size },
  ];
}

function runMethod(tab: Table, cfg: ExperimentConfig, seed: number): SimResult {
  const scheduler = createScheduler(cfg, new Rng(seed).fork(1));
  const searcher = createSearcher(cfg, new Rng(seed).fork(2));
  return simulate({
    scheduler, searcher, samples: cfg.samples, maxConcurrent: cfg.maxConcurrent, maxT: tab.maxT, metric: tab.metric, mode: "min",
    curve: (c, t) => {
      const r = nearest(tab, c);
      const i = Math.min(t, tab.maxT) - 1;
      return { value: r.values[i], seconds: r.seconds[i] ?? r.seconds[r.seconds.length - 1] };
    },
    observe: (s, id, c, rep: Report) => observationFor(s, id, c, rep, tab.metric, "min"),
  });
}

function optunaRuns(tab: Table, seeds: number[]): { rows: Array<[string, Metrics[]]>; note: string } | null {
  const script = path.join(__dirname, "..", "test", "schedulers", "py", "optuna_bench.py");
  const payload = {
    maxT: tab.maxT, keys: tab.keys, logKeys: [...tab.logKeys], seeds,
    samples: tab.rows.size,
    rows: [...tab.rows.values()].map((r) => ({ config: r.config, values: r.values.map((v) => (Number.isFinite(v) ? v : null)), seconds: r.seconds })),
  };
  const r = spawnSync("/usr/bin/python3", [script], { input: JSON.stringify(payload), encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) return null;
  // Python's json writes Infinity/NaN (e.g. no trial reached the full budget); JSON has no such tokens
  const quoted = r.stdout.replace(/(?<=[:\[,]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, '"$1"');
  return JSON.parse(quoted, (_k, v) => (v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v === "NaN" ? NaN : v));
}

/** A forced GC so heap deltas mean something (the bench runner starts node without --expose-gc). */
function gc(): void {
  v8.setFlagsFromString("--expose_gc");
  (vm.runInNewContext("gc") as () => void)();
}

function overhead(kind: string, n: number): { usPerDecision: number; decisions: number; heapMiB: number; stateKiB: number } {
  const base = parseExperiment({
    name: "bench", space: { lr: { loguniform: [1e-5, 1e-1] } }, samples: n, trainer: { epochs: 9 },
    method: kind === "asha" ? { kind, reductionFactor: 3 } : kind === "pbt" ? { kind } : { kind, reductionFactor: 3 },
  });
  gc();
  const before = process.memoryUsage().heapUsed;
  const s = createScheduler(base, new Rng(1));
  const rng = new Rng(2);
  const ids = Array.from({ length: n }, (_, i) => `t${i}`);
  const quality = ids.map(() => rng.next());
  let decisions = 0;
  let ns = 0n;
  const live = new Set(ids);
  for (const id of ids) s.onTrialAdd({ trialId: id, config: { lr: 1e-3 } });
  // each round, every live trial reports its next epoch (PBT: time only 3 epochs at 10k: its quantiles sort the population per call)
  const epochs = 9;
  for (let t = 1; t <= epochs; t++) {
    for (let i = 0; i < n; i++) {
      const id = ids[i];
      if (!live.has(id)) continue;
      const rep: Report = { t, time_total_s: t, checkpoint: `ck/${t}`, eval_loss: quality[i] + 1 / t };
      const t0 = process.hrtime.bigint();
      const acts = s.onResult(id, rep);
      ns += process.hrtime.bigint() - t0;
      decisions++;
      for (const a of acts) if (a.action === "stop") live.delete(a.trialId);
    }
  }
  gc();
  const heap = (process.memoryUsage().heapUsed - before) / 2 ** 20;
  const stateKiB = JSON.stringify(s.getState()).length / 1024;
  return { usPerDecision: Number(ns) / 1000 / decisions, decisions, heapMiB: heap, stateKiB };
}

export async function run(): Promise<string> {
  const dir = path.join(__dirname, "..", "data", "curves");
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".csv")).sort() : [];
  const tables: Table[] = [];
  const skipped: string[] = [];
  for (const f of files) {
    try {
      const tab = loadCsv(path.join(dir, f));
      const gridN = tab.keys.reduce((n, k) => n * new Set([...tab.rows.values()].map((r) => r.config[k])).size, 1);
      const complete = [...tab.rows.values()].every((r) => r.values.length === tab.maxT && r.seconds.every(Number.isFinite));
      if (tab.rows.size >= 4 && gridN === tab.rows.size && complete) tables.push(tab);
      else skipped.push(`${f} (${tab.rows.size} configurations${gridN !== tab.rows.size ? ", not a full grid" : ""}${complete ? "" : ", incomplete curves"})`);
    } catch (e) {
      skipped.push(`${f} (unreadable: ${(e as Error).message})`);
    }
  }
  if (tables.length === 0) tables.push(synthetic());
  const sections: string[] = [];
  for (const tab of tables) sections.push(await benchTable(tab));
  if (skipped.length) sections.push(`Curve files not benchmarked (the grid baseline needs a complete grid): ${skipped.join("; ")}.`);
  sections.push(overheadSection());
  return ["## Schedulers and searchers on recorded curves", "", ...sections].join("\n");
}

async function benchTable(tab: Table): Promise<string> {
  const gridBest = Math.min(...[...tab.rows.values()].map((r) => r.values[tab.maxT - 1]).filter(Number.isFinite));
  const gridGpuMin = [...tab.rows.values()].reduce((a, r) => a + r.seconds.reduce((x, y) => x + y, 0), 0) / 60;
  const budgetMin = gridGpuMin / 4;
  const seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const out: string[] = [];
  out.push(`### ${tab.source}`);
  out.push("");
  out.push(`Curves: **${tab.source}** (${tab.rows.size} configurations × t = 1…${tab.maxT}, metric ${tab.metric}); grid's best final ${tab.metric}: **${gridBest.toFixed(4)}**; a full grid costs ${gridGpuMin.toFixed(2)} GPU-minutes (1 GPU per trial; the recorded step times). Simulated with tunelab's event simulator (src/schedulers/simulate.ts): 4 slots, decisions instantaneous, restarts free, each configuration answered with the nearest recorded one. Median over ${seeds.length} seeds (grid: deterministic). "Within 1%" = a trial reached t = ${tab.maxT} with ${tab.metric} ≤ 1.01 × grid best; regret at ${budgetMin.toFixed(2)} GPU-min (¼ of the grid) = best full-budget loss found by then − grid best.`);
  out.push("");
  out.push("| method | trials | GPU-min to within 1% (reached/seeds) | regret @ ¼ grid GPU-min | wall-min to its best | best final | total GPU-min | total wall-min | model-based picks |");
  out.push("|---|---|---|---|---|---|---|---|---|");
  for (const m of methods(tab)) {
    const cfg = parseExperiment({ name: "bench", space: m.grid ? gridSpaceOf(tab) : spaceOf(tab), method: m.method, samples: m.samples, maxConcurrent: 4, trainer: { epochs: tab.maxT }, metric: tab.metric });
    const t0 = Date.now();
    const ms = (m.grid ? [1] : seeds).map((sd) => metricsOf(runMethod(tab, cfg, sd), tab.maxT, gridBest, budgetMin));
    process.stderr.write(`[schedulers] ${m.label}: ${Date.now() - t0} ms\n`);
    const hits = ms.map((x) => x.toWithin1).filter((x): x is number => x !== null);
    out.push(`| ${m.label} | ${m.samples} | ${hits.length ? f2(median(hits)) : "—"} (${hits.length}/${ms.length}) | ${f3(median(ms.map((x) => x.regretAtB)))} | ${f2(median(ms.map((x) => x.wallToBest)))} | ${f3(median(ms.map((x) => x.bestFinal)))} | ${f2(median(ms.map((x) => x.gpuMin)))} | ${f2(median(ms.map((x) => x.wallMin)))} | ${ms[0].modelPicks ? ms.map((x) => x.modelPicks).slice(0, 3).join(", ") + " …" : ""} |`);
  }
  const t1 = Date.now();
  const opt = optunaRuns(tab, seeds);
  process.stderr.write(`[schedulers] optuna: ${Date.now() - t1} ms\n`);
  if (opt) {
    for (const [label, ms] of opt.rows) {
      const hits = ms.map((x) => x.toWithin1).filter((x): x is number => x !== null);
      out.push(`| ${label} | ${tab.rows.size} | ${hits.length ? f2(median(hits)) : "—"} (${hits.length}/${ms.length}) | ${f3(median(ms.map((x) => x.regretAtB)))} | ${f2(median(ms.map((x) => x.wallToBest)))} | ${f3(median(ms.map((x) => x.bestFinal)))} | ${f2(median(ms.map((x) => x.gpuMin)))} | ${f2(median(ms.map((x) => x.wallMin)))} | |`);
    }
    out.push("");
    out.push(`Optuna rows: ${opt.note}`);
  } else {
    out.push("");
    out.push("Optuna rows: python3-optuna did not run here (skipped).");
  }
  out.push("");
  return out.join("\n");
}

function overheadSection(): string {
  const out: string[] = [];
  out.push("### Scheduler decision overhead (onResult) and memory");
  out.push("");
  out.push("Synthetic stream: N trials added, then every live trial reports each epoch (1…9) in rounds (each report carries a checkpoint); a stop removes the trial. µs per onResult call (hrtime; the shared 2-core machine, other work running), heap retained by the scheduler after a forced GC, and the size of its JSON state (what the journal snapshots).");
  out.push("");
  out.push("| scheduler | trials | decisions | µs / decision | heap MiB | state KiB |");
  out.push("|---|---|---|---|---|---|");
  for (const kind of ["asha", "hyperband", "bohb", "pbt"]) {
    for (const n of [1000, 10000]) {
      const t0 = Date.now();
      const o = overhead(kind, n);
      process.stderr.write(`[schedulers] overhead ${kind} ${n}: ${Date.now() - t0} ms\n`);
      out.push(`| ${kind} | ${n} | ${o.decisions} | ${o.usPerDecision.toFixed(2)} | ${o.heapMiB.toFixed(1)} | ${o.stateKiB.toFixed(0)} |`);
    }
  }
  out.push("");
  out.push("ASHA keeps each rung's values sorted (binary-search insert) and PBT keeps the population ranked, so a decision costs O(log n) search plus an O(n) array insert instead of Ray's sort / nanpercentile over the whole rung or population per result. HyperBand/BOHB decisions touch one bracket only.");
  return out.join("\n");
}

if (require.main === module) run().then((s) => console.log(s));
