/**
 * The SLURM backend: trials become sbatch jobs (a batch of several becomes
 * one job array throttled with %maxConcurrent); one remote command per poll
 * brings every state change and every new report line back. Transport only:
 * decisions come from the driver through decide()/stop()/pause().
 *
 * Secrets (issue 14): run.sh carries trainer.env, so every remote command
 * that creates files runs under `umask 077` and the experiment's directories
 * are chmod 700 (jobs inherit the umask from sbatch, so their output, logs
 * and checkpoints are private too). Write-ahead: `prepare` uploads a trial's
 * files before the driver journals its launch; `adopt` submits a prepared
 * trial that has no job yet (or finds the job its submit marker names).
 */
import * as os from "node:os";
import type { SlurmBackendSpec } from "../../config/types";
import { newReaderState, parseNewBytes, type ReaderState } from "../metrics-reader";
import { checkTrialId } from "../trial-files";
import type { AdoptedTrial, Backend, BackendEvent, TrialLaunch, TrialState } from "../types";
import { reusableLaunch } from "../local-workers";
import { fromJobTimes, fromSacct, fromTrialStamps } from "./accounting";
import {
  jobOptionsFrom, renderArrayScript, renderJobScript, renderRunScript, renderTrialJson, renderWorkerJobScript, renderWorkerRunScript, writeFileLines,
} from "./jobscript";
import { parsePollOutput, renderPollScript, type JobInfo, type PollTrial } from "./poll";
import { insideDir, pathComponent, shq } from "./quote";
import type { Transport } from "./transport";
import { SlurmWorkerPool, slurmWorkerKey, workerJobIdLine, workerPySource, type SlurmWorker, type WorkerJson } from "./workers";

export interface SlurmBackendOptions {
  experiment: string;
  transport: Transport;
  /** array throttle (%N) for batches; default: no limit */
  maxConcurrent?: number;
  /** submit a batch of trials as one job array (default true) */
  arrays?: boolean;
  /** a warm worker's job ends after this many seconds without a trial (a driver that went away); default 60 */
  workerIdleTimeoutS?: number;
  /** reuseProcesses: seconds a stopped or paused trial may take to checkpoint before its worker's job is cancelled; default 60 */
  workerStopGraceS?: number;
}

interface TrialRec {
  id: string;
  idx: number;
  dir: string;
  gpus: number;
  maxT: number;
  jobKey: string | null;
  reader: ReaderState;
  /** highest t emitted: report lines at or below it (a requeued run repeating steps) are duplicates */
  lastT: number;
  state: TrialState | null;
  done: boolean;
  pauseRequested: boolean;
  stopRequested: boolean;
  stopDecidedAt: number | null;
  absentPolls: number;
  lastJob?: JobInfo;
  /** terminal; waiting for sacct's record */
  acctPending: boolean;
  acctAttempts: number;
  /** when the trial ended (ms, backend clock): slurmdbd may lag that long behind */
  acctSince: number;
  everRan: boolean;
  /** reuseProcesses: the launch, when a warm worker runs (or will run) it */
  launch?: TrialLaunch;
  /** the pool's worker it was handed to (this instance's) */
  worker?: SlurmWorker;
  /** adopted: the directory of the worker (of an earlier instance) that runs it; told to quit when the trial ends */
  workerDir?: string;
  submittedAt?: number;
  /** worker runs so far: seconds between START and FINISH, first START (epoch s) */
  runSeconds?: number;
  firstStart?: number | null;
  /** runs resumed after their worker's job ended, and lastT at the last resume */
  resumes?: number;
  resumedAt?: number;
  lastCheckpoint?: string | null;
  /** when stop/pause was asked (ms), and whether the worker's job was cancelled for a trainer that did not react */
  stopAskedAt?: number;
  forced?: boolean;
  /** resumed: trial.json is rewritten before its next worker gets it */
  needsRewrite?: boolean;
  /** adopt: trial.json as read (base64), until the worker line is read */
  trialJson?: string;
  /** adopted with reports seen by the earlier instance and none since: where it stands is not known here */
  adoptedBlind?: boolean;
}

/**
 * How long an ended job's sacct record may lag (slurmdbd writes it
 * asynchronously) before its accounting falls back to squeue's job times.
 * Counted in time, not polls: a fast poll interval must not cut it short.
 */
const SACCT_PATIENCE_MS = 60_000;

const SQUEUE_STATE: Record<string, TrialState> = {
  PENDING: "queued", REQUEUED: "queued", REQUEUE_HOLD: "queued", REQUEUE_FED: "queued", CONFIGURING: "running",
  RUNNING: "running", COMPLETING: "running", SUSPENDED: "running", STOPPED: "running", RESIZING: "running", SIGNALING: "running",
};
const SIGNALS: Record<number, string> = { 1: "SIGHUP", 2: "SIGINT", 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM", 10: "SIGUSR1", 7: "SIGBUS", 8: "SIGFPE" };

export class SlurmBackend implements Backend {
  readonly kind = "slurm" as const;
  private readonly t: Transport;
  private root: string;
  private started = false;
  private readonly trials = new Map<string, TrialRec>();
  private nextIdx = 0;
  private decisions: Array<{ trialId: string; t: number; action: "continue" | "stop" }> = [];
  private pending: BackendEvent[] = [];
  private submitSeq = 0;
  private readonly token = Math.random().toString(36).slice(2, 8);
  /** per-poll cost, for benchmarks */
  lastPoll = { commands: 0, bytesReceived: 0, bytesSent: 0 };
  /** reuseProcesses: warm workers, and the trials waiting for one (FIFO) */
  readonly reuseProcesses: boolean;
  private readonly pool: SlurmWorkerPool;
  private wqueue: TrialRec[] = [];

  constructor(readonly spec: SlurmBackendSpec, readonly opts: SlurmBackendOptions) {
    this.t = opts.transport;
    if (!spec.remoteDir || !/^[A-Za-z0-9_.\/~+-]+$/.test(spec.remoteDir)) {
      throw new Error(`backend.remoteDir: ${JSON.stringify(spec.remoteDir)} must be a path of letters, digits and _ . / ~ + - (no spaces or shell characters)`);
    }
    if (spec.remoteDir.split("/").includes("..")) throw new Error(`backend.remoteDir: ".." is not allowed`);
    this.root = insideDir(this.remoteDirAbs(spec.remoteDir), pathComponent(opts.experiment));
    // off unless asked (see the README): an idle worker holds its allocation between trials
    this.reuseProcesses = spec.reuseProcesses ?? false;
    this.pool = new SlurmWorkerPool(() => this.root, this.token);
  }

  get transport(): Transport {
    return this.t;
  }

  private remoteDirAbs(dir: string, home?: string): string {
    if (dir === "~" || dir.startsWith("~/")) return (home ?? (this.t.kind === "local" ? os.homedir() : "~")) + dir.slice(1);
    if (!dir.startsWith("/")) return (home ?? (this.t.kind === "local" ? os.homedir() : "~")) + "/" + dir;
    return dir;
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.t.connect();
    const r = await this.t.run('echo "@@TL HOME $HOME"\n');
    const home = /@@TL HOME (.*)/.exec(r.stdout.toString())?.[1]?.trim();
    if (!home) throw new Error(`cannot read $HOME on the cluster: ${r.stderr.trim()}`);
    this.root = insideDir(this.remoteDirAbs(this.spec.remoteDir, home), pathComponent(this.opts.experiment));
    for (const rec of this.trials.values()) rec.dir = this.dirOf(rec.id);
    const dirs = [this.root, this.root + "/trials", this.root + "/batches", ...(this.reuseProcesses ? [this.root + "/workers"] : [])].map(shq).join(" ");
    // worker.py travels with the backend: the cluster need not have this checkout
    const upload = this.reuseProcesses ? writeFileLines(this.root + "/workers/worker.py", workerPySource()) : "";
    const mk = await this.t.run(`umask 077 && mkdir -p ${dirs} && chmod 700 ${dirs} && test -w ${shq(this.root)} && {\n${upload}echo "@@TL OK"\n}\n`);
    if (!mk.stdout.toString().includes("@@TL OK")) {
      throw new Error(`backend.remoteDir: cannot create or write ${this.root} on the cluster: ${mk.stderr.trim()}`);
    }
    this.started = true;
  }

  private dirOf(trialId: string): string {
    return insideDir(this.root, "trials", checkTrialId(trialId));
  }

  trialDir(trialId: string): string {
    return this.dirOf(trialId);
  }

  now(): number {
    return Date.now();
  }

  wait(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  private rec(trialId: string): TrialRec {
    const r = this.trials.get(trialId);
    if (!r) throw new Error(`unknown trial ${trialId}`);
    return r;
  }

  private newRec(id: string, gpus: number, maxT: number): TrialRec {
    const existing = this.trials.get(id);
    if (existing) return existing;
    const rec: TrialRec = {
      id, idx: this.nextIdx++, dir: this.dirOf(id), gpus, maxT, jobKey: null, reader: newReaderState(), lastT: -Infinity, state: null,
      done: false, pauseRequested: false, stopRequested: false, stopDecidedAt: null, absentPolls: 0, acctPending: false, acctAttempts: 0, acctSince: 0, everRan: false,
    };
    this.trials.set(id, rec);
    return rec;
  }

  async submit(launches: TrialLaunch[]): Promise<void> {
    await this.start();
    if (launches.length === 0) return;
    const warm = this.reuseProcesses ? launches.filter((l) => reusableLaunch(l)) : [];
    const cold = launches.filter((l) => !warm.includes(l));
    if (cold.length) await this.submitJobs(cold);
    if (warm.length) await this.submitToWorkers(warm);
  }

  /** One sbatch per trial (or one array per batch). */
  private async submitJobs(launches: TrialLaunch[]): Promise<void> {
    const seq = `${this.token}-${++this.submitSeq}`;
    const S: string[] = ["set -e", "export LC_ALL=C", "umask 077"];
    const recs = launches.map((l) => {
      checkTrialId(l.trialId);
      const rec = this.newRec(l.trialId, l.gpus, l.trial.max_t);
      // (re)submission: a resumed trial appends to the same metrics.jsonl
      Object.assign(rec, {
        gpus: l.gpus, maxT: l.trial.max_t, jobKey: null, lastT: l.trial.start_t, state: null, done: false, pauseRequested: false,
        stopRequested: false, stopDecidedAt: null, absentPolls: 0, acctPending: false, acctAttempts: 0, acctSince: 0, everRan: false, lastJob: undefined,
        launch: undefined, worker: undefined, workerDir: undefined,
      });
      this.decisions = this.decisions.filter((d) => d.trialId !== l.trialId);
      return rec;
    });
    for (const [i, l] of launches.entries()) S.push(...this.trialFileLines(recs[i], l, false));
    // group: a batch with the same GPU count becomes one array
    const useArray = (this.opts.arrays ?? true) && launches.length > 1;
    const groups = new Map<number, number[]>();
    launches.forEach((l, i) => {
      const k = useArray ? l.gpus : -1 - i;
      groups.set(k, [...(groups.get(k) ?? []), i]);
    });
    let g = 0;
    for (const idxs of groups.values()) {
      const first = launches[idxs[0]];
      const o = jobOptionsFrom(this.spec, this.opts.experiment, first.gpus);
      if (idxs.length > 1) {
        const bdir = insideDir(this.root, "batches", `${seq}-${g++}`);
        S.push(`mkdir -p ${shq(bdir)}`);
        S.push(writeFileLines(bdir + "/array.sh", renderArrayScript(o, bdir, idxs.map((i) => recs[i].dir), this.opts.maxConcurrent)));
        S.push(this.sbatchLines(bdir, `${bdir}/array.sh`, `A ${idxs.join(",")}`, "", idxs.map((i) => recs[i].dir)));
      } else {
        const d = recs[idxs[0]].dir;
        S.push(writeFileLines(d + "/job.sh", renderJobScript(o, d)));
        S.push(this.sbatchLines(d, `${d}/job.sh`, `J ${idxs[0]}`, seq, [d]));
      }
    }
    const r = await this.t.run(S.join("\n") + "\n");
    const out = r.stdout.toString();
    const errors: string[] = [];
    for (const line of out.split("\n")) {
      let m = /^@@TL JOB (A|J) ([\d,]+) (\d+)/.exec(line);
      if (m) {
        const idxs = m[2].split(",").map(Number);
        idxs.forEach((i, k) => {
          const rec = recs[i];
          rec.jobKey = m![1] === "A" ? `${m![3]}_${k}` : m![3];
          this.pending.push({ type: "state", trialId: rec.id, state: "queued", at: this.now(), jobId: rec.jobKey });
          rec.state = "queued";
        });
        continue;
      }
      m = /^@@TL ERR (A|J) ([\d,]+) (.*)$/.exec(line);
      if (m) errors.push(`${m[2].split(",").map((i) => launches[Number(i)].trialId).join(", ")}: ${m[3]}`);
    }
    const missing = recs.filter((rec) => rec.jobKey === null);
    if (missing.length) {
      for (const rec of missing) rec.done = true;
      throw new Error(`sbatch failed for ${errors.join("; ") || missing.map((x) => x.id).join(", ")}${r.stderr ? `: ${r.stderr.trim().slice(-500)}` : ""}${hint(errors.join(" ") + r.stderr)}`);
    }
  }

  /**
   * reuseProcesses: the trials' files as for a one-shot job (job.sh too, so an
   * attach that finds a trial never handed to a worker can still sbatch it),
   * then they wait for a warm worker of their kind (dispatchWorkers).
   */
  private async submitToWorkers(launches: TrialLaunch[]): Promise<void> {
    const S: string[] = ["set -e", "export LC_ALL=C", "umask 077"];
    const recs: TrialRec[] = [];
    for (const l of launches) {
      checkTrialId(l.trialId);
      const rec = this.newRec(l.trialId, l.gpus, l.trial.max_t);
      this.wqueue = this.wqueue.filter((x) => x !== rec);
      Object.assign(rec, {
        gpus: l.gpus, maxT: l.trial.max_t, jobKey: null, lastT: l.trial.start_t, state: "queued", done: false, pauseRequested: false,
        stopRequested: false, stopDecidedAt: null, absentPolls: 0, acctPending: false, acctAttempts: 0, acctSince: 0, everRan: false, lastJob: undefined,
        launch: l, worker: undefined, workerDir: undefined, submittedAt: this.now(), runSeconds: 0, firstStart: null, resumes: 0, resumedAt: undefined,
        lastCheckpoint: null, stopAskedAt: undefined, forced: false,
      } satisfies Partial<TrialRec>);
      this.decisions = this.decisions.filter((d) => d.trialId !== l.trialId);
      S.push(...this.trialFileLines(rec, l));
      S.push(writeFileLines(rec.dir + "/job.sh", renderJobScript(jobOptionsFrom(this.spec, this.opts.experiment, l.gpus), rec.dir)));
      recs.push(rec);
    }
    S.push('echo "@@TL OK"');
    const r = await this.t.run(S.join("\n") + "\n");
    if (!r.stdout.toString().includes("@@TL OK")) {
      for (const rec of recs) rec.done = true;
      throw new Error(`writing the trial files of ${launches.map((l) => l.trialId).join(", ")} under ${this.root} failed: ${r.stderr.trim().slice(-500)}`);
    }
    this.wqueue.push(...recs);
    const failed = await this.dispatchWorkers(this.pending);
    // waiting for a slot: queued, with a job id once a worker takes it
    for (const rec of recs) if (this.wqueue.includes(rec)) this.pending.push({ type: "state", trialId: rec.id, state: "queued", at: this.now() });
    const mine = failed.filter((f) => recs.includes(f.rec));
    if (mine.length) throw new Error(`sbatch failed for ${mine.map((f) => `${f.rec.id}: ${f.message}`).join("; ")}${hint(mine.map((f) => f.message).join(" "))}`);
  }

  /**
   * A trial's own files for a (re)start: stale markers gone, trial.json,
   * run.sh (what a one-shot job runs). `warm`: a worker will run it, so the
   * job id of an earlier run goes too (sbatch rewrites it otherwise) and
   * submit.json is written.
   */
  private trialFileLines(rec: TrialRec, l: TrialLaunch, warm = true): string[] {
    const d = rec.dir;
    return [
      `mkdir -p ${shq(d + "/checkpoints")} && chmod 700 ${shq(d)}`,
      `rm -f ${shq(d + "/.pause")} ${shq(d + "/exitcode")} ${shq(d + "/control.json")} ${shq(d + "/worker.json")}${warm ? " " + shq(d + "/jobid") : ""}`,
      // stale decision files from an earlier run of this trial id (t > start_t)
      `for f in ${shq(d)}/decision-*.json; do [ -e "$f" ] || continue; n=\${f##*/decision-}; n=\${n%.json}; [ "$n" -gt ${Math.floor(l.trial.start_t)} ] 2>/dev/null && rm -f "$f"; done`,
      writeFileLines(d + "/trial.json", renderTrialJson({ ...l.trial, trial_id: l.trialId })),
      writeFileLines(d + "/run.sh", renderRunScript({ dir: d, launch: l, setup: this.spec.setup ?? [], python: this.spec.python })),
      ...(warm ? [submitJsonLines(d, l)] : []),
    ];
  }

  /**
   * Hand waiting trials (FIFO) to idle workers of their kind, or start a
   * worker job for one while fewer than maxConcurrent workers live: ONE
   * remote command. Returns the trials whose worker could not be submitted
   * (they have failed; their events are in `events`).
   */
  private async dispatchWorkers(events: BackendEvent[]): Promise<Array<{ rec: TrialRec; message: string }>> {
    if (!this.wqueue.length) return [];
    const limit = this.opts.maxConcurrent && this.opts.maxConcurrent > 0 ? this.opts.maxConcurrent : Infinity;
    const S: string[] = ["export LC_ALL=C", "umask 077"];
    const freshMs = (this.opts.workerIdleTimeoutS ?? 60) * 500;
    // idle long enough to be leaving by its own timeout: not handed anything, not counted
    const stale = [...this.pool.workers.values()].filter((w) => !w.busy && !w.leaving && Date.now() - w.lastUsed >= freshMs);
    S.push(...this.pool.quitLines(stale));
    for (const w of stale) this.pool.drop(w);
    const started: Array<{ w: SlurmWorker; rec: TrialRec }> = [];
    const handed: TrialRec[] = [];
    let rewrote = false;
    while (this.wqueue.length) {
      const rec = this.wqueue[0];
      const l = rec.launch!;
      const key = slurmWorkerKey(l);
      if (rec.needsRewrite) {
        // resumed after its worker ended: trial.json names the checkpoint (and stale markers go)
        S.push(...this.trialFileLines(rec, l));
        rec.needsRewrite = false;
        rewrote = true;
      }
      const idle = this.pool.findIdle(key, freshMs);
      if (idle) {
        this.wqueue.shift();
        S.push(...this.pool.assignLines(idle, rec.id, rec.dir, l.command));
        rec.worker = idle;
        rec.jobKey = idle.jobId;
        handed.push(rec);
        continue;
      }
      if (this.pool.inUse().length >= limit) {
        // a slot of another kind that nobody waits for makes room
        const other = this.pool.idleOther(key);
        if (!other) break;
        S.push(...this.pool.quitLines([other]));
        other.leaving = true;
      }
      this.wqueue.shift();
      const w = this.pool.create(l);
      const o = jobOptionsFrom(this.spec, this.opts.experiment, w.gpus);
      S.push(`mkdir -p ${shq(w.dir)} && chmod 700 ${shq(w.dir)}`);
      S.push(writeFileLines(w.dir + "/run.sh", renderWorkerRunScript({
        dir: w.dir, launch: l, setup: this.spec.setup ?? [], python: this.spec.python, workerPy: this.root + "/workers/worker.py", idleTimeoutS: this.opts.workerIdleTimeoutS ?? 60,
      })));
      S.push(writeFileLines(w.dir + "/job.sh", renderWorkerJobScript(o, w.dir)));
      // the first trial's job file is there before the worker starts
      S.push(...this.pool.assignLines(w, rec.id, rec.dir, l.command));
      S.push(this.sbatchLines(w.dir, `${w.dir}/job.sh`, `W ${w.idx}`, `${this.token}-${w.idx}`, [rec.dir]));
      // worker.json again, now with the job id
      S.push(workerJobIdLine(w, rec.dir));
      rec.worker = w;
      started.push({ w, rec });
    }
    if (!started.length && !handed.length && !stale.length && !rewrote) return [];
    const r = await this.t.run(S.join("\n") + "\n");
    const out = r.stdout.toString();
    const failed: Array<{ rec: TrialRec; message: string }> = [];
    for (const { w, rec } of started) {
      const ok = new RegExp(`^@@TL JOB W ${w.idx} (\\d+)`, "m").exec(out);
      if (ok) {
        w.jobId = ok[1];
        rec.jobKey = ok[1];
        events.push({ type: "state", trialId: rec.id, state: "queued", at: this.now(), jobId: ok[1] });
        continue;
      }
      const err = new RegExp(`^@@TL ERR W ${w.idx} (.*)$`, "m").exec(out);
      const message = err?.[1]?.trim() || r.stderr.trim().slice(-500) || "no answer from sbatch";
      this.pool.drop(w);
      rec.worker = undefined;
      rec.done = true;
      rec.state = "failed";
      events.push({ type: "state", trialId: rec.id, state: "failed", at: this.now(), exitCode: null, message: `sbatch of a warm worker failed: ${message}${hint(message)}` });
      events.push({ type: "accounting", trialId: rec.id, gpuSeconds: 0, runSeconds: 0, queueSeconds: 0, gpus: 0, source: "none (never ran)" });
      failed.push({ rec, message });
    }
    for (const rec of handed) if (rec.jobKey) events.push({ type: "state", trialId: rec.id, state: "queued", at: this.now(), jobId: rec.jobKey });
    return failed;
  }

  /** stop/pause of a trial run by a worker: the worker stays, its trial checkpoints (USR1 through the batch shell). */
  private async signalWorkerTrial(rec: TrialRec, what: "stop" | "pause"): Promise<void> {
    const qi = this.wqueue.indexOf(rec);
    if (qi >= 0) {
      // still waiting for a worker: nothing ran, nothing to checkpoint
      this.wqueue.splice(qi, 1);
      rec.done = true;
      rec.state = what === "stop" ? "stopped" : "paused";
      this.pending.push({ type: "state", trialId: rec.id, state: rec.state, at: this.now() });
      this.pending.push({ type: "accounting", trialId: rec.id, gpuSeconds: 0, runSeconds: 0, queueSeconds: Math.max(0, (this.now() - (rec.submittedAt ?? this.now())) / 1000), gpus: 0, source: "none (never ran)" });
      return;
    }
    if (!rec.jobKey) return;
    rec.stopAskedAt ??= this.now();
    const d = rec.dir;
    // control.json first: a worker that has not taken the job yet skips it (worker.py)
    const S = [writeFileLines(d + "/control.json", JSON.stringify({ requested: what, at: this.now() }) + "\n")];
    if (what === "pause") S.push(`touch ${shq(d + "/.pause")}`);
    if (rec.state !== "running" && rec.worker && rec.worker.jobs === 1 && rec.worker.state !== "RUNNING") {
      // its worker's job has not started and this is its only trial: cancel it
      S.push(`scancel ${shq(rec.jobKey)} 2>/dev/null`);
      rec.worker.leaving = true;
    } else {
      // a worker that has not taken the job yet ignores it (idle) and then skips the job (control.json)
      S.push(`scancel --signal=USR1 --batch ${shq(rec.jobKey)} 2>/dev/null`);
    }
    await this.t.run(S.join("\n") + "\n");
  }

  /**
   * A trial run by a worker ended (its exitcode exists) or its worker's job
   * did. Completed / stopped / paused / failed as for a one-shot job; a run
   * cut short by its worker's end (scancel, preemption, time limit, node
   * lost: exit 0 before max_t unasked, or no exit status, or a signal) is
   * resumed in another worker from its last checkpoint, once per progress.
   */
  private finishWorkerTrial(rec: TrialRec, exit: { exitCode: number | null; tail: string; state: string }, stamps: { start: number | null; end: number | null } | undefined, events: BackendEvent[], at: number, quit: Array<{ dir: string }>): void {
    const w = rec.worker;
    const code = exit.exitCode;
    if (stamps?.start != null) {
      const end = stamps.end != null && stamps.end >= stamps.start ? stamps.end : at / 1000;
      rec.runSeconds = (rec.runSeconds ?? 0) + Math.max(0, end - stamps.start);
      rec.firstStart ??= stamps.start;
    }
    if (w) {
      w.busy = null;
      w.lastUsed = Date.now();
      // a worker leaves after a crash (worker.py); a job that ended takes nothing
      if ((code !== 0 && code !== 2) || (exit.state !== "" && !["RUNNING", "PENDING", "CONFIGURING"].includes(exit.state))) w.leaving = true;
      rec.worker = undefined;
    } else if (rec.workerDir) {
      quit.push({ dir: rec.workerDir });
      rec.workerDir = undefined;
    }
    const asked = rec.stopRequested || rec.pauseRequested || rec.stopDecidedAt !== null;
    if (code === 0 && (rec.lastT >= rec.maxT || asked)) return this.finish(rec, { ...exit, state: "COMPLETED" }, events, at);
    if (code !== null && code !== 0 && code <= 128) return this.finish(rec, { ...exit, state: rec.stopRequested ? "CANCELLED" : "FAILED" }, events, at);
    if (rec.stopRequested || rec.pauseRequested) return this.finish(rec, { ...exit, state: "CANCELLED" }, events, at);
    const how = code === null ? `its job ${exit.state ? exit.state.toLowerCase() : "vanished"}` : code === 0 ? "signalled from outside" : `killed (exit code ${code})`;
    if (rec.adoptedBlind) {
      // reports this instance never saw: resuming here could repeat or skip steps
      return this.finish(rec, { ...exit, state: "FAILED", tail: `the warm worker running it ended (${how}) before this instance saw a report\n${exit.tail}` }, events, at);
    }
    if ((rec.resumes ?? 0) > 0 && rec.lastT <= (rec.resumedAt ?? -Infinity)) {
      return this.finish(rec, { ...exit, state: "FAILED", tail: `the warm worker running it ended twice without progress (${how})\n${exit.tail}` }, events, at);
    }
    // resume elsewhere from the last checkpoint, as a requeued one-shot job does (run.sh)
    rec.resumes = (rec.resumes ?? 0) + 1;
    rec.resumedAt = rec.lastT;
    const l = rec.launch!;
    if (rec.lastCheckpoint && Number.isFinite(rec.lastT)) {
      rec.launch = { ...l, trial: { ...l.trial, start_t: rec.lastT, restore_from: insideDir(rec.dir, rec.lastCheckpoint) } };
    }
    rec.jobKey = null;
    rec.state = "queued";
    rec.absentPolls = 0;
    rec.stopAskedAt = undefined;
    rec.forced = false;
    rec.needsRewrite = true;
    this.wqueue.unshift(rec);
    events.push({ type: "state", trialId: rec.id, state: "queued", at, message: `the warm worker running it ended (${how}): resuming from t=${rec.lastT} in another worker` });
  }

  /** Write-ahead: trial.json, run.sh and a job.sh per trial exist before the journal names the launch. */
  async prepare(launches: TrialLaunch[]): Promise<void> {
    await this.start();
    if (!launches.length) return;
    const S: string[] = ["set -e", "export LC_ALL=C", "umask 077"];
    for (const l of launches) {
      const d = this.dirOf(checkTrialId(l.trialId));
      S.push(`mkdir -p ${shq(d + "/checkpoints")} && chmod 700 ${shq(d)}`);
      // a stale job id of an earlier run must not be adopted for this one
      S.push(`rm -f ${shq(d + "/jobid")} ${shq(d + "/exitcode")} ${shq(d + "/.pause")} ${shq(d + "/control.json")} ${shq(d + "/worker.json")} ${shq(d)}/.submitted-*`);
      // a warm trial's launch: attach hands it to a worker when it was never submitted
      if (this.reuseProcesses && reusableLaunch(l)) S.push(submitJsonLines(d, l));
      S.push(writeFileLines(d + "/trial.json", renderTrialJson({ ...l.trial, trial_id: l.trialId })));
      S.push(writeFileLines(d + "/run.sh", renderRunScript({ dir: d, launch: l, setup: this.spec.setup ?? [], python: this.spec.python })));
      S.push(writeFileLines(d + "/job.sh", renderJobScript(jobOptionsFrom(this.spec, this.opts.experiment, l.gpus), d)));
    }
    S.push('echo "@@TL OK"');
    const r = await this.t.run(S.join("\n") + "\n");
    if (!r.stdout.toString().includes("@@TL OK")) throw new Error(`writing the trial files of ${launches.map((l) => l.trialId).join(", ")} under ${this.root} failed: ${r.stderr.trim().slice(-500)}`);
  }

  /** sbatch once per submission token: a retried command (lost connection) does not submit twice. */
  private sbatchLines(dir: string, script: string, tag: string, seq: string, trialDirs: string[]): string {
    const marker = `${dir}/.submitted-${seq || "array"}`;
    const isArray = !seq;
    // each trial dir records its job key, so that adopt() finds it after a restart
    const jobidFiles = trialDirs.map((d, k) => `printf '%s\\n' "$J${isArray ? `_${k}` : ""}" > ${shq(d + "/jobid")}`);
    return [
      `if [ -s ${shq(marker)} ]; then J=$(cat ${shq(marker)}); else`,
      `  if J=$(sbatch --parsable ${shq(script)} 2>${shq(marker + ".err")}); then J=\${J%%;*}; printf '%s\\n' "$J" > ${shq(marker)}; else J=; fi`,
      "fi",
      `if [ -n "$J" ]; then ${jobidFiles.join("; ")}; echo "@@TL JOB ${tag} $J"; else echo "@@TL ERR ${tag} $(tr '\\n' ' ' < ${shq(marker + ".err")})"; fi`,
    ].join("\n");
  }

  async stop(trialId: string): Promise<void> {
    const rec = this.rec(trialId);
    if (rec.done) return;
    rec.stopRequested = true;
    if (rec.launch) return this.signalWorkerTrial(rec, "stop");
    if (rec.jobKey) await this.t.run(`scancel ${shq(rec.jobKey)}\n`);
  }

  async pause(trialId: string): Promise<void> {
    const rec = this.rec(trialId);
    if (rec.done) return;
    if (rec.launch) {
      rec.pauseRequested = true;
      return this.signalWorkerTrial(rec, "pause");
    }
    if (!rec.jobKey) return;
    rec.pauseRequested = true;
    // running: the batch shell forwards USR1 to the trainer (checkpoint, report, exit 0);
    // still queued: there is nothing to checkpoint, cancel it
    await this.t.run(
      `touch ${shq(rec.dir + "/.pause")}\n` +
        (rec.state === "running" ? `scancel --signal=USR1 --batch ${shq(rec.jobKey)}\n` : `scancel ${shq(rec.jobKey)}\n`),
    );
  }

  decide(trialId: string, t: number, action: "continue" | "stop"): void {
    const rec = this.rec(trialId);
    if (action === "stop") rec.stopDecidedAt = t;
    this.decisions.push({ trialId, t, action });
  }

  async copyCheckpoint(fromTrial: string, rel: string, toTrial: string): Promise<string> {
    const src = insideDir(this.dirOf(fromTrial), rel);
    const name = `from-${checkTrialId(fromTrial)}-${rel.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
    const dst = insideDir(this.dirOf(toTrial), "checkpoints", name);
    const r = await this.t.run(`mkdir -p ${shq(this.dirOf(toTrial) + "/checkpoints")} && rm -rf ${shq(dst)} && cp -a -- ${shq(src)} ${shq(dst)} && echo "@@TL OK"\n`);
    if (!r.stdout.toString().includes("@@TL OK")) throw new Error(`copying checkpoint ${rel} of ${fromTrial} failed: ${r.stderr.trim()}`);
    return dst;
  }

  async adopt(trials: AdoptedTrial[]): Promise<void> {
    await this.start();
    if (trials.length === 0) return;
    const recs = trials.map((a) => {
      const rec = this.newRec(a.trialId, 0, Infinity);
      rec.jobKey = a.jobId ?? null;
      rec.reader = newReaderState(a.offset !== undefined ? { offset: a.offset, lines: a.reportsSeen } : { skip: a.reportsSeen });
      rec.done = false;
      return rec;
    });
    // max_t and requested GPUs from the uploaded files (one command)
    const S = recs.map(
      (r) =>
        `echo "@@TL TJ ${r.idx} $(tr -d '\\n' < ${shq(r.dir + "/trial.json")} | base64 -w0) $(cat ${shq(r.dir + "/jobid")} 2>/dev/null || echo -) $(grep -o 'gres=gpu:[0-9]*' ${shq(r.dir + "/job.sh")} 2>/dev/null | head -n1)"\n` +
        // a warm worker's trial: which worker, and the launch (to resume it in another worker)
        `echo "@@TL TW ${r.idx} $(base64 -w0 < ${shq(r.dir + "/worker.json")} 2>/dev/null || echo -) $(base64 -w0 < ${shq(r.dir + "/submit.json")} 2>/dev/null || echo -)"`,
    );
    const r = await this.t.run(S.join("\n") + "\n");
    for (const line of r.stdout.toString().split("\n")) {
      const m = /^@@TL TJ (\d+) (\S*) (\S+)(?: gres=gpu:(\d+))?/.exec(line);
      if (!m) continue;
      const rec = recs.find((x) => x.idx === Number(m[1]));
      if (!rec) continue;
      try {
        const tj = JSON.parse(Buffer.from(m[2], "base64").toString("utf8")) as { max_t?: number };
        if (typeof tj.max_t === "number") rec.maxT = tj.max_t;
      } catch {
        /* unreadable trial.json: keep max_t unknown */
      }
      if (!rec.jobKey && /^\d+(_\d+)?$/.test(m[3])) rec.jobKey = m[3];
      if (m[4]) rec.gpus = Number(m[4]);
      rec.trialJson = m[2];
    }
    for (const line of r.stdout.toString().split("\n")) {
      const m = /^@@TL TW (\d+) (\S+) (\S+)/.exec(line);
      const rec = m && recs.find((x) => x.idx === Number(m[1]));
      if (!m || !rec) continue;
      const wj = decodeJson<WorkerJson>(m[2]);
      const sub = decodeJson<{ command: string[]; env: Record<string, string>; gpus: number }>(m[3]);
      const trial = rec.trialJson ? decodeJson<TrialLaunch["trial"]>(rec.trialJson) : null;
      rec.trialJson = undefined;
      if (!sub || !trial || !Array.isArray(sub.command)) continue;
      const launch: TrialLaunch = { trialId: rec.id, trial, command: sub.command, env: sub.env ?? {}, gpus: sub.gpus ?? 0 };
      if (wj && wj.dir) {
        // handed to a worker of an earlier instance: watch its exitcode; the worker is told to quit after it
        Object.assign(rec, {
          launch, workerDir: wj.dir, gpus: launch.gpus, submittedAt: this.now(), runSeconds: 0, firstStart: null, resumes: 0, lastCheckpoint: null,
          lastT: Math.max(rec.lastT, trial.start_t), adoptedBlind: rec.reader.lines > 0 || (rec.reader.skip ?? 0) > 0,
        });
        if (/^\d+$/.test(wj.jobid)) rec.jobKey = wj.jobid;
      } else if (this.reuseProcesses && !rec.jobKey) {
        // it was waiting for a worker when the driver went: it waits again
        Object.assign(rec, { launch, gpus: launch.gpus, submittedAt: this.now(), runSeconds: 0, firstStart: null, resumes: 0, lastCheckpoint: null, state: "queued" });
        this.wqueue.push(rec);
      }
    }
    // prepared but never submitted (the driver died between journaling and sbatch): submit it now,
    // unless a submit marker in the trial dir names the job it already got
    const unsubmitted = recs.filter((x) => !x.jobKey && !this.wqueue.includes(x));
    if (unsubmitted.length) {
      const S2 = ["export LC_ALL=C", "umask 077"];
      for (const x of unsubmitted) {
        const d = x.dir;
        S2.push(
          `J=; for f in ${shq(d)}/.submitted-*; do case "$f" in *.err) continue;; esac; [ -s "$f" ] && J=$(cat "$f"); done; ` +
            `if [ -z "$J" ] && [ -f ${shq(d + "/job.sh")} ]; then J=$(sbatch --parsable ${shq(d + "/job.sh")} 2>${shq(d + "/.adopt-submit.err")}) && J=\${J%%;*} || J=; fi; ` +
            `if [ -n "$J" ]; then printf '%s\\n' "$J" > ${shq(d + "/jobid")}; echo "@@TL AJ ${x.idx} $J"; else echo "@@TL AE ${x.idx} $(tr '\\n' ' ' < ${shq(d + "/.adopt-submit.err")} 2>/dev/null)"; fi`,
        );
      }
      const r2 = await this.t.run(S2.join("\n") + "\n");
      for (const line of r2.stdout.toString().split("\n")) {
        const m = /^@@TL AJ (\d+) (\d+(?:_\d+)?)/.exec(line);
        if (m) {
          const rec = unsubmitted.find((x) => x.idx === Number(m[1]));
          if (rec) {
            rec.jobKey = m[2];
            this.pending.push({ type: "state", trialId: rec.id, state: "queued", at: this.now(), jobId: rec.jobKey });
            rec.state = "queued";
          }
        }
      }
    }
    if (this.wqueue.length) await this.dispatchWorkers(this.pending);
    for (const rec of recs) {
      if (rec.jobKey || rec.done || this.wqueue.includes(rec)) continue;
      // nothing to watch: say so instead of waiting for it forever
      rec.done = true;
      this.pending.push({ type: "state", trialId: rec.id, state: "failed", at: this.now(), exitCode: null, message: `adopt: no job and no job.sh for ${rec.id} in ${rec.dir}; it never reached the cluster` });
    }
  }

  async poll(): Promise<BackendEvent[]> {
    await this.start();
    const events: BackendEvent[] = this.pending;
    this.pending = [];
    const watched = [...this.trials.values()].filter((r) => !r.done || r.acctPending);
    const decisions = this.decisions.slice();
    if (watched.length === 0 && decisions.length === 0) return events;
    const active = watched.filter((r) => !r.done && r.jobKey);
    const workers = [...this.pool.workers.values()].filter((w) => w.jobId);
    // idle workers too: a worker whose job ended must not be handed a trial
    const jobIds = [...new Set([...watched.filter((r) => r.jobKey).map((r) => r.jobKey!.split("_")[0]), ...workers.map((w) => w.jobId!)])];
    const req = {
      decisions: decisions.map((d) => ({ dir: this.dirOf(d.trialId), t: d.t, action: d.action })),
      jobIds,
      trials: active.map((r): PollTrial => ({
        idx: r.idx, dir: r.dir, offset: r.reader.offset, jobKey: r.jobKey, final: r.absentPolls >= 2, ran: r.state === "running", worker: !!r.launch,
      })),
      // a worker's job spans several trials: sacct cannot say what one of them used
      sacctIds: this.spec.accounting === "sacct" ? watched.filter((r) => r.acctPending && r.jobKey && !r.launch).map((r) => r.jobKey!) : [],
      workers: workers.map((w) => ({ idx: w.idx, dir: w.dir })),
    };
    const before = { ...this.t.stats };
    const out = await this.t.run(renderPollScript(req), { timeoutMs: 120_000 });
    this.lastPoll = {
      commands: this.t.stats.commands - before.commands,
      bytesReceived: this.t.stats.bytesReceived - before.bytesReceived,
      bytesSent: this.t.stats.bytesSent - before.bytesSent,
    };
    const res = parsePollOutput(out.stdout);
    if (!res.complete) {
      // cut short: nothing consumed, everything is asked again next time
      this.pending = events;
      throw new Error(`poll command failed (rc ${out.code}): ${out.stderr.trim().slice(-500)}`);
    }
    this.decisions = this.decisions.filter((d) => !decisions.includes(d));
    const at = this.now();
    const nodeLost: TrialRec[] = [];
    const quit: Array<{ dir: string }> = [];
    for (const rec of active) {
      const exit = res.exits.get(rec.idx);
      const shr = res.shrank.get(rec.idx);
      if (shr !== undefined) rec.reader.offset = Math.min(rec.reader.offset, shr);
      const buf = res.metrics.get(rec.idx);
      if (buf) {
        const parsed = parseNewBytes(buf, rec.reader, { final: !!exit });
        for (const x of parsed.sequence) {
          if ("rejected" in x) {
            events.push({ type: "rejected", trialId: rec.id, at, ...x.rejected });
            continue;
          }
          const rep = x.report;
          if (rep.t <= rec.lastT) {
            // repeated by a requeued run: listed, not recorded twice
            events.push({ type: "rejected", trialId: rec.id, at, record: rec.reader.lines, offset: -1, reason: `metrics.jsonl: repeats t=${rep.t} (a requeued run redoing steps already reported)`, text: JSON.stringify(rep).slice(0, 200) });
            continue;
          }
          this.markRunning(rec, events, at);
          rec.lastT = rep.t;
          if (rec.launch) {
            if (typeof rep.checkpoint === "string" && rep.checkpoint) rec.lastCheckpoint = rep.checkpoint;
            rec.adoptedBlind = false;
          }
          events.push({ type: "report", trialId: rec.id, report: rep, at });
        }
      }
      const job = res.squeueOk ? res.jobs.get(rec.jobKey!) : undefined;
      if (job) {
        rec.lastJob = job;
        rec.absentPolls = 0;
        const st = SQUEUE_STATE[job.state];
        if (st === "queued" && rec.state === "running" && res.requeued.has(rec.idx) && res.requeued.get(rec.idx) === null && !exit) {
          // requeued by SLURM although the run never finished: its node died. Report it failed
          // and cancel the requeued job so that it does not run again unobserved.
          nodeLost.push(rec);
          continue;
        }
        if (st && st !== rec.state && !exit) {
          if (st === "running") rec.everRan = true;
          rec.state = st;
          events.push({ type: "state", trialId: rec.id, state: st, at, jobId: rec.jobKey!, message: st === "queued" && job.reason !== "None" ? job.reason : undefined });
        }
      } else if (res.squeueOk && !exit) {
        rec.absentPolls++; // purged from slurmctld's memory: ask for the exit file
      }
      if (exit && rec.launch) this.finishWorkerTrial(rec, exit, res.stamps.get(rec.idx), events, at, quit);
      else if (exit) this.finish(rec, exit, events, at);
    }
    this.updateWorkers(res.squeueOk ? res.jobs : null, res.leaving);
    const extra: string[] = this.pool.quitLines(quit);
    // a trainer that did not react to its stop/pause: its worker's job goes (the trial ends as asked)
    const grace = (this.opts.workerStopGraceS ?? 60) * 1000;
    for (const rec of active) {
      if (!rec.launch || rec.done || rec.forced || rec.stopAskedAt === undefined || at - rec.stopAskedAt < grace || !rec.jobKey) continue;
      rec.forced = true;
      if (rec.worker) rec.worker.leaving = true;
      extra.push(`scancel ${shq(rec.jobKey)}`);
    }
    if (extra.length) await this.t.run(extra.join("\n") + "\n");
    if (nodeLost.length) {
      const r = await this.t.run(
        nodeLost.map((x) => `scancel ${shq(x.jobKey!)}; echo "@@TL T ${x.idx} $(tail -c 3000 ${shq(x.dir + "/trainer.out")} 2>/dev/null | base64 -w0)"`).join("\n") + "\n",
      );
      for (const rec of nodeLost) {
        const m = new RegExp(`^@@TL T ${rec.idx} (\\S*)`, "m").exec(r.stdout.toString());
        const tail = m ? Buffer.from(m[1], "base64").toString("utf8") : "";
        this.finish(rec, { exitCode: null, tail, state: "NODE_FAIL" }, events, at);
      }
    }
    // accounting from sacct for jobs that ended earlier
    if (req.sacctIds.length) {
      for (const rec of watched.filter((r) => r.acctPending)) {
        const rows = res.sacct.filter((s) => s.jobId === rec.jobKey);
        rec.acctAttempts++;
        if (rows.length && rows.every((x) => x.end && x.end !== "Unknown")) {
          rec.acctPending = false;
          events.push({ type: "accounting", trialId: rec.id, ...fromSacct(rows, rec.gpus) });
        } else if ((rec.acctAttempts > 15 && at - rec.acctSince > SACCT_PATIENCE_MS) || (!res.sacctOk && rec.acctAttempts > 2)) {
          rec.acctPending = false;
          events.push({ type: "accounting", trialId: rec.id, ...fromJobTimes(rec.lastJob, rec.gpus), source: "squeue (sacct had no record)" });
        }
      }
    }
    // workers freed by trials that ended take the next waiting ones
    await this.dispatchWorkers(events);
    return events;
  }

  /** Worker jobs' states from squeue; leaving ones (retire/quit, job ended) take no further trial. */
  private updateWorkers(jobs: Map<string, JobInfo> | null, leaving: Map<number, boolean>): void {
    for (const w of [...this.pool.workers.values()]) {
      if (!w.jobId) continue;
      if (leaving.get(w.idx)) w.leaving = true;
      if (jobs) {
        const j = jobs.get(w.jobId);
        if (j) {
          w.state = j.state;
          w.absentPolls = 0;
          if (!["PENDING", "CONFIGURING", "RUNNING"].includes(j.state)) w.leaving = true;
        } else if (++w.absentPolls >= 3) w.leaving = true;
      }
      if (w.leaving && !w.busy) this.pool.drop(w);
    }
  }

  private finish(rec: TrialRec, exit: { exitCode: number | null; tail: string; state: string }, events: BackendEvent[], at: number): void {
    const sq = exit.state;
    const code = exit.exitCode;
    let state: TrialState;
    let message: string | undefined;
    let signal: string | null = null;
    if (code !== null && code > 128) signal = SIGNALS[code - 128] ?? `signal ${code - 128}`;
    if (sq === "CANCELLED" || (rec.stopRequested && code !== 0)) {
      state = rec.pauseRequested ? "paused" : "stopped";
      message = rec.stopRequested || rec.pauseRequested ? undefined : "cancelled outside tunelab (scancel)";
    } else if (sq === "PREEMPTED") {
      state = "paused";
      message = "preempted";
    } else if ((sq === "COMPLETED" || sq === "") && code === 0) {
      if (rec.stopDecidedAt !== null && rec.lastT <= rec.stopDecidedAt) state = "stopped";
      else if (rec.lastT >= rec.maxT) state = "completed";
      else if (rec.pauseRequested) state = "paused";
      else if (rec.stopRequested || rec.stopDecidedAt !== null) state = "stopped";
      else {
        state = "failed";
        message = `trainer exited 0 at t=${rec.lastT} before max_t=${rec.maxT}`;
      }
    } else {
      state = "failed";
      const why =
        sq === "NODE_FAIL" ? "node failure" : sq === "TIMEOUT" ? "time limit reached" : sq === "OUT_OF_MEMORY" ? "out of memory" : sq === "" ? "job no longer known to SLURM" : sq.toLowerCase();
      message = `${why}${code !== null ? `, exit code ${code}` : ""}${signal ? ` (${signal})` : ""}${exit.tail ? `\n--- tail of output ---\n${exit.tail.trimEnd().split("\n").slice(-20).join("\n")}` : ""}`;
    }
    // it ran and ended between two polls: say so before the end
    if (!rec.everRan && code !== null) this.markRunning(rec, events, at);
    rec.done = true;
    rec.state = state;
    events.push({ type: "state", trialId: rec.id, state, at, exitCode: code, signal, message, jobId: rec.jobKey ?? undefined });
    if (rec.launch) events.push({ type: "accounting", trialId: rec.id, ...fromTrialStamps(rec.runSeconds ?? 0, rec.firstStart ?? null, rec.submittedAt, rec.gpus) });
    else if (this.spec.accounting === "sacct") {
      rec.acctPending = true;
      rec.acctSince = at;
    }
    else events.push({ type: "accounting", trialId: rec.id, ...fromJobTimes(rec.lastJob, rec.gpus) });
  }

  private markRunning(rec: TrialRec, events: BackendEvent[], at: number): void {
    if (rec.state === "running") return;
    rec.everRan = true;
    rec.state = "running";
    events.push({ type: "state", trialId: rec.id, state: "running", at, jobId: rec.jobKey ?? undefined });
  }

  /** Trials whose job has not ended, with what adopt() needs after a restart. */
  snapshot(): AdoptedTrial[] {
    return [...this.trials.values()].map((r) => ({ trialId: r.id, jobId: r.jobKey ?? undefined, reportsSeen: r.reader.lines, offset: r.reader.offset }));
  }

  /** Stop watching. Idle workers leave now, busy ones after their trial (the trials keep running, as one-shot jobs do). */
  async close(): Promise<void> {
    const dirs = [...this.pool.workers.values(), ...[...this.trials.values()].flatMap((r) => (r.workerDir && !r.done ? [{ dir: r.workerDir }] : []))];
    if (dirs.length && this.started) await this.t.run(this.pool.quitLines(dirs).join("\n") + "\n").catch(() => undefined);
    await this.t.close();
  }
}

/** submit.json of a warm trial: attach rebuilds the launch from it (the trainer env: private, like run.sh). */
function submitJsonLines(dir: string, l: TrialLaunch): string {
  return writeFileLines(dir + "/submit.json", JSON.stringify({ command: l.command, env: l.env ?? {}, gpus: l.gpus ?? 0 }) + "\n");
}

function decodeJson<T>(b64: string): T | null {
  if (!b64 || b64 === "-") return null;
  try {
    return JSON.parse(Buffer.from(b64, "base64").toString("utf8")) as T;
  } catch {
    return null;
  }
}

function hint(s: string): string {
  if (/command not found|sbatch: not found/.test(s)) return " (sbatch is not on PATH of a login shell on the cluster: add it, e.g. `module load slurm` in ~/.bash_profile)";
  if (/Invalid partition/i.test(s)) return " (check backend.partition against `sinfo -s`)";
  if (/Invalid account|Invalid qos/i.test(s)) return " (check backend.account / backend.qos with `sacctmgr show assoc user=$USER`)";
  if (/Requested node configuration is not available|Invalid generic resource/i.test(s)) return " (no node offers that many GPUs/CPUs/memory in this partition: lower gpusPerTrial, cpusPerTrial or memPerTrial)";
  return "";
}
