/**
 * A test double of the KernelBridge (widgets/kernel-bridge.ts): records what
 * the widget runtime sends to "the front-end" and lets a test play the
 * front-end's part (comm messages, control comm opens). Used by unit tests
 * whose names say "(bridge double)"; the real kernel is exercised by the
 * *.int.test.ts files.
 */
import type { Buffers, Comm, CommManager, CommMessage, DisplayOptions, KernelBridge, MimeBundle } from "../../widgets/kernel-bridge";
import { KERNEL_BRIDGE_SYMBOL } from "../../widgets/kernel-bridge";

export interface Sent {
  kind: "open" | "msg" | "close";
  commId: string;
  targetName: string;
  data: any;
  metadata?: Record<string, unknown>;
  buffers: DataView[];
}

function views(b?: Buffers): DataView[] {
  return (b ?? []).map((x) => (x instanceof DataView ? x : ArrayBuffer.isView(x) ? new DataView(x.buffer, x.byteOffset, x.byteLength) : new DataView(x)));
}

let seq = 0;

class DoubleComm implements Comm {
  closed = false;
  msgHandlers: Array<(m: CommMessage) => void> = [];
  closeHandlers: Array<(m: CommMessage) => void> = [];
  constructor(readonly commId: string, readonly targetName: string, private log: Sent[]) {}
  send(data: unknown, metadata?: Record<string, unknown>, buffers?: Buffers): void {
    if (this.closed) throw new Error("send on closed comm");
    this.log.push({ kind: "msg", commId: this.commId, targetName: this.targetName, data: JSON.parse(JSON.stringify(data)), metadata, buffers: views(buffers) });
  }
  close(data?: unknown): void {
    this.closed = true;
    this.log.push({ kind: "close", commId: this.commId, targetName: this.targetName, data, buffers: [] });
  }
  onMsg(h: (m: CommMessage) => void): void {
    this.msgHandlers.push(h);
  }
  onClose(h: (m: CommMessage) => void): void {
    this.closeHandlers.push(h);
  }
}

export class KernelBridgeDouble implements KernelBridge {
  readonly sent: Sent[] = [];
  readonly displays: Array<{ bundle: MimeBundle; options?: DisplayOptions }> = [];
  readonly info = { implementation: "bridge-double", version: "0" };
  private comms_ = new Map<string, DoubleComm>();
  private targets = new Map<string, (comm: Comm, msg: CommMessage) => void>();
  private shutdownHooks: Array<() => void | Promise<void>> = [];

  readonly comms: CommManager = {
    open: (targetName, data, metadata, buffers, commId) => {
      const id = commId ?? `comm-${++seq}`;
      const c = new DoubleComm(id, targetName, this.sent);
      this.comms_.set(id, c);
      this.sent.push({ kind: "open", commId: id, targetName, data: JSON.parse(JSON.stringify(data ?? {})), metadata, buffers: views(buffers) });
      return c;
    },
    registerTarget: (name, handler) => void this.targets.set(name, handler),
    unregisterTarget: (name) => void this.targets.delete(name),
    get: (id) => this.comms_.get(id),
  };

  display(bundle: MimeBundle, options?: DisplayOptions): void {
    this.displays.push({ bundle, options });
  }
  onShutdown(fn: () => void | Promise<void>): void {
    this.shutdownHooks.push(fn);
  }

  /** The front-end sends a comm_msg on an existing comm. */
  frontendMsg(commId: string, data: unknown, buffers: ArrayBufferView[] = []): void {
    const c = this.comms_.get(commId);
    if (!c) throw new Error(`no comm ${commId}`);
    const msg: CommMessage = { data, buffers: views(buffers), metadata: {} };
    for (const h of c.msgHandlers) h(msg);
  }

  /** The front-end closes a comm. */
  frontendClose(commId: string): void {
    const c = this.comms_.get(commId)!;
    c.closed = true;
    for (const h of c.closeHandlers) h({ data: {}, buffers: [], metadata: {} });
  }

  /** The front-end opens a comm on `target` (e.g. jupyter.widget.control); returns its id. */
  frontendOpen(target: string, data: unknown = {}): string {
    const h = this.targets.get(target);
    if (!h) throw new Error(`no target ${target}`);
    const id = `fe-${++seq}`;
    const c = new DoubleComm(id, target, this.sent);
    this.comms_.set(id, c);
    h(c, { data, buffers: [], metadata: {} });
    return id;
  }

  opened(target = "jupyter.widget"): Sent[] {
    return this.sent.filter((s) => s.kind === "open" && s.targetName === target);
  }
  messages(commId?: string): Sent[] {
    return this.sent.filter((s) => s.kind === "msg" && (commId === undefined || s.commId === commId));
  }
  async shutdown(): Promise<void> {
    for (const h of this.shutdownHooks) await h();
  }
}

/** Install a double as the process-global bridge; returns it and an uninstall function. */
export function installBridgeDouble(): { bridge: KernelBridgeDouble; uninstall: () => void } {
  const bridge = new KernelBridgeDouble();
  const g = globalThis as any;
  const prev = g[KERNEL_BRIDGE_SYMBOL];
  g[KERNEL_BRIDGE_SYMBOL] = bridge;
  return { bridge, uninstall: () => (prev === undefined ? delete g[KERNEL_BRIDGE_SYMBOL] : (g[KERNEL_BRIDGE_SYMBOL] = prev)) };
}
