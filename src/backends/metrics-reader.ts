/**
 * Incremental reader of a trial's metrics.jsonl (design.md §2).
 *
 * The trainer appends whole lines, but a reader may catch a line half
 * written (or, on a cluster, half copied). The rule that keeps every report
 * exactly once: only bytes up to the last newline are consumed; the torn
 * rest stays unread until its newline arrives. Offsets are in BYTES, so the
 * same state works for a local file and for the new bytes a remote poll
 * returns (the SLURM backend feeds `parseNewBytes` with those).
 */
import * as fs from "node:fs";
import type { Report } from "./types";

export interface ReaderState {
  /** bytes of the file consumed so far (always just after a newline, or 0). */
  offset: number;
  /** complete lines consumed so far (including skipped ones). */
  lines: number;
  /** complete lines still to skip without emitting (adopt: lines already seen). */
  skip: number;
}

export interface ParseResult {
  reports: Report[];
  /** bytes of `buf` consumed (add to state.offset); the rest is a torn line. */
  consumedBytes: number;
  /** complete lines that were not valid report objects (never retried). */
  errors: string[];
}

export function newReaderState(init: Partial<ReaderState> = {}): ReaderState {
  return { offset: init.offset ?? 0, lines: init.lines ?? 0, skip: init.skip ?? 0 };
}

/**
 * Parse the bytes that follow `state.offset`. Pure apart from updating
 * `state` (offset, lines, skip) in place, so callers can keep one state per
 * trial. `final: true` (the writer has exited) also accepts a last line that
 * lacks its newline if it parses as a JSON object.
 */
export function parseNewBytes(buf: string | Buffer, state: ReaderState, opts: { final?: boolean } = {}): ParseResult {
  const bytes = typeof buf === "string" ? Buffer.from(buf, "utf8") : buf;
  const reports: Report[] = [];
  const errors: string[] = [];
  let pos = 0;
  for (;;) {
    const nl = bytes.indexOf(0x0a, pos);
    let lineEnd: number;
    let next: number;
    if (nl >= 0) {
      lineEnd = nl;
      next = nl + 1;
    } else if (opts.final && pos < bytes.length) {
      const rest = bytes.subarray(pos).toString("utf8");
      if (!isCompleteObject(rest)) break;
      lineEnd = bytes.length;
      next = bytes.length;
    } else break;
    const text = bytes.subarray(pos, lineEnd).toString("utf8").trim();
    pos = next;
    if (text === "") continue; // blank lines are not reports and do not count
    state.lines++;
    if (state.skip > 0) {
      state.skip--;
      continue;
    }
    const r = parseReportLine(text);
    if (typeof r === "string") errors.push(r);
    else reports.push(r);
  }
  state.offset += pos;
  return { reports, consumedBytes: pos, errors };
}

function isCompleteObject(s: string): boolean {
  try {
    const v = JSON.parse(s);
    return v !== null && typeof v === "object" && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** A report, or an error message naming what is wrong with the line. */
export function parseReportLine(text: string): Report | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `metrics.jsonl: not JSON: ${truncate(text)}`;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return `metrics.jsonl: not an object: ${truncate(text)}`;
  const o = v as Record<string, unknown>;
  if (typeof o.t !== "number" || !Number.isFinite(o.t)) return `metrics.jsonl: "t" must be a number: ${truncate(text)}`;
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
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { reports: [], consumedBytes: 0, errors: [] };
      throw e;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.state.offset) {
        // truncated or replaced: never re-emit, start over from its end
        this.state.offset = size;
        return { reports: [], consumedBytes: 0, errors: ["metrics.jsonl shrank; reading resumes at its end"] };
      }
      if (size === this.state.offset) return { reports: [], consumedBytes: 0, errors: [] };
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
