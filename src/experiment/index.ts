/**
 * The notebook-facing API: `experiment({...})` returns an `Experiment`;
 * `await exp.run()`, `exp.show()`, `exp.best()`, `exp.table()`,
 * `exp.summaryRow()`; `experiment.attach(name)` after a kernel restart.
 *
 * Every signature here uses plain interfaces (tslab type-checks notebook
 * cells with TypeScript 5.0; zod-inferred types would not survive that).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ExperimentConfig, ExperimentInput, MethodSpec, SpaceSpec } from "../config/types";
import type { AdoptedTrial, Backend } from "../backends/types";
import type { Scheduler } from "../schedulers/types";
import type { Searcher } from "../searchers/types";
import { Rng } from "../space/rng";
import * as components from "./components";
import { Driver, type DriverOptions } from "./driver";
import type { ExperimentEvent, ExperimentSource } from "./events";
import { describeCorruption, fillMissingBrackets, readJournal } from "./journal";
import { acquireRunDirLock, type RunDirLock } from "./lock";
import { prepareFreshRunDir } from "./archive";
import { stopOnInterrupt } from "./interrupt";
import {
  buildSummary, curvesFrame, summaryRow, trialsFrame, writeSummary,
  type BestResult, type ComparisonRow, type Summary,
} from "./results";

export type { BestResult, ComparisonRow, Summary, TrialSummary, ScheduleStep } from "./results";
export type { ExperimentEvent, ExperimentSource } from "./events";

/** Options for `experiment()` / `experiment.attach()`; every part may be injected (tests, custom backends). */
export interface ExperimentOptions {
  backend?: Backend;
  scheduler?: Scheduler;
  searcher?: Searcher;
  /** ms between backend polls (default 1000; virtual time on replay). */
  pollMs?: number;
  /** write journal.jsonl / experiment.json / summary.json (default true). */
  journal?: boolean;
  /** start afresh even if runDir holds an unfinished run (its trial files are removed). */
  overwrite?: boolean;
  /** stop the driver loop (not the trials) when aborted, like a kernel restart. */
  signal?: AbortSignal;
  /** test hook: throw after this many events (a crash in mid-batch). */
  crashAfterEvents?: number;
  /** trainer argv when the config names none (default: the bundled trainer). */
  defaultCommand?: string[];
  /** journal compaction: a full snapshot once the deltas since the last reach max(this, 4 × its size) bytes (default 1 MiB) */
  compactAfterBytes?: number;
  /**
   * SIGINT of this process pauses the run (a second one stops it), as the
   * kernel's ■ Interrupt does; for the CLI. Default false: a library does not
   * take over a script's Ctrl-C. In the tunelab kernel the interrupt always applies.
   */
  handleSigint?: boolean;
  /** where interrupt messages go (default console.log: the running cell's output in the kernel) */
  write?: (line: string) => void;
}

const FINAL_STATES = new Set(["finished", "failed", "budget_exhausted", "stopped"]);

export class Experiment implements ExperimentSource {
  readonly config: ExperimentConfig;
  private readonly driver: Driver;
  private running: Promise<Summary> | null = null;
  private attached = false;

  /** Use `experiment(input)` or `experiment.attach(name)`; this takes a validated config. */
  constructor(config: ExperimentConfig, private readonly opts: ExperimentOptions = {}) {
    // absolute paths, so attach from another cwd (a restarted kernel, the CLI) finds the same files
    this.config = { ...config, runDir: path.resolve(config.runDir) };
    if (config.backend.kind === "replay") this.config.backend = { ...config.backend, curves: path.resolve(config.backend.curves) };
    config = this.config;
    const master = new Rng(config.seed);
    const schedulerRng = master.fork(1);
    const searcherRng = master.fork(2);
    const backend = opts.backend ?? components.createBackend(config);
    const scheduler = opts.scheduler ?? components.createScheduler(config, schedulerRng);
    const searcher = opts.searcher ?? components.createSearcher(config, searcherRng);
    const dopts: DriverOptions = {
      pollMs: opts.pollMs, journal: opts.journal, signal: opts.signal,
      crashAfterEvents: opts.crashAfterEvents, defaultCommand: opts.defaultCommand, compactAfterBytes: opts.compactAfterBytes,
    };
    this.driver = new Driver({ config, backend, scheduler, searcher, schedulerRng, searcherRng }, dopts);
  }

  // ---- ExperimentSource
  get name(): string { return this.config.name; }
  get metric(): string { return this.config.metric; }
  get mode(): "min" | "max" { return this.config.mode; }
  get method(): MethodSpec { return this.config.method; }
  get space(): SpaceSpec { return this.config.space; }
  get maxT(): number { return this.driver.maxT; }
  get runDir(): string { return this.config.runDir; }
  get rungs(): number[] {
    const k = this.config.method.kind;
    if (k !== "asha" && k !== "hyperband" && k !== "bohb") return [];
    return [...this.driver.state.rungs];
  }
  history(): readonly ExperimentEvent[] { return this.driver.events; }
  subscribe(fn: (e: ExperimentEvent) => void): () => void { return this.driver.subscribe(fn); }
  async stopTrial(trialId: string): Promise<void> {
    if (!this.driver.table.get(trialId)) throw new Error(`no trial ${JSON.stringify(trialId)} in experiment ${this.name}`);
    this.driver.stopTrial(trialId);
  }
  /** Start no new trials (running ones go on) until resume(). */
  pause(): void { this.driver.setUserPaused(true); }
  resume(): void { this.driver.setUserPaused(false); }
  /**
   * Interrupt the run (the kernel's interrupt): no new trials start; running
   * ones are stopped ("stop": the experiment ends "stopped") or paused at a
   * checkpoint ("pause": it ends "paused", and `experiment.attach(name)` +
   * `run()` later resumes exactly those trials). Recorded in the journal;
   * `run()` resolves once the running trials have ended.
   */
  requestStop(how: "stop" | "pause" = "stop"): void {
    if (how !== "stop" && how !== "pause") throw new Error(`requestStop: how must be "stop" or "pause", got ${JSON.stringify(how)}`);
    this.driver.requestStop(how);
  }

  /** ids of the trials submitted and not ended (running, or queued on a cluster) */
  private liveTrialIds(): string[] {
    return this.driver.table.list().filter((t) => t.state === "running" || t.state === "queued").map((t) => t.trialId);
  }

  /** The backend in use (for tests and tools). */
  get backend(): Backend { return this.driver.backend; }

  // ---- running

  /** Run to the end (or continue after attach). Calling it again returns the same promise. */
  run(): Promise<Summary> {
    if (!this.running) this.running = this.runOnce();
    return this.running;
  }

  /** Live views from show(): run() waits (bounded) for their final picture. */
  private readonly views = new Set<{ finish(): Promise<void> }>();

  private async runOnce(): Promise<Summary> {
    const d = this.driver;
    const journal = this.opts.journal !== false;
    // one driver per run directory (issue 14): a second one would run every trial twice
    const lock: RunDirLock | null = journal ? acquireRunDirLock(this.config.runDir, this.attached ? "attach" : "run") : null;
    // ■ Interrupt: no new trials, the running ones pause (again: stop); without it the loop would go on in the background
    const offInterrupt = stopOnInterrupt(
      { name: this.name, liveTrials: () => this.liveTrialIds(), requestStop: (how) => this.requestStop(how) },
      { sigint: this.opts.handleSigint, write: this.opts.write },
    );
    try {
      // the run dir first: a backend's start() creates trials/ in it
      if (!this.attached && journal) this.prepareRunDir();
      await d.backend.start();
      if (!this.attached) {
        d.openJournal();
      } else {
        await this.adoptNow();
        await d.reissue();
      }
      try {
        await d.loop(!this.attached);
      } finally {
        d.closeJournal();
      }
    } finally {
      offInterrupt();
      lock?.release();
    }
    const summary = this.summary();
    if (journal && !this.opts.signal?.aborted) writeSummary(this.config.runDir, summary);
    if (!this.opts.signal?.aborted) await d.backend.close();
    // The live views' final picture (an update of their display) goes out before run() resolves, so it
    // belongs to the cell that awaited the run and a saved notebook keeps it. Bounded: a slow render never holds the run.
    const views = [...this.views].map((v) => v.finish().catch(() => undefined));
    await Promise.race([Promise.all(views), new Promise((r) => setTimeout(r, 15_000).unref?.())]);
    return summary;
  }

  private prepareRunDir(): void {
    const dir = this.config.runDir;
    const jf = path.join(dir, "journal.jsonl");
    if (fs.existsSync(jf) && !this.opts.overwrite) {
      const j = readJournal(jf);
      const all = [...j.events, ...j.trailing];
      const last = [...all].reverse().find((e) => e.type === "experiment_state");
      if (all.length && (!last || last.type !== "experiment_state" || !FINAL_STATES.has(last.state))) {
        throw new Error(`${dir} holds an unfinished run of "${this.name}": continue it with experiment.attach(${JSON.stringify(this.name)}), or pass { overwrite: true } to start afresh`);
      }
    }
    // archive, never delete; a folder tunelab did not create is refused unless overwrite
    this.archivedTo = prepareFreshRunDir(dir, this.config, { overwrite: this.opts.overwrite }).archivedTo;
  }

  /** where a fresh run moved the previous contents of its run dir (null: nothing there) */
  archivedTo: string | null = null;
  /** corrupt journal lines found by attach and what was recovered for them */
  journalNotes: string[] = [];

  // ---- results

  summary(): Summary { return buildSummary(this.config, this.driver.table); }
  /** Best at the full budget (t = maxT), or null. */
  best(): BestResult | null { return this.summary().best; }
  /** Best at any budget, with the t it was seen at. */
  bestAny(): BestResult | null { return this.summary().best_any; }
  /** danfojs DataFrame, one row per trial. */
  table(): any { return trialsFrame(this.config, this.driver.table); }
  /** danfojs DataFrame of every report line. */
  curves(): any { return curvesFrame(this.config, this.driver.events, this.driver.table.startedAt); }
  /** The comparison row (design.md contract 5). */
  summaryRow(): ComparisonRow { return summaryRow(this.config, this.summary()); }

  /** Live widget (widgets/experiment-view.ts); a text line where widgets are not available. */
  show(): unknown {
    let mod: any = null;
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      mod = require("../../widgets/experiment-view");
    } catch {
      mod = null;
    }
    if (mod && typeof mod.showExperiment === "function") {
      const view = mod.showExperiment(this);
      if (view && typeof view.finish === "function") this.views.add(view);
      return view;
    }
    const s = this.summary();
    return `${this.name}: ${s.trials.length} trials, states ${JSON.stringify(s.states)} (widgets not available)`;
  }

  // ---- attach

  /** Re-attach to a run directory (or experiment name under ./runs) after a kernel restart. */
  static attach(nameOrDir: string, opts: ExperimentOptions = {}): Experiment {
    const dir = resolveRunDir(nameOrDir);
    const raw = JSON.parse(fs.readFileSync(path.join(dir, "experiment.json"), "utf8"));
    const config: ExperimentConfig = opts.scheduler && opts.searcher && opts.backend ? raw : components.parseExperiment(raw);
    config.runDir = dir;
    const jf = path.join(dir, "journal.jsonl");
    const j = readJournal(jf);
    if (j.unsafe) throw new Error(`cannot attach: ${j.unsafe}; resuming from the snapshot before it would repeat that batch's side effects`);
    const notes = describeCorruption(jf, j);
    for (const n of notes) process.stderr.write(`tunelab: ${n}\n`);
    // no snapshot: the driver stopped before its first side effect; nothing runs, so start afresh
    if (!j.snapshot) return new Experiment(config, { ...opts, overwrite: true });
    const exp = new Experiment(config, opts);
    exp.journalNotes = notes;
    const d = exp.driver;
    d.restore(j.events, j.snapshot, j.deltas);
    // a trial_added recovered from a trial dir has no bracket: the restored scheduler knows it
    if (j.recovered.length) fillMissingBrackets(d.table.list(), d.scheduler);
    d.openJournal(j.snapshotEnd);
    exp.attached = true;
    // adopt what was submitted and not finished; the backend re-reads metrics after the lines we have
    const adopted: AdoptedTrial[] = [];
    for (const [id, rt] of Object.entries(d.state.runtimes)) {
      if (!rt.live) continue;
      const tr = d.table.get(id)!;
      // records of metrics.jsonl already journaled: reports and rejected lines alike
      const rejected = j.events.filter((e) => e.type === "report_rejected" && e.trialId === id).length;
      adopted.push({ trialId: id, reportsSeen: tr.reports + rejected, ...(tr.jobId ? { jobId: tr.jobId } : {}) });
    }
    exp.adoptPending = adopted;
    return exp;
  }

  private adoptPending: AdoptedTrial[] | null = null;

  /** (attach) hand running trials to the backend before the loop resumes. */
  private async adoptNow(): Promise<void> {
    if (this.adoptPending) {
      await this.driver.backend.start();
      await this.driver.backend.adopt(this.adoptPending);
      this.adoptPending = null;
    }
  }
}

/** NAME → ./runs/NAME; a path (with a separator, or an existing dir holding experiment.json) as is. */
export function resolveRunDir(nameOrDir: string): string {
  if (fs.existsSync(path.join(nameOrDir, "experiment.json"))) return path.resolve(nameOrDir);
  const byName = path.join("runs", nameOrDir);
  if (fs.existsSync(path.join(byName, "experiment.json"))) return path.resolve(byName);
  throw new Error(`no experiment "${nameOrDir}": neither ${nameOrDir}/experiment.json nor ${byName}/experiment.json exists`);
}

export interface ExperimentFactory {
  (input: ExperimentInput, opts?: ExperimentOptions): Experiment;
  /** Re-attach after a kernel restart; `await exp.run()` continues it. */
  attach(nameOrDir: string, opts?: ExperimentOptions): Experiment;
}

/** `experiment({...})`: validate once (errors name the field path) and build the experiment. */
export const experiment: ExperimentFactory = Object.assign(
  (input: ExperimentInput, opts: ExperimentOptions = {}) => new Experiment(components.parseExperiment(input), opts),
  { attach: (nameOrDir: string, opts: ExperimentOptions = {}) => Experiment.attach(nameOrDir, opts) },
);
