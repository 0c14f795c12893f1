/** Shared fixtures for the experiment tests: curves, configs, in-test parts. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseExperiment } from "../../src/config/schema";
import type { ExperimentConfig, ExperimentInput, HParams } from "../../src/config/types";
import type { Report } from "../../src/backends/types";
import type { Scheduler, SchedulerAction, SchedulerTrial } from "../../src/schedulers/types";
import type { Observation, Searcher, Suggestion } from "../../src/searchers/types";
import { parseCurves, SimBackend, SimCluster, type SimOptions } from "./sim-backend";

/**
 * Six named configurations A..F, five epochs. Sequential ASHA (g=1, η=2,
 * R=5, rungs 1,2,4) on them stops B@1, D@1, E@2 (worked out in
 * driver.test.ts); C has the best 5-epoch loss (0.5), F the best loss at any
 * budget (0.4 at t=4).
 */
export const LETTERS_CSV = [
  "cfg,t,eval_loss,time_s",
  ...row("A", [5, 4, 3, 2, 1], 10),
  ...row("B", [6, 5, 4, 3, 2], 11),
  ...row("C", [4, 3.5, 3.2, 1.5, 0.5], 12),
  ...row("D", [5.5, 5, 4.5, 4, 3.5], 13),
  ...row("E", [4.5, 3.8, 2.5, 1.8, 1.2], 14),
  ...row("F", [3, 2, 1, 0.4, 0.9], 15),
].join("\n");

function row(cfg: string, losses: number[], time: number): string[] {
  return losses.map((l, i) => `${cfg},${i + 1},${l},${time}`);
}

/** lr × bs grid with smooth curves (for grid / random / PBT). */
export function gridCsv(): string {
  const lines = ["lr,bs,t,eval_loss,time_s"];
  for (const lr of [0.1, 0.01, 0.001]) {
    for (const bs of [1, 2]) {
      for (let t = 1; t <= 6; t++) {
        const q = Math.abs(Math.log10(lr) + 2) + (bs === 2 ? 0.3 : 0);
        const loss = 2 + q + 3 / t + q * t * 0.05;
        lines.push(`${lr},${bs},${t},${loss.toFixed(4)},${5 + bs}`);
      }
    }
  }
  return lines.join("\n");
}

const made: string[] = [];
process.on("exit", () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temp dir, removed when the test process exits. */
export function tmpDir(prefix = "tunelab-exp-"): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

export function config(input: Omit<ExperimentInput, "backend"> & { backend?: ExperimentInput["backend"] }, dir: string): ExperimentConfig {
  const curves = path.join(dir, "curves.csv");
  return parseExperiment({ backend: { kind: "replay", curves }, runDir: path.join(dir, "runs", input.name), ...input });
}

export function sim(csv: string, opts: Partial<SimOptions> = {}): { cluster: SimCluster; backend: SimBackend } {
  const cluster = new SimCluster(parseCurves(csv, opts.metric ?? "eval_loss"), { metric: "eval_loss", ...opts });
  return { cluster, backend: new SimBackend(cluster) };
}

/** Suggests a fixed list of configs in order (exact, order-controlled tests). */
export class ListSearcher implements Searcher {
  readonly kind = "list";
  next = 0;
  observed: Observation[] = [];
  constructor(readonly configs: HParams[]) {}
  suggest(_id: string): Suggestion | null {
    return this.next < this.configs.length ? { config: { ...this.configs[this.next++] } } : null;
  }
  size(): number { return this.configs.length; }
  observe(o: Observation): void { this.observed.push(o); }
  getState(): unknown { return { next: this.next, observed: this.observed }; }
  setState(s: unknown): void { const x = s as { next: number; observed: Observation[] }; this.next = x.next; this.observed = x.observed; }
}

/**
 * A minimal PBT stand-in (the real one is another engineer's): at t = 2 and
 * 4 (decision points), once all live trials have reported there, the worst
 * trial exploits the best one: lr of the donor ×0.8 or ×1.2, the
 * neighbouring choice for bs... here kept simple and deterministic: the
 * explored lr is the donor's lr shifted to the next value in the ordered
 * list [0.1, 0.01, 0.001] (clamped), bs kept.
 */
export class StandInPbt implements Scheduler {
  readonly kind = "pbt-standin";
  scores: Record<string, { t: number; v: number; ckpt: string | null; config: HParams }> = {};
  trials: string[] = [];
  constructor(readonly points: number[]) {}
  onTrialAdd(t: SchedulerTrial): void { this.trials.push(t.trialId); this.scores[t.trialId] = { t: 0, v: Infinity, ckpt: null, config: t.config }; }
  onResult(id: string, r: Report): SchedulerAction[] {
    const s = this.scores[id];
    s.t = r.t; s.v = Number(r.eval_loss); s.ckpt = r.checkpoint;
    if (!this.points.includes(r.t)) return [{ trialId: id, action: "continue" }];
    // asynchronous: compare with trials that already reached this t
    const peers = this.trials.filter((x) => this.scores[x].t >= r.t && x !== id);
    if (peers.length === 0) return [{ trialId: id, action: "continue" }];
    const best = peers.reduce((a, b) => (this.scores[b].v < this.scores[a].v ? b : a));
    if (this.scores[best].v < s.v && this.scores[best].ckpt) {
      const donor = this.scores[best];
      const lrs = [0.1, 0.01, 0.001];
      const i = lrs.indexOf(Number(donor.config.lr));
      const lr = lrs[Math.min(lrs.length - 1, i + 1)];
      const config = { ...donor.config, lr };
      s.config = config;
      return [{ trialId: id, action: "exploit", donor: best, checkpoint: donor.ckpt!, donorT: donor.t, config, mutations: { lr: "shift right" } }];
    }
    return [{ trialId: id, action: "continue" }];
  }
  onTrialComplete(): SchedulerAction[] { return []; }
  onTrialError(): SchedulerAction[] { return []; }
  decisionPoints(): number[] { return this.points; }
  wantsNewTrial(): boolean { return true; }
  chooseTrialToResume(p: string[]): string | null { return p[0] ?? null; }
  getState(): unknown { return { scores: this.scores, trials: this.trials }; }
  setState(s: unknown): void { const x = s as any; this.scores = x.scores; this.trials = x.trials; }
}
