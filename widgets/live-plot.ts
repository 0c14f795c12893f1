/**
 * LivePlot: learning curves that grow while trials train.
 *
 * An anywidget model (`_esm` = widgets/frontend/liveplot.js bundled with
 * vega). All points live in the synced state as three binary buffers
 * (t, value: float64; trial: uint32 index into `trials`), so a reloaded page
 * or a saved notebook (nbclient store_widget_state) rebuilds the whole plot.
 * New points are streamed as `custom` messages carrying only the new slice,
 * at most every `throttleMs` (default 250 ms: ~4 updates/s). The display
 * bundle always carries fallbacks: vega-lite v5 JSON with all data, an SVG
 * rendered in the kernel (re-sent with update_display_data at most every
 * `svgEveryMs`, and once more at finish()), and a text summary.
 */
import type { MimeBundle } from "./kernel-bridge";
import { Layout } from "./controls";
import { loadEsm } from "./esm";
import { Widget, type WidgetOptions } from "./widget";
import { learningCurves, type CurvePoint, type ExploitMark, type LearningCurveOptions } from "../src/plots/learning-curves";
import { renderSvg } from "../src/plots/render";
import { VEGA_LITE_MIME, type VegaLiteSpec } from "../src/plots/spec";

/**
 * The anywidget front-ends our model accepts: ipywidgets 8 managers pick the
 * registered anywidget whose version satisfies this range. `pip install
 * anywidget` gives 0.9.x or 0.11.x front-ends today (its own widgets ask for
 * "~0.9.*" / "~0.11.*", one minor only); the LivePlot module works with both
 * (shown in test/kernel-setup/lab/), so we take either. Outside the range the
 * manager shows an error view in place of the plot.
 */
export const ANYWIDGET_VERSION = ">=0.9.0 <0.12.0";

export interface LivePlotOptions extends WidgetOptions {
  metric?: string;
  mode?: "min" | "max";
  rungs?: number[];
  logY?: boolean;
  title?: string;
  width?: number;
  height?: number;
  /** minimum ms between streamed updates (default 250) */
  throttleMs?: number;
  /** minimum ms between SVG fallback refreshes while live (default 3000; 0 = only at finish) */
  svgEveryMs?: number;
  /** PBT: the legend names exploits and lineage from the start */
  lineage?: boolean;
}

export interface PlotTrial {
  id: string;
  status: string;
}

function grow<T extends Float64Array | Uint32Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  const b = new (a.constructor as any)(Math.max(need, a.length * 2, 256)) as T;
  b.set(a);
  return b;
}

const PLACEHOLDER_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="560" height="40"><text x="8" y="24" font-family="sans-serif" font-size="13" fill="#666">learning curves: rendering…</text></svg>`;

export class LivePlot extends Widget {
  private tArr = new Float64Array(256);
  private vArr = new Float64Array(256);
  private kArr = new Uint32Array(256);
  private n = 0;
  private trialList: PlotTrial[] = [];
  private trialIdx = new Map<string, number>();
  private exploitList: ExploitMark[] = [];
  private bestId: string | null = null;
  // pending delta since the last flush
  private sentN = 0;
  private changedTrials = new Set<number>();
  private newExploits: ExploitMark[] = [];
  private bestDirty = false;
  private timer: NodeJS.Timeout | null = null;
  private lastFlush = 0;
  private svgTimer: NodeJS.Timeout | null = null;
  private lastSvgAt = 0;
  private svg: string | null = null;
  private svgRendering: Promise<string> | null = null;
  private syncId = 0;
  private displayed = false;
  private svgListeners = new Set<(svg: string) => void>();
  readonly options: LivePlotOptions;
  /** bytes of buffers + JSON sent by streaming, for benchmarks */
  readonly sentStats = { messages: 0, bytes: 0 };

  constructor(options: LivePlotOptions = {}) {
    const layout = new Layout({}, options);
    const template = learningCurves([], { metric: options.metric, rungs: options.rungs, logY: options.logY, title: options.title, width: options.width, height: options.height, lineage: options.lineage });
    super(
      {
        _model_module: "anywidget",
        _model_module_version: ANYWIDGET_VERSION,
        _model_name: "AnyModel",
        _view_module: "anywidget",
        _view_module_version: ANYWIDGET_VERSION,
        _view_name: "AnyView",
        _view_count: null,
        _dom_classes: [],
        layout,
        tabbable: null,
        tooltip: null,
        _anywidget_id: "tunelab.LivePlot",
        _esm: loadEsm("liveplot"),
        _css: "",
        spec: template,
        t: new Float64Array(0),
        value: new Float64Array(0),
        trial: new Uint32Array(0),
        n: 0,
        trials: [],
        exploits: [],
        best: null,
        sync_id: 0,
        plot_id: "",
      },
      options,
    );
    // a stable key for the front-end's per-model store (set once the id exists)
    this.state.plot_id = this.modelId;
    this.sendState(["plot_id"]);
    this.options = options;
    this.onCustom((content) => {
      if (content?.kind === "resync") this.sync();
    });
    this.onClose(() => this.clearTimers());
  }

  get pointCount(): number {
    return this.n;
  }
  get trials(): readonly PlotTrial[] {
    return this.trialList;
  }

  private index(trialId: string, status = "running"): number {
    let i = this.trialIdx.get(trialId);
    if (i === undefined) {
      i = this.trialList.length;
      this.trialList.push({ id: trialId, status });
      this.trialIdx.set(trialId, i);
      this.changedTrials.add(i);
    }
    return i;
  }

  /** Register a trial before it reports (keeps colours/status right). */
  addTrial(trialId: string, status = "pending"): void {
    this.index(trialId, status);
    this.schedule();
  }

  add(trialId: string, t: number, value: number): void {
    if (!Number.isFinite(t) || !Number.isFinite(value)) return;
    const k = this.index(trialId);
    this.tArr = grow(this.tArr, this.n + 1);
    this.vArr = grow(this.vArr, this.n + 1);
    this.kArr = grow(this.kArr, this.n + 1);
    this.tArr[this.n] = t;
    this.vArr[this.n] = value;
    this.kArr[this.n] = k;
    this.n += 1;
    this.schedule();
  }

  addMany(points: readonly CurvePoint[]): void {
    for (const p of points) this.add(p.trialId, p.t, p.value);
  }

  setStatus(trialId: string, status: string): void {
    const k = this.index(trialId, status);
    if (this.trialList[k].status !== status) {
      this.trialList[k] = { id: trialId, status };
      this.changedTrials.add(k);
    }
    this.schedule();
  }

  setBest(trialId: string | null): void {
    if (trialId === this.bestId) return;
    this.bestId = trialId;
    this.bestDirty = true;
    this.schedule();
  }

  /**
   * A PBT exploit: the receiver's later points are its continuation from the
   * donor's checkpoint (the exploit keeps the point count as `index`, so the
   * front-end and the fallback split the receiver's line at the same place).
   */
  addExploit(e: ExploitMark): void {
    this.exploitList.push({ trialId: e.trialId, t: e.t, donor: e.donor, donorT: e.donorT ?? e.t, index: e.index ?? this.n });
    this.newExploits.push(this.exploitList[this.exploitList.length - 1]);
    this.schedule();
  }

  /** Current points (copies). */
  points(): CurvePoint[] {
    const out: CurvePoint[] = [];
    for (let i = 0; i < this.n; i++) out.push({ trialId: this.trialList[this.kArr[i]].id, t: this.tArr[i], value: this.vArr[i] });
    return out;
  }

  /** The full static spec (all data), as used for the fallbacks. */
  spec(): VegaLiteSpec {
    const o = this.options;
    const stopped = this.trialList.filter((t) => t.status === "stopped").map((t) => t.id);
    const states: Record<string, string> = {};
    for (const t of this.trialList) states[t.id] = t.status;
    const opts: LearningCurveOptions = { metric: o.metric, rungs: o.rungs, logY: o.logY, title: o.title, width: o.width, height: o.height, stopped, states, best: this.bestId, exploits: this.exploitList, lineage: o.lineage };
    return learningCurves(this.points(), opts);
  }

  private refreshState(): void {
    Object.assign(this.state, {
      t: this.tArr.subarray(0, this.n),
      value: this.vArr.subarray(0, this.n),
      trial: this.kArr.subarray(0, this.n),
      n: this.n,
      trials: this.trialList.map((t) => ({ ...t })),
      exploits: this.exploitList.map((e) => ({ ...e })),
      best: this.bestId,
      sync_id: this.syncId,
    });
  }

  /** A full state request (request_state) first sends what is pending, so the reply is current. */
  sendState(keys?: string[]): void {
    if (!keys) this.flush();
    this.refreshState();
    super.sendState(keys);
  }

  getState(): Record<string, unknown> {
    this.refreshState();
    return super.getState();
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    const throttle = this.options.throttleMs ?? 250;
    const wait = Math.max(0, this.lastFlush + throttle - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
    this.timer.unref?.();
  }

  /** Send everything pending now as one `append` custom message. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.lastFlush = Date.now();
    const start = this.sentN;
    const hasDelta = this.n > start || this.changedTrials.size || this.newExploits.length || this.bestDirty;
    this.refreshState();
    if (!hasDelta) return;
    const content: Record<string, unknown> = {
      kind: "append",
      start,
      trials: [...this.changedTrials].sort((a, b) => a - b).map((i) => [i, this.trialList[i].id, this.trialList[i].status]),
      exploits: this.newExploits,
    };
    if (this.bestDirty) content.best = this.bestId;
    const buffers = [this.tArr.slice(start, this.n), this.vArr.slice(start, this.n), this.kArr.slice(start, this.n)];
    if (this.live) {
      this.sendCustom(content, buffers);
      this.sentStats.messages += 1;
      this.sentStats.bytes += JSON.stringify({ method: "custom", content }).length + buffers.reduce((s, b) => s + b.byteLength, 0);
    }
    this.sentN = this.n;
    this.changedTrials.clear();
    this.newExploits = [];
    this.bestDirty = false;
    this.scheduleSvg();
  }

  /** Send the complete state as one `update` (what request_state gets too). */
  sync(): void {
    this.flush();
    this.syncId += 1;
    this.refreshState();
    if (this.live) {
      const before = this.sentStats.bytes;
      this.sendState(["t", "value", "trial", "n", "trials", "exploits", "best", "sync_id"]);
      this.sentStats.messages += 1;
      this.sentStats.bytes = before + this.n * 20 + JSON.stringify(this.state.trials).length;
    }
  }

  private scheduleSvg(): void {
    const every = this.options.svgEveryMs ?? 3000;
    if (!this.bridge || every <= 0 || this.svgTimer || this.closed) return;
    if (!this.displayed && this.svgListeners.size === 0) return;
    const wait = Math.max(0, this.lastSvgAt + every - Date.now());
    this.svgTimer = setTimeout(() => {
      this.svgTimer = null;
      this.lastSvgAt = Date.now();
      void this.renderFallback().then(
        () => this.displayed && this.updateDisplay(),
        (e) => console.error("[tunelab LivePlot] SVG render failed:", e),
      );
    }, wait);
    this.svgTimer.unref?.();
  }

  /** Render the SVG fallback from the current data. */
  async renderFallback(): Promise<string> {
    const p = renderSvg(this.spec());
    this.svgRendering = p;
    const svg = await p;
    this.svg = svg;
    for (const fn of this.svgListeners) fn(svg);
    return svg;
  }

  /** Called after each SVG fallback render (containers refresh their display). */
  onSvg(fn: (svg: string) => void): () => void {
    this.svgListeners.add(fn);
    return () => this.svgListeners.delete(fn);
  }

  protected shown(): void {
    this.displayed = true;
    this.scheduleSvg();
  }

  /** Last SVG rendered (null until the first render finished). */
  get lastSvg(): string | null {
    return this.svg;
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.svgTimer) clearTimeout(this.svgTimer);
    this.timer = this.svgTimer = null;
  }

  /**
   * The run is over: send the remaining points, sync the full state (so a
   * saved notebook's widget state holds every point), render the final SVG and
   * replace the displayed fallbacks with it (update_display_data).
   */
  async finish(): Promise<void> {
    this.sync();
    this.clearTimers();
    await this.renderFallback();
    if (this.displayed) this.updateDisplay();
  }

  /** Await the first (or latest) SVG render; a bundle with the real picture. */
  async bundle(): Promise<MimeBundle> {
    await this.renderFallback();
    return this.displayBundle();
  }

  fallbackBundle(): MimeBundle {
    const counts: Record<string, number> = {};
    for (const t of this.trialList) counts[t.status] = (counts[t.status] ?? 0) + 1;
    const summary = Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ");
    const text = `LivePlot: ${this.trialList.length} trials (${summary || "none"}), ${this.n} points${this.bestId ? `, best ${this.bestId}` : ""}`;
    return {
      "text/plain": text,
      "image/svg+xml": this.svg ?? PLACEHOLDER_SVG,
      [VEGA_LITE_MIME]: this.spec(),
    };
  }
}
