/**
 * Helpers shared by the widget integration tests: make sure dist/ holds the
 * compiled widgets, and write a notebook that streams a synthetic experiment
 * (N trials × T epochs, some stopped at rungs) into an ExperimentView
 * (LivePlot + TrialTable) on the tunelab kernel. The experiment source lives
 * in the notebook itself so the kernel sees user actions (stopTrial) directly.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";

export const ROOT = path.resolve(__dirname, "..", "..");
export const WIDGETS_DIST = path.join(ROOT, "dist", "widgets", "index.js");

function newest(dir: string, re: RegExp): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "dist" && e.name !== "node_modules") t = Math.max(t, newest(p, re));
    } else if (re.test(e.name)) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

/** tsc (ignoring others' type errors: it still emits) + the front-end bundle, when sources are newer. */
export function ensureWidgetsBuilt(): void {
  const src = Math.max(newest(path.join(ROOT, "widgets"), /\.ts$/), newest(path.join(ROOT, "src", "plots"), /\.ts$/), newest(path.join(ROOT, "kernel-setup"), /\.ts$/));
  const built = fs.existsSync(WIDGETS_DIST) ? fs.statSync(WIDGETS_DIST).mtimeMs : 0;
  if (built < src || !fs.existsSync(path.join(ROOT, "dist", "kernel-setup", "kernel", "main.js"))) {
    spawnSync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: ROOT, stdio: "ignore" });
  }
  if (!fs.existsSync(WIDGETS_DIST)) throw new Error("build failed: dist/widgets/index.js missing");
  const bundle = path.join(ROOT, "widgets", "frontend", "dist", "liveplot.esm.js");
  // the bundle also inlines src/plots/curve-marks.ts (shared with the kernel's spec)
  const fe = Math.max(newest(path.join(ROOT, "widgets", "frontend"), /\.(js|ts)$/), newest(path.join(ROOT, "src", "plots"), /\.ts$/));
  if (!fs.existsSync(bundle) || fs.statSync(bundle).mtimeMs < fe) {
    const r = spawnSync(process.execPath, [path.join(ROOT, "widgets", "build.js")], { cwd: ROOT, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`widgets/build.js failed: ${r.stderr}`);
  }
}

export interface StreamNotebookOptions {
  trials: number;
  epochs: number;
  /** ms between epochs (all trials report once per epoch) */
  epochMs: number;
  /** whether the last cell awaits the end (nbclient must; the live test must not) */
  awaitEnd: boolean;
  svgEveryMs?: number;
}

function cell(source: string): Record<string, unknown> {
  return { cell_type: "code", execution_count: null, metadata: {}, outputs: [], source };
}

export function streamNotebook(o: StreamNotebookOptions): Record<string, unknown> {
  const setup = `// tunelab widgets, compiled
const W: any = require(${JSON.stringify(WIDGETS_DIST)});
const TRIALS = ${o.trials}, EPOCHS = ${o.epochs}, EPOCH_MS = ${o.epochMs};
class Source {
  name = "widget-demo"; metric = "eval_loss"; mode = "min"; maxT = EPOCHS; rungs = [1, 4, 16];
  method = { kind: "asha", gracePeriod: 1, reductionFactor: 4, maxT: EPOCHS, brackets: 1, stopLastTrials: true, nanPolicy: "worst" };
  space = { lr: { loguniform: [1e-5, 1e-2] } };
  events: any[] = []; subs = new Set<(e: any) => void>(); actions: string[] = []; stopped = new Set<string>();
  clock = 0; paused = false;
  history() { return this.events; }
  subscribe(fn: (e: any) => void) { this.subs.add(fn); return () => this.subs.delete(fn); }
  emit(e: any) { this.events.push(e); for (const fn of this.subs) fn(e); }
  async stopTrial(id: string) { this.actions.push("stop " + id); this.stopped.add(id); this.emit({ type: "trial_state", at: this.clock, trialId: id, state: "stopped", message: "stopped by user" }); }
  pause() { this.actions.push("pause"); this.paused = true; this.emit({ type: "experiment_state", at: this.clock, state: "paused" }); }
  resume() { this.actions.push("resume"); this.paused = false; this.emit({ type: "experiment_state", at: this.clock, state: "running" }); }
}
const src = new Source();
const id = (i: number) => "trial_" + String(i).padStart(3, "0");
const loss = (i: number, t: number) => 2 + (i % 7) * 0.15 + 3 / (t + 1);
// ASHA-like cuts: every 4th trial stops at t=4, every 4th+2 at t=16
const cutAt = (i: number) => (i % 4 === 3 ? 4 : i % 4 === 2 && EPOCHS > 16 ? 16 : Infinity);
src.emit({ type: "experiment_started", at: 0, name: src.name, method: "asha", maxT: EPOCHS });
for (let i = 0; i < TRIALS; i++) {
  src.emit({ type: "trial_added", at: 0, trialId: id(i), config: { lr: 1e-4 * (i + 1), batch: 16 << (i % 3) } });
  src.emit({ type: "trial_state", at: 0, trialId: id(i), state: "running" });
}
"ready"`;
  const start = `const view = W.showExperiment(src, { svgEveryMs: ${o.svgEveryMs ?? 1500} });
view.display();
let epoch = 0;
const timer = setInterval(() => {
  if (src.paused) return;
  epoch += 1;
  src.clock = epoch * 60_000;
  for (let i = 0; i < TRIALS; i++) {
    const t = id(i);
    if (src.stopped.has(t) || epoch > cutAt(i)) continue;
    src.emit({ type: "report", at: src.clock, trialId: t, report: { t: epoch, eval_loss: loss(i, epoch), time_total_s: epoch * 60, checkpoint: null } });
    if (epoch === cutAt(i)) { src.stopped.add(t); src.emit({ type: "trial_state", at: src.clock, trialId: t, state: "stopped" }); }
    else if (epoch === EPOCHS) src.emit({ type: "trial_state", at: src.clock, trialId: t, state: "completed" });
  }
  if (epoch >= EPOCHS) { clearInterval(timer); src.emit({ type: "experiment_state", at: src.clock, state: "finished" }); }
}, EPOCH_MS);
"streaming"`;
  const cells = [cell(setup), cell(start)];
  if (o.awaitEnd) cells.push(cell(`await view.done;\n[view.plot.pointCount, src.actions.length].join(",")`));
  return {
    cells,
    metadata: { kernelspec: { name: "tunelab", display_name: "TypeScript (tunelab)", language: "typescript" }, language_info: { name: "typescript" } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

/** Points the synthetic run produces without user stops. */
export function expectedPoints(trials: number, epochs: number): number {
  let n = 0;
  for (let i = 0; i < trials; i++) n += Math.min(epochs, i % 4 === 3 ? 4 : i % 4 === 2 && epochs > 16 ? 16 : epochs);
  return n;
}
