/**
 * Warm trainer workers for the SLURM backend (`backend.reuseProcesses`, Ray's
 * reuse_actors; the local half is ../local-workers.ts). A slot is ONE SLURM
 * job that runs src/trainer/worker.py (`--layout slurm`) in
 * `<remote run dir>/workers/<id>/`; the backend hands it trials one after the
 * other by writing job-<seq>.json there, instead of one sbatch per trial. The
 * same rule decides which launches may share a worker (reusableLaunch,
 * workerKey) and the same worker.py runs them, so each trial's files are
 * those of a one-shot SLURM trial (trial.json, metrics.jsonl, checkpoints/,
 * trainer.out with its START/FINISH stamps, exitcode).
 *
 * This file holds the pool's bookkeeping and the shell lines that talk to
 * the workers; slurm.ts decides when (dispatch in submit and poll).
 */
import * as fs from "node:fs";
import type { TrialLaunch } from "../types";
import { workerKey, workerScript } from "../local-workers";
import { writeFileLines } from "./jobscript";
import { shq } from "./quote";

export interface SlurmWorker {
  /** small number naming it in poll output */
  idx: number;
  id: string;
  /** remote directory */
  dir: string;
  key: string;
  gpus: number;
  /** its SLURM job; null until sbatch answered */
  jobId: string | null;
  /** last squeue state ("" before the first poll) */
  state: string;
  /** trial id of the job it runs (or will run first) */
  busy: string | null;
  /** seq of the last job file written */
  seq: number;
  jobs: number;
  /** retire / quit seen, or its job ended: it takes no trial */
  leaving: boolean;
  absentPolls: number;
  lastUsed: number;
}

/** worker.json in a trial dir: the worker (and its job) the trial was handed to; written before the job file. */
export interface WorkerJson {
  dir: string;
  jobid: string;
  seq: number;
}

/** squeue states in which a worker can still take a trial */
const ALIVE = new Set(["PENDING", "CONFIGURING", "RUNNING", ""]);

/** Trials of one key share a worker: interpreter, script, trainer env (workerKey) and the GPUs its job holds. */
export function slurmWorkerKey(l: TrialLaunch): string {
  return JSON.stringify([workerKey(l), l.gpus ?? 0]);
}

/** worker.py's text, uploaded to the cluster once per backend start (the cluster may not have this checkout). */
export function workerPySource(): string {
  return fs.readFileSync(workerScript(), "utf8");
}

export class SlurmWorkerPool {
  readonly workers = new Map<number, SlurmWorker>();
  private nextIdx = 0;

  constructor(
    private readonly root: () => string,
    private readonly token: string,
  ) {}

  /** Workers that hold (or will hold) an allocation for a trial: counted against the slot limit. */
  inUse(): SlurmWorker[] {
    return [...this.workers.values()].filter((w) => !w.leaving || w.busy);
  }

  /** An idle worker of this kind that cannot have reached its idle timeout yet (idle for less than `freshMs`). */
  findIdle(key: string, freshMs: number): SlurmWorker | null {
    let best: SlurmWorker | null = null;
    for (const w of this.workers.values()) {
      if (w.leaving || w.busy || w.key !== key || !w.jobId || !ALIVE.has(w.state)) continue;
      if (Date.now() - w.lastUsed >= freshMs) continue;
      if (!best || w.lastUsed > best.lastUsed) best = w;
    }
    return best;
  }

  /** An idle worker of another kind, to let go when the slot limit is reached. */
  idleOther(key: string): SlurmWorker | null {
    return [...this.workers.values()].find((w) => !w.leaving && !w.busy && w.key !== key) ?? null;
  }

  create(l: TrialLaunch): SlurmWorker {
    const idx = ++this.nextIdx;
    const id = `w-${this.token}-${idx}`;
    const w: SlurmWorker = {
      idx, id, dir: `${this.root()}/workers/${id}`, key: slurmWorkerKey(l), gpus: l.gpus ?? 0, jobId: null, state: "", busy: null, seq: 0, jobs: 0,
      leaving: false, absentPolls: 0, lastUsed: Date.now(),
    };
    this.workers.set(idx, w);
    return w;
  }

  /** The job ended or is about to: forget it. */
  drop(w: SlurmWorker): void {
    w.leaving = true;
    this.workers.delete(w.idx);
  }

  /**
   * Shell lines handing `trialDir` to `w`: worker.json in the trial dir first
   * (attach finds the trial's worker even if the driver dies right after),
   * then the job file the worker takes on its next poll.
   */
  assignLines(w: SlurmWorker, trialId: string, trialDir: string, argv: string[]): string[] {
    w.busy = trialId;
    w.seq++;
    w.jobs++;
    w.lastUsed = Date.now();
    const wj: WorkerJson = { dir: w.dir, jobid: w.jobId ?? "", seq: w.seq };
    const lines = [writeFileLines(`${trialDir}/worker.json`, JSON.stringify(wj) + "\n")];
    if (w.jobId) lines.push(`printf '%s\\n' ${shq(w.jobId)} > ${shq(trialDir + "/jobid")}`);
    lines.push(writeFileLines(`${w.dir}/job-${w.seq}.json`, JSON.stringify({ seq: w.seq, trial_dir: trialDir, argv: argv.slice(1) }) + "\n"));
    return lines;
  }

  /** Tell workers to leave once idle (a busy one finishes its trial first). */
  quitLines(ws: Iterable<{ dir: string }>): string[] {
    return [...ws].map((w) => `[ -d ${shq(w.dir)} ] && date +%s > ${shq(w.dir + "/quit")}; true`);
  }
}

/**
 * Shell line rewriting `trialDir`/worker.json once sbatch has answered, with
 * the job id read from `trialDir`/jobid. The JSON around the id is built here
 * (JSON.stringify escapes `"` and `\` in the dir); the id is sbatch's
 * --parsable output, digits.
 */
export function workerJobIdLine(w: { dir: string; seq: number }, trialDir: string): string {
  const head = `{"dir":${JSON.stringify(w.dir)},"jobid":"`;
  const tail = `","seq":${w.seq}}`;
  const j = shq(trialDir + "/jobid"), tmp = shq(trialDir + "/worker.json.tmp");
  return `if [ -s ${j} ]; then printf '%s%s%s\\n' ${shq(head)} "$(tr -d '\\n' < ${j})" ${shq(tail)} > ${tmp} && mv -f ${tmp} ${shq(trialDir + "/worker.json")}; fi`;
}
