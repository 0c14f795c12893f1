/**
 * Kernel side of the Jupyter widgets protocol 2.1.0: a `Widget` is one model
 * whose state is mirrored in every front-end through a comm on target
 * `jupyter.widget`. Changes flow both ways (`update`), front-ends may ask for
 * the full state (`request_state`) and exchange `custom` messages; on page
 * reload ipywidgets 8 asks the `jupyter.widget.control` comm for every live
 * model (`request_states` → `update_states`).
 *
 * Without a kernel bridge (plain Node, stock tslab) a widget is just a state
 * holder whose display bundle carries only the static fallbacks.
 *
 * Live widgets are tracked in a process-global registry (not a module
 * singleton): tslab may load this module twice, and the control comm must
 * answer for every copy's widgets.
 */
import { randomUUID } from "node:crypto";
import { getKernelBridge, JUPYTER_DISPLAY, type Buffers, type Comm, type CommMessage, type KernelBridge, type MimeBundle } from "./kernel-bridge";
import { putBuffers, removeBuffers, type Path } from "./serialize";

export const PROTOCOL_VERSION = "2.1.0";
export const WIDGET_TARGET = "jupyter.widget";
export const CONTROL_TARGET = "jupyter.widget.control";
export const WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json";
/** Optional: the display_id an object wants for its display (see PROTOCOL.md). */
export const DISPLAY_ID = Symbol.for("tunelab.displayId");

export type Origin = "kernel" | "frontend";
export type Observer = (value: unknown, old: unknown, origin: Origin) => void;
export type CustomHandler = (content: any, buffers: DataView[]) => void;

interface Registry {
  widgets: Map<string, Widget>;
  controlBridges: WeakSet<object>;
  /** control comms front-ends opened (ipywidgets 8 managers do on connect and on page reload) */
  controlOpens?: Array<{ at: number; version: string | null }>;
}
const REGISTRY_SYMBOL = Symbol.for("tunelab.widgets.registry");

export function widgetRegistry(): Registry {
  const g = globalThis as any;
  g[REGISTRY_SYMBOL] ??= { widgets: new Map(), controlBridges: new WeakSet() } satisfies Registry;
  return g[REGISTRY_SYMBOL] as Registry;
}

/** All widgets not yet closed (for `update_states` and tests). */
export function liveWidgets(): Widget[] {
  return [...widgetRegistry().widgets.values()];
}

/** Answer `request_states` on the control comm with every live widget's full state. */
export function ensureControlTarget(bridge: KernelBridge): void {
  const reg = widgetRegistry();
  if (reg.controlBridges.has(bridge)) return;
  reg.controlBridges.add(bridge);
  bridge.comms.registerTarget(CONTROL_TARGET, (comm, open) => {
    (reg.controlOpens ??= []).push({ at: Date.now(), version: typeof open?.metadata?.version === "string" ? open.metadata.version : null });
    comm.onMsg((msg) => {
      if (msg.data?.method !== "request_states") return;
      const states: Record<string, unknown> = {};
      for (const w of widgetRegistry().widgets.values()) {
        if (w.bridge !== bridge) continue;
        const s = w.getState();
        states[w.modelId] = {
          model_name: s._model_name,
          model_module: s._model_module,
          model_module_version: s._model_module_version,
          state: s,
        };
      }
      const ser = removeBuffers(states);
      comm.send({ method: "update_states", states: ser.state, buffer_paths: ser.buffer_paths }, undefined, ser.buffers);
    });
  });
}

export interface WidgetOptions {
  /** the kernel bridge; default: the registered one (null: static only) */
  bridge?: KernelBridge | null;
}

export class Widget {
  readonly modelId: string;
  readonly bridge: KernelBridge | null;
  protected readonly comm: Comm | null;
  protected state: Record<string, unknown>;
  private observers = new Map<string, Set<Observer>>();
  private customHandlers = new Set<CustomHandler>();
  private closeHandlers = new Set<() => void>();
  private _closed = false;
  /** display_id used by display() / update(); stable per widget. */
  readonly displayId: string;

  constructor(state: Record<string, unknown>, options: WidgetOptions = {}) {
    this.state = { ...state };
    this.bridge = options.bridge === undefined ? getKernelBridge() : options.bridge;
    if (this.bridge) {
      ensureControlTarget(this.bridge);
      const ser = removeBuffers(this.state);
      this.comm = this.bridge.comms.open(WIDGET_TARGET, { state: ser.state, buffer_paths: ser.buffer_paths }, { version: PROTOCOL_VERSION }, ser.buffers);
      this.modelId = this.comm.commId;
      this.comm.onMsg((m) => this.handleMsg(m));
      this.comm.onClose(() => this.forget());
    } else {
      this.comm = null;
      this.modelId = randomUUID().replace(/-/g, "");
    }
    this.displayId = `tunelab-${this.modelId}`;
    widgetRegistry().widgets.set(this.modelId, this);
  }

  get closed(): boolean {
    return this._closed;
  }

  /** True when a front-end can show the live view (a kernel with comms). */
  get live(): boolean {
    return this.comm !== null && !this._closed;
  }

  get<T = unknown>(name: string): T {
    return this.state[name] as T;
  }

  /** A copy of the full state (buffers and child widgets as objects). */
  getState(): Record<string, unknown> {
    return { ...this.state };
  }

  /** Change traits and send them to the front-ends (only the given keys). */
  set(changes: Record<string, unknown>): void {
    const olds: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(changes)) {
      olds[k] = this.state[k];
      this.state[k] = v;
    }
    this.sendState(Object.keys(changes));
    for (const k of Object.keys(changes)) this.fire(k, changes[k], olds[k], "kernel");
  }

  /** Send the current values of `keys` (default: all) as an `update`. */
  sendState(keys?: string[]): void {
    if (!this.live) return;
    const sub: Record<string, unknown> = {};
    for (const k of keys ?? Object.keys(this.state)) sub[k] = this.state[k];
    const ser = removeBuffers(sub);
    this.comm!.send({ method: "update", state: ser.state, buffer_paths: ser.buffer_paths }, undefined, ser.buffers);
  }

  /** Called with (value, old, origin) whenever trait `name` changes. */
  observe(name: string, fn: Observer): () => void {
    let set = this.observers.get(name);
    if (!set) this.observers.set(name, (set = new Set()));
    set.add(fn);
    return () => set!.delete(fn);
  }

  onCustom(fn: CustomHandler): () => void {
    this.customHandlers.add(fn);
    return () => this.customHandlers.delete(fn);
  }

  onClose(fn: () => void): void {
    this.closeHandlers.add(fn);
  }

  sendCustom(content: unknown, buffers?: Buffers): void {
    if (!this.live) return;
    this.comm!.send({ method: "custom", content }, undefined, buffers);
  }

  /** Close the comm; front-ends remove the views. */
  close(): void {
    if (this._closed) return;
    if (this.comm && !this.comm.closed) this.comm.close();
    this.forget();
  }

  private forget(): void {
    if (this._closed) return;
    this._closed = true;
    widgetRegistry().widgets.delete(this.modelId);
    for (const fn of this.closeHandlers) fn();
  }

  private fire(name: string, value: unknown, old: unknown, origin: Origin): void {
    for (const fn of this.observers.get(name) ?? []) {
      try {
        fn(value, old, origin);
      } catch (e) {
        console.error(`[tunelab widgets] observer of ${name} failed:`, e);
      }
    }
  }

  protected handleMsg(msg: CommMessage): void {
    const data = msg.data ?? {};
    switch (data.method) {
      case "update": {
        const incoming = putBuffers({ ...(data.state ?? {}) }, data.buffer_paths as Path[] | undefined, msg.buffers);
        for (const [k, v] of Object.entries(incoming)) {
          const old = this.state[k];
          this.state[k] = v;
          this.fire(k, v, old, "frontend");
        }
        break;
      }
      case "request_state":
        this.sendState();
        break;
      case "custom":
        for (const fn of this.customHandlers) {
          try {
            fn(data.content, msg.buffers);
          } catch (e) {
            console.error("[tunelab widgets] custom message handler failed:", e);
          }
        }
        break;
      default:
        break;
    }
  }

  /** Static representations shown where the widget cannot be (override). */
  fallbackBundle(): MimeBundle {
    return { "text/plain": `${String(this.state._model_name ?? "Widget")}()` };
  }

  /** The display bundle: the widget view plus fallbacks, or fallbacks only without comms. */
  displayBundle(): MimeBundle {
    const bundle: MimeBundle = { ...this.fallbackBundle() };
    if (this.live) bundle[WIDGET_VIEW_MIME] = { version_major: 2, version_minor: 1, model_id: this.modelId };
    return bundle;
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    // a cell's last expression: the tunelab kernel shows it with this widget's display id (DISPLAY_ID), as display() does
    if (this.bridge) this.shown();
    return this.displayBundle();
  }

  /** Called when the widget is put on screen under its display id (override to keep its fallbacks fresh). */
  protected shown(): void {}

  get [DISPLAY_ID](): string {
    return this.displayId;
  }

  /** Display through the kernel with this widget's display_id (no-op without a bridge). */
  display(): MimeBundle {
    if (this.bridge) this.shown();
    const bundle = this.displayBundle();
    this.bridge?.display(bundle, { displayId: this.displayId });
    return bundle;
  }

  /** Replace every output displayed with this widget's display_id. */
  updateDisplay(bundle: MimeBundle = this.displayBundle()): void {
    this.bridge?.display(bundle, { displayId: this.displayId, update: true });
  }
}

export function isWidget(x: unknown): x is Widget {
  return x instanceof Widget;
}
