/**
 * An in-memory ExperimentSource (test double of the experiment driver) that
 * emits synthetic events: N trials × T epochs of decaying loss curves, some
 * stopped early at ASHA-like rungs. Records the user actions it receives.
 */
import type { ExperimentEvent, ExperimentSource } from "../../src/experiment/events";
import type { MethodSpec } from "../../src/config/types";

export class SourceDouble implements ExperimentSource {
  readonly name: string;
  readonly metric = "eval_loss";
  readonly mode = "min" as const;
  readonly method: MethodSpec = { kind: "asha", gracePeriod: 1, reductionFactor: 4, maxT: 30, brackets: 1, stopLastTrials: true, nanPolicy: "worst" };
  readonly space = { lr: { loguniform: [1e-5, 1e-2] as [number, number] } };
  readonly maxT: number;
  readonly rungs: number[];
  readonly events: ExperimentEvent[] = [];
  readonly actions: string[] = [];
  private subs = new Set<(e: ExperimentEvent) => void>();
  private clock = 0;

  constructor(opts: { name?: string; maxT?: number; rungs?: number[] } = {}) {
    this.name = opts.name ?? "demo";
    this.maxT = opts.maxT ?? 30;
    this.rungs = opts.rungs ?? [1, 4, 16];
  }
  history(): readonly ExperimentEvent[] {
    return this.events;
  }
  subscribe(fn: (e: ExperimentEvent) => void): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }
  async stopTrial(trialId: string): Promise<void> {
    this.actions.push(`stop ${trialId}`);
    this.emit({ type: "trial_state", at: this.clock, trialId, state: "stopped", message: "stopped by user" });
  }
  pause(): void {
    this.actions.push("pause");
    this.emit({ type: "experiment_state", at: this.clock, state: "paused" });
  }
  resume(): void {
    this.actions.push("resume");
    this.emit({ type: "experiment_state", at: this.clock, state: "running" });
  }
  emit(e: ExperimentEvent): void {
    this.events.push(e);
    for (const fn of this.subs) fn(e);
  }
  tick(ms = 1000): number {
    this.clock += ms;
    return this.clock;
  }
}

export function lossAt(i: number, t: number): number {
  return 2 + (i % 7) * 0.15 + 3 / (t + 1);
}

/** Emit a full synthetic run: trials start, report every epoch, every 4th stops at t=4. */
export function runSynthetic(src: SourceDouble, trials: number, epochs: number, opts: { finish?: boolean } = {}): void {
  src.emit({ type: "experiment_started", at: src.tick(0), name: src.name, method: "asha", maxT: epochs });
  for (let i = 0; i < trials; i++) {
    const id = `trial_${String(i).padStart(3, "0")}`;
    src.emit({ type: "trial_added", at: src.tick(10), trialId: id, config: { lr: 1e-4 * (i + 1) } });
    src.emit({ type: "trial_state", at: src.tick(10), trialId: id, state: "running" });
  }
  for (let t = 1; t <= epochs; t++) {
    for (let i = 0; i < trials; i++) {
      const id = `trial_${String(i).padStart(3, "0")}`;
      const stoppedAt = i % 4 === 3 ? 4 : Infinity;
      if (t > stoppedAt) continue;
      src.emit({ type: "report", at: src.tick(100), trialId: id, report: { t, eval_loss: lossAt(i, t), time_total_s: t, checkpoint: null } });
      if (t === stoppedAt) {
        src.emit({ type: "decision", at: src.tick(1), trialId: id, t, action: "stop", reason: "below rung cutoff" });
        src.emit({ type: "trial_state", at: src.tick(1), trialId: id, state: "stopped" });
        src.emit({ type: "accounting", at: src.tick(1), trialId: id, gpuSeconds: 60 * t, queueSeconds: 1, runSeconds: 60 * t, gpus: 1 });
      } else if (t === epochs) {
        src.emit({ type: "trial_state", at: src.tick(1), trialId: id, state: "completed" });
        src.emit({ type: "accounting", at: src.tick(1), trialId: id, gpuSeconds: 60 * t, queueSeconds: 1, runSeconds: 60 * t, gpus: 1 });
      }
    }
  }
  if (opts.finish !== false) src.emit({ type: "experiment_state", at: src.tick(1), state: "finished" });
}
