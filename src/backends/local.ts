/**
 * Local backend: trainer processes on this machine (design.md, issue 5).
 *
 * Each trial runs as `sh -c WRAPPER trainer argv...` in its own process
 * group (detached), with stdout/stderr going straight to files in the trial
 * dir. The wrapper ignores nothing but survives USR1/TERM (its trap is a
 * no-op, and traps reset at exec, so the trainer keeps default handling) and
 * writes `exit.json` with the trainer's exit status when it ends. So:
 *  - a trial keeps running when the kernel dies (no pipes, own session), and
 *  - its end can be learned from files by a later backend instance (`adopt`).
 * Signals go to the whole process group (multi-GPU launchers' ranks too).
 *
 * Files per trial (`<runDir>/trials/<id>/`): trial.json (the contract),
 * submit.json (argv, env, gpus: to requeue after a restart), launch.json
 * (pid = pgid, start time, GPU ids), exit.json (code, end time),
 * control.json (a stop/pause that was requested), stdout.log, stderr.log,
 * metrics.jsonl + checkpoints/ (written by the trainer), decision-<t>.json,
 * wrapper.pid (written by the wrapper first thing: a driver killed between
 * spawn and launch.json still leaves the process findable, so attach never
 * starts a second one).
 *
 * Write-ahead (issue 14): `prepare` writes trial.json and submit.json before
 * the driver journals the launch; `adopt` of a prepared trial that has no
 * launch.json/wrapper.pid starts it. Trial dirs are 0700 and submit.json
 * (trainer.env) 0600: nothing of a run is readable by other users.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { AdoptedTrial, Backend, BackendEvent, Report, TrialLaunch, TrialState } from "./types";
import { MetricsFileReader, newReaderState, offsetAfterRecords, parseNewBytes } from "./metrics-reader";
import {
  checkTrialId,
  clearDecisionsAfter,
  decisionFile,
  faultPoint,
  fileError,
  freeBytes,
  readJson,
  resolveInside,
  tailLines,
  writeJsonAtomic,
} from "./trial-files";
import { WarmPool, killRunDirWorkers, reusableLaunch, workerKey, type Worker } from "./local-workers";

export interface LocalBackendOptions {
  /** the experiment's run dir; trials live in `<runDir>/trials/<id>/`. */
  runDir: string;
  /** trials running at once (default 4); the rest wait queued, FIFO. */
  maxConcurrent?: number;
  /** GPU ids to hand out through CUDA_VISIBLE_DEVICES; [] = CPU only. */
  gpus?: number[];
  /** trials that may share one GPU (default 1). Small models leave a big GPU
   *  mostly idle; each sharing trial is accounted 1/slotsPerGpu of the GPU. */
  slotsPerGpu?: number;
  /** ms between SIGTERM and SIGKILL on stop (default 10 000). */
  killGraceMs?: number;
  /** working directory of trainer processes (default: process.cwd()). */
  cwd?: string;
  /** lines of stderr in a failed trial's message (default 20). */
  stderrTailLines?: number;
  /** keep one warm trainer process per slot that runs successive trials
   *  (local-workers.ts; `python script.py` trainers on <= 1 GPU). Default
   *  false here; the config's backend.reuseProcesses defaults to true. */
  reuseProcesses?: boolean;
  /** a warm worker exits after this many seconds without a trial (a driver that went away); default 120 */
  workerIdleTimeoutS?: number;
}

/** The wrapper run by /bin/sh: "$@" is the trainer argv (never interpolated). */
export const WRAPPER_SCRIPT = [
  // private files: the trainer's logs and checkpoints are nobody else's business
  "umask 077",
  'echo "$$" > "$TUNELAB_TRIAL_DIR/wrapper.pid"',
  "trap ':' USR1 TERM",
  '"$@"',
  "code=$?",
  'printf \'{"code":%d,"end_ms":%s}\\n\' "$code" "$(date +%s%3N)" > "$TUNELAB_TRIAL_DIR/exit.json.tmp"',
  'mv -f "$TUNELAB_TRIAL_DIR/exit.json.tmp" "$TUNELAB_TRIAL_DIR/exit.json"',
  'exit "$code"',
].join("\n");

interface LaunchFile {
  pid: number;
  startedAt: number;
  submittedAt: number;
  gpus: number;
  gpuIds: number[];
  slotIds?: number[];
  /** the warm worker's directory when a worker runs the trial (pid is then the worker's) */
  worker?: string;
}
interface SubmitFile {
  command: string[];
  env: Record<string, string>;
  gpus: number;
  submittedAt: number;
}
interface ExitFile {
  code: number;
  end_ms?: number;
}

interface LocalTrial {
  id: string;
  dir: string;
  launch: TrialLaunch;
  state: TrialState;
  submittedAt: number;
  startedAt?: number;
  pid?: number;
  child?: ChildProcess;
  gpuIds: number[];
  slotIds?: number[];
  reader: MetricsFileReader;
  lastReport: Report | null;
  /** set by the child's exit event (live) */
  exited?: { code: number | null; signal: NodeJS.Signals | null; at: number };
  requested?: "stop" | "pause";
  killTimer?: NodeJS.Timeout;
  stderrStart: number;
  adopted: boolean;
  /** the warm worker running it (reuseProcesses) */
  worker?: Worker;
  /** adopted: the directory of the (old instance's) worker that runs it, told to quit when the trial ends */
  workerDir?: string;
}

const ACTIVE: ReadonlySet<TrialState> = new Set(["queued", "running"]);

export class LocalBackend implements Backend {
  readonly kind = "local" as const;
  readonly runDir: string;
  readonly maxConcurrent: number;
  readonly killGraceMs: number;
  private readonly cwd: string;
  private readonly tailN: number;
  private readonly pool: number[];
  /** one entry per GPU slot: the GPU id it belongs to (slotsPerGpu entries per GPU) */
  private readonly slots: number[];
  private readonly slotsPerGpu: number;
  /** free slot indices into `slots` */
  private readonly freeGpus: Set<number>;
  private readonly trials = new Map<string, LocalTrial>();
  private readonly queue: LocalTrial[] = [];
  private pending: BackendEvent[] = [];
  private closed = false;
  readonly reuseProcesses: boolean;
  /** warm workers (reuseProcesses), null when off */
  private readonly warm: WarmPool | null;

  constructor(opts: LocalBackendOptions | string) {
    const o: LocalBackendOptions = typeof opts === "string" ? { runDir: opts } : opts;
    this.runDir = path.resolve(o.runDir);
    this.maxConcurrent = Math.max(1, Math.floor(o.maxConcurrent ?? 4));
    this.killGraceMs = o.killGraceMs ?? 10_000;
    this.cwd = o.cwd ?? process.cwd();
    this.tailN = o.stderrTailLines ?? 20;
    this.pool = [...new Set(o.gpus ?? [])].sort((a, b) => a - b);
    this.slotsPerGpu = Math.max(1, Math.floor(o.slotsPerGpu ?? 1));
    this.slots = this.pool.flatMap((g) => Array.from({ length: this.slotsPerGpu }, () => g));
    this.freeGpus = new Set(this.slots.map((_, i) => i));
    this.reuseProcesses = o.reuseProcesses ?? false;
    this.warm = this.reuseProcesses ? new WarmPool(this.runDir, this.cwd, o.workerIdleTimeoutS ?? 120) : null;
  }

  async start(): Promise<void> {
    const trials = path.join(this.runDir, "trials");
    try {
      fs.mkdirSync(trials, { recursive: true, mode: 0o700 });
      fs.chmodSync(trials, 0o700);
    } catch (e) {
      throw fileError("create", trials, e);
    }
  }

  /** Write-ahead: trial.json + submit.json (and no stale markers) before the journal names the run. */
  async prepare(launches: TrialLaunch[]): Promise<void> {
    for (const l of launches) this.writeTrialFiles(l);
    faultPoint("local-prepared");
  }

  private writeTrialFiles(l: TrialLaunch): { dir: string; submittedAt: number } {
    const dir = this.trialDir(l.trialId);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (const f of ["exit.json", "control.json", "launch.json", "wrapper.pid", "worker.json"]) fs.rmSync(path.join(dir, f), { force: true });
      clearDecisionsAfter(dir, l.trial.start_t ?? 0);
      writeJsonAtomic(path.join(dir, "trial.json"), l.trial, 0o600);
      const submittedAt = Date.now();
      const sub: SubmitFile = { command: l.command, env: l.env ?? {}, gpus: l.gpus ?? 0, submittedAt };
      writeJsonAtomic(path.join(dir, "submit.json"), sub, 0o600);
      return { dir, submittedAt };
    } catch (e) {
      if ((e as Error).message.startsWith("cannot ")) throw e;
      throw fileError("write the files of trial " + l.trialId + " in", dir, e);
    }
  }

  trialDir(trialId: string): string {
    return path.join(this.runDir, "trials", checkTrialId(trialId));
  }

  now(): number {
    return Date.now();
  }

  wait(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, Math.max(0, ms)));
  }

  async submit(launches: TrialLaunch[]): Promise<void> {
    this.assertOpen();
    for (const l of launches) {
      checkTrialId(l.trialId);
      if (l.trial.trial_id !== l.trialId) throw new Error(`submit: trial.trial_id ${l.trial.trial_id} != trialId ${l.trialId}`);
      if (!Array.isArray(l.command) || l.command.length === 0) throw new Error(`submit ${l.trialId}: command must be a non-empty argv`);
      const prev = this.trials.get(l.trialId);
      if (prev && ACTIVE.has(prev.state)) throw new Error(`submit: trial ${l.trialId} is already ${prev.state}`);
    }
    for (const l of launches) {
      // rewritten even when prepared: a PBT restart's restore_from is known only now
      const { dir, submittedAt } = this.writeTrialFiles(l);
      const prev = this.trials.get(l.trialId);
      const t: LocalTrial = {
        id: l.trialId,
        dir,
        launch: l,
        state: "queued",
        submittedAt,
        gpuIds: [],
        // a resubmitted trial keeps its reader: lines of earlier runs are never re-emitted
        reader: prev?.reader ?? MetricsFileReader.atEnd(path.join(dir, "metrics.jsonl")),
        lastReport: null,
        stderrStart: 0,
        adopted: false,
      };
      this.trials.set(l.trialId, t);
      this.queue.push(t);
      this.emitState(t, "queued");
    }
    this.dispatch();
  }

  async stop(trialId: string): Promise<void> {
    const t = this.get(trialId);
    if (t.state === "queued") return this.endUnstarted(t, "stopped");
    if (t.state !== "running") return;
    t.requested = "stop";
    writeJsonAtomic(path.join(t.dir, "control.json"), { requested: "stop", at: Date.now() });
    this.signal(t, "SIGTERM");
    if (!t.killTimer) {
      t.killTimer = setTimeout(() => {
        t.killTimer = undefined;
        if (t.state === "running") this.signal(t, "SIGKILL");
      }, this.killGraceMs);
      t.killTimer.unref();
    }
  }

  async pause(trialId: string): Promise<void> {
    const t = this.get(trialId);
    if (t.state === "queued") return this.endUnstarted(t, "paused");
    if (t.state !== "running") return;
    if (t.requested !== "stop") {
      t.requested = "pause";
      writeJsonAtomic(path.join(t.dir, "control.json"), { requested: "pause", at: Date.now() });
    }
    this.signal(t, "SIGUSR1");
  }

  decide(trialId: string, t: number, action: "continue" | "stop"): void {
    if (action !== "continue" && action !== "stop") throw new Error(`decide: action must be "continue" or "stop", got ${JSON.stringify(action)}`);
    if (!Number.isInteger(t)) throw new Error(`decide: t must be an integer, got ${t}`);
    const dir = this.trialDir(trialId);
    fs.mkdirSync(dir, { recursive: true });
    writeJsonAtomic(decisionFile(dir, t), { action });
  }

  async poll(): Promise<BackendEvent[]> {
    this.assertOpen();
    for (const t of this.trials.values()) {
      if (t.state !== "running") continue;
      const w = t.worker;
      if (w && w.exited && this.warm!.jobPending(w)) {
        // the worker died before it took the job (killed from outside): a fresh one runs the trial
        this.warm!.drop(w);
        this.startInWorker(t, this.warm!.spawn(t.launch, t.slotIds ?? [], t.gpuIds));
      }
      this.readReports(t, false);
      const end = this.endOf(t);
      if (end) this.finish(t, end);
    }
    this.dispatch();
    const out = this.pending;
    this.pending = [];
    return out;
  }

  async copyCheckpoint(fromTrial: string, rel: string, toTrial: string): Promise<string> {
    const src = resolveInside(this.trialDir(fromTrial), rel);
    if (!fs.existsSync(src)) throw new Error(`copyCheckpoint: ${fromTrial}/${rel} does not exist`);
    const toDir = this.trialDir(toTrial);
    const dest = path.join(toDir, "restore", `${fromTrial}-${path.basename(src)}`);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.rmSync(dest, { recursive: true, force: true });
    fs.cpSync(src, dest, { recursive: true });
    return dest;
  }

  async adopt(adopted: AdoptedTrial[]): Promise<void> {
    this.assertOpen();
    for (const a of adopted) {
      const dir = this.trialDir(a.trialId);
      const trial = readJson<TrialLaunch["trial"]>(path.join(dir, "trial.json"));
      const sub = readJson<SubmitFile>(path.join(dir, "submit.json"));
      if (!trial || !sub) throw new Error(`adopt ${a.trialId}: no trial.json/submit.json in ${dir} (the run was journaled but its files were never written)`);
      const metrics = path.join(dir, "metrics.jsonl");
      let reader: MetricsFileReader;
      let buf = Buffer.alloc(0);
      try {
        buf = fs.readFileSync(metrics);
      } catch {
        /* none yet */
      }
      // the last report already journaled: a trial that reached max_t while no driver watched is completed, not stopped
      const seenReports = parseNewBytes(buf, newReaderState(), { final: true, maxRecords: a.reportsSeen }).reports;
      const lastSeen = seenReports.length ? seenReports[seenReports.length - 1] : null;
      if (a.offset !== undefined) reader = new MetricsFileReader(metrics, { offset: a.offset, lines: a.reportsSeen });
      else {
        const { offset, lines } = offsetAfterRecords(buf, a.reportsSeen);
        // fewer complete lines than seen (a torn line was counted?): skip the rest when it completes
        reader = new MetricsFileReader(metrics, { offset, lines, skip: a.reportsSeen - lines });
      }
      const launch: TrialLaunch = { trialId: a.trialId, trial, command: sub.command, env: sub.env, gpus: sub.gpus };
      let lf = readJson<LaunchFile>(path.join(dir, "launch.json"));
      if (!lf) {
        // spawned, but the driver died before launch.json: the wrapper's own pid file says so
        const wp = readPid(path.join(dir, "wrapper.pid"));
        if (wp) lf = { pid: wp.pid, startedAt: wp.at, submittedAt: sub.submittedAt, gpus: 0, gpuIds: [], slotIds: [] };
      }
      if (!lf) {
        // handed to a warm worker, but the driver died before launch.json: running if the job reached the worker
        const wj = readJson<WorkerJson>(path.join(dir, "worker.json"));
        if (wj && jobReachedWorker(wj, dir)) lf = { pid: wj.pid, startedAt: wj.at, submittedAt: sub.submittedAt, gpus: 0, gpuIds: [], slotIds: [], worker: wj.dir };
      }
      const control = readJson<{ requested?: "stop" | "pause" }>(path.join(dir, "control.json"));
      const workerDir = lf?.worker;
      const t: LocalTrial = {
        id: a.trialId,
        dir,
        launch,
        state: lf ? "running" : "queued",
        submittedAt: lf?.submittedAt ?? sub.submittedAt,
        startedAt: lf?.startedAt,
        pid: lf?.pid,
        gpuIds: lf?.gpuIds ?? [],
        slotIds: lf?.slotIds ?? [],
        reader,
        lastReport: lastSeen,
        requested: control?.requested,
        stderrStart: 0,
        adopted: true,
        ...(workerDir ? { workerDir } : {}),
      };
      for (const g of t.slotIds ?? []) this.freeGpus.delete(g);
      this.trials.set(t.id, t);
      if (!lf) this.queue.push(t); // never started: it waits in the queue again
    }
    this.dispatch();
  }

  /** Stop watching. Running trials keep running (they are detached); see killAll. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.trials.values()) {
      if (t.killTimer) clearTimeout(t.killTimer);
      t.child?.removeAllListeners("exit");
      t.child?.unref();
    }
    // idle warm workers exit now; busy ones after their trial (detached, as one-shot trials are)
    await this.warm?.close();
  }

  /** SIGKILL every running trial's process group (tests, interrupts). */
  killAll(): void {
    for (const t of this.trials.values()) if (t.state === "running") this.signal(t, "SIGKILL");
    this.warm?.killAll();
  }

  /** Warm workers alive now (tests, bench). */
  workerCount(): number {
    return this.warm?.workers.size ?? 0;
  }

  // ---- internals ----

  private assertOpen(): void {
    if (this.closed) throw new Error("local backend is closed");
  }

  private get(trialId: string): LocalTrial {
    const t = this.trials.get(trialId);
    if (!t) throw new Error(`unknown trial ${JSON.stringify(trialId)}`);
    return t;
  }

  private emitState(t: LocalTrial, state: TrialState, extra: Partial<Extract<BackendEvent, { type: "state" }>> = {}): void {
    t.state = state;
    this.pending.push({ type: "state", trialId: t.id, state, at: Date.now(), ...extra });
  }

  private endUnstarted(t: LocalTrial, state: "stopped" | "paused"): void {
    const i = this.queue.indexOf(t);
    if (i >= 0) this.queue.splice(i, 1);
    this.emitState(t, state);
    this.pending.push({ type: "accounting", trialId: t.id, gpuSeconds: 0, runSeconds: 0, queueSeconds: (Date.now() - t.submittedAt) / 1000, gpus: 0, source: "local" });
  }

  private runningCount(): number {
    let n = 0;
    for (const t of this.trials.values()) if (t.state === "running") n++;
    return n;
  }

  /** Start queued trials in FIFO order while slots and GPUs allow (head-of-line waits). */
  private dispatch(): void {
    if (this.closed) return;
    while (this.queue.length > 0 && this.runningCount() < this.maxConcurrent) {
      const t = this.queue[0];
      const want = this.pool.length === 0 ? 0 : Math.max(0, t.launch.gpus ?? 0);
      if (want > this.pool.length) {
        this.queue.shift();
        this.emitState(t, "failed", { message: `trial wants ${want} GPUs but the local backend has ${this.pool.length} (${this.pool.join(",")})`, exitCode: null });
        this.pending.push({ type: "accounting", trialId: t.id, gpuSeconds: 0, runSeconds: 0, queueSeconds: (Date.now() - t.submittedAt) / 1000, gpus: 0, source: "local" });
        continue;
      }
      if (want > this.freeGpus.size) break;
      this.queue.shift();
      const reuse = this.warm !== null && reusableLaunch(t.launch);
      const idle = reuse ? this.warm!.findIdle(workerKey(t.launch), want, this.freeGpus) : null;
      if (idle) {
        // a warm worker of this kind is idle on free slots: no start-up
        for (const g of idle.slotIds) this.freeGpus.delete(g);
        t.slotIds = [...idle.slotIds];
        t.gpuIds = [...idle.gpuIds];
        this.startInWorker(t, idle);
        continue;
      }
      // least-loaded GPUs first, so sharing trials spread over the GPUs
      const load = (i: number) => [...this.freeGpus].filter((j) => this.slots[j] === this.slots[i]).length;
      const ids = [...this.freeGpus].sort((a, b) => load(b) - load(a) || a - b);
      const chosen: number[] = [];
      for (const i of ids) {
        if (chosen.length === want) break;
        if (!chosen.some((j) => this.slots[j] === this.slots[i])) chosen.push(i);
      }
      for (const i of ids) if (chosen.length < want && !chosen.includes(i)) chosen.push(i);
      for (const g of chosen) this.freeGpus.delete(g);
      t.slotIds = chosen;
      t.gpuIds = [...new Set(chosen.map((i) => this.slots[i]))].sort((a, b) => a - b);
      // idle workers on these slots (their device memory) or beyond the limit make room
      this.warm?.makeRoom(chosen, this.maxConcurrent);
      if (reuse) this.startInWorker(t, this.warm!.spawn(t.launch, chosen, t.gpuIds));
      else this.spawnTrial(t);
    }
  }

  private spawnTrial(t: LocalTrial): void {
    const l = t.launch;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    Object.assign(env, l.env ?? {});
    env.TUNELAB_TRIAL_DIR = t.dir;
    env.CUDA_VISIBLE_DEVICES = t.gpuIds.join(",");
    env.PYTHONUNBUFFERED = env.PYTHONUNBUFFERED ?? "1";
    const outPath = path.join(t.dir, "stdout.log");
    const errPath = path.join(t.dir, "stderr.log");
    let out: number;
    let err: number;
    try {
      out = fs.openSync(outPath, "a", 0o600);
      err = fs.openSync(errPath, "a", 0o600);
    } catch (e) {
      throw fileError("open the trainer's log in", t.dir, e);
    }
    t.stderrStart = fs.fstatSync(err).size;
    let child: ChildProcess;
    try {
      child = spawn("/bin/sh", ["-c", WRAPPER_SCRIPT, "tunelab-trial", ...l.command], {
        cwd: this.cwd,
        env,
        detached: true,
        stdio: ["ignore", out, err],
      });
    } finally {
      fs.closeSync(out);
      fs.closeSync(err);
    }
    t.startedAt = Date.now();
    t.child = child;
    t.pid = child.pid;
    child.on("error", (e) => {
      t.exited ??= { code: null, signal: null, at: Date.now() };
      fs.appendFileSync(errPath, `tunelab: could not start trainer: ${e.message}\n`);
    });
    child.on("exit", (code, signal) => {
      t.exited = { code, signal, at: Date.now() };
      if (t.killTimer) clearTimeout(t.killTimer);
      t.killTimer = undefined;
    });
    faultPoint("local-spawned");
    const lf: LaunchFile = { pid: child.pid ?? -1, startedAt: t.startedAt, submittedAt: t.submittedAt, gpus: t.gpuIds.length, gpuIds: t.gpuIds, slotIds: t.slotIds ?? [] };
    writeJsonAtomic(path.join(t.dir, "launch.json"), lf, 0o600);
    this.emitState(t, "running");
  }

  /** Hand the trial to a warm worker (just spawned or idle): launch.json names the worker's pid and directory. */
  private startInWorker(t: LocalTrial, w: Worker): void {
    const errPath = path.join(t.dir, "stderr.log");
    try {
      t.stderrStart = fs.existsSync(errPath) ? fs.statSync(errPath).size : 0;
    } catch (e) {
      throw fileError("read the trainer's log in", t.dir, e);
    }
    t.startedAt = Date.now();
    t.worker = w;
    t.pid = w.pid;
    t.child = undefined;
    t.exited = undefined;
    // before the job file: a driver killed between the two leaves a trial attach can find (or safely restart)
    const wj: WorkerJson = { pid: w.pid ?? -1, dir: w.dir, seq: w.seq + 1, at: t.startedAt };
    writeJsonAtomic(path.join(t.dir, "worker.json"), wj, 0o600);
    this.warm!.assign(w, t.id, t.dir, t.launch.command);
    faultPoint("local-spawned");
    const lf: LaunchFile = { pid: w.pid ?? -1, startedAt: t.startedAt, submittedAt: t.submittedAt, gpus: t.gpuIds.length, gpuIds: t.gpuIds, slotIds: t.slotIds ?? [], worker: w.dir };
    writeJsonAtomic(path.join(t.dir, "launch.json"), lf, 0o600);
    this.emitState(t, "running");
  }

  private signal(t: LocalTrial, sig: NodeJS.Signals): void {
    if (!t.pid || t.pid <= 0) return;
    try {
      process.kill(-t.pid, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
    }
  }

  private readReports(t: LocalTrial, final: boolean): void {
    const r = t.reader.read({ final });
    for (const x of r.sequence) {
      if ("report" in x) {
        t.lastReport = x.report;
        this.pending.push({ type: "report", trialId: t.id, report: x.report, at: Date.now() });
      } else {
        this.pending.push({ type: "rejected", trialId: t.id, at: Date.now(), ...x.rejected });
      }
    }
  }

  /** How the trial ended, or null while it runs. */
  private endOf(t: LocalTrial): { code: number | null; signal: string | null; at: number } | null {
    const ex = readJson<ExitFile>(path.join(t.dir, "exit.json"));
    if (ex) return { code: ex.code, signal: signalOfCode(ex.code), at: ex.end_ms ?? Date.now() };
    if (t.exited) return { code: t.exited.code, signal: t.exited.signal, at: t.exited.at };
    if (t.worker?.exited) {
      // the worker died inside the job (SIGKILL of its group: the wrapper could not write exit.json)
      const again = readJson<ExitFile>(path.join(t.dir, "exit.json"));
      if (again) return { code: again.code, signal: signalOfCode(again.code), at: again.end_ms ?? Date.now() };
      const x = t.worker.exited;
      return { code: x.code, signal: x.signal, at: x.at };
    }
    if (t.adopted && !groupAlive(t.pid)) {
      // exit.json is written before the wrapper exits: re-check once to close the race
      const again = readJson<ExitFile>(path.join(t.dir, "exit.json"));
      if (again) return { code: again.code, signal: signalOfCode(again.code), at: again.end_ms ?? Date.now() };
      return { code: null, signal: "SIGKILL", at: Date.now() };
    }
    return null;
  }

  private finish(t: LocalTrial, end: { code: number | null; signal: string | null; at: number }): void {
    this.readReports(t, true);
    if (t.killTimer) clearTimeout(t.killTimer);
    t.killTimer = undefined;
    for (const g of t.slotIds ?? []) this.freeGpus.add(g);
    const maxT = t.launch.trial.max_t;
    const reachedMax = t.lastReport !== null && t.lastReport.t >= maxT;
    let state: TrialState;
    let message: string | undefined;
    if (end.code === 0 && reachedMax) state = "completed";
    else if (t.requested === "stop") state = "stopped";
    else if (end.code === 0) state = t.requested === "pause" ? "paused" : "stopped";
    else {
      state = "failed";
      const tail = tailLines(path.join(t.dir, "stderr.log"), this.tailN, t.stderrStart);
      const how = end.code === null && end.signal ? `killed by ${end.signal}` : `exit code ${end.code}`;
      message = tail ? `${how}\n${tail}` : t.adopted && end.code === null ? `trainer process vanished without an exit marker (${how})` : how;
      // a full disk also swallows the trainer's own complaint: say what is known, with the place
      if (!tail) {
        const free = freeBytes(t.dir);
        if (free !== null) {
          message += `\nstderr.log is empty; ${free} bytes free on the file system holding ${t.dir}`;
          if (free < 64 * 1024) message += `: it is full (ENOSPC), so the trainer could not write its reports, checkpoints or stderr`;
        }
      }
    }
    const exitCode = end.code;
    this.emitState(t, state, { exitCode, signal: end.signal, ...(message ? { message } : {}) });
    const started = t.startedAt ?? end.at;
    const runSeconds = Math.max(0, (end.at - started) / 1000);
    const gpus = (t.slotIds?.length ?? t.gpuIds.length) / this.slotsPerGpu;
    this.pending.push({
      type: "accounting",
      trialId: t.id,
      gpuSeconds: gpus * runSeconds,
      runSeconds,
      queueSeconds: Math.max(0, (started - t.submittedAt) / 1000),
      gpus,
      source: "local",
    });
    t.child?.removeAllListeners("exit");
    t.child = undefined;
    if (t.worker) {
      this.warm!.release(t.worker);
      t.worker = undefined;
    } else if (t.workerDir) {
      // adopted from an earlier backend instance: its worker has nobody to work for now
      try {
        fs.writeFileSync(path.join(t.workerDir, "quit"), `${Date.now()}\n`);
      } catch {
        /* gone */
      }
      t.workerDir = undefined;
    }
  }
}

/** worker.json in a trial dir: the warm worker it was handed to (written before the job file). */
interface WorkerJson {
  pid: number;
  dir: string;
  seq: number;
  at: number;
}

/** The worker has the job (pending or taken), or ran it already. */
function jobReachedWorker(wj: WorkerJson, trialDir: string): boolean {
  if (fs.existsSync(path.join(trialDir, "exit.json"))) return true;
  if (fs.existsSync(path.join(wj.dir, `job-${wj.seq}.json`))) return true;
  try {
    return fs.readFileSync(path.join(wj.dir, "current"), "utf8") === trialDir;
  } catch {
    return false;
  }
}

function readPid(file: string): { pid: number; at: number } | null {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    return { pid, at: fs.statSync(file).mtimeMs };
  } catch {
    return null;
  }
}

function groupAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** sh reports a child killed by signal N as exit status 128+N. */
function signalOfCode(code: number): string | null {
  if (code <= 128 || code > 128 + 64) return null;
  const n = code - 128;
  for (const [name, num] of Object.entries(os.constants.signals)) if (num === n) return name;
  return null;
}

/**
 * Kill every trial process group recorded under `runDir` that has no exit
 * marker yet (test cleanup; a kernel's "stop everything" after a restart).
 */
export function killRunDirTrials(runDir: string): number {
  const trials = path.join(runDir, "trials");
  let n = killRunDirWorkers(runDir);
  let names: string[] = [];
  try {
    names = fs.readdirSync(trials);
  } catch {
    return 0;
  }
  for (const id of names) {
    const dir = path.join(trials, id);
    const lf = readJson<LaunchFile>(path.join(dir, "launch.json")) ?? readPid(path.join(dir, "wrapper.pid"));
    if (!lf || fs.existsSync(path.join(dir, "exit.json")) || lf.pid <= 0) continue;
    try {
      process.kill(-lf.pid, "SIGKILL");
      n++;
    } catch {
      /* gone */
    }
  }
  return n;
}
