/**
 * journal.jsonl (design.md contract 3): every ExperimentEvent, one JSON
 * object per line, plus `{"type":"snapshot"}` lines holding the scheduler,
 * searcher, RNG and driver state after each decision batch.
 *
 * Lines are written with one synchronous write(2) each, so a reader (or a
 * driver attaching after a crash) sees whole lines, except possibly a torn
 * last one, which `readJournal` skips. Attach trusts the journal only up to
 * its last snapshot: anything after it belongs to a batch whose side effects
 * had not been executed yet (the driver snapshots before acting), so it is
 * dropped and recomputed.
 *
 * Per-line integrity: each line ends with `"crc32":"<8 hex>"`, the CRC-32 of
 * the line written without that key. A line that does not parse or whose CRC
 * does not match (a flipped byte, a disk error) is reported by position
 * (`corrupt`: line number and byte offset) and never silently skipped; what
 * it held is recovered from the trial directories where possible (a lost
 * `trial_added` from trial.json, lost reports from metrics.jsonl; see
 * `recoverFromTrialDirs`). Lines without the key (older journals) are
 * accepted as they are.
 *
 * Non-finite numbers (a trainer's NaN / Infinity) are written as
 * `{"$nonfinite":"NaN"}` so that every line stays strict JSON, and read back
 * as the numbers they were.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import type { ExperimentEvent } from "./events";
import { newReaderState, parseNewBytes } from "../backends/metrics-reader";
import type { Report } from "../backends/types";
import { faultPoint, fileError } from "../backends/trial-files";

/** Driver state saved with each snapshot; plain JSON. */
export interface SnapshotLine {
  type: "snapshot";
  at: number;
  /** number of ExperimentEvent lines before this snapshot */
  events: number;
  scheduler: unknown;
  searcher: unknown;
  rng: { scheduler: number; searcher: number };
  driver: unknown;
}

/**
 * A commit between full snapshots (issue 13, bounded journals): the driver
 * state that changed in the batch, and the scheduler/searcher calls made in
 * it, which attach replays on top of the last snapshot (both objects are
 * pure, so the replay reproduces their state). Like a snapshot, it is
 * written before the batch's side effects run.
 */
export interface DeltaLine {
  type: "delta";
  at: number;
  /** number of ExperimentEvent lines before this line */
  events: number;
  /** [target, method, args] in call order; an arg `{"$report": i, "trial", "t"}` is the report of the journal's i-th event (that trial's report at t) */
  calls: Array<["scheduler" | "searcher", string, unknown[]]>;
  /** left out when unchanged */
  rng?: { scheduler: number; searcher: number };
  /** the driver state's scalar fields (left out when unchanged), and the runtimes that changed (null: gone) */
  driver: { scalars?: Record<string, unknown>; runtimes: Record<string, unknown | null> };
}

export type JournalLine = ExperimentEvent | SnapshotLine | DeltaLine;

const NONFINITE = "$nonfinite";
const CRC_RE = /,"crc32":"([0-9a-f]{8})"\}$/;

function crcHex(s: string): string {
  return (zlib.crc32(s) >>> 0).toString(16).padStart(8, "0");
}

/** One journal line (without the newline): strict JSON, non-finite numbers tagged, CRC last. */
export function encodeJournalLine(line: JournalLine): string {
  const body = JSON.stringify(line, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? { [NONFINITE]: String(v) } : v));
  return `${body.slice(0, -1)},"crc32":"${crcHex(body)}"}`;
}

/** Parse one journal line; a string says why it is corrupt. */
export function decodeJournalLine(raw: string): JournalLine | string {
  let text = raw;
  const m = CRC_RE.exec(raw);
  if (m) {
    text = raw.slice(0, m.index) + "}";
    if (crcHex(text) !== m[1]) return "checksum mismatch (the line was altered after it was written)";
  }
  let obj: unknown;
  try {
    obj = text.includes(`"${NONFINITE}"`)
      ? JSON.parse(text, (_k, v) => {
          if (v && typeof v === "object" && !Array.isArray(v)) {
            const keys = Object.keys(v);
            if (keys.length === 1 && keys[0] === NONFINITE) return Number(v[NONFINITE]);
          }
          return v;
        })
      : JSON.parse(text);
  } catch (e) {
    return `not JSON (${(e as Error).message})`;
  }
  if (!obj || typeof obj !== "object" || Array.isArray(obj) || typeof (obj as { type?: unknown }).type !== "string") return "not a journal object (no \"type\")";
  return obj as JournalLine;
}

export class JournalWriter {
  private fd: number;
  /** bytes written so far (= file size) */
  size: number;

  constructor(readonly file: string, truncateTo?: number) {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      if (truncateTo !== undefined && fs.existsSync(file)) fs.truncateSync(file, truncateTo);
      this.fd = fs.openSync(file, "a", 0o600);
      this.size = fs.fstatSync(this.fd).size;
    } catch (e) {
      throw fileError("open the journal", file, e);
    }
  }

  append(line: JournalLine): void {
    const buf = Buffer.from(encodeJournalLine(line) + "\n", "utf8");
    let off = 0;
    try {
      while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    } catch (e) {
      // a half-written line would glue to the next one: cut it off (best effort; attach cuts too)
      if (off > 0) try { fs.ftruncateSync(this.fd, this.size); } catch { /* the error below says enough */ }
      throw fileError("write the journal", this.file, e);
    }
    this.size += buf.length;
    if (line.type === "snapshot" || line.type === "delta") faultPoint("journal-snapshot"); // a commit, full or delta
  }

  /**
   * Several lines with one write (a driver batch: its events, then its
   * commit line); a torn tail is cut as in append. Returns the bytes of the
   * last line.
   */
  appendMany(lines: readonly JournalLine[]): number {
    if (!lines.length) return 0;
    const texts = lines.map((l) => encodeJournalLine(l) + "\n");
    const buf = Buffer.from(texts.join(""), "utf8");
    let off = 0;
    try {
      while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    } catch (e) {
      if (off > 0) try { fs.ftruncateSync(this.fd, this.size); } catch { /* the error below says enough */ }
      throw fileError("write the journal", this.file, e);
    }
    this.size += buf.length;
    const last = lines[lines.length - 1];
    if (last.type === "snapshot" || last.type === "delta") faultPoint("journal-snapshot");
    return Buffer.byteLength(texts[texts.length - 1], "utf8");
  }

  close(): void {
    if (this.fd >= 0) {
      try { fs.fsyncSync(this.fd); } catch { /* not all filesystems support fsync */ }
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/** A journal line that failed its integrity check. */
export interface CorruptLine {
  /** 1-based line number */
  line: number;
  /** byte offset of the line */
  offset: number;
  reason: string;
  /** events (ExperimentEvent lines) read before it: where what it held belongs */
  afterEvents: number;
  /** it looks like a snapshot (the substring survived) */
  snapshotLike: boolean;
}

export interface JournalContents {
  /** events up to and including the last snapshot (all events if `all`) */
  events: ExperimentEvent[];
  /** the last snapshot, or null when none was written */
  snapshot: SnapshotLine | null;
  /** deltas after the last snapshot, in order, up to the last commit */
  deltas: DeltaLine[];
  /** byte offset just after the last commit line, snapshot or delta (0 when none) */
  snapshotEnd: number;
  /** events after the last snapshot (an interrupted batch) */
  trailing: ExperimentEvent[];
  /** lines that failed the integrity check, by position */
  corrupt: CorruptLine[];
  /** what was recovered from the trial directories for the corrupt lines, one note each */
  recovered: string[];
  /** a corrupt line after the last good snapshot that looks like a snapshot: attaching would redo its batch */
  unsafe: string | null;
}

/**
 * Parse a journal; a torn last line is skipped (a crash mid-write). Corrupt
 * complete lines are listed in `corrupt`; when the journal lies in a run
 * directory (a `trials/` folder next to it, or `opts.runDir`), what they
 * held is recovered from the trial directories into `events`.
 */
export function readJournal(file: string, opts: { runDir?: string; recover?: boolean } = {}): JournalContents {
  let buf: Buffer;
  try {
    buf = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
  } catch (e) {
    throw fileError("read the journal", file, e);
  }
  const events: ExperimentEvent[] = [];
  const corrupt: CorruptLine[] = [];
  let snapshot: SnapshotLine | null = null;
  let snapshotEnd = 0;
  let committed = 0;
  let deltas: DeltaLine[] = [];
  let pos = 0;
  let lineNo = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) break; // torn last line
    const start = pos;
    const raw = buf.toString("utf8", pos, nl);
    pos = nl + 1;
    lineNo++;
    if (!raw.trim()) continue;
    const obj = decodeJournalLine(raw);
    if (typeof obj === "string") {
      corrupt.push({ line: lineNo, offset: start, reason: obj, afterEvents: events.length, snapshotLike: raw.includes('"snapshot"') || raw.includes('"type":"delta"') });
      continue;
    }
    if (obj.type === "snapshot") {
      snapshot = obj as SnapshotLine;
      snapshotEnd = pos;
      committed = events.length;
      deltas = [];
    } else if (obj.type === "delta") {
      deltas.push(obj as DeltaLine);
      snapshotEnd = pos;
      committed = events.length;
    } else {
      events.push(obj as ExperimentEvent);
    }
  }
  const out: JournalContents = {
    events: events.slice(0, committed), snapshot, deltas, snapshotEnd, trailing: events.slice(committed), corrupt, recovered: [], unsafe: null,
  };
  const late = corrupt.find((c) => c.offset >= snapshotEnd && c.snapshotLike);
  if (late) out.unsafe = `${file} line ${late.line} (byte ${late.offset}) looks like the last snapshot but is corrupt (${late.reason})`;
  const runDir = opts.runDir ?? path.dirname(file);
  const early = corrupt.filter((c) => c.offset < snapshotEnd);
  if (early.length && opts.recover !== false && fs.existsSync(path.join(runDir, "trials"))) {
    const r = recoverFromTrialDirs(out.events, early, runDir, snapshot);
    out.events = r.events;
    out.recovered = r.notes;
  }
  return out;
}

function sameReport(a: Report, b: Report): boolean {
  return JSON.stringify(a, nonfiniteReplacer) === JSON.stringify(b, nonfiniteReplacer);
}
function nonfiniteReplacer(_k: string, v: unknown): unknown {
  return typeof v === "number" && !Number.isFinite(v) ? String(v) : v;
}

/**
 * Put back what corrupt lines held, from the trial directories: a trial
 * that has events but no `trial_added` gets one from its trial.json (the
 * config before any PBT exploit, from its first exploit's oldConfig); a
 * trial's report lines in metrics.jsonl that the journal lacks (before its
 * last journaled report, or anywhere for a trial that ended) come back as
 * `report` events. They are inserted where the corrupt line stood, so the
 * order of each trial's events is kept.
 */
export function recoverFromTrialDirs(
  events: ExperimentEvent[], corrupt: CorruptLine[], runDir: string, snapshot: SnapshotLine | null,
): { events: ExperimentEvent[]; notes: string[] } {
  const notes: string[] = [];
  const inserts: Array<{ at: number; e: ExperimentEvent }> = [];
  const pos = corrupt[0].afterEvents;
  const firstAt = (i: number) => events[Math.min(i, events.length - 1)]?.at ?? 0;
  const added = new Set<string>();
  const mentioned = new Map<string, number>();
  events.forEach((e, i) => {
    if (e.type === "trial_added") added.add(e.trialId);
    const id = (e as { trialId?: string }).trialId;
    if (id && !mentioned.has(id)) mentioned.set(id, i);
  });
  const nextIndex = Number((snapshot?.driver as { nextIndex?: number } | undefined)?.nextIndex ?? 0);
  const trialsDir = path.join(runDir, "trials");
  let ids: string[] = [];
  try {
    ids = fs.readdirSync(trialsDir).filter((n) => /^t\d{3,}$/.test(n)).sort();
  } catch {
    return { events, notes };
  }
  for (const id of ids) {
    const dir = path.join(trialsDir, id);
    // 1. a lost trial_added: the trial was added before the last snapshot
    if (!added.has(id) && (mentioned.has(id) || Number(id.slice(1)) < nextIndex)) {
      try {
        const tj = JSON.parse(fs.readFileSync(path.join(dir, "trial.json"), "utf8")) as { config: Record<string, unknown> };
        const exploit = events.find((e) => e.type === "exploit" && e.trialId === id) as Extract<ExperimentEvent, { type: "exploit" }> | undefined;
        const config = { ...(exploit ? exploit.oldConfig : tj.config) } as Extract<ExperimentEvent, { type: "trial_added" }>["config"];
        const c = corrupt.find((x) => x.afterEvents <= (mentioned.get(id) ?? events.length)) ?? corrupt[0];
        // the bracket, where the scheduler's snapshot keeps trial → bracket pairs (ASHA)
        const pairs = (snapshot?.scheduler as { trials?: unknown } | undefined)?.trials;
        const pair = Array.isArray(pairs) ? pairs.find((p) => Array.isArray(p) && p[0] === id && typeof p[1] === "number") : undefined;
        inserts.push({ at: c.afterEvents, e: { type: "trial_added", at: firstAt(c.afterEvents), trialId: id, config, ...(pair ? { bracket: pair[1] as number } : {}) } });
        added.add(id);
        notes.push(`${id}: trial_added recovered from trials/${id}/trial.json (journal line ${c.line})`);
      } catch {
        notes.push(`${id}: its trial_added is lost and trials/${id}/trial.json is unreadable`);
      }
    }
    if (!added.has(id)) continue;
    // 2. lost records: align metrics.jsonl's reports and rejected lines with the journal's, in order
    let mbuf: Buffer;
    try {
      mbuf = fs.readFileSync(path.join(dir, "metrics.jsonl"));
    } catch {
      continue;
    }
    const onDisk = parseNewBytes(mbuf, newReaderState(), { final: true }).sequence;
    const journaled: Array<{ i: number; e: ExperimentEvent }> = [];
    events.forEach((e, i) => { if ((e.type === "report" || e.type === "report_rejected") && e.trialId === id) journaled.push({ i, e }); });
    const ended = events.some((e) => e.type === "trial_state" && e.trialId === id && ["completed", "stopped", "failed"].includes(e.state));
    const same = (d: (typeof onDisk)[number], e: ExperimentEvent): boolean =>
      "report" in d ? e.type === "report" && sameReport(d.report, e.report) : e.type === "report_rejected" && e.reason === d.rejected.reason;
    let j = 0;
    const missing: Array<{ d: (typeof onDisk)[number]; before: number }> = [];
    for (const d of onDisk) {
      if (j < journaled.length && same(d, journaled[j].e)) {
        j++;
        continue;
      }
      missing.push({ d, before: j });
    }
    for (const m of missing) {
      // after the last journaled record of a live trial: the backend re-reads it on adopt
      if (m.before >= journaled.length && !ended) continue;
      const prevIdx = m.before > 0 ? journaled[m.before - 1].i : -1;
      const nextIdx = m.before < journaled.length ? journaled[m.before].i : events.length;
      const c = corrupt.find((x) => x.afterEvents > prevIdx && x.afterEvents <= nextIdx);
      if (!c) continue; // not where a corrupt line stood: the backend skipped it on purpose
      const at = firstAt(c.afterEvents);
      if ("report" in m.d) {
        inserts.push({ at: c.afterEvents, e: { type: "report", at, trialId: id, report: m.d.report } });
        notes.push(`${id}: report t=${m.d.report.t} recovered from trials/${id}/metrics.jsonl (journal line ${c.line})`);
      } else {
        const x = m.d.rejected;
        inserts.push({ at: c.afterEvents, e: { type: "report_rejected", at, trialId: id, record: x.record, offset: x.offset, reason: x.reason, text: x.text } });
        notes.push(`${id}: rejected line ${x.record} recovered from trials/${id}/metrics.jsonl (journal line ${c.line})`);
      }
    }
  }
  if (!inserts.length) {
    for (const c of corrupt) notes.push(`journal line ${c.line} (byte ${c.offset}): ${c.reason}; nothing in the trial directories is missing from the journal`);
    return { events, notes };
  }
  void pos;
  const out: ExperimentEvent[] = [];
  // stable: inserts at the same position keep their order (trial_added before its reports)
  inserts.sort((a, b) => a.at - b.at || (a.e.type === "trial_added" ? -1 : 0) - (b.e.type === "trial_added" ? -1 : 0));
  let k = 0;
  for (let i = 0; i <= events.length; i++) {
    while (k < inserts.length && inserts[k].at === i) out.push(inserts[k++].e);
    if (i < events.length) out.push(events[i]);
  }
  return { events: out, notes };
}

/** One line per corrupt journal line and what was recovered (attach and status print these). */
export function describeCorruption(file: string, j: JournalContents): string[] {
  const out = j.corrupt.map((c) => `${file} line ${c.line} (byte ${c.offset}) is corrupt: ${c.reason}`);
  return [...out, ...j.recovered.map((n) => `  recovered: ${n}`)];
}

/**
 * A trial_added recovered from trial.json lacks its bracket (it lives in the
 * scheduler, not in the trial dir): after attach restored the scheduler,
 * ask it (HyperBand/BOHB `bracketInfo(id).s`, ASHA `bracketOf(id)`), as the
 * driver does when it adds a trial. Trials that have a bracket keep it.
 */
export function fillMissingBrackets(trials: Array<{ trialId: string; bracket?: number }>, scheduler: unknown): void {
  const s = scheduler as { bracketInfo?: (id: string) => { s?: number } | undefined; bracketOf?: (id: string) => unknown };
  for (const tr of trials) {
    if (tr.bracket !== undefined) continue;
    try {
      const info = typeof s.bracketInfo === "function" ? s.bracketInfo(tr.trialId) : undefined;
      if (info && typeof info.s === "number") tr.bracket = info.s;
      else if (typeof s.bracketOf === "function") {
        const b = s.bracketOf(tr.trialId);
        if (typeof b === "number") tr.bracket = b;
      }
    } catch {
      /* no bracket for this trial */
    }
  }
}
