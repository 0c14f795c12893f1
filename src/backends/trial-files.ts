/**
 * Small file helpers shared by the local and replay backends: safe trial
 * ids (they become directory names), atomic writes (a reader never sees half
 * a decision file), and the decision-file name of the trial contract.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const SAFE_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Trial ids become directory names: refuse anything that could leave the run dir. */
export function checkTrialId(id: string): string {
  if (typeof id !== "string" || !SAFE_ID.test(id) || id.includes("..")) {
    throw new Error(`trialId ${JSON.stringify(id)} is not allowed: use letters, digits, "_", "-", "." (max 128, no "..")`);
  }
  return id;
}

/**
 * Write via tmp + rename, so readers see the old file or the whole new one.
 * A failure (a full disk) removes the half-written tmp file (ours) and
 * names the file and the cause (fileError), never a bare "ENOSPC ... write".
 */
export function writeFileAtomic(file: string, data: string, mode?: number): void {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    fs.writeFileSync(tmp, data, mode === undefined ? undefined : { mode });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw fileError("write", file, e);
  }
}

export function writeJsonAtomic(file: string, value: unknown, mode?: number): void {
  writeFileAtomic(file, JSON.stringify(value) + "\n", mode);
}

export function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch {
    return null;
  }
}

export function decisionFile(dir: string, t: number): string {
  return path.join(dir, `decision-${t}.json`);
}

/** Remove decision files for t > startT (left over from an earlier run of the same trial id). */
export function clearDecisionsAfter(dir: string, startT: number): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^decision-(\d+)\.json$/.exec(n);
    if (m && Number(m[1]) > startT) fs.rmSync(path.join(dir, n), { force: true });
  }
}

/** Last `n` lines of a file from byte `from` on (stderr tails for failed trials). */
export function tailLines(file: string, n: number, from = 0, maxBytes = 64 * 1024): string {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return "";
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(from, size - maxBytes);
    if (size <= start) return "";
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    const lines = buf.toString("utf8").replace(/\s+$/, "").split("\n");
    return lines.slice(-n).join("\n");
  } finally {
    fs.closeSync(fd);
  }
}

/** A rel path inside a trial dir, refusing absolute paths and "..". */
export function resolveInside(dir: string, rel: string): string {
  if (typeof rel !== "string" || rel === "" || path.isAbsolute(rel)) {
    throw new Error(`checkpoint path ${JSON.stringify(rel)} must be relative to the trial directory`);
  }
  const abs = path.resolve(dir, rel);
  const root = path.resolve(dir) + path.sep;
  if (!abs.startsWith(root)) throw new Error(`checkpoint path ${JSON.stringify(rel)} leaves the trial directory`);
  return abs;
}

/**
 * An fs error as a message that names the file and the cause
 * (`cannot write /r/journal.jsonl: no space left on device (ENOSPC; 0 bytes free there)`),
 * keeping `code` so callers can still test it.
 */
export function fileError(op: string, file: string, e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  const code = err?.code;
  const why: Record<string, string> = {
    ENOSPC: "no space left on device",
    EDQUOT: "disk quota exceeded",
    ENAMETOOLONG: "file name too long",
    EACCES: "permission denied",
    EROFS: "read-only file system",
    ENOENT: "no such file or directory",
    EIO: "input/output error",
  };
  let extra = "";
  if (code === "ENOSPC" || code === "EDQUOT") {
    const free = freeBytes(path.dirname(file));
    if (free !== null) extra = `; ${free} bytes free there`;
  }
  if (code === "ENAMETOOLONG") extra = `; the longest name allowed is 255 bytes, the path ${Buffer.byteLength(file)} bytes`;
  const msg = code ? `${why[code] ?? err.message} (${code}${extra})` : String(err?.message ?? e);
  const out = new Error(`cannot ${op} ${file}: ${msg}`) as NodeJS.ErrnoException;
  if (code) out.code = code;
  return out;
}

/** Free bytes on the file system holding `dir` (its nearest existing ancestor), or null. */
export function freeBytes(dir: string): number | null {
  let d = path.resolve(dir);
  for (;;) {
    try {
      const s = fs.statfsSync(d);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      const up = path.dirname(d);
      if (up === d) return null;
      d = up;
    }
  }
}

/**
 * Test hook for the fault-injection suite: with TUNELAB_FAULT="NAME:N" in the
 * environment, the N-th time this process passes point NAME it kills itself
 * with SIGKILL (a real kill -9 at a chosen instant, no cleanup runs).
 */
export function faultPoint(name: string): void {
  const spec = process.env.TUNELAB_FAULT;
  if (!spec) return;
  const [want, nth] = spec.split(":");
  if (want !== name) return;
  const g = globalThis as unknown as { __tunelabFaultHits?: Record<string, number> };
  const hits = (g.__tunelabFaultHits ??= {});
  hits[name] = (hits[name] ?? 0) + 1;
  if (hits[name] === Number(nth ?? 1)) process.kill(process.pid, "SIGKILL");
}
