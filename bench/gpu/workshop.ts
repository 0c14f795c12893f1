/**
 * The workshop's comparison for real on one GPU (issue 8): the manual grid,
 * ASHA, PBT and BOHB with the workshop's scheduler settings and with
 * tunelab's defaults, each through the driver and the LOCAL backend, the
 * bundled trainer's HuggingFace path (random-init `tiny-bloom`, BLOOM
 * architecture) and several trials sharing the GPU.
 *
 * Run on a GPU machine from the repository root:
 *   node --import tsx bench/gpu/workshop.ts [--out data/results/gpu] [--only grid,asha-workshop,...]
 * (on the device machine, where there is no npm, an esbuild bundle of this
 * file runs with a carried Node binary; see bench/gpu/README.md).
 *
 * Writes, per experiment, <out>/<name>/{summary.json,journal.jsonl,
 * experiment.json,pbt_*.txt}, then <out>/results.json (comparison rows) and
 * data/curves/gpu-tiny-bloom*.csv (recorded curves, design.md §4).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { experiment } from "../../src/experiment";
import type { ExperimentInput } from "../../src/config/types";
import type { ComparisonRow, Summary } from "../../src/experiment/results";
import { WORKSHOP_DEFAULT } from "../schedulers";

const argv = process.argv.slice(2);
function arg(name: string, dflt: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt;
}
const OUT = path.resolve(arg("--out", "data/results/gpu"));
const ONLY = arg("--only", "").split(",").filter(Boolean);
const PY = arg("--python", "python3");
const SLOTS = Number(arg("--slots", "4"));
/**
 * --parallel: run the selected experiments at once, experiment k alone on
 * GPU GPUS[k] (one GPU per method, as separate cluster allocations would be),
 * so a whole table fits in one device session. Without it, one after another on GPUS[0].
 */
const PARALLEL = argv.includes("--parallel");
const GPUS = arg("--gpus", "0").split(",").map(Number);
/**
 * --reuse on|off: the local backend's warm trainer processes (item 3, Ray's
 * reuse_actors) on or off; unset leaves the backend's default. "off" is the
 * cold-start baseline (a new Python process per trial, resume and exploit).
 */
const REUSE = arg("--reuse", "");
if (REUSE && REUSE !== "on" && REUSE !== "off") throw new Error(`--reuse must be on or off, got ${JSON.stringify(REUSE)}`);
const reuseField = (): Record<string, boolean> => (REUSE ? { reuseProcesses: REUSE === "on" } : {});
/** --cpu: a smoke run of this script without a GPU (e.g. --model small). */
const GPU = !argv.includes("--cpu");
const EPOCHS = Number(arg("--epochs", "5"));
const MODEL = arg("--model", "tiny-bloom");
/**
 * Issue 15: the workshop's situation, a PRETRAINED model FINE-TUNED on a
 * small task. `base: "pretrained"`: tiny-bloom pretrained once on the
 * corpus's Genesis-Numbers (src/trainer/pretrain.py, cached by content hash);
 * dataset "task": a 16 KB slice of Deuteronomy, which the base never saw,
 * validated on Deuteronomy's held-out blocks, so more epochs overfit.
 */
const TRAIN_EXAMPLES = Number(arg("--train-examples", "256"));
const OPTIONS: Record<string, number | string | boolean> = MODEL === "tiny-bloom"
  ? { base: "pretrained", train_examples: TRAIN_EXAMPLES, eval_examples: 64, max_length: 256, task_train_bytes: Number(arg("--task-bytes", "65536")) }
  : JSON.parse(arg("--options", "{}"));
const DATASET = arg("--dataset", "task");
/** t counts evaluations: 4 per epoch, so the schedulers decide at quarter epochs (20 decision points in 5 epochs). */
const EVAL_EVERY = Number(arg("--eval-every", "0.25"));
const FULL_T = Math.round(EPOCHS / EVAL_EVERY);

/**
 * The team's ranges, chosen from the measured lr sweep (--only sweep; README's
 * GPU section): the log-uniform range spans the sweep's good region with its
 * best lr inside, and the grid is three lrs across it (low edge, middle, high
 * edge) as the workshop's grid spanned its range.
 */
let LR_RANGE = arg("--lr-range", "3e-6,3e-5").split(",").map(Number) as [number, number];
let GRID_LRS = arg("--grid-lrs", "3e-6,1e-5,3e-5").split(",").map(Number);
const randomSpace = () => ({
  lr: { loguniform: LR_RANGE },
  batch_size: { choice: [1, 2] },
  weight_decay: { choice: [0, 0.01] },
});
const gridSpace = () => ({
  lr: { grid: GRID_LRS },
  batch_size: { grid: [1, 2] },
  weight_decay: { grid: [0, 0.01] },
});

/**
 * The rule that turns the sweep into the team's ranges (when the sweep runs
 * with the table): lr* = the sweep lr with the lowest eval loss at the
 * table's full budget (either batch size); the log-uniform range runs from
 * the sweep lr below lr* to the one above (about a decade), and the grid is
 * those three lrs, as the workshop's grid spanned its range.
 */
interface LrChoice { lrStar: number; range: [number, number]; grid: number[]; atFullBudget: Record<string, number> }
function chooseLrs(sweepDir: string): LrChoice {
  const best = new Map<number, number>();
  for (const line of curvesCsv([sweepDir]).trim().split("\n").slice(1)) {
    const [lr, , , t, loss] = line.split(",");
    if (Number(t) !== FULL_T || !Number.isFinite(Number(loss))) continue;
    best.set(Number(lr), Math.min(best.get(Number(lr)) ?? Infinity, Number(loss)));
  }
  const lrs = [...best.keys()].sort((a, b) => a - b);
  if (!lrs.length) throw new Error(`the sweep in ${sweepDir} has no curve reaching t=${FULL_T}`);
  const i = lrs.reduce((bi, lr, k) => (best.get(lr)! < best.get(lrs[bi])! ? k : bi), 0);
  const lo = i > 0 ? lrs[i - 1] : lrs[i] / 3;
  const hi = i < lrs.length - 1 ? lrs[i + 1] : lrs[i] * 3;
  return { lrStar: lrs[i], range: [lo, hi], grid: [lo, lrs[i], hi], atFullBudget: Object.fromEntries(lrs.map((lr) => [String(lr), +best.get(lr)!.toFixed(4)])) };
}
const SWEEP_LRS = arg("--sweep-lrs", "3e-6,1e-5,3e-5,1e-4,3e-4,1e-3").split(",").map(Number);
const SWEEP_EPOCHS = Number(arg("--sweep-epochs", "10"));

function base(name: string): Omit<ExperimentInput, "space"> {
  return {
    name,
    metric: "eval_loss",
    mode: "min",
    seed: 42,
    samples: 12,
    maxConcurrent: SLOTS,
    trainer: {
      command: [PY, "src/trainer/train.py"],
      model: MODEL,
      dataset: DATASET,
      epochs: EPOCHS,
      ...(EVAL_EVERY !== 1 ? { evalEvery: EVAL_EVERY } : {}),
      gpusPerTrial: GPU ? 1 : 0,
      // tiny-bloom: 1,000 training / 100 eval examples as the workshop; 256 tokens keeps an epoch at seconds
      // checkpoints only at decision points (and the end), but every evaluation for PBT, whose exploits copy them
      options: { ...OPTIONS, checkpoint_every: name.startsWith("pbt") ? 1 : 0 },
      env: {},
    },
    backend: (GPU ? { kind: "local", gpus: [GPUS[0]], slotsPerGpu: SLOTS, ...reuseField() } : { kind: "local", gpus: [], ...reuseField() }) as ExperimentInput["backend"],
    runDir: path.join(OUT, name),
  };
}

/** The lr sweep the ranges come from: every lr × batch size, trained long enough to overfit. */
function sweep(): { label: string; input: ExperimentInput; slots: number; probe: true } {
  const b = base("sweep");
  return {
    label: `lr sweep (${SWEEP_LRS.length} lrs × bs 1, 2; ${SWEEP_EPOCHS} epochs)`,
    slots: 2 * SWEEP_LRS.length,
    probe: true,
    input: { ...b, samples: 2 * SWEEP_LRS.length, maxConcurrent: 2 * SWEEP_LRS.length, trainer: { ...b.trainer, epochs: SWEEP_EPOCHS }, space: { lr: { grid: SWEEP_LRS }, batch_size: { grid: [1, 2] }, weight_decay: { grid: [0] } }, method: { kind: "grid" } },
  };
}

// Workshop settings keep their numbers, now in evaluations (t): ASHA g=1, η=2
// and BOHB η=4 up to the full budget (FULL_T evaluations); PBT interval 2.
const runs = (): Array<{ label: string; input: ExperimentInput; slots?: number; probe?: true }> => [
  { label: "Manual grid (12 configs)", input: { ...base("grid"), space: gridSpace(), method: { kind: "grid" } } },
  { label: `ASHA (workshop: g=1, η=2, R=${FULL_T})`, input: { ...base("asha-workshop"), space: randomSpace(), method: { kind: "asha", gracePeriod: 1, reductionFactor: 2 } } },
  { label: "ASHA (tunelab defaults: η=4)", input: { ...base("asha-default"), space: randomSpace(), method: { kind: "asha" } } },
  { label: `TPE + ASHA (workshop: g=1, η=2, R=${FULL_T})`, input: { ...base("tpe-asha-workshop"), space: randomSpace(), method: { kind: "asha", gracePeriod: 1, reductionFactor: 2 }, searcher: { kind: "tpe" } } as ExperimentInput },
  { label: `BOHB (workshop: η=4, R=${FULL_T})`, input: { ...base("bohb-workshop"), space: randomSpace(), method: { kind: "bohb", reductionFactor: 4 } } },
  { label: "BOHB (tunelab defaults: η=3)", input: { ...base("bohb-default"), space: randomSpace(), method: { kind: "bohb" } } },
  { label: "PBT (workshop: interval 2)", input: { ...base("pbt-workshop"), space: randomSpace(), method: { kind: "pbt", perturbationInterval: 2 } } },
  { label: "PBT (tunelab defaults: interval 1)", input: { ...base("pbt-default"), space: randomSpace(), method: { kind: "pbt" } } },
  // bench/schedulers.ts's WORKSHOP_DEFAULT, the configuration the bench recommends
  { label: "TPE + ASHA (tunelab workshop default: multivariate, constant liar, 4 start-up; η=2, 3 brackets)", input: { ...base("tpe-asha-default"), space: randomSpace(), method: WORKSHOP_DEFAULT.method, searcher: WORKSHOP_DEFAULT.searcher } as ExperimentInput },
  // random search without early stopping: the same seed draws the same 12 configurations PBT's population
  // starts from, so this is "every static configuration PBT started from", trained to the full budget
  { label: "Random search, no early stopping (= PBT's 12 starting configurations, static)", input: { ...base("random-static"), space: randomSpace(), method: { kind: "random" } } },
  sweep(),
];
let RUNS = runs();
let LR_CHOICE: LrChoice | null = null;

interface Outcome { name: string; label: string; row: ComparisonRow; summary: Summary; wall_s: number; startup: Startup }

/** Start-up (process start to first training step, each run of each trial) against the run's GPU time. */
interface Startup { runs: number; startup_s: number; gpu_startup_s: number; share: number }
function startupOf(dir: string, slots: number, gpuSeconds: number): Startup {
  let runs = 0, sum = 0;
  const jf = path.join(dir, "journal.jsonl");
  for (const line of fs.existsSync(jf) ? fs.readFileSync(jf, "utf8").split("\n") : []) {
    let e: any;
    try { e = JSON.parse(line); } catch { continue; }
    if (e?.type === "report" && typeof e.report?.startup_s === "number") { runs++; sum += e.report.startup_s; }
  }
  // a trial holds 1/slots of the GPU, as the accounting counts it
  const g = sum / slots;
  return { runs, startup_s: +sum.toFixed(2), gpu_startup_s: +g.toFixed(2), share: gpuSeconds > 0 ? +(g / gpuSeconds).toFixed(4) : 0 };
}

function curvesCsv(runDirs: string[], all = false): string {
  const header = ["lr", "batch_size", "weight_decay", "t", "eval_loss", "time_s", "trial", "startup_s"];
  const lines = [header.join(",")];
  for (const dir of runDirs) {
    const jf = path.join(dir, "journal.jsonl");
    if (!fs.existsSync(jf)) continue;
    const configs = new Map<string, Record<string, unknown>>();
    const lastTotal = new Map<string, number>();
    for (const line of fs.readFileSync(jf, "utf8").split("\n")) {
      if (!line.trim()) continue;
      let e: any;
      try { e = JSON.parse(line); } catch { continue; }
      if (e.type === "trial_added") configs.set(e.trialId, e.config);
      if (e.type === "exploit") configs.set(e.trialId, e.config);
      if (e.type === "report" && !e.report.preempted && typeof e.report.eval_loss === "number") {
        const c = configs.get(e.trialId) ?? {};
        const prev = lastTotal.get(e.trialId) ?? 0;
        const step = Math.max(0, Number(e.report.time_total_s) - prev);
        lastTotal.set(e.trialId, Number(e.report.time_total_s));
        // PBT trials change config mid-run: their curves go to the all-trials table with the config of the moment
        if (dir.includes("pbt") && !all) continue;
        lines.push([c.lr, c.batch_size, c.weight_decay, e.report.t, e.report.eval_loss, step.toFixed(3), `${path.basename(dir)}/${e.trialId}`, e.report.startup_s ?? ""].join(","));
      }
    }
  }
  return lines.join("\n") + "\n";
}

function save(prev: any, outcomes: Outcome[]): void {
  const merged = new Map<string, unknown>();
  for (const o of prev.runs ?? []) merged.set(o.name, o);
  for (const o of outcomes) merged.set(o.name, { name: o.name, label: o.label, row: o.row, wall_s: o.wall_s, best: o.summary.best, best_any: o.summary.best_any, gpu_seconds: o.summary.gpu_seconds, states: o.summary.states, startup: o.startup });
  const order = RUNS.map((r) => r.input.name);
  const runs = [...merged.values()].sort((a: any, b: any) => order.indexOf(a.name) - order.indexOf(b.name));
  fs.writeFileSync(path.join(OUT, "results.json"), JSON.stringify({ date: new Date().toISOString(), reuse: REUSE || "default", parallel: PARALLEL, gpus: GPUS, slotsPerGpu: SLOTS, epochs: EPOCHS, evalEvery: EVAL_EVERY, lrRange: LR_RANGE, gridLrs: GRID_LRS, lrChoice: LR_CHOICE ?? prev.lrChoice, options: OPTIONS, dataset: DATASET, runs }, null, 1) + "\n");
  const dirs = RUNS.map((r) => path.join(OUT, r.input.name));
  // every trial of every run, early-stopped ones included: not a replay table, so not in data/curves
  fs.writeFileSync(path.join(OUT, "curves-all-trials.csv"), curvesCsv(dirs.filter((d) => path.basename(d) !== "sweep"), true));
  if (fs.existsSync(path.join(OUT, "grid"))) fs.writeFileSync(path.join(OUT, "gpu-tiny-bloom-finetune-grid.csv"), curvesCsv([path.join(OUT, "grid")]));
  if (fs.existsSync(path.join(OUT, "sweep"))) fs.writeFileSync(path.join(OUT, "gpu-tiny-bloom-finetune-sweep.csv"), curvesCsv([path.join(OUT, "sweep")]));
}

async function runOne(r: { label: string; input: ExperimentInput; slots?: number }, gpu: number): Promise<Outcome> {
  const t0 = Date.now();
  const input: ExperimentInput = GPU ? { ...r.input, backend: { kind: "local", gpus: [gpu], slotsPerGpu: r.slots ?? SLOTS, ...reuseField() } as ExperimentInput["backend"] } : r.input;
  const tag = `[${r.input.name}${GPU ? ` gpu ${gpu}` : ""}]`;
  process.stderr.write(`${tag} ${r.label}\n`);
  const exp = experiment(input, { overwrite: true, pollMs: 500 });
  exp.subscribe((e) => {
    if (e.type === "trial_state" && (e.state === "failed")) process.stderr.write(`${tag} ${e.trialId} failed: ${(e.message ?? "").slice(-400)}\n`);
    if (e.type === "decision" && e.action === "stop") process.stderr.write(`${tag} ${e.trialId} stop at t=${e.t} (${e.reason ?? ""})\n`);
  });
  const summary = await exp.run();
  const row = exp.summaryRow();
  row.method = r.label;
  const wall_s = (Date.now() - t0) / 1000;
  process.stderr.write(`${tag} best ${JSON.stringify(summary.best)} gpu_s ${summary.gpu_seconds.toFixed(0)} wall ${wall_s.toFixed(0)} s\n`);
  const startup = startupOf(input.runDir!, r.slots ?? SLOTS, summary.gpu_seconds);
  process.stderr.write(`${tag} start-up ${startup.startup_s} s over ${startup.runs} runs = ${(100 * startup.share).toFixed(1)}% of GPU time\n`);
  return { name: r.input.name, label: r.label, row, summary, wall_s, startup };
}

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  const outcomes: Outcome[] = [];
  const prev = fs.existsSync(path.join(OUT, "results.json")) ? JSON.parse(fs.readFileSync(path.join(OUT, "results.json"), "utf8")) : { runs: [] };
  let selected = RUNS.filter((r) => (ONLY.length ? ONLY.includes(r.input.name) : !r.probe));
  // --sweep-alongside: the sweep runs with the rest on the given ranges (it checks them instead of setting them; saves its time in a short device session)
  if (selected.length > 1 && selected.some((r) => r.input.name === "sweep") && !argv.includes("--sweep-alongside")) {
    // the sweep first, alone; its result sets the ranges of the rest (chooseLrs)
    outcomes.push(await runOne(selected.find((r) => r.input.name === "sweep")!, GPUS[0]));
    LR_CHOICE = chooseLrs(path.join(OUT, "sweep"));
    LR_RANGE = LR_CHOICE.range;
    GRID_LRS = LR_CHOICE.grid;
    process.stderr.write(`[gpu-workshop] lr choice from the sweep: ${JSON.stringify(LR_CHOICE)}\n`);
    save(prev, outcomes);
    RUNS = runs();
    selected = RUNS.filter((r) => r.input.name !== "sweep" && ONLY.includes(r.input.name));
  }
  if (PARALLEL) {
    // experiment k on GPUS[k % n]: with --gpus 0 every experiment shares the one GPU (SLOTS trials each)
    await Promise.all(selected.map(async (r, k) => {
      const o = await runOne(r, GPUS[k % GPUS.length]);
      outcomes.push(o);
      save(prev, outcomes);  // after each, so a run cut short keeps what finished
    }));
  } else {
    for (const r of selected) {
      outcomes.push(await runOne(r, GPUS[0]));
      save(prev, outcomes);
    }
  }
  process.stderr.write(`[gpu-workshop] wrote ${path.join(OUT, "results.json")}\n`);
}

main().catch((e) => { console.error(e); process.exit(1); });
