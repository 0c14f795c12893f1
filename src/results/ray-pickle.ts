/**
 * Just enough of Python's pickle format (protocols 2–5) to read what Ray
 * Tune keeps pickled in an experiment directory — the trial resources
 * (`placement_group_factory`, hex-encoded inside experiment_state-*.json)
 * and the scheduler in tuner.pkl — and to write a resource request back.
 *
 * Reading never executes anything: a class reference is kept as its
 * "module.Name" string, and an object built from one (NEWOBJ / REDUCE /
 * BUILD) becomes a plain PickledObject holding the class name, the
 * arguments and the state dict. Opcodes outside this subset raise an
 * error naming the opcode and the byte offset.
 */

export interface PickledObject {
  __class__: string;
  args: unknown[];
  state: unknown;
}

const MARK = Symbol("mark");

export function isPickledObject(v: unknown): v is PickledObject {
  return !!v && typeof v === "object" && typeof (v as PickledObject).__class__ === "string" && Array.isArray((v as PickledObject).args);
}

/** Unpickle `buf` into plain values (dicts → objects with string keys, tuples/lists → arrays). */
export function readPickle(buf: Uint8Array, where = "pickle"): unknown {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const td = new TextDecoder();
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new Error(`${where}: truncated at byte ${pos}`);
  };
  const u8 = () => { need(1); return buf[pos++]; };
  const u16 = () => { need(2); const v = dv.getUint16(pos, true); pos += 2; return v; };
  const u32 = () => { need(4); const v = dv.getUint32(pos, true); pos += 4; return v; };
  const u64 = () => { need(8); const v = Number(dv.getBigUint64(pos, true)); pos += 8; return v; };
  const bytes = (n: number) => { need(n); const b = buf.subarray(pos, pos + n); pos += n; return b; };
  const str = (n: number) => td.decode(bytes(n));
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new Error(`${where}: no MARK on the stack at byte ${pos}`);
    const items = stack.splice(i + 1);
    stack.pop();
    return items;
  };
  const top = () => stack[stack.length - 1];
  const setItems = (d: unknown, kv: unknown[]) => {
    const o = d as Record<string, unknown>;
    for (let i = 0; i + 1 < kv.length; i += 2) o[String(kv[i])] = kv[i + 1];
  };
  const line = () => {
    const end = buf.indexOf(10, pos);
    if (end < 0) throw new Error(`${where}: unterminated line at byte ${pos}`);
    const s = td.decode(buf.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME
      case 0x2e: return stack.pop(); // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x30: stack.pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: { need(4); stack.push(dv.getInt32(pos, true)); pos += 4; break; } // BININT
      case 0x8a: { // LONG1
        const n = u8();
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(Number(v));
        break;
      }
      case 0x47: { need(8); stack.push(dv.getFloat64(pos, false)); pos += 8; break; } // BINFLOAT
      case 0x8c: stack.push(str(u8())); break; // SHORT_BINUNICODE
      case 0x58: stack.push(str(u32())); break; // BINUNICODE
      case 0x8d: stack.push(str(u64())); break; // BINUNICODE8
      case 0x55: stack.push(str(u8())); break; // SHORT_BINSTRING
      case 0x54: stack.push(str(u32())); break; // BINSTRING
      case 0x43: stack.push(bytes(u8())); break; // SHORT_BINBYTES
      case 0x42: stack.push(bytes(u32())); break; // BINBYTES
      case 0x8e: stack.push(bytes(u64())); break; // BINBYTES8
      case 0x96: stack.push(bytes(u64())); break; // BYTEARRAY8
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x68: stack.push(memo.get(u8())); break; // BINGET
      case 0x6a: stack.push(memo.get(u32())); break; // LONG_BINGET
      case 0x7d: stack.push({}); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x8f: stack.push([]); break; // EMPTY_SET
      case 0x64: { const kv = popMark(); const d = {}; setItems(d, kv); stack.push(d); break; } // DICT
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x91: stack.push(popMark()); break; // FROZENSET
      case 0x85: stack.push([stack.pop()]); break; // TUPLE1
      case 0x86: { const b = stack.pop(); const a = stack.pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = stack.pop(); const b = stack.pop(); const a = stack.pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x73: { const v = stack.pop(); const k = stack.pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x61: { const v = stack.pop(); (top() as unknown[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); (top() as unknown[]).push(...items); break; } // APPENDS
      case 0x90: { const items = popMark(); (top() as unknown[]).push(...items); break; } // ADDITEMS
      case 0x93: { const name = stack.pop(); const mod = stack.pop(); stack.push(`${mod}.${name}`); break; } // STACK_GLOBAL
      case 0x63: { const mod = line(); const name = line(); stack.push(`${mod}.${name}`); break; } // GLOBAL
      case 0x81: { const args = stack.pop() as unknown[]; const cls = stack.pop(); stack.push({ __class__: String(cls), args, state: null }); break; } // NEWOBJ
      case 0x92: { stack.pop(); const args = stack.pop() as unknown[]; const cls = stack.pop(); stack.push({ __class__: String(cls), args, state: null }); break; } // NEWOBJ_EX
      case 0x52: { const args = stack.pop() as unknown[]; const fn = stack.pop(); stack.push({ __class__: typeof fn === "string" ? fn : "?", args: Array.isArray(args) ? args : [args], state: null }); break; } // REDUCE
      case 0x62: { const state = stack.pop(); const o = top(); if (isPickledObject(o)) o.state = state; break; } // BUILD
      case 0x97: break; // NEXT_BUFFER is out-of-band data: not used by Ray's files
      default:
        throw new Error(`${where}: unsupported pickle opcode 0x${op.toString(16)} at byte ${at}`);
    }
  }
}

/** Every PickledObject inside `v` (depth-first), for finding e.g. the scheduler in tuner.pkl. */
export function pickledObjects(v: unknown, out: PickledObject[] = [], seen = new Set<unknown>()): PickledObject[] {
  if (!v || typeof v !== "object" || seen.has(v)) return out;
  seen.add(v);
  if (isPickledObject(v)) {
    out.push(v);
    pickledObjects(v.args, out, seen);
    pickledObjects(v.state, out, seen);
  } else if (Array.isArray(v)) for (const x of v) pickledObjects(x, out, seen);
  else if (!(v instanceof Uint8Array)) for (const x of Object.values(v)) pickledObjects(x, out, seen);
  return out;
}

/** The state dict of a pickled object (BUILD's dict, or the dict half of a (dict, slots) pair). */
export function objectState(o: PickledObject): Record<string, unknown> {
  const s = o.state;
  if (Array.isArray(s) && s[0] && typeof s[0] === "object") return s[0] as Record<string, unknown>;
  return s && typeof s === "object" ? (s as Record<string, unknown>) : {};
}

// ---------------------------------------------------------------- writer

/**
 * Pickle (protocol 4) of an instance of `module.Name` with a state dict of
 * plain values (strings, numbers, booleans, null, arrays → lists, objects →
 * dicts): what Python writes for an object pickled by reference, so Ray's
 * unpickler rebuilds it when that class exists.
 */
export function writePickledObject(module: string, name: string, state: Record<string, unknown>): Uint8Array {
  const out: number[] = [];
  const te = new TextEncoder();
  const u32 = (n: number) => out.push(n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255);
  const s = (v: string) => {
    const b = te.encode(v);
    if (b.length < 256) out.push(0x8c, b.length); else { out.push(0x58); u32(b.length); }
    out.push(...b);
  };
  const value = (v: unknown): void => {
    if (v === null || v === undefined) out.push(0x4e);
    else if (v === true) out.push(0x88);
    else if (v === false) out.push(0x89);
    else if (typeof v === "string") s(v);
    else if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 2 ** 31 && !Object.is(v, -0)) {
      if (v < 256) out.push(0x4b, v); else { out.push(0x4a); u32(v); }
    } else if (typeof v === "number") {
      const b = new DataView(new ArrayBuffer(8));
      b.setFloat64(0, v, false);
      out.push(0x47, ...new Uint8Array(b.buffer));
    } else if (Array.isArray(v)) {
      out.push(0x5d);
      if (v.length) { out.push(0x28); v.forEach(value); out.push(0x65); }
    } else if (typeof v === "object") {
      out.push(0x7d);
      const e = Object.entries(v as Record<string, unknown>);
      if (e.length) { out.push(0x28); for (const [k, x] of e) { s(k); value(x); } out.push(0x75); }
    } else throw new Error(`writePickledObject: cannot pickle ${typeof v}`);
  };
  out.push(0x80, 4);
  s(module); s(name); out.push(0x93, 0x29, 0x81);
  value(state);
  out.push(0x62, 0x2e);
  return Uint8Array.from(out);
}
