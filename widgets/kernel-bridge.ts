/**
 * The seam between library code running inside notebook cells and the
 * tunelab kernel. The kernel registers one object under a process-global
 * symbol (module singletons break: tslab recompiles local modules and a
 * library can be installed twice). Library code (widgets, display helpers)
 * reaches the kernel only through `getKernelBridge()`; when it returns null
 * (plain Node, stock tslab) widgets degrade to static display bundles.
 */

export type MimeBundle = Record<string, unknown>;
export type Buffers = Array<ArrayBuffer | ArrayBufferView>;

export interface CommMessage {
  /** content.data of the Jupyter message */
  data: any;
  buffers: DataView[];
  metadata: Record<string, unknown>;
}

export interface Comm {
  readonly commId: string;
  readonly targetName: string;
  send(data: unknown, metadata?: Record<string, unknown>, buffers?: Buffers): void;
  close(data?: unknown, metadata?: Record<string, unknown>, buffers?: Buffers): void;
  onMsg(handler: (msg: CommMessage) => void): void;
  onClose(handler: (msg: CommMessage) => void): void;
  readonly closed: boolean;
}

export interface CommManager {
  /** Kernel-initiated comm (comm_open sent to the front-end). */
  open(targetName: string, data?: unknown, metadata?: Record<string, unknown>, buffers?: Buffers, commId?: string): Comm;
  /** Front-end-initiated comms for `targetName` are passed to `handler`. */
  registerTarget(targetName: string, handler: (comm: Comm, msg: CommMessage) => void): void;
  unregisterTarget(targetName: string): void;
  get(commId: string): Comm | undefined;
}

export interface DisplayOptions {
  /** display_id for later update_display_data */
  displayId?: string;
  /** send update_display_data instead of display_data */
  update?: boolean;
  metadata?: Record<string, unknown>;
}

export interface KernelBridge {
  readonly comms: CommManager;
  /** display_data / update_display_data on iopub, parented to the latest execute_request. */
  display(bundle: MimeBundle, options?: DisplayOptions): void;
  /**
   * Ask the user for one line (Jupyter input_request; `password` hides it).
   * Rejects when the front-end does not accept input (allow_stdin false).
   * Optional: bridges of other kernels may lack it.
   */
  input?(prompt: string, options?: { password?: boolean }): Promise<string>;
  /** Hooks called once when the kernel shuts down. */
  onShutdown(fn: () => void | Promise<void>): void;
  /**
   * Called on every ■ Interrupt (while registered); returns the unregister
   * function. Optional: bridges of other kernels may lack it.
   */
  onInterrupt?(fn: () => void): () => void;
  /** protocol version etc., for diagnostics */
  readonly info: { implementation: string; version: string };
}

export const KERNEL_BRIDGE_SYMBOL = Symbol.for("tunelab.kernel.bridge");

export function getKernelBridge(): KernelBridge | null {
  return ((globalThis as any)[KERNEL_BRIDGE_SYMBOL] as KernelBridge | undefined) ?? null;
}

/** Objects with this method display themselves (a cell's last expression or display()). */
export const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");
