/**
 * TrialTable: one row per trial (id, state, config, latest metric, epoch
 * progress, GPU-minutes) with a stop button each, and pause/resume for the
 * whole experiment. Built from standard controls (VBox of HBoxes with HTML,
 * IntProgress and Button) so any ipywidgets 8 front-end renders it without
 * code of ours. Row updates are batched (at most every `throttleMs`).
 */
import type { MimeBundle } from "./kernel-bridge";
import { Button, escapeHtml, HBox, HTML, IntProgress, VBox, type ControlOptions } from "./controls";

export interface TrialRowData {
  trialId: string;
  state: string;
  config: Record<string, unknown>;
  metric: number | null;
  t: number;
  gpuSeconds: number;
}

export interface TrialTableOptions extends ControlOptions {
  maxT: number;
  metric?: string;
  onStop?: (trialId: string) => void | Promise<void>;
  onPause?: () => void;
  onResume?: () => void;
  throttleMs?: number;
  /** the device-time column's title: "GPU-min" (default), "CPU-min" for a CPU run */
  timeLabel?: string;
}

const TERMINAL = new Set(["completed", "stopped", "failed"]);
const BAR_STYLE: Record<string, string> = { completed: "success", stopped: "warning", failed: "danger", paused: "info" };

function fmtConfig(c: Record<string, unknown>): string {
  return Object.entries(c)
    .map(([k, v]) => `${k}=${typeof v === "number" && !Number.isInteger(v) ? v.toPrecision(3) : String(v)}`)
    .join(" ");
}

function fmtMetric(v: number | null): string {
  return v == null ? "–" : v.toPrecision(4);
}

interface Row {
  data: TrialRowData;
  info: HTML;
  progress: IntProgress;
  stop: Button;
  box: HBox;
}

export class TrialTable extends VBox {
  private rowsById = new Map<string, Row>();
  private dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  readonly header: HTML;
  readonly pauseButton: Button;
  readonly resumeButton: Button;
  readonly status: HTML;
  private experimentState = "running";
  private readonly opts: TrialTableOptions;

  constructor(opts: TrialTableOptions) {
    const header = new HTML({ value: TrialTable.headerHtml(opts.metric ?? "metric", opts.timeLabel ?? "GPU-min") }, opts);
    const pauseButton = new Button({ description: "pause", icon: "pause", tooltip: "pause the experiment (trials checkpoint and wait)" }, opts);
    const resumeButton = new Button({ description: "resume", icon: "play", disabled: true, tooltip: "resume the experiment" }, opts);
    const status = new HTML({ value: "<b>running</b>" }, opts);
    const controls = new HBox([pauseButton, resumeButton, status], {}, opts);
    super([controls, header], {}, opts);
    this.opts = opts;
    this.header = header;
    this.pauseButton = pauseButton;
    this.resumeButton = resumeButton;
    this.status = status;
    pauseButton.onClick(() => opts.onPause?.());
    resumeButton.onClick(() => opts.onResume?.());
  }

  private static headerHtml(metric: string, timeLabel: string): string {
    return `<div style="font-family:monospace;font-weight:bold;white-space:pre">${escapeHtml("trial".padEnd(12) + "state".padEnd(11) + metric.padEnd(10) + timeLabel.padEnd(9) + "config")}</div>`;
  }

  private rowHtml(d: TrialRowData): string {
    const line = d.trialId.padEnd(12) + d.state.padEnd(11) + fmtMetric(d.metric).padEnd(10) + (d.gpuSeconds / 60).toFixed(1).padEnd(9) + fmtConfig(d.config);
    const dim = TERMINAL.has(d.state) && d.state !== "completed" ? "opacity:0.55;" : "";
    return `<div class="tunelab-trial" data-trial="${escapeHtml(d.trialId)}" data-state="${escapeHtml(d.state)}" style="font-family:monospace;white-space:pre;${dim}">${escapeHtml(line)}</div>`;
  }

  get rows(): TrialRowData[] {
    return [...this.rowsById.values()].map((r) => ({ ...r.data }));
  }

  row(trialId: string): TrialRowData | undefined {
    const r = this.rowsById.get(trialId);
    return r ? { ...r.data } : undefined;
  }

  stopButton(trialId: string): Button | undefined {
    return this.rowsById.get(trialId)?.stop;
  }

  /** Add or change a trial's row. */
  upsert(trialId: string, patch: Partial<Omit<TrialRowData, "trialId">>): void {
    let r = this.rowsById.get(trialId);
    if (!r) {
      const data: TrialRowData = { trialId, state: "pending", config: {}, metric: null, t: 0, gpuSeconds: 0, ...patch };
      const info = new HTML({ value: this.rowHtml(data) }, this.opts);
      const progress = new IntProgress({ value: data.t, min: 0, max: this.opts.maxT }, { ...this.opts, layout: { width: "160px" } });
      const stop = new Button({ description: "stop", button_style: "danger", icon: "stop", tooltip: `stop ${trialId}` }, { ...this.opts, layout: { width: "90px" } });
      stop.onClick(() => {
        stop.set({ disabled: true, description: "stopping" });
        Promise.resolve(this.opts.onStop?.(trialId)).catch((e) => {
          stop.set({ disabled: false, description: "stop" });
          this.status.set({ value: `<span style="color:#b00">stop ${escapeHtml(trialId)} failed: ${escapeHtml(String(e?.message ?? e))}</span>` });
        });
      });
      const box = new HBox([stop, progress, info], {}, this.opts);
      r = { data, info, progress, stop, box };
      this.rowsById.set(trialId, r);
      this.set({ children: [...this.children, box] });
    } else {
      Object.assign(r.data, patch);
    }
    this.dirty.add(trialId);
    this.schedule();
  }

  setExperimentState(state: string): void {
    this.experimentState = state;
    const paused = state === "paused";
    const over = ["finished", "failed", "budget_exhausted", "stopped"].includes(state);
    this.pauseButton.set({ disabled: paused || over });
    this.resumeButton.set({ disabled: !paused || over });
    this.status.set({ value: `<b>${escapeHtml(state)}</b>` });
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.opts.throttleMs ?? 250);
    this.timer.unref?.();
  }

  /** Push pending row changes to the front-ends now. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    for (const id of this.dirty) {
      const r = this.rowsById.get(id);
      if (!r) continue;
      const html = this.rowHtml(r.data);
      if (r.info.value !== html) r.info.value = html;
      const t = Math.max(0, Math.min(this.opts.maxT, Math.round(r.data.t)));
      const bar = BAR_STYLE[r.data.state] ?? "";
      if (r.progress.value !== t || r.progress.get("bar_style") !== bar) r.progress.set({ value: t, bar_style: bar });
      const terminal = TERMINAL.has(r.data.state);
      // (a clicked button says "stopping" until the trial has ended)
      const label = r.data.state === "stopped" ? "stopped" : "done";
      if (terminal && (!r.stop.get("disabled") || r.stop.get("description") !== label)) r.stop.set({ disabled: true, description: label });
    }
    this.dirty.clear();
  }

  /**
   * Re-send the full state of the table and its rows. Used at the end of a
   * run: a headless client (nbclient) drops updates sent between cells, and
   * the saved widget state must still show the final table.
   */
  syncAll(): void {
    this.flush();
    this.sendState();
    for (const w of [this.pauseButton, this.resumeButton, this.status, this.header]) w.sendState();
    for (const r of this.rowsById.values()) for (const w of [r.box, r.info, r.progress, r.stop]) w.sendState();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    super.close();
  }

  fallbackBundle(): MimeBundle {
    const metric = this.opts.metric ?? "metric";
    const rows = this.rows;
    const head = `<tr><th>trial</th><th>state</th><th>${escapeHtml(metric)}</th><th>t</th><th>${escapeHtml(this.opts.timeLabel ?? "GPU-min")}</th><th>config</th></tr>`;
    const body = rows
      .map((d) => `<tr${d.state === "stopped" ? ' style="opacity:0.55"' : ""}><td>${escapeHtml(d.trialId)}</td><td>${escapeHtml(d.state)}</td><td>${fmtMetric(d.metric)}</td><td>${d.t}/${this.opts.maxT}</td><td>${(d.gpuSeconds / 60).toFixed(1)}</td><td>${escapeHtml(fmtConfig(d.config))}</td></tr>`)
      .join("");
    const text = [
      `experiment: ${this.experimentState}`,
      ["trial".padEnd(12), "state".padEnd(11), metric.padEnd(10), "t".padEnd(8), (this.opts.timeLabel ?? "GPU-min").padEnd(9), "config"].join(""),
      ...rows.map((d) => [d.trialId.padEnd(12), d.state.padEnd(11), fmtMetric(d.metric).padEnd(10), `${d.t}/${this.opts.maxT}`.padEnd(8), (d.gpuSeconds / 60).toFixed(1).padEnd(9), fmtConfig(d.config)].join("")),
    ].join("\n");
    return { "text/plain": text, "text/html": `<table class="tunelab-trials"><thead>${head}</thead><tbody>${body}</tbody></table>` };
  }
}
