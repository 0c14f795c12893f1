/**
 * The GPU workshop in its fine-tuning set-up (issue 15), from the recorded
 * warm-slot runs in data/results/gpu/finetune-warm-2026-12-03 (grid, ASHA,
 * TPE+ASHA, BOHB, PBT with the workshop's settings) and
 * finetune-warm2-2026-12-04 (BOHB and PBT with tunelab's defaults, the
 * workshop default TPE+ASHA, and PBT's 12 starting configurations trained
 * static), beside the cold run of the same day for the start-up share.
 *
 * Three parts, all computed here from the records:
 * - the real runs' table (best full-budget eval loss, cost ratio against the
 *   grid in GPU-minutes and in budget units, start-up share) and the chart;
 * - the distribution each real run came from: the same configuration (its
 *   experiment.json: method, searcher, 12 samples, 4 slots) replayed through
 *   the bench's simulator (bench/schedulers.ts's runMethod, the notebooks'
 *   controller over the replay clock) on the grid's recorded curves, for
 *   SEEDS seeds, median with a bootstrap 95% interval;
 * - PBT's schedule against every static configuration it started from.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseExperiment } from "../src/config/schema";
import { comparisonChart, renderSvg, type ComparisonPoint } from "../src/plots";
import { bootstrap, ci, gridBestOf, gridSecondsOf, loadCsv, median, metricsOf, runMethod } from "./schedulers";

const ROOT = path.resolve(__dirname, "..");
const GPU = path.join(ROOT, "data/results/gpu");
const CALLS = ["finetune-warm-2026-12-03", "finetune-warm2-2026-12-04"];
const COLD = "finetune-cold-2026-12-03";
const CURVES = path.join(ROOT, "data/curves/gpu-tiny-bloom-finetune-warm-grid.csv");
const SEEDS = Math.max(100, Number(process.env.SEEDS ?? 200));

interface RunRec {
  call: string;
  name: string;
  label: string;
  best: { value: number; config: Record<string, number>; t: number; schedule?: unknown[] } | null;
  gpu_seconds: number;
  wall_s: number;
  startup: { share: number };
  row: { runtimeMinutes: number };
}

interface Journal { reports: Array<{ trialId: string; t: number; value: number }>; finals: Map<string, number> }

function journal(dir: string): Journal {
  const reports: Journal["reports"] = [];
  const finals = new Map<string, number>();
  for (const line of fs.readFileSync(path.join(dir, "journal.jsonl"), "utf8").split("\n")) {
    if (!line.trim()) continue;
    const e = JSON.parse(line);
    if (e.type !== "report" || e.report.preempted || typeof e.report.eval_loss !== "number") continue;
    reports.push({ trialId: e.trialId, t: e.report.t, value: e.report.eval_loss });
    if (e.report.t === 20) finals.set(e.trialId, e.report.eval_loss);
  }
  return { reports, finals };
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "—");
const signed = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(2)}%`;
const cfgText = (c: Record<string, number>) => `lr ${c.lr.toPrecision(2)}, bs ${c.batch_size}, wd ${c.weight_decay}`;

export async function run(): Promise<string> {
  const runs: RunRec[] = [];
  const dates: string[] = [];
  for (const call of CALLS) {
    const f = path.join(GPU, call, "results.json");
    if (!fs.existsSync(f)) return `## GPU workshop: fine-tuning (recorded)\n\nNo recorded run in ${path.relative(ROOT, f)} — skipped.\n`;
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    dates.push(`${call}: ${r.date}`);
    for (const x of r.runs) runs.push({ ...x, call });
  }
  const cold = JSON.parse(fs.readFileSync(path.join(GPU, COLD, "results.json"), "utf8"));
  const coldShare = new Map<string, number>(cold.runs.map((x: any) => [x.name, x.startup?.share]));
  // each run's journal, read once
  const journals = new Map(runs.map((x) => [x, journal(path.join(GPU, x.call, x.name))]));
  const grid = runs.find((x) => x.name === "grid")!;
  const gridBest = grid.best!.value;
  const gridUnits = journals.get(grid)!.reports.length;
  const stat = runs.find((x) => x.name === "random-static");
  const out: string[] = [
    "## GPU workshop: fine-tuning, warm trial slots (recorded)",
    "",
    `Recorded on one NVIDIA H200 (device tool, 16 CPU cores) in two calls (${dates.join("; ")}), reproduce with \`bench/gpu/run-warm.sh\` (bench/gpu/README.md). tiny-bloom pretrained on the corpus in each call, then fine-tuned on the task set, 5 epochs evaluated every 0.25 (R = 20 budget units), 12 trials per method, 4 warm slots per experiment, the call's experiments sharing the GPU at once (6 in the first call, 4 in the second). GPU-minutes: each slot's time ÷ 4. **Cost ratio** = GPU-minutes ÷ the grid's (first call); trials in the second call shared the GPU with fewer others, so its GPU-minutes run lower for the same work — hence also **budget units** (every report of every trial, independent of crowding) and, for the second call, the ratio to its own static random search (12 configurations trained to R like the grid). Not re-run by \`npm run bench\`.`,
    "",
    "| run | call | best eval loss at R | vs grid | GPU-min | cost ratio | budget units (ratio) | vs static run of the same call | start-up share (cold → warm) | within 1% at ≤ 0.35? |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  const chart: ComparisonPoint[] = [];
  for (const x of runs) {
    if (!x.best) continue;
    const units = journals.get(x)!.reports.length;
    const gm = x.gpu_seconds / 60;
    const ratio = x.gpu_seconds / grid.gpu_seconds;
    const rel = (x.best.value / gridBest - 1) * 100;
    const sameCall = x.call === CALLS[1] && stat && x.name !== "random-static" ? fmt(x.gpu_seconds / stat.gpu_seconds) : "—";
    const cs = coldShare.get(x.name);
    const share = `${cs !== undefined ? `${(100 * cs).toFixed(1)}% → ` : ""}${(100 * x.startup.share).toFixed(1)}%`;
    const ok = x.name === "grid" ? "—" : rel <= 1 && ratio <= 0.35 ? "yes" : "no";
    out.push(`| ${x.label} | ${CALLS.indexOf(x.call) + 1} | ${x.best.value.toFixed(4)} (${cfgText(x.best.config)}) | ${x.name === "grid" ? "—" : signed(rel)} | ${fmt(gm)} | ${fmt(ratio)} | ${units} (${fmt(units / gridUnits)}) | ${sameCall} | ${share} | ${ok} |`);
    const method = x.label.replace(/ \(.*$/, "") + (x.name.endsWith("-default") ? " (defaults)" : x.name.endsWith("-workshop") ? " (workshop)" : "");
    // runs that made the same decisions land on one point: one label for them
    const same = chart.find((c) => c.bestLoss === x.best!.value && Math.abs(c.gpuMinutes - gm) < 0.01);
    if (same) same.method = `${same.method.replace(/ \(workshop\)$/, "")} = ${method}`;
    else chart.push({ method, bestLoss: x.best.value, gpuMinutes: gm, costRatio: ratio, runtimeMinutes: x.row.runtimeMinutes, gpus: 1 });
  }
  const img = path.join(ROOT, "docs/img/gpu-finetune-comparison.svg");
  fs.mkdirSync(path.dirname(img), { recursive: true });
  fs.writeFileSync(img, await renderSvg(comparisonChart(chart, { title: "tiny-bloom fine-tuned on an H200: best eval loss at R vs GPU-minutes", width: 520, height: 300, target: { maxLoss: 1.01 * gridBest, maxGpuMinutes: (0.35 * grid.gpu_seconds) / 60, label: "target" } })));
  out.push("", `Chart (same vega-lite spec as the notebooks' comparison): \`${path.relative(ROOT, img)}\`; the dashed rules mark the target (eval loss ≤ 1.01 × the grid's best, GPU-minutes ≤ 0.35 × the grid's): a run that met it sits in their lower-left corner.`);

  // PBT against the static configurations it started from (same seed: the same 12 draws as random-static)
  if (stat) {
    const statFinals = journals.get(stat)!.finals;
    const vals = [...statFinals.values()].sort((a, b) => a - b);
    out.push("", `**PBT against its starting configurations.** \`random-static\` trains the 12 configurations every PBT population here starts from (same seed, same space: the same draws) to R without changing them: best ${vals[0].toFixed(4)}, median ${median(vals).toFixed(4)}, worst ${vals[vals.length - 1].toFixed(4)} (${vals.length} trials reached R).`);
    for (const p of runs.filter((x) => x.name.startsWith("pbt") && x.best)) {
      const beaten = vals.filter((v) => p.best!.value < v).length;
      out.push(`- ${p.label} (call ${CALLS.indexOf(p.call) + 1}): best ${p.best!.value.toFixed(4)} beats ${beaten} of the ${vals.length} static configurations; ${beaten === vals.length ? "it beats every one" : `not the best static one (${vals[0].toFixed(4)}, ${signed((p.best!.value / vals[0] - 1) * 100)})`}; its schedule: ${JSON.stringify(p.best!.schedule ?? [])}.`);
    }
  }

  // the distribution each real run came from
  const tab = loadCsv(CURVES);
  const curveBest = gridBestOf(tab);
  const gridSeconds = gridSecondsOf(tab);
  out.push(
    "",
    `### Replayed: the same configurations over ${SEEDS} seeds`,
    "",
    `Each real run's experiment.json (method, searcher, space, 12 samples, 4 slots) through the bench's simulator on the grid's recorded curves (\`${path.relative(ROOT, CURVES)}\`, 12 configurations × t = 1…${tab.maxT}; a sampled configuration is answered by the nearest recorded one, lr in log space), seeds 1…${SEEDS}. Cost ratio = the run's simulated trial-seconds ÷ the full grid's (${(gridSeconds / 60).toFixed(2)} trial-minutes on these curves); gap = best eval loss at R ÷ the grid's best on the curves (${curveBest.toFixed(4)}) − 1. Replay knows only the 12 grid curves and restarts are free, so a PBT member's value at t is its current configuration's recorded value at t (its history does not carry over). Median [bootstrap 95%]; "met" = gap ≤ 1% and ratio ≤ 0.35 in the same seed.`,
    "",
    "| run | gap to grid best: real | replay median [95%] | cost ratio: real | replay median [95%] | seeds within 1% | seeds met |",
    "|---|---|---|---|---|---|---|",
  );
  for (const x of runs) {
    if (!x.best || x.name === "grid") continue;
    const cfg = parseExperiment(JSON.parse(fs.readFileSync(path.join(GPU, x.call, x.name, "experiment.json"), "utf8")));
    const gaps: number[] = [];
    const ratios: number[] = [];
    let within = 0;
    let met = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const sim = runMethod(tab, cfg, seed);
      const m = metricsOf(sim, tab.maxT, curveBest);
      const gap = (m.bestFinal / curveBest - 1) * 100;
      const ratio = sim.gpuSeconds / gridSeconds;
      gaps.push(gap);
      ratios.push(ratio);
      if (gap <= 1) within++;
      if (gap <= 1 && ratio <= 0.35) met++;
    }
    const f = (v: number) => signed(v);
    out.push(`| ${x.label} (call ${CALLS.indexOf(x.call) + 1}) | ${signed((x.best.value / gridBest - 1) * 100)} | ${f(median(gaps))} ${ci(bootstrap(gaps, median), f)} | ${fmt(x.gpu_seconds / grid.gpu_seconds)} | ${fmt(median(ratios))} ${ci(bootstrap(ratios, median), (v) => fmt(v))} | ${Math.round((100 * within) / SEEDS)}% | ${Math.round((100 * met) / SEEDS)}% |`);
  }
  return out.join("\n") + "\n";
}
