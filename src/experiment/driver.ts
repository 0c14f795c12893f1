/**
 * The experiment driver: the only loop with side effects (design.md). Every
 * decision is the controller's (controller.ts, pure); the driver keeps the
 * async loop, the journal and the effect runner.
 *
 * One iteration ("batch"):
 *   1. `events = await backend.poll()`;
 *   2. `controller.step({events, now, user})` → experiment events + effects (data);
 *   3. the events go to the history, the listeners and the journal; new runs'
 *      files are prepared (write-ahead); then a commit line: a delta (the
 *      driver state that changed + the scheduler/searcher calls of the batch)
 *      or, every so often, a full snapshot (compaction);
 *   4. only then the effects run (decide, stop, pause, copy a checkpoint,
 *      submit, policy files), and the driver waits for the next poll — cut
 *      short when a live trial's directory changes (fs.watch, local backend:
 *      a report at a decision point is answered at once), when a user acts,
 *      or, on SLURM, right after decisions so they go out with the next
 *      remote command. The replay backend's wait stops at the same instants
 *      on its virtual clock.
 * Because side effects follow the commit, a driver killed anywhere leaves a
 * journal whose last commit is consistent with what the backend was told
 * (modulo idempotent decisions and copies, which attach re-issues); events
 * after the last commit are dropped on attach and re-delivered by the
 * backend (`adopt` with the number of report lines already recorded).
 *
 * Journal size stays bounded: a delta is the batch's own data (a few hundred
 * bytes), and a full snapshot (which grows with the trial count: ASHA's
 * rung records) is written only when the deltas since the last one reach
 * max(1 MiB, 4 × its size), so snapshots are at most ~¼ of the journal and
 * attach replays at most that many calls.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ExperimentConfig } from "../config/types";
import type { Backend, TrialLaunch } from "../backends/types";
import type { Scheduler } from "../schedulers/types";
import type { Searcher } from "../searchers/types";
import type { Rng } from "../space/rng";
import {
  Controller, initialState, type ControllerConfig, type ControllerState, type Effect, type RecordedCall, type StepOutput, type TrialRuntime, type UserAction,
} from "./controller";
import type { ExperimentEvent } from "./events";
import { encodeJournalLine, JournalWriter, type DeltaLine, type SnapshotLine } from "./journal";
import { fileError, writeFileAtomic } from "../backends/trial-files";
import type { TrialTable } from "./table";
import { experimentMaxT } from "./results";

export { trialIdFor, type TrialRuntime, type DriverState } from "./controller";

export interface DriverOptions {
  /** ms passed to backend.wait between polls (virtual for replay). Default 1000. */
  pollMs?: number;
  /** write journal.jsonl (default true) */
  journal?: boolean;
  /** stop the loop (not the trials) after the current batch: a "kernel restart". */
  signal?: AbortSignal;
  /** test hook: throw after this many events were emitted (a crash in mid-batch). */
  crashAfterEvents?: number;
  /** default trainer argv when config.trainer.command is unset */
  defaultCommand?: string[];
  /** watch live trial directories (local backend) to answer reports at once; default true */
  watch?: boolean;
  /** a full snapshot once the deltas since the last reach max(this, 4 × its size); default 1 MiB */
  compactAfterBytes?: number;
}

export interface DriverParts {
  config: ExperimentConfig;
  backend: Backend;
  scheduler: Scheduler;
  searcher: Searcher;
  schedulerRng: Rng;
  searcherRng: Rng;
}

/** Thrown by the crash hook; nothing else. */
export class SimulatedCrash extends Error {}

/** A full snapshot once the deltas since the last one reach max(this, 4 × its size). */
const MIN_DELTA_BYTES_PER_SNAPSHOT = 1 << 20;

/** argv of the bundled trainer: /usr/bin/python3 <package>/src/trainer/train.py */
export function defaultTrainerCommand(): string[] {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const cand = path.join(dir, "src", "trainer", "train.py");
    if (fs.existsSync(cand)) return ["/usr/bin/python3", cand];
    dir = path.dirname(dir);
  }
  return ["/usr/bin/python3", path.resolve(__dirname, "../trainer/train.py")];
}

/** The controller's view of an experiment config. */
export function controllerConfig(cfg: ExperimentConfig, defaultCommand?: string[]): ControllerConfig {
  return {
    name: cfg.name, method: cfg.method.kind, metric: cfg.metric, mode: cfg.mode, seed: cfg.seed,
    samples: cfg.samples, maxConcurrent: cfg.maxConcurrent, maxT: experimentMaxT(cfg), gpusPerTrial: cfg.trainer.gpusPerTrial,
    ...(cfg.budget ? { budget: cfg.budget } : {}),
    command: cfg.trainer.command ?? defaultCommand ?? defaultTrainerCommand(),
    env: { ...cfg.trainer.env },
    trainer: trainerOptions(cfg),
  };
}

function scalarsOf(s: ControllerState): Record<string, unknown> {
  const { runtimes: _r, ...rest } = s;
  return rest;
}

function lineBytes(line: SnapshotLine | DeltaLine): number {
  return Buffer.byteLength(encodeJournalLine(line), "utf8") + 1;
}

export class Driver {
  readonly config: ExperimentConfig;
  readonly maxT: number;
  readonly controller: Controller;
  readonly events: ExperimentEvent[] = [];
  private journal: JournalWriter | null = null;
  private user: UserAction[] = [];
  private listeners = new Set<(e: ExperimentEvent) => void>();
  private emitted = 0;
  private pollMs: number;
  private wakeUp: (() => void) | null = null;
  private wakePending = false;
  private watchers = new Map<string, fs.FSWatcher>();
  /** compaction bookkeeping: bytes of the last full snapshot and of the deltas after it; the last journaled scalars */
  private snapshotBytes = 0;
  private deltaBytes = 0;
  private haveSnapshot = false;
  private lastScalars = "";
  private lastRng = "";
  /** the batch's events, written with its commit line in one write */
  private unwritten: ExperimentEvent[] = [];
  /** after every commit: JSON of each runtime as the journal has it (a delta carries only those that changed) */
  private committedRuntimes = new Map<string, string>();
  /** report object → index of its event (a delta's calls refer to reports instead of copying them) */
  private reportIndex = new WeakMap<object, number>();
  /** decision batches processed (bench figure) */
  batches = 0;
  /** journal commits written: full snapshots and deltas (bench figure) */
  commits = { snapshots: 0, deltas: 0 };

  constructor(readonly parts: DriverParts, readonly opts: DriverOptions = {}) {
    this.config = parts.config;
    this.maxT = experimentMaxT(parts.config);
    this.pollMs = opts.pollMs ?? 1000;
    const backend = parts.backend;
    this.controller = new Controller(controllerConfig(parts.config, opts.defaultCommand), parts.scheduler, parts.searcher, {
      trialDir: (id) => backend.trialDir(id),
      recordCalls: opts.journal !== false,
    });
  }

  get backend(): Backend { return this.parts.backend; }
  get scheduler(): Scheduler { return this.parts.scheduler; }
  get searcher(): Searcher { return this.parts.searcher; }
  get table(): TrialTable { return this.controller.table; }
  get state(): ControllerState { return this.controller.state; }
  get decisions(): number { return this.controller.decisions; }

  subscribe(fn: (e: ExperimentEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // ---------------------------------------------------------------- journal

  /** Open the journal (fresh: truncate; attach: cut after the last commit). */
  openJournal(truncateTo?: number): void {
    if (this.opts.journal === false) return;
    const file = path.join(this.config.runDir, "journal.jsonl");
    if (truncateTo === undefined && fs.existsSync(file)) fs.truncateSync(file, 0);
    this.journal = new JournalWriter(file, truncateTo);
  }

  /**
   * Rebuild state from journaled events + the last snapshot + the deltas
   * after it (attach): the scheduler and searcher get the snapshot's state
   * and then every call recorded since, in order. No events are emitted.
   */
  restore(events: readonly ExperimentEvent[], snap: SnapshotLine, deltas: readonly DeltaLine[] = []): void {
    for (const e of events) {
      if (e.type === "report") this.reportIndex.set(e.report, this.events.length);
      this.events.push(e);
      this.table.apply(e);
    }
    this.emitted = events.length;
    this.scheduler.setState(snap.scheduler);
    this.searcher.setState(snap.searcher);
    this.parts.schedulerRng.setState(snap.rng.scheduler);
    this.parts.searcherRng.setState(snap.rng.searcher);
    // defaults first: a snapshot written by an older driver may lack newer fields
    const state: ControllerState = { ...initialState(), ...(JSON.parse(JSON.stringify(snap.driver)) as Partial<ControllerState>) };
    const deref = (a: unknown): unknown => {
      const ref = a && typeof a === "object" ? (a as { $report?: unknown; trial?: string; t?: number }) : undefined;
      if (!ref || typeof ref.$report !== "number") return a;
      const fits = (e: ExperimentEvent | undefined) => !!e && e.type === "report" && e.trialId === ref.trial && e.report.t === ref.t;
      let e: ExperimentEvent | undefined = this.events[ref.$report];
      // events recovered from trial dirs (a corrupt journal line) shift the indices: find it by trial and t
      if (!fits(e)) e = [...this.events].reverse().find(fits);
      if (!e || e.type !== "report") throw new Error(`journal delta refers to a report of ${ref.trial} at t=${ref.t} that the journal lacks`);
      return e.report;
    };
    for (const d of deltas) {
      this.controller.replayCalls((d.calls as RecordedCall[]).map(([t, m, args]) => [t, m, args.map(deref)] as RecordedCall));
      if (d.rng) {
        this.parts.schedulerRng.setState(d.rng.scheduler);
        this.parts.searcherRng.setState(d.rng.searcher);
      }
      if (d.driver.scalars) Object.assign(state, JSON.parse(JSON.stringify(d.driver.scalars)));
      for (const [id, rt] of Object.entries(d.driver.runtimes)) {
        if (rt === null) delete state.runtimes[id];
        else state.runtimes[id] = JSON.parse(JSON.stringify(rt)) as TrialRuntime;
      }
    }
    this.controller.state = state;
    this.haveSnapshot = true;
    this.snapshotBytes = lineBytes(snap);
    this.deltaBytes = deltas.reduce((s, d) => s + lineBytes(d), 0);
    this.lastScalars = JSON.stringify(scalarsOf(state));
    this.lastRng = JSON.stringify({ scheduler: this.parts.schedulerRng.getState(), searcher: this.parts.searcherRng.getState() });
    this.rememberRuntimes();
  }

  private rememberRuntimes(): void {
    this.committedRuntimes.clear();
    for (const [id, rt] of Object.entries(this.controller.state.runtimes)) this.committedRuntimes.set(id, JSON.stringify(rt));
  }

  private publish(out: StepOutput): void {
    for (const e of out.events) {
      if (this.opts.crashAfterEvents !== undefined && this.emitted >= this.opts.crashAfterEvents) {
        throw new SimulatedCrash(`simulated crash after ${this.emitted} events`);
      }
      this.emitted++;
      this.events.push(e);
      if (e.type === "report") this.reportIndex.set(e.report, this.emitted - 1);
      if (this.journal) this.unwritten.push(e);
      for (const fn of this.listeners) {
        try { fn(e); } catch { /* a broken view must not stop the experiment */ }
      }
    }
  }

  /** The batch's commit line (before its effects run): a delta, or a full snapshot when due. */
  private commit(hadEvents: boolean): void {
    const calls = this.controller.takeCalls();
    const touched = this.controller.takeTouched();
    if (!this.journal) return;
    const state = this.controller.state;
    const scalars = scalarsOf(state);
    const sj = JSON.stringify(scalars);
    const rng = { scheduler: this.parts.schedulerRng.getState(), searcher: this.parts.searcherRng.getState() };
    const rj = JSON.stringify(rng);
    const runtimes: Record<string, unknown | null> = {};
    let changed = 0;
    for (const id of touched) {
      const rt = state.runtimes[id];
      const j = rt ? JSON.stringify(rt) : null;
      if (j === (this.committedRuntimes.get(id) ?? null)) continue;
      runtimes[id] = rt ?? null;
      changed++;
      if (j === null) this.committedRuntimes.delete(id);
      else this.committedRuntimes.set(id, j);
    }
    if (!hadEvents && calls.length === 0 && changed === 0 && sj === this.lastScalars && rj === this.lastRng) {
      this.flush();
      return;
    }
    const scalarsChanged = sj !== this.lastScalars;
    const rngChanged = rj !== this.lastRng;
    this.lastScalars = sj;
    this.lastRng = rj;
    const at = this.backend.now();
    if (!this.haveSnapshot || this.deltaBytes >= Math.max(this.opts.compactAfterBytes ?? MIN_DELTA_BYTES_PER_SNAPSHOT, 4 * this.snapshotBytes)) {
      const line: SnapshotLine = {
        type: "snapshot", at, events: this.emitted,
        scheduler: this.scheduler.getState(), searcher: this.searcher.getState(), rng,
        driver: state,
      };
      this.flush(line);
      this.rememberRuntimes();
      this.haveSnapshot = true;
      this.snapshotBytes = lineBytes(line);
      this.deltaBytes = 0;
      this.commits.snapshots++;
      return;
    }
    const refs = this.reportIndex;
    const compact = calls.map(([t, m, args]) => [t, m, args.map((a) => {
      const i = a && typeof a === "object" ? refs.get(a) : undefined;
      if (i === undefined) return a;
      const e = this.events[i] as Extract<ExperimentEvent, { type: "report" }>;
      return { $report: i, trial: e.trialId, t: e.report.t };
    })] as RecordedCall);
    const line: DeltaLine = {
      type: "delta", at, events: this.emitted, calls: compact,
      ...(rngChanged ? { rng } : {}),
      driver: { ...(scalarsChanged ? { scalars } : {}), runtimes },
    };
    this.deltaBytes += this.flush(line);
    this.commits.deltas++;
  }

  /** Write the batch's events (and its commit line); returns the commit line's bytes. */
  private flush(commit?: SnapshotLine | DeltaLine): number {
    const lines: Array<ExperimentEvent | SnapshotLine | DeltaLine> = this.unwritten;
    this.unwritten = [];
    if (!this.journal) return 0;
    if (commit) lines.push(commit);
    const last = this.journal.appendMany(lines);
    return commit ? last : 0;
  }

  closeJournal(): void {
    this.flush();
    this.journal?.close();
    this.journal = null;
  }

  // ---------------------------------------------------------------- loop

  /** Runs until the experiment ends (or the abort signal fires). Returns the final experiment state. */
  async loop(fresh: boolean): Promise<string> {
    try {
      if (fresh) {
        this.publish(this.controller.begin(this.backend.now()));
      } else if (this.state.interrupted === "pause") {
        // attach after a pausing interrupt: what it parked runs again
        this.user.unshift({ kind: "resumeInterrupted" });
      }
      for (;;) {
        if (this.opts.signal?.aborted) return "aborted";
        if (this.state.finished) return this.table.experimentState;
        const polled = await this.backend.poll();
        const out = this.controller.step({ events: polled, now: this.backend.now(), user: this.user.splice(0) });
        this.publish(out);
        // write-ahead: the new runs' files exist before the commit says they were launched
        const launches = out.effects.filter((f): f is Extract<Effect, { kind: "submit" }> => f.kind === "submit").map((f) => f.launch);
        if (launches.length && this.backend.prepare) await this.backend.prepare(launches);
        this.commit(out.events.length > 0);
        this.batches++;
        await this.runEffects(out.effects);
        if (out.end) return out.end;
        await this.waitOrWake(out.effects);
      }
    } finally {
      this.unwatchAll();
    }
  }

  private async waitOrWake(fx: readonly Effect[]): Promise<void> {
    // SLURM writes decision files with its next remote command: poll again at once
    const flush = this.backend.kind === "slurm" && fx.some((f) => f.kind === "decide");
    this.syncWatchers();
    if (this.wakePending) {
      this.wakePending = false;
      return;
    }
    const ms = flush ? 0 : this.pollMs;
    // real-time backends: our own timer, cleared on a wake, so a finished run leaves no timer behind
    let timer: NodeJS.Timeout | undefined;
    const waited = this.backend.kind === "replay" ? this.backend.wait(ms) : new Promise<void>((r) => { timer = setTimeout(r, ms); });
    await Promise.race([waited, new Promise<void>((resolve) => { this.wakeUp = resolve; })]);
    if (timer) clearTimeout(timer);
    this.wakeUp = null;
    this.wakePending = false;
  }

  /** Cut the current wait short (or the next one, when none is in progress). */
  private wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.wakePending = true;
  }

  /** Local trials: a change in a live trial's directory (a report, a decision wait, an exit) wakes the loop. */
  private syncWatchers(): void {
    if (this.opts.watch === false || this.backend.kind !== "local") return;
    const live = new Set<string>();
    for (const [id, rt] of Object.entries(this.state.runtimes)) if (rt.live) live.add(id);
    for (const [id, w] of this.watchers) {
      if (!live.has(id)) {
        w.close();
        this.watchers.delete(id);
      }
    }
    for (const id of live) {
      if (this.watchers.has(id)) continue;
      try {
        const w = fs.watch(this.backend.trialDir(id), () => this.wake());
        w.on("error", () => { w.close(); this.watchers.delete(id); });
        this.watchers.set(id, w);
      } catch {
        /* no directory yet, or no inotify: the poll still sees it */
      }
    }
  }

  private unwatchAll(): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private async runEffects(fx: readonly Effect[]): Promise<void> {
    for (const f of fx) await this.runEffect(f);
  }

  private async runEffect(f: Effect): Promise<void> {
    const b = this.backend;
    switch (f.kind) {
      case "submit":
        if (f.copyFrom) f.launch.trial.restore_from = await b.copyCheckpoint(f.copyFrom.donor, f.copyFrom.checkpoint, f.launch.trialId);
        await b.submit([f.launch]);
        return;
      case "decide":
        b.decide(f.trialId, f.t, f.action);
        return;
      case "stop":
        await b.stop(f.trialId);
        return;
      case "pause":
        await b.pause(f.trialId);
        return;
      case "copy": {
        const p = await b.copyCheckpoint(f.donor, f.checkpoint, f.trialId);
        this.controller.copied(f.trialId, f.donor, f.checkpoint, p);
        return;
      }
      case "policies": {
        // pbt_global.txt (appended) and pbt_policy_<id>.txt (the donor's rows, plus the new one)
        const globalFile = path.join(this.config.runDir, "pbt_global.txt");
        try {
          fs.mkdirSync(this.config.runDir, { recursive: true });
          fs.appendFileSync(globalFile, JSON.stringify(f.global) + "\n");
        } catch (e) {
          throw fileError("write", globalFile, e);
        }
        writeFileAtomic(path.join(this.config.runDir, `pbt_policy_${f.trialId}.txt`), f.lineage.map((r) => JSON.stringify(r) + "\n").join(""));
        return;
      }
    }
  }

  /** After attach: re-issue idempotent side effects the crash may have lost. */
  async reissue(): Promise<void> {
    await this.runEffects(this.controller.reissueEffects());
  }

  // ---------------------------------------------------------------- user actions

  stopTrial(trialId: string): void {
    this.user.push({ kind: "stopTrial", trialId });
    this.wake();
  }

  setUserPaused(p: boolean): void {
    this.user.push({ kind: "pauseNew", paused: p });
    this.wake();
  }

  /** Interrupt: start no new trials, stop (or pause at a checkpoint) the running ones; the loop then ends. */
  requestStop(how: "stop" | "pause"): void {
    this.user.push({ kind: "interrupt", how });
    this.wake();
  }
}

/** trial.json "trainer": the model family and options the trainer needs. */
export function trainerOptions(cfg: ExperimentConfig): Record<string, unknown> {
  const t = cfg.trainer;
  const out: Record<string, unknown> = { model: t.model, epochs: t.epochs, gpus: t.gpusPerTrial };
  if (t.dataset !== undefined) out.dataset = t.dataset;
  if (t.evalEvery !== undefined) out.evalEvery = t.evalEvery; // t counts evaluations (config/eval-every.ts)
  if (t.deepspeed !== undefined) out.deepspeed = t.deepspeed;
  if (t.options) Object.assign(out, t.options);
  return out;
}
