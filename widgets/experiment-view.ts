/**
 * The live view of one experiment: learning curves (LivePlot), a GPU-minutes
 * counter and the trial table, composed in a VBox. It replays the source's
 * history first, then follows its events. User actions (stop a trial,
 * pause/resume) go back to the source. When the experiment ends, the final
 * state is synced (saved notebooks keep every point) and the display's
 * fallbacks (SVG + HTML table + text) are replaced with the last picture.
 */
import type { ExperimentEvent, ExperimentSource } from "../src/experiment/events";
import type { MimeBundle } from "./kernel-bridge";
import { HTML, VBox, escapeHtml, type ControlOptions } from "./controls";
import { LivePlot, type LivePlotOptions } from "./live-plot";
import { TrialTable } from "./trial-table";
import { VEGA_LITE_MIME } from "../src/plots/spec";
import { experimentDevice, type DeviceConfig, type DeviceKind } from "../src/results/device";

export interface ExperimentViewOptions extends ControlOptions {
  logY?: boolean;
  throttleMs?: number;
  svgEveryMs?: number;
  plot?: Partial<LivePlotOptions>;
  /** what the trials compute on; default: the source's `device`, else decided from its `config` (results/device.ts) */
  device?: DeviceKind;
}

/** An Experiment has `config`; other sources may say `device` themselves. */
export function sourceDevice(source: ExperimentSource): DeviceKind {
  const s = source as ExperimentSource & { device?: DeviceKind; config?: DeviceConfig };
  if (s.device === "cpu" || s.device === "gpu") return s.device;
  return s.config ? experimentDevice(s.config) : "gpu";
}

interface TrialAcc {
  accounted: Map<number, number>;
  runningSince: number | null;
  runs: number;
  gpus: number;
  best: number | null;
}

const ENDED = new Set(["finished", "failed", "budget_exhausted", "stopped"]);

/** Shown under the fallback picture of a running experiment (no buttons there). */
export const STOP_FROM_CODE = 'picture only (no buttons here): stop a trial with await exp.stopTrial("t003"), the whole run with exp.requestStop(), or exp.pause() / exp.resume(); ■ Interrupt pauses the run';
const FINAL_VIEW_STATES = new Set(["finished", "failed", "budget_exhausted", "stopped", "paused"]);

export class ExperimentView extends VBox {
  readonly plot: LivePlot;
  readonly table: TrialTable;
  readonly gpu: HTML;
  readonly source: ExperimentSource;
  /** the unit of the counter and the table's time column: GPU-minutes, or CPU-minutes (CPU-slot time) */
  readonly device: DeviceKind;
  private acc = new Map<string, TrialAcc>();
  private lastAt = 0;
  private unsubscribe: (() => void) | null = null;
  private expState = "running";
  private displayedSelf = false;
  private finished: Promise<void> | null = null;
  /** resolves when the experiment ended and the final picture was sent */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(source: ExperimentSource, opts: ExperimentViewOptions = {}) {
    const plot = new LivePlot({
      metric: source.metric,
      mode: source.mode,
      rungs: source.rungs,
      logY: opts.logY,
      title: `${source.name} (${source.method.kind})`,
      throttleMs: opts.throttleMs,
      svgEveryMs: opts.svgEveryMs,
      lineage: source.method.kind === "pbt",
      bridge: opts.bridge,
      ...opts.plot,
    });
    const device = opts.device ?? sourceDevice(source);
    const gpu = new HTML({ value: ExperimentView.gpuHtml(0, 0, "running", device) }, opts);
    const table = new TrialTable({
      maxT: source.maxT,
      metric: source.metric,
      timeLabel: device === "cpu" ? "CPU-min" : "GPU-min",
      throttleMs: opts.throttleMs,
      bridge: opts.bridge,
      onStop: (id) => source.stopTrial(id),
      onPause: () => source.pause(),
      onResume: () => source.resume(),
    });
    super([plot, gpu, table], {}, opts);
    this.plot = plot;
    this.table = table;
    this.gpu = gpu;
    this.source = source;
    this.device = device;
    this.done = new Promise((r) => (this.resolveDone = r));
    plot.onSvg(() => {
      if (this.displayedSelf) this.updateDisplay();
    });
    for (const e of source.history()) this.apply(e);
    this.unsubscribe = source.subscribe((e) => this.apply(e));
    if (ENDED.has(this.expState)) void this.finish();
  }

  private static gpuHtml(minutes: number, running: number, state: string, device: DeviceKind): string {
    return `<div class="tunelab-gpu" data-device="${device}" style="font-family:monospace">${ExperimentView.unit(device)}: <b>${minutes.toFixed(1)}</b> · running trials: ${running} · experiment: ${escapeHtml(state)}</div>`;
  }

  private static unit(device: DeviceKind): string {
    return device === "cpu" ? "CPU-minutes" : "GPU-minutes";
  }

  /** Device-seconds per second of a running trial: its GPUs, or one CPU slot. */
  private width(a: TrialAcc): number {
    return this.device === "cpu" ? 1 : a.gpus;
  }

  private trial(id: string): TrialAcc {
    let a = this.acc.get(id);
    if (!a) this.acc.set(id, (a = { accounted: new Map(), runningSince: null, runs: 0, gpus: 1, best: null }));
    return a;
  }

  /** Device-seconds of one trial (GPU-seconds, or CPU-slot-seconds of a CPU run): backend accounting per run, else run time × width so far. */
  gpuSeconds(id: string): number {
    const a = this.acc.get(id);
    if (!a) return 0;
    let s = 0;
    for (const v of a.accounted.values()) s += v;
    if (a.runningSince !== null && !a.accounted.has(a.runs - 1)) s += Math.max(0, this.lastAt - a.runningSince) / 1000 * this.width(a);
    return s;
  }

  totalGpuMinutes(): number {
    let s = 0;
    for (const id of this.acc.keys()) s += this.gpuSeconds(id);
    return s / 60;
  }

  private better(a: number, b: number): boolean {
    return this.source.mode === "min" ? a < b : a > b;
  }

  private updateBest(): void {
    let best: string | null = null;
    let bv = 0;
    for (const [id, a] of this.acc) {
      if (a.best === null) continue;
      if (best === null || this.better(a.best, bv)) {
        best = id;
        bv = a.best;
      }
    }
    this.plot.setBest(best);
  }

  /** Apply one driver event to the plot, the table and the counter. */
  apply(e: ExperimentEvent): void {
    this.lastAt = Math.max(this.lastAt, e.at);
    switch (e.type) {
      case "experiment_started":
        break;
      case "trial_added":
        this.trial(e.trialId);
        this.plot.addTrial(e.trialId, "pending");
        this.table.upsert(e.trialId, { config: e.config, state: "pending" });
        break;
      case "trial_state": {
        const a = this.trial(e.trialId);
        if (e.state === "running") {
          a.runningSince = e.at;
          a.runs += 1;
        } else if (a.runningSince !== null) {
          // close the running interval as an estimate until accounting arrives
          if (!a.accounted.has(a.runs - 1)) a.accounted.set(a.runs - 1, Math.max(0, e.at - a.runningSince) / 1000 * this.width(a));
          a.runningSince = null;
        }
        this.plot.setStatus(e.trialId, e.state);
        this.table.upsert(e.trialId, { state: e.state });
        break;
      }
      case "report": {
        // a preemption line repeats the last result (trial contract): not a new point
        if (e.report.preempted === true) break;
        const v = e.report[this.source.metric];
        const a = this.trial(e.trialId);
        if (typeof v === "number" && Number.isFinite(v)) {
          this.plot.add(e.trialId, e.report.t, v);
          if (a.best === null || this.better(v, a.best)) a.best = v;
          this.updateBest();
          this.table.upsert(e.trialId, { metric: v, t: e.report.t });
        } else this.table.upsert(e.trialId, { t: e.report.t });
        break;
      }
      case "exploit":
        this.plot.addExploit({ trialId: e.trialId, t: e.t, donor: e.donor, donorT: e.donorT });
        this.table.upsert(e.trialId, { config: e.config });
        break;
      case "accounting": {
        const a = this.trial(e.trialId);
        const run = typeof (e as any).run === "number" ? (e as any).run : Math.max(0, a.runs - 1);
        // a CPU run's backend may still name GPU slots (backend.gpus): its honest time is the process run time
        a.accounted.set(run, this.device === "cpu" ? e.runSeconds : e.gpuSeconds);
        if (e.gpus > 0) a.gpus = e.gpus;
        break;
      }
      case "experiment_state":
        this.expState = e.state;
        this.table.setExperimentState(e.state);
        break;
      case "decision":
        break;
    }
    for (const [id, a] of this.acc) {
      if (a.runningSince === null && !("trialId" in e && e.trialId === id)) continue;
      const g = this.gpuSeconds(id);
      if (this.table.row(id)?.gpuSeconds !== g) this.table.upsert(id, { gpuSeconds: g });
    }
    const running = [...this.acc.values()].filter((a) => a.runningSince !== null).length;
    const html = ExperimentView.gpuHtml(this.totalGpuMinutes(), running, this.expState, this.device);
    if (this.gpu.value !== html) this.gpu.value = html;
    if (e.type === "experiment_state" && ENDED.has(e.state)) void this.finish();
  }

  /** Final sync + final picture; idempotent. */
  finish(): Promise<void> {
    this.finished ??= (async () => {
      this.unsubscribe?.();
      this.unsubscribe = null;
      this.table.syncAll();
      this.gpu.sendState();
      this.sendState();
      await this.plot.finish();
      if (this.displayedSelf) this.updateDisplay();
      this.resolveDone();
    })();
    return this.finished;
  }

  protected shown(): void {
    if (this.displayedSelf) return;
    this.displayedSelf = true;
    // make sure a first real SVG follows the placeholder soon (after the display itself went out)
    void this.plot.renderFallback().then(() => this.updateDisplay(), () => undefined);
  }

  fallbackBundle(): MimeBundle {
    const p = this.plot.fallbackBundle();
    const t = this.table.fallbackBundle();
    const gpuLine = `${ExperimentView.unit(this.device)}: ${this.totalGpuMinutes().toFixed(1)} · experiment: ${this.expState}`;
    // a picture has no buttons: while the run can still be steered, say how from code
    const hint = FINAL_VIEW_STATES.has(this.expState) ? "" : `\n${STOP_FROM_CODE}`;
    return {
      "text/plain": `${this.source.name} (${this.source.method.kind}) · ${gpuLine}\n${p["text/plain"]}\n${t["text/plain"]}${hint}`,
      "image/svg+xml": p["image/svg+xml"],
      [VEGA_LITE_MIME]: p[VEGA_LITE_MIME],
      "text/html": `<div class="tunelab-experiment" data-points="${this.plot.pointCount}" data-state="${escapeHtml(this.expState)}"><div>${p["image/svg+xml"]}</div><div style="font-family:monospace">${escapeHtml(gpuLine)}</div>${t["text/html"]}${hint ? `<div class="tunelab-stop-hint" style="font-family:monospace">${escapeHtml(STOP_FROM_CODE)}</div>` : ""}</div>`,
    };
  }

  close(): void {
    this.unsubscribe?.();
    this.plot.close();
    this.table.close();
    this.gpu.close();
    super.close();
  }
}

/** Show an experiment live; the returned object displays itself (last expression or display()). */
export function showExperiment(source: ExperimentSource, opts: ExperimentViewOptions = {}): ExperimentView {
  return new ExperimentView(source, opts);
}
