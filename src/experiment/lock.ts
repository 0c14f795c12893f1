/**
 * An exclusive lock on a run directory (issue 14): two drivers on one run
 * directory ran every trial twice. `<runDir>/.lock` is created with O_EXCL
 * and holds the holder's PID, host and start time; a second driver (another
 * `tunelab run`, an `attach` while the first lives, a second experiment
 * object in the same kernel) is refused with an error naming them.
 *
 * A lock left by a dead process on this host (kill -9, a crashed kernel) is
 * taken over; so is one held by this very process that no live Experiment
 * owns any more (a crashed run() in the same kernel). A lock from another
 * host is never taken over: its PID cannot be checked from here.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileError } from "../backends/trial-files";

export interface LockInfo {
  pid: number;
  host: string;
  since: string;
  /** what holds it: "run" / "attach" */
  purpose?: string;
}

export class RunDirLockedError extends Error {
  constructor(readonly dir: string, readonly holder: LockInfo) {
    super(
      `${dir} is in use by another tunelab driver: PID ${holder.pid} on host ${holder.host} (${holder.purpose ?? "run"} since ${holder.since}); ` +
        `wait for it to end or stop it, then attach (a lock of a dead PID on this host is taken over automatically)`,
    );
    this.name = "RunDirLockedError";
  }
}

/** Lock files this process holds (process-global: tslab may load this module twice). */
function held(): Set<string> {
  const g = globalThis as unknown as Record<symbol, Set<string>>;
  const k = Symbol.for("tunelab.runDirLocks");
  if (!g[k]) {
    g[k] = new Set();
    // release on a normal exit too (a kill -9 leaves a stale lock, which the next driver takes over)
    process.once("exit", () => {
      for (const f of g[k]) releaseFile(f);
    });
  }
  return g[k];
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readLock(file: string): LockInfo | null {
  try {
    const v = JSON.parse(fs.readFileSync(file, "utf8")) as LockInfo;
    return typeof v.pid === "number" && typeof v.host === "string" ? v : null;
  } catch {
    return null;
  }
}

function releaseFile(file: string): void {
  const cur = readLock(file);
  if (cur && cur.pid === process.pid && cur.host === os.hostname()) fs.rmSync(file, { force: true });
}

export interface RunDirLock {
  readonly file: string;
  release(): void;
}

/** Take the run directory's lock or throw RunDirLockedError naming the holder. */
export function acquireRunDirLock(dir: string, purpose: "run" | "attach" = "run"): RunDirLock {
  const file = path.join(dir, ".lock");
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fileError("create the run directory", dir, e);
  }
  const me: LockInfo = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), purpose };
  for (let attempt = 0; attempt < 25; attempt++) {
    try {
      const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      try {
        fs.writeSync(fd, JSON.stringify(me) + "\n");
      } catch (e) {
        // an empty lock (a full disk) would block the next driver: take it back
        fs.closeSync(fd);
        fs.rmSync(file, { force: true });
        throw fileError("write the lock", file, e);
      }
      fs.closeSync(fd);
      held().add(file);
      let released = false;
      return {
        file,
        release: () => {
          if (released) return;
          released = true;
          held().delete(file);
          releaseFile(file);
        },
      };
    } catch (e) {
      if ((e as Error).message.startsWith("cannot write the lock")) throw e;
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw fileError("create the lock", file, e);
    }
    const cur = readLock(file);
    if (cur === null) {
      // being written right now, or garbage: a lock younger than 2 s is left alone
      let age = Infinity;
      try { age = Date.now() - fs.statSync(file).mtimeMs; } catch { continue; }
      if (age < 2000) {
        const until = Date.now() + 100;
        while (Date.now() < until) { /* brief spin: the writer is mid-write */ }
        continue;
      }
    } else {
      const sameHost = cur.host === os.hostname();
      const stale = sameHost && (cur.pid === process.pid ? !held().has(file) : !pidAlive(cur.pid));
      if (!stale) throw new RunDirLockedError(dir, cur);
    }
    // stale: move it aside (one rename wins), check we moved the stale one, retry O_EXCL
    const grave = `${file}.stale-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    try {
      fs.renameSync(file, grave);
    } catch {
      continue; // someone else moved it: the retry says who holds it now
    }
    const moved = readLock(grave);
    if (moved && cur && (moved.pid !== cur.pid || moved.since !== cur.since)) {
      // a racing driver's fresh lock: put it back (link fails only if yet another one exists)
      try { fs.linkSync(grave, file); } catch { /* the retry reports the holder */ }
    }
    fs.rmSync(grave, { force: true });
  }
  const cur = readLock(file);
  throw cur ? new RunDirLockedError(dir, cur) : new Error(`${file}: could not take the run directory's lock`);
}
