/**
 * Jupyter comms on the kernel side: the CommManager that library code reaches
 * through the kernel bridge (widgets/kernel-bridge.ts).
 */
import { randomUUID } from "node:crypto";
import { writeSync } from "node:fs";
import type { Buffers, Comm, CommManager, CommMessage } from "../../widgets/kernel-bridge";
import { toFrame } from "./wire";

/** How comms put messages on iopub; the kernel picks the parent header. */
export type CommPublish = (
  msgType: "comm_open" | "comm_msg" | "comm_close",
  content: Record<string, unknown>,
  metadata: Record<string, unknown>,
  buffers: Buffer[],
) => void;

type Handler = (msg: CommMessage) => void;

/** Keys that reach an object's prototype when assigned through (obj[k] = ...). */
const PROTO_KEYS = new Set(["__proto__", "constructor", "prototype"]);
/** Deepest nesting a front-end message may have; widget state is a few levels deep. */
export const MAX_COMM_DEPTH = 64;
/** Most values (objects, arrays, leaves) in one message's data. */
export const MAX_COMM_NODES = 1_000_000;
/** Longest buffer path; most buffer paths per message. */
export const MAX_BUFFER_PATH = 32;
export const MAX_BUFFER_PATHS = 4096;

/**
 * Why a front-end comm message must not reach handlers, or null when it may.
 * Issue 14: `buffer_paths: [["__proto__", "x"]]` made the widget code assign
 * into Object.prototype, and deeply nested state broke later request_state.
 * Checked iteratively (no recursion a hostile message could overflow).
 */
export function checkCommData(data: unknown, buffers: number): string | null {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: data, depth: 0, path: "data" }];
  let nodes = 0;
  while (stack.length) {
    const { v, depth, path } = stack.pop()!;
    if (++nodes > MAX_COMM_NODES) return `data has more than ${MAX_COMM_NODES} values`;
    if (v === null || typeof v !== "object") continue;
    if (depth >= MAX_COMM_DEPTH) return `${path} is nested deeper than ${MAX_COMM_DEPTH} levels`;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], depth: depth + 1, path: `${path}[${i}]` });
      continue;
    }
    for (const k of Object.keys(v)) {
      if (PROTO_KEYS.has(k)) return `${path} has the key ${JSON.stringify(k)}, which could reach a prototype`;
      stack.push({ v: (v as Record<string, unknown>)[k], depth: depth + 1, path: `${path}.${k.length > 40 ? k.slice(0, 40) + "..." : k}` });
    }
  }
  const bp = (data as { buffer_paths?: unknown } | null)?.buffer_paths;
  if (bp !== undefined) {
    if (!Array.isArray(bp)) return "data.buffer_paths must be a list of paths";
    if (bp.length > MAX_BUFFER_PATHS) return `data.buffer_paths has ${bp.length} paths (at most ${MAX_BUFFER_PATHS})`;
    if (bp.length > buffers) return `data.buffer_paths names ${bp.length} buffers but the message carries ${buffers}`;
    for (const [i, p] of bp.entries()) {
      if (!Array.isArray(p) || p.length === 0 || p.length > MAX_BUFFER_PATH) return `data.buffer_paths[${i}] must be a list of 1 to ${MAX_BUFFER_PATH} keys`;
      for (const k of p) {
        if (typeof k === "number" ? !(Number.isInteger(k) && k >= 0) : typeof k !== "string") return `data.buffer_paths[${i}] holds ${JSON.stringify(k)}: keys are strings or indices >= 0`;
        if (typeof k === "string" && PROTO_KEYS.has(k)) return `data.buffer_paths[${i}] holds ${JSON.stringify(k)}, which could reach a prototype`;
      }
    }
  }
  return null;
}

function frames(buffers?: Buffers): Buffer[] {
  return (buffers ?? []).map(toFrame);
}

export function toCommMessage(content: any, metadata: Record<string, unknown>, buffers: Buffer[]): CommMessage {
  return {
    data: content?.data ?? {},
    metadata: metadata ?? {},
    buffers: buffers.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength)),
  };
}

class KernelComm implements Comm {
  private msgHandlers: Handler[] = [];
  private closeHandlers: Handler[] = [];
  private _closed = false;

  constructor(
    readonly commId: string,
    readonly targetName: string,
    private readonly manager: Comms,
  ) {}

  get closed(): boolean {
    return this._closed;
  }

  send(data: unknown, metadata: Record<string, unknown> = {}, buffers?: Buffers): void {
    // A late update after close (e.g. a timer) is dropped, as ipykernel does.
    if (this._closed) return;
    this.manager.publish("comm_msg", { comm_id: this.commId, data: data ?? {} }, metadata, frames(buffers));
  }

  close(data: unknown = {}, metadata: Record<string, unknown> = {}, buffers?: Buffers): void {
    if (this._closed) return;
    this._closed = true;
    this.manager.publish("comm_close", { comm_id: this.commId, data }, metadata, frames(buffers));
    this.manager.forget(this.commId);
  }

  onMsg(handler: Handler): void {
    this.msgHandlers.push(handler);
  }

  onClose(handler: Handler): void {
    this.closeHandlers.push(handler);
  }

  /** @internal front-end comm_msg */
  deliver(msg: CommMessage): void {
    for (const h of this.msgHandlers) this.manager.guard(() => h(msg));
  }

  /** @internal front-end comm_close */
  closedByFrontend(msg: CommMessage): void {
    if (this._closed) return;
    this._closed = true;
    for (const h of this.closeHandlers) this.manager.guard(() => h(msg));
  }
}

export class Comms implements CommManager {
  private readonly comms = new Map<string, KernelComm>();
  private readonly targets = new Map<string, (comm: Comm, msg: CommMessage) => void>();

  constructor(
    readonly publish: CommPublish,
    /** Errors thrown by user handlers: reported to the latest cell, never fatal. */
    private readonly onHandlerError: (e: unknown) => void,
    /** A front-end message refused by checkCommData (default: the kernel's log, fd 2 itself:
     *  process.stderr is routed to the cells, where a hostile peer could flood them). */
    private readonly onRejected: (why: string) => void = (why) => {
      try { writeSync(2, `tunelab kernel: ${why}\n`); } catch { /* no log: nothing to tell */ }
    },
  ) {}

  /** Messages refused so far (tests, diagnostics). */
  rejected = 0;

  private refuse(kind: string, content: any, buffers: Buffer[]): boolean {
    const why = checkCommData(content?.data ?? {}, buffers.length);
    if (why === null) return false;
    this.rejected++;
    this.onRejected(`${kind} for comm ${String(content?.comm_id ?? "?").slice(0, 64)} refused: ${why}`);
    return true;
  }

  open(
    targetName: string,
    data: unknown = {},
    metadata: Record<string, unknown> = {},
    buffers?: Buffers,
    commId: string = randomUUID().replace(/-/g, ""),
  ): Comm {
    const comm = new KernelComm(commId, targetName, this);
    this.comms.set(commId, comm);
    this.publish("comm_open", { comm_id: commId, target_name: targetName, data, target_module: null }, metadata, frames(buffers));
    return comm;
  }

  registerTarget(targetName: string, handler: (comm: Comm, msg: CommMessage) => void): void {
    this.targets.set(targetName, handler);
  }

  unregisterTarget(targetName: string): void {
    this.targets.delete(targetName);
  }

  get(commId: string): Comm | undefined {
    return this.comms.get(commId);
  }

  /** @internal */
  forget(commId: string): void {
    this.comms.delete(commId);
  }

  /** @internal */
  guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.onHandlerError(e);
    }
  }

  // ---- front-end → kernel -------------------------------------------------

  handleOpen(content: any, metadata: Record<string, unknown>, buffers: Buffer[]): void {
    const commId = String(content?.comm_id ?? "");
    const target = String(content?.target_name ?? "");
    const handler = this.targets.get(target);
    if (!commId) return;
    if (this.refuse("comm_open", content, buffers)) {
      // nobody will listen to a comm whose opening was refused
      this.publish("comm_close", { comm_id: commId, data: {} }, {}, []);
      return;
    }
    if (!handler) {
      // Tell the front-end right away that nobody listens (ipykernel does the same).
      this.publish("comm_close", { comm_id: commId, data: {} }, {}, []);
      return;
    }
    const comm = new KernelComm(commId, target, this);
    this.comms.set(commId, comm);
    this.guard(() => handler(comm, toCommMessage(content, metadata, buffers)));
  }

  handleMsg(content: any, metadata: Record<string, unknown>, buffers: Buffer[]): boolean {
    const comm = this.comms.get(String(content?.comm_id ?? ""));
    if (!comm) return false;
    if (this.refuse("comm_msg", content, buffers)) return true;
    comm.deliver(toCommMessage(content, metadata, buffers));
    return true;
  }

  handleClose(content: any, metadata: Record<string, unknown>, buffers: Buffer[]): void {
    const id = String(content?.comm_id ?? "");
    const comm = this.comms.get(id);
    if (!comm) return;
    this.comms.delete(id);
    // closed either way; a hostile payload is not handed to the close handlers
    comm.closedByFrontend(this.refuse("comm_close", content, buffers) ? { data: {}, metadata: {}, buffers: [] } : toCommMessage(content, metadata, buffers));
  }

  /** comm_info_reply content, optionally filtered by target name. */
  info(targetName?: string): { status: "ok"; comms: Record<string, { target_name: string }> } {
    const comms: Record<string, { target_name: string }> = {};
    for (const [id, c] of this.comms) {
      if (!targetName || c.targetName === targetName) comms[id] = { target_name: c.targetName };
    }
    return { status: "ok", comms };
  }
}
