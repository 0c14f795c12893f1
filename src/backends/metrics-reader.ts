/**
 * Incremental reader of a trial's metrics.jsonl (design.md §2).
 *
 * The trainer appends whole lines, but a reader may catch a line half
 * written (or, on a cluster, half copied). The rule that keeps every report
 * exactly once: only bytes up to the last newline are consumed; the torn
 * rest stays unread until its newline arrives. Offsets are in BYTES, so the
 * same state works for a local file and for the new bytes a remote poll
 * returns (the SLURM backend feeds `parseNewBytes` with those).
 *
 * Nothing is dropped without a word: every complete line becomes one
 * "record", a report or a rejection with its reason (`rejected`). Python's
 * `json.dumps` writes NaN / Infinity / -Infinity as bare tokens (not JSON):
 * they are read as the numbers the trainer meant, so the schedulers' NaN
 * rule sees a NaN, not a missing line. A torn line that is never completed
 * (a trainer killed mid-write, resumed later) is glued to the next line by
 * the next writer: the complete report at its end is recovered and the
 * fragment rejected. When the writer has exited (`final`), a torn tail is
 * rejected rather than left pending forever.
 */
import * as fs from "node:fs";
import type { Report } from "./types";

export interface ReaderState {
  /** bytes of the file consumed so far (just after a newline, a recovered fragment, or 0). */
  offset: number;
  /** records (reports + rejected lines) consumed so far, including skipped ones. */
  lines: number;
  /** records still to skip without emitting (adopt: records already journaled). */
  skip: number;
}

/** A line of metrics.jsonl that is not a report, and why. */
export interface RejectedLine {
  /** 1-based record number in the file (reports and rejections count alike) */
  record: number;
  /** byte offset of the line in the file */
  offset: number;
  reason: string;
  /** the line (truncated to 200 characters) */
  text: string;
}

export interface ParseResult {
  reports: Report[];
  /** bytes of `buf` consumed (add to state.offset); the rest is a torn line. */
  consumedBytes: number;
  /** reasons, one per rejected line (and reader notes such as a shrunk file); never retried. */
  errors: string[];
  /** the rejected lines, in order, each a record of its own */
  rejected: RejectedLine[];
  /** reports and rejections interleaved in file order */
  sequence: Array<{ report: Report } | { rejected: RejectedLine }>;
}

export function newReaderState(init: Partial<ReaderState> = {}): ReaderState {
  return { offset: init.offset ?? 0, lines: init.lines ?? 0, skip: init.skip ?? 0 };
}

/**
 * Parse the bytes that follow `state.offset`. Pure apart from updating
 * `state` (offset, lines, skip) in place, so callers can keep one state per
 * trial. `final: true` (the writer has exited) also consumes a last line
 * that lacks its newline: a report if it parses, else a rejected torn line.
 * `maxRecords` stops after that many records (offset of the n-th record).
 */
export function parseNewBytes(buf: string | Buffer, state: ReaderState, opts: { final?: boolean; maxRecords?: number } = {}): ParseResult {
  const bytes = typeof buf === "string" ? Buffer.from(buf, "utf8") : buf;
  const reports: Report[] = [];
  const errors: string[] = [];
  const rejected: RejectedLine[] = [];
  const sequence: ParseResult["sequence"] = [];
  let pos = 0;
  let records = 0;
  const base = state.offset;
  const record = (r: Report | string, at: number, text: string): void => {
    records++;
    state.lines++;
    if (state.skip > 0) {
      state.skip--;
      return;
    }
    if (typeof r === "string") {
      errors.push(r);
      const rej = { record: state.lines, offset: base + at, reason: r, text: truncate(text) };
      rejected.push(rej);
      sequence.push({ rejected: rej });
    } else {
      reports.push(r);
      sequence.push({ report: r });
    }
  };
  while (opts.maxRecords === undefined || records < opts.maxRecords) {
    const nl = bytes.indexOf(0x0a, pos);
    let lineEnd: number;
    let next: number;
    let torn = false;
    if (nl >= 0) {
      lineEnd = nl;
      next = nl + 1;
    } else if (opts.final && pos < bytes.length) {
      lineEnd = bytes.length;
      next = bytes.length;
      torn = true;
    } else break;
    const raw = bytes.subarray(pos, lineEnd).toString("utf8");
    const text = raw.trim();
    const start = pos;
    if (text === "") {
      pos = next;
      continue; // blank lines are not records
    }
    const r = parseReportLine(text);
    if (typeof r !== "string") {
      record(r, start, text);
      pos = next;
      continue;
    }
    // a torn fragment glued to a complete report written after it?
    const cut = recoverSuffix(raw);
    if (cut > 0) {
      // counted from the (valid) suffix: the fragment may hold invalid UTF-8
      const fragBytes = lineEnd - start - Buffer.byteLength(raw.slice(cut), "utf8");
      record(`metrics.jsonl: torn line (never completed; a later report was written after it): ${truncate(raw.slice(0, cut).trim())}`, start, raw.slice(0, cut));
      if (opts.maxRecords !== undefined && records >= opts.maxRecords) {
        pos = start + fragBytes;
        break;
      }
      record(parseReportLine(raw.slice(cut).trim()), start + fragBytes, raw.slice(cut));
      pos = next;
      continue;
    }
    record(torn ? `metrics.jsonl: torn last line (the trainer ended before finishing it): ${truncate(text)}` : r, start, text);
    pos = next;
  }
  state.offset += pos;
  return { reports, consumedBytes: pos, errors, rejected, sequence };
}

/** Index in `raw` where a complete report object starts that runs to the end, or -1. */
function recoverSuffix(raw: string): number {
  if (raw.length > 1 << 20) return -1;
  let tries = 0;
  for (let i = raw.indexOf("{", 1); i > 0 && tries < 64; i = raw.indexOf("{", i + 1), tries++) {
    const r = parseReportLine(raw.slice(i).trim());
    if (typeof r !== "string") return i;
  }
  return -1;
}

/** Key that marks a non-finite number while parsing (never in real data: it starts with NUL). */
const NONFINITE_KEY = "\u0000tunelab-nonfinite";

/**
 * JSON.parse that also accepts Python's bare NaN, Infinity and -Infinity
 * tokens (outside strings), returning them as numbers. Throws like JSON.parse.
 */
export function parseJsonLenient(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    if (!/NaN|Infinity/.test(text)) throw e;
  }
  let out = "";
  let i = 0;
  let inStr = false;
  while (i < text.length) {
    const c = text[i];
    if (inStr) {
      out += c;
      if (c === "\\") {
        out += text[i + 1] ?? "";
        i += 2;
        continue;
      }
      if (c === '"') inStr = false;
      i++;
      continue;
    }
    if (c === '"') {
      inStr = true;
      out += c;
      i++;
      continue;
    }
    const m = /^(-?Infinity|NaN)/.exec(text.slice(i, i + 9));
    if (m && !/[A-Za-z0-9_]/.test(text[i - 1] ?? "") && !/[A-Za-z0-9_]/.test(text[i + m[1].length] ?? "")) {
      out += `{${JSON.stringify(NONFINITE_KEY)}:${JSON.stringify(m[1])}}`;
      i += m[1].length;
      continue;
    }
    out += c;
    i++;
  }
  return JSON.parse(out, (_k, v) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === NONFINITE_KEY) return Number(v[NONFINITE_KEY]);
    }
    return v;
  });
}

/** A report, or an error message naming what is wrong with the line. */
export function parseReportLine(text: string): Report | string {
  let v: unknown;
  try {
    v = parseJsonLenient(text);
  } catch (e) {
    return `metrics.jsonl: not JSON: ${truncate(text)}`;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return `metrics.jsonl: not an object: ${truncate(text)}`;
  const o = v as Record<string, unknown>;
  if (typeof o.t !== "number" || !Number.isFinite(o.t)) return `metrics.jsonl: "t" must be a number (finite), got ${typeof o.t === "number" ? String(o.t) : JSON.stringify(o.t) ?? "nothing"}: ${truncate(text)}`;
  const r = { ...o } as Report;
  if (typeof r.time_total_s !== "number") r.time_total_s = 0;
  if (r.checkpoint === undefined) r.checkpoint = null;
  return r;
}

function truncate(s: string): string {
  return s.length > 200 ? s.slice(0, 200) + "..." : s;
}

/**
 * Byte offset just after the first `n` non-blank complete lines of `buf`
 * (or the end of the complete lines if there are fewer; `lines` says how many).
 */
export function offsetAfterLines(buf: Buffer, n: number): { offset: number; lines: number } {
  let pos = 0;
  let lines = 0;
  while (lines < n) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) break;
    if (buf.subarray(pos, nl).toString("utf8").trim() !== "") lines++;
    pos = nl + 1;
  }
  return { offset: pos, lines };
}

/**
 * Byte offset just after the first `n` records of a whole file, parsed
 * exactly as the live reader did (a torn fragment and the report glued to
 * it are two records; a torn tail counts once the writer ended). `records`
 * says how many there were, if fewer.
 */
export function offsetAfterRecords(buf: Buffer, n: number): { offset: number; lines: number } {
  const st = newReaderState();
  if (n <= 0) return { offset: 0, lines: 0 };
  parseNewBytes(buf, st, { final: true, maxRecords: n });
  return { offset: st.offset, lines: st.lines };
}

/** File-based reader over one metrics.jsonl. */
export class MetricsFileReader {
  readonly state: ReaderState;
  constructor(readonly file: string, state?: Partial<ReaderState>) {
    this.state = newReaderState(state);
  }

  /** Start reading after the file's current end (for a resubmission in a fresh instance). */
  static atEnd(file: string): MetricsFileReader {
    let size = 0;
    try {
      const buf = fs.readFileSync(file);
      // only complete lines count as read; a torn tail will be read when whole
      const last = buf.lastIndexOf(0x0a);
      size = last + 1;
    } catch {
      /* no file yet */
    }
    return new MetricsFileReader(file, { offset: size });
  }

  /** New reports since the last call. */
  read(opts: { final?: boolean } = {}): ParseResult {
    let fd: number;
    try {
      fd = fs.openSync(this.file, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { reports: [], consumedBytes: 0, errors: [], rejected: [], sequence: [] };
      throw e;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.state.offset) {
        // truncated or replaced: never re-emit, start over from its end
        this.state.offset = size;
        return { reports: [], consumedBytes: 0, errors: ["metrics.jsonl shrank; reading resumes at its end"], rejected: [], sequence: [] };
      }
      if (size === this.state.offset) return { reports: [], consumedBytes: 0, errors: [], rejected: [], sequence: [] };
      const buf = Buffer.alloc(size - this.state.offset);
      let got = 0;
      while (got < buf.length) {
        const n = fs.readSync(fd, buf, got, buf.length - got, this.state.offset + got);
        if (n === 0) break;
        got += n;
      }
      return parseNewBytes(buf.subarray(0, got), this.state, opts);
    } finally {
      fs.closeSync(fd);
    }
  }
}
