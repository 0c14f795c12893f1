/**
 * Binary buffers in widget state (ipywidgets protocol 2.x): buffers are
 * pulled out of the JSON state and sent as extra message frames; their
 * locations are given as `buffer_paths` (lists of keys/indices). Child
 * widgets are referenced as "IPY_MODEL_<id>".
 */

export type Path = Array<string | number>;

export interface Serialized {
  state: Record<string, unknown>;
  buffer_paths: Path[];
  buffers: DataView[];
}

/** Anything that can stand for a widget reference. */
export interface HasModelId {
  readonly modelId: string;
}

function isWidgetRef(v: unknown): v is HasModelId {
  return typeof v === "object" && v !== null && typeof (v as any).modelId === "string" && typeof (v as any).getState === "function";
}

function toDataView(v: ArrayBuffer | ArrayBufferView): DataView {
  if (v instanceof DataView) return v;
  if (ArrayBuffer.isView(v)) return new DataView(v.buffer, v.byteOffset, v.byteLength);
  return new DataView(v);
}

/** JSON-ready copy of `value` with buffers removed (paths recorded) and widgets as references. */
export function removeBuffers(state: Record<string, unknown>, base: Path = []): Serialized {
  const buffer_paths: Path[] = [];
  const buffers: DataView[] = [];
  const walk = (v: unknown, path: Path): unknown => {
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
      buffer_paths.push(path);
      buffers.push(toDataView(v as ArrayBuffer));
      return null;
    }
    if (isWidgetRef(v)) return `IPY_MODEL_${v.modelId}`;
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, [...path, k]);
      return out;
    }
    return v;
  };
  const out = walk(state, base) as Record<string, unknown>;
  return { state: out, buffer_paths, buffers };
}

/** Put received buffers back at their paths (mutates and returns `state`). */
export function putBuffers(state: Record<string, unknown>, paths: Path[] | undefined, buffers: DataView[]): Record<string, unknown> {
  (paths ?? []).forEach((path, i) => {
    if (!path.length || i >= buffers.length) return;
    let obj: any = state;
    for (let j = 0; j < path.length - 1; j++) {
      obj[path[j]] ??= typeof path[j + 1] === "number" ? [] : {};
      obj = obj[path[j]];
    }
    obj[path[path.length - 1]] = buffers[i];
  });
  return state;
}
