/**
 * A parser for the subset of Python literal syntax that `print(dict)` emits:
 * dicts, lists, tuples, 'single'/"double" quoted strings, ints, floats
 * (1e-05, .5, nan, inf), True/False/None. The workshop's logs are Python
 * reprs, not JSON, so JSON.parse cannot read them.
 */
export type PyValue = number | string | boolean | null | PyValue[] | { [k: string]: PyValue };

export class PyReprError extends Error {}

export function parsePyRepr(src: string): PyValue {
  let i = 0;
  const ws = () => { while (i < src.length && /\s/.test(src[i])) i++; };
  const fail = (msg: string): never => { throw new PyReprError(`${msg} at offset ${i} in ${JSON.stringify(src.slice(0, 120))}`); };

  function value(): PyValue {
    ws();
    const c = src[i];
    if (c === "{") return dict();
    if (c === "[" || c === "(") return list(c === "[" ? "]" : ")");
    if (c === "'" || c === '"') return str();
    return atom();
  }
  function dict(): { [k: string]: PyValue } {
    i++;
    const out: { [k: string]: PyValue } = {};
    ws();
    if (src[i] === "}") { i++; return out; }
    for (;;) {
      const k = value();
      ws();
      if (src[i] !== ":") fail("expected ':'");
      i++;
      out[String(k)] = value();
      ws();
      if (src[i] === ",") { i++; ws(); if (src[i] === "}") { i++; return out; } continue; }
      if (src[i] === "}") { i++; return out; }
      fail("expected ',' or '}'");
    }
  }
  function list(close: string): PyValue[] {
    i++;
    const out: PyValue[] = [];
    ws();
    if (src[i] === close) { i++; return out; }
    for (;;) {
      out.push(value());
      ws();
      if (src[i] === ",") { i++; ws(); if (src[i] === close) { i++; return out; } continue; }
      if (src[i] === close) { i++; return out; }
      fail(`expected ',' or '${close}'`);
    }
  }
  function str(): string {
    const q = src[i++];
    let out = "";
    while (i < src.length && src[i] !== q) {
      if (src[i] === "\\") {
        const n = src[i + 1];
        const map: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"' };
        if (n in map) { out += map[n]; i += 2; continue; }
        if (n === "x") { out += String.fromCharCode(parseInt(src.slice(i + 2, i + 4), 16)); i += 4; continue; }
        if (n === "u") { out += String.fromCharCode(parseInt(src.slice(i + 2, i + 6), 16)); i += 6; continue; }
        out += n; i += 2; continue;
      }
      out += src[i++];
    }
    if (src[i] !== q) fail("unterminated string");
    i++;
    return out;
  }
  function atom(): PyValue {
    const m = /^[-+]?(?:[A-Za-z_][A-Za-z0-9_.]*|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)/.exec(src.slice(i));
    if (!m) return fail("unexpected character");
    i += m[0].length;
    const t = m[0];
    if (t === "True") return true;
    if (t === "False") return false;
    if (t === "None") return null;
    const lower = t.toLowerCase().replace(/^\+/, "");
    if (lower === "nan" || lower === "-nan") return NaN;
    if (lower === "inf") return Infinity;
    if (lower === "-inf") return -Infinity;
    // numpy scalars print as e.g. np.float64(9.33) in numpy 2: unwrap
    if (/^[A-Za-z_]/.test(t.replace(/^[-+]/, ""))) {
      ws();
      if (src[i] === "(") {
        const inner = list(")");
        return inner.length === 1 ? inner[0] : inner;
      }
      return fail(`unknown name ${t}`);
    }
    const n = Number(t);
    if (!Number.isFinite(n)) fail(`bad number ${t}`);
    return n;
  }

  const v = value();
  ws();
  if (i !== src.length) fail("trailing characters");
  return v;
}
