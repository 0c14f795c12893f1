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
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ExperimentEvent } from "./events";

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

export type JournalLine = ExperimentEvent | SnapshotLine;

export class JournalWriter {
  private fd: number;
  /** bytes written so far (= file size) */
  size: number;

  constructor(readonly file: string, truncateTo?: number) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (truncateTo !== undefined && fs.existsSync(file)) fs.truncateSync(file, truncateTo);
    this.fd = fs.openSync(file, "a");
    this.size = fs.fstatSync(this.fd).size;
  }

  append(line: JournalLine): void {
    const buf = Buffer.from(JSON.stringify(line) + "\n", "utf8");
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    this.size += buf.length;
  }

  close(): void {
    if (this.fd >= 0) {
      try { fs.fsyncSync(this.fd); } catch { /* not all filesystems support fsync */ }
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

export interface JournalContents {
  /** events up to and including the last snapshot (all events if `all`) */
  events: ExperimentEvent[];
  /** the last snapshot, or null when none was written */
  snapshot: SnapshotLine | null;
  /** byte offset just after the last snapshot line (0 when none) */
  snapshotEnd: number;
  /** events after the last snapshot (an interrupted batch) */
  trailing: ExperimentEvent[];
}

/** Parse a journal; a torn or unparsable last line is skipped. */
export function readJournal(file: string): JournalContents {
  const buf = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
  const events: ExperimentEvent[] = [];
  let snapshot: SnapshotLine | null = null;
  let snapshotEnd = 0;
  let committed = 0;
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) break; // torn last line
    const raw = buf.toString("utf8", pos, nl);
    pos = nl + 1;
    if (!raw.trim()) continue;
    let obj: JournalLine;
    try {
      obj = JSON.parse(raw);
    } catch {
      continue;
    }
    if (obj.type === "snapshot") {
      snapshot = obj as SnapshotLine;
      snapshotEnd = pos;
      committed = events.length;
    } else {
      events.push(obj as ExperimentEvent);
    }
  }
  return { events: events.slice(0, committed), snapshot, snapshotEnd, trailing: events.slice(committed) };
}
