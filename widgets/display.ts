/**
 * `display()` for notebook cells and library code: shows any object in the
 * notebook. Objects implementing `[Symbol.for("Jupyter.display")]()` show
 * their own MIME bundle (with fallbacks); a plain MIME bundle is shown as is;
 * anything else as `text/plain`. Outside a tunelab kernel (plain Node, stock
 * tslab) the `text/plain` form is printed to stdout.
 */
import { inspect } from "node:util";
import { JUPYTER_DISPLAY, MimeBundle, getKernelBridge } from "./kernel-bridge";

export interface DisplayOpts {
  /** Reuse this display id (to update it later); one is generated when omitted. */
  displayId?: string;
  metadata?: Record<string, unknown>;
}

export interface DisplayHandle {
  readonly displayId: string;
  /** Replaces what this display shows (update_display_data). */
  update(obj: unknown): void;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** A plain object whose every key is a MIME type ("type/subtype"). */
export function isMimeBundle(x: unknown): x is MimeBundle {
  if (!isPlainObject(x)) return false;
  const keys = Object.keys(x);
  return keys.length > 0 && keys.every((k) => /^[a-z]+\/[\w.+-]+$/i.test(k));
}

/** Plain-text form used when nothing richer exists (like Node's REPL). */
export function plainText(value: unknown): string {
  return typeof value === "string" ? value : inspect(value, { depth: 4, colors: false });
}

/**
 * The MIME bundle for `value`. `acceptBundle`: treat a plain bundle object as
 * the bundle itself (display() does; a cell's last expression does not).
 */
export function toMimeBundle(value: unknown, acceptBundle = false): MimeBundle {
  const fn = (value as any)?.[JUPYTER_DISPLAY];
  if (typeof fn === "function") {
    const bundle = fn.call(value);
    if (isPlainObject(bundle)) {
      return "text/plain" in bundle ? bundle : { ...bundle, "text/plain": fallbackText(value) };
    }
  }
  if (acceptBundle && isMimeBundle(value)) return value;
  return { "text/plain": typeof value === "string" && !acceptBundle ? inspect(value) : plainText(value) };
}

/** The display_id an object asks for (`[Symbol.for("tunelab.displayId")]`, widgets have one), if any. */
export function ownDisplayId(value: unknown): string | undefined {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return undefined;
  const id = (value as any)[Symbol.for("tunelab.displayId")];
  return typeof id === "string" && id ? id : undefined;
}

function fallbackText(value: unknown): string {
  const name = (value as any)?.constructor?.name;
  return name ? `<${name}>` : plainText(value);
}

let counter = 0;
function newDisplayId(): string {
  counter += 1;
  return `tunelab-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

function show(obj: unknown, displayId: string, update: boolean, metadata?: Record<string, unknown>): void {
  const bundle = toMimeBundle(obj, true);
  const bridge = getKernelBridge();
  if (bridge) {
    bridge.display(bundle, { displayId, update, metadata });
    return;
  }
  const text = bundle["text/plain"];
  process.stdout.write(`${typeof text === "string" ? text : plainText(obj)}\n`);
}

/** Shows `obj` (an object with a Jupyter.display method, a MIME bundle, or any value). */
export function display(obj: unknown, opts: DisplayOpts = {}): DisplayHandle {
  const displayId = opts.displayId ?? ownDisplayId(obj) ?? newDisplayId();
  show(obj, displayId, false, opts.metadata);
  return { displayId, update: (next: unknown) => updateDisplay(next, displayId) };
}

/** Replaces the output shown under `displayId` (every place it is displayed). */
export function updateDisplay(obj: unknown, displayId: string, metadata?: Record<string, unknown>): void {
  show(obj, displayId, true, metadata);
}
