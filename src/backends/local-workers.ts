/**
 * Warm trainer processes for the local backend (`reuseProcesses`, Ray's
 * reuse_actors): a slot keeps one Python process (src/trainer/worker.py)
 * that runs successive trials, so a new trial, a resumed pause or a PBT
 * exploit pays no interpreter / import / device start-up.
 *
 * Only the backend changes: the controller still submits, stops, pauses and
 * decides per trial; the backend hands a submitted trial to an idle worker
 * of the same kind instead of spawning. A worker takes only trials with the
 * same interpreter, script and trainer env (its key), and holds the GPU
 * slots it was started on (CUDA is initialised for them). The trial's files
 * are those of the trial contract, written by the same trainer script: the
 * worker runs it in-process with TUNELAB_TRIAL_DIR set and writes exit.json
 * as the one-shot wrapper does, so accounting and adopt are unchanged.
 *
 * Files: `<runDir>/workers/<id>/` (job-<seq>.json, current, quit, retire,
 * worker.pid, worker.log; see worker.py). launch.json of a trial run by a
 * worker holds the worker's pid (its process group: signals reach the
 * trainer) and `worker` (its directory), so a new backend instance can
 * adopt the trial and let the worker go once the trial ends.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { TrialLaunch } from "./types";
import { fileError, writeFileAtomic, writeJsonAtomic } from "./trial-files";

/** The worker's wrapper: like the one-shot wrapper, but exit.json goes to the trial the worker was running. */
export const WORKER_WRAPPER = [
  "umask 077",
  'echo "$$" > "$TUNELAB_WORKER_DIR/worker.pid"',
  "trap ':' USR1 TERM",
  '"$@"',
  "code=$?",
  // the worker writes each job's exit.json itself; this covers a worker that died inside a job
  'if [ -f "$TUNELAB_WORKER_DIR/current" ]; then',
  '  d=$(cat "$TUNELAB_WORKER_DIR/current")',
  '  if [ -n "$d" ] && [ ! -f "$d/exit.json" ]; then',
  '    printf \'{"code":%d,"end_ms":%s}\\n\' "$code" "$(date +%s%3N)" > "$d/exit.json.tmp" && mv -f "$d/exit.json.tmp" "$d/exit.json"',
  "  fi",
  "fi",
  'exit "$code"',
].join("\n");

export interface Worker {
  id: string;
  dir: string;
  key: string;
  /** GPU slot indices (LocalBackend's slots) and GPU ids it was started on */
  slotIds: number[];
  gpuIds: number[];
  pid?: number;
  child?: ChildProcess;
  exited?: { code: number | null; signal: NodeJS.Signals | null; at: number };
  /** trial id of the job it runs now */
  busy: string | null;
  /** seq of the last job written */
  seq: number;
  /** jobs handed to it */
  jobs: number;
  lastUsed: number;
}

/** Can this launch run in a warm worker? `python script.py args...` on at most one GPU (no launcher, no -m / -c). */
export function reusableLaunch(l: TrialLaunch): boolean {
  const [py, script] = l.command;
  return (
    l.command.length >= 2 &&
    /^python[0-9.]*$/.test(path.basename(py)) &&
    script.endsWith(".py") &&
    !script.startsWith("-") &&
    (l.gpus ?? 0) <= 1
  );
}

/** Trials with the same key may share a worker: same interpreter, script and trainer env. */
export function workerKey(l: TrialLaunch): string {
  const env = Object.entries(l.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([l.command[0], l.command[1], env]);
}

/** worker.py beside the trainer script (src/trainer/), from src or dist. */
export function workerScript(): string {
  const candidates = [
    path.resolve(__dirname, "..", "trainer", "worker.py"),
    path.resolve(__dirname, "..", "..", "..", "src", "trainer", "worker.py"),
  ];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`worker.py not found; looked in ${candidates.join(", ")}`);
}

let seqOfIds = 0;

export class WarmPool {
  readonly workers = new Map<string, Worker>();
  private readonly prefix = `w${process.pid}-${Date.now().toString(36)}`;

  constructor(
    private readonly runDir: string,
    private readonly cwd: string,
    private readonly idleTimeoutS: number,
  ) {}

  /** An idle, live worker for this key whose slots are all free (CPU: no slots). */
  findIdle(key: string, want: number, free: ReadonlySet<number>): Worker | null {
    let best: Worker | null = null;
    for (const w of this.workers.values()) {
      if (w.busy || w.key !== key || !this.usable(w)) continue;
      if (w.slotIds.length !== want || !w.slotIds.every((s) => free.has(s))) continue;
      if (!best || w.lastUsed > best.lastUsed) best = w;
    }
    return best;
  }

  /** Alive and not leaving (a retiring worker takes no job). */
  usable(w: Worker): boolean {
    return !w.exited && !fs.existsSync(path.join(w.dir, "retire"));
  }

  idle(): Worker[] {
    return [...this.workers.values()].filter((w) => !w.busy);
  }

  /** Let idle workers go that hold any of `slots` (their device memory), or, for CPU, the oldest beyond `limit` workers. */
  makeRoom(slots: number[], limit: number): void {
    for (const w of this.idle()) if (w.slotIds.some((s) => slots.includes(s))) this.retire(w);
    const idle = this.idle().sort((a, b) => a.lastUsed - b.lastUsed);
    while (this.workers.size >= limit && idle.length) this.retire(idle.shift()!);
  }

  /** Ask a worker to exit once idle (it finishes a job it runs). */
  retire(w: Worker): void {
    try {
      fs.writeFileSync(path.join(w.dir, "quit"), `${Date.now()}\n`, { mode: 0o600 });
    } catch {
      /* its directory is gone: nothing to tell */
    }
    this.workers.delete(w.id);
  }

  spawn(l: TrialLaunch, slotIds: number[], gpuIds: number[]): Worker {
    const id = `${this.prefix}-${++seqOfIds}`;
    const dir = path.join(this.runDir, "workers", id);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw fileError("create the worker directory", dir, e);
    }
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    Object.assign(env, l.env ?? {});
    delete env.TUNELAB_TRIAL_DIR; // set per job by the worker
    env.TUNELAB_WORKER_DIR = dir;
    env.CUDA_VISIBLE_DEVICES = gpuIds.join(",");
    env.PYTHONUNBUFFERED = env.PYTHONUNBUFFERED ?? "1";
    const logPath = path.join(dir, "worker.log");
    const log = fs.openSync(logPath, "a", 0o600);
    let child: ChildProcess;
    try {
      child = spawn("/bin/sh", ["-c", WORKER_WRAPPER, "tunelab-worker", l.command[0], workerScript(), "--dir", dir, "--idle-timeout", String(this.idleTimeoutS)], {
        cwd: this.cwd,
        env,
        detached: true,
        stdio: ["ignore", log, log],
      });
    } finally {
      fs.closeSync(log);
    }
    const w: Worker = { id, dir, key: workerKey(l), slotIds, gpuIds, pid: child.pid, child, busy: null, seq: 0, jobs: 0, lastUsed: Date.now() };
    child.on("error", (e) => {
      w.exited ??= { code: null, signal: null, at: Date.now() };
      fs.appendFileSync(logPath, `tunelab: could not start the worker: ${e.message}\n`);
    });
    child.on("exit", (code, signal) => {
      w.exited = { code, signal, at: Date.now() };
    });
    this.workers.set(id, w);
    return w;
  }

  /** Hand a trial to a worker: the job file the worker takes on its next poll. */
  assign(w: Worker, trialId: string, trialDir: string, command: string[]): void {
    w.busy = trialId;
    w.seq++;
    w.jobs++;
    w.lastUsed = Date.now();
    writeJsonAtomic(path.join(w.dir, `job-${w.seq}.json`), { seq: w.seq, trial_dir: trialDir, argv: command.slice(1) }, 0o600);
  }

  /** The job was written but the worker has not taken it (it died before that). */
  jobPending(w: Worker): boolean {
    return fs.existsSync(path.join(w.dir, `job-${w.seq}.json`));
  }

  /** The trial's job ended: the worker is idle again, or gone when it is leaving. */
  release(w: Worker): void {
    w.busy = null;
    w.lastUsed = Date.now();
    if (!this.usable(w)) this.workers.delete(w.id);
  }

  drop(w: Worker): void {
    this.workers.delete(w.id);
  }

  /** close(): idle workers exit now, busy ones after their trial (they are detached, like one-shot trials). */
  async close(waitMs = 3000): Promise<void> {
    const idle = this.idle();
    for (const w of this.workers.values()) {
      try {
        writeFileAtomic(path.join(w.dir, "quit"), `${Date.now()}\n`, 0o600);
      } catch {
        /* gone */
      }
    }
    const end = Date.now() + waitMs;
    while (idle.some((w) => !w.exited && groupAlive(w.pid)) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    for (const w of idle) if (!w.exited && groupAlive(w.pid)) killGroup(w.pid, "SIGKILL");
    for (const w of this.workers.values()) {
      w.child?.removeAllListeners("exit");
      w.child?.unref();
    }
    this.workers.clear();
  }

  killAll(): void {
    for (const w of this.workers.values()) killGroup(w.pid, "SIGKILL");
  }
}

export function groupAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid || pid <= 0) return;
  try {
    process.kill(-pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

/** Kill every worker process group recorded under runDir/workers (test cleanup, like killRunDirTrials). */
export function killRunDirWorkers(runDir: string): number {
  const root = path.join(runDir, "workers");
  let n = 0;
  let names: string[] = [];
  try {
    names = fs.readdirSync(root);
  } catch {
    return 0;
  }
  for (const id of names) {
    try {
      const pid = Number(fs.readFileSync(path.join(root, id, "worker.pid"), "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && groupAlive(pid)) {
        process.kill(-pid, "SIGKILL");
        n++;
      }
    } catch {
      /* none or gone */
    }
  }
  return n;
}
