/**
 * Jupyter comms on the kernel side: the CommManager that library code reaches
 * through the kernel bridge (widgets/kernel-bridge.ts).
 */
import { randomUUID } from "node:crypto";
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
  ) {}

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
    comm.deliver(toCommMessage(content, metadata, buffers));
    return true;
  }

  handleClose(content: any, metadata: Record<string, unknown>, buffers: Buffer[]): void {
    const id = String(content?.comm_id ?? "");
    const comm = this.comms.get(id);
    if (!comm) return;
    this.comms.delete(id);
    comm.closedByFrontend(toCommMessage(content, metadata, buffers));
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
