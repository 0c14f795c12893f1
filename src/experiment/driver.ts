/**
 * The experiment driver: the only loop with side effects (design.md).
 *
 * One iteration ("batch"):
 *   1. `events = await backend.poll()`; each event updates the trial table and
 *      goes to the scheduler, whose actions become planned side effects;
 *   2. free slots are filled: paused trials marked for resume first, then new
 *      trials from the searcher (while `samples`, `maxConcurrent` and the
 *      scheduler's `wantsNewTrial()` allow);
 *   3. a snapshot (scheduler, searcher, RNG and driver state) is journaled;
 *   4. only then the planned side effects run (decide, stop, pause, copy a
 *      checkpoint, submit), and `await backend.wait(pollMs)`.
 * Because side effects follow the snapshot, a driver killed anywhere leaves a
 * journal whose last snapshot is consistent with what the backend was told
 * (modulo idempotent decisions and copies, which attach re-issues); events
 * after the last snapshot are dropped on attach and re-delivered by the
 * backend (`adopt` with the number of report lines already recorded).
 *
 * Trial ids are `t000`, `t001`, ... (three digits, more past t999): short,
 * sortable, safe as directory names, and the same in every run with the same
 * seed, which the attach-determinism test relies on.
 *
 * Scheduler actions → backend actions:
 *  - continue: answer the decision point (`decide(id, t, "continue")`);
 *  - stop: `decide(id, t, "stop")` when the trainer waits at a decision point,
 *    else `backend.stop(id)`; a stop for a trial whose report reached max_t is
 *    only recorded (the trainer ends by itself);
 *  - pause: `decide(id, t, "stop")` at the point (the trainer checkpointed), the
 *    trial becomes paused when the process ends (resources freed);
 *  - resume: the trial is marked; it is resubmitted when a slot is free, with
 *    restore_from = its own last checkpoint and start_t = its last t;
 *  - exploit (PBT): decide "stop" for the target, copy the donor's checkpoint
 *    into the target (`backend.copyCheckpoint`), and when the target's process
 *    has ended resubmit it with restore_from, start_t = donor's t and the
 *    explored config; pbt_global.txt / pbt_policy_<id>.txt are written.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ExperimentConfig, HParams } from "../config/types";
import type { Backend, BackendEvent, Report, TrialJson, TrialLaunch, TrialState } from "../backends/types";
import type { Scheduler, SchedulerAction } from "../schedulers/types";
import type { Searcher } from "../searchers/types";
import type { Rng } from "../space/rng";
import type { ExperimentEvent } from "./events";
import { JournalWriter, type SnapshotLine } from "./journal";
import { metricValue, TrialTable } from "./table";
import { experimentMaxT } from "./results";

/** Per live (or resumable) trial: what the driver must remember about its process. */
export interface TrialRuntime {
  /** index of the current run (0 = first submission) */
  run: number;
  /** the current process exists (submitted, not ended) */
  live: boolean;
  /** pause_at of the current run */
  pauseAt: number[];
  /** t at which the trainer waits for a decision that was not given yet */
  waitingAt: number | null;
  /** last decision given for a decision point (re-sent on attach: idempotent) */
  decided: { t: number; action: "continue" | "stop" } | null;
  /** what the end of the current process means */
  intent: null | "stop" | "pause" | "restart";
  reason?: string;
  /** the next launch (PBT exploit): config, start_t and restore path (null until copied) */
  next: null | { config: HParams; startT: number; restoreFrom: string | null; donor: string; checkpoint: string };
  /** a scheduler (or the driver, after a preemption) asked for a resume */
  resumeMarked: boolean;
  /** runs that ended and whose accounting event has not come yet */
  unaccounted: number[];
}

export interface DriverState {
  nextIndex: number;
  exhausted: boolean;
  budgetStopped: boolean;
  userPaused: boolean;
  finished: boolean;
  runtimes: Record<string, TrialRuntime>;
  /** every decision point handed to a trainer so far (the rungs a plot draws) */
  rungs: number[];
}

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

type Effect = () => Promise<void> | void;

const TERMINAL: TrialState[] = ["completed", "stopped", "failed"];

export function trialIdFor(index: number): string {
  return `t${String(index).padStart(3, "0")}`;
}

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

export class Driver {
  readonly config: ExperimentConfig;
  readonly maxT: number;
  readonly table: TrialTable;
  readonly events: ExperimentEvent[] = [];
  state: DriverState = { nextIndex: 0, exhausted: false, budgetStopped: false, userPaused: false, finished: false, runtimes: {}, rungs: [] };
  private journal: JournalWriter | null = null;
  private effects: Effect[] = [];
  /** launches of this batch, handed to backend.prepare before the snapshot */
  private prepared: TrialLaunch[] = [];
  private userActions: SchedulerAction[] = [];
  private listeners = new Set<(e: ExperimentEvent) => void>();
  private dirty = false;
  private emitted = 0;
  private pollMs: number;
  private wakeUp: (() => void) | null = null;
  /** decision batches processed (bench figure) */
  batches = 0;
  decisions = 0;

  constructor(readonly parts: DriverParts, readonly opts: DriverOptions = {}) {
    this.config = parts.config;
    this.maxT = experimentMaxT(parts.config);
    this.table = new TrialTable(this.config.metric, this.config.mode, this.maxT, this.config.trainer.gpusPerTrial);
    this.pollMs = opts.pollMs ?? 1000;
  }

  get backend(): Backend { return this.parts.backend; }
  get scheduler(): Scheduler { return this.parts.scheduler; }
  get searcher(): Searcher { return this.parts.searcher; }

  subscribe(fn: (e: ExperimentEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // ---------------------------------------------------------------- journal

  /** Open the journal (fresh: truncate; attach: cut after the last snapshot). */
  openJournal(truncateTo?: number): void {
    if (this.opts.journal === false) return;
    const file = path.join(this.config.runDir, "journal.jsonl");
    if (truncateTo === undefined && fs.existsSync(file)) fs.truncateSync(file, 0);
    this.journal = new JournalWriter(file, truncateTo);
  }

  /** Rebuild state from journaled events + snapshot (attach). No events are emitted. */
  restore(events: readonly ExperimentEvent[], snap: SnapshotLine): void {
    for (const e of events) {
      this.events.push(e);
      this.table.apply(e);
    }
    this.emitted = events.length;
    this.scheduler.setState(snap.scheduler);
    this.searcher.setState(snap.searcher);
    this.parts.schedulerRng.setState(snap.rng.scheduler);
    this.parts.searcherRng.setState(snap.rng.searcher);
    // defaults first: a snapshot written by an older driver may lack newer fields
    this.state = { ...this.state, ...(JSON.parse(JSON.stringify(snap.driver)) as Partial<DriverState>) };
  }

  private emit(e: ExperimentEvent): void {
    if (this.opts.crashAfterEvents !== undefined && this.emitted >= this.opts.crashAfterEvents) {
      throw new SimulatedCrash(`simulated crash after ${this.emitted} events`);
    }
    this.emitted++;
    this.events.push(e);
    this.table.apply(e);
    this.journal?.append(e);
    this.dirty = true;
    for (const fn of this.listeners) {
      try { fn(e); } catch { /* a broken view must not stop the experiment */ }
    }
  }

  private snapshot(): void {
    if (!this.dirty) return;
    this.dirty = false;
    if (!this.journal) return;
    const runtimes: Record<string, TrialRuntime> = {};
    for (const [id, rt] of Object.entries(this.state.runtimes)) runtimes[id] = rt;
    const line: SnapshotLine = {
      type: "snapshot",
      at: this.backend.now(),
      events: this.emitted,
      scheduler: this.scheduler.getState(),
      searcher: this.searcher.getState(),
      rng: { scheduler: this.parts.schedulerRng.getState(), searcher: this.parts.searcherRng.getState() },
      driver: { ...this.state, runtimes },
    };
    this.journal.append(line);
  }

  closeJournal(): void {
    this.journal?.close();
    this.journal = null;
  }

  // ---------------------------------------------------------------- loop

  /** Runs until the experiment ends (or the abort signal fires). Returns the final experiment state. */
  async loop(fresh: boolean): Promise<string> {
    if (fresh) {
      this.emit({ type: "experiment_started", at: this.backend.now(), name: this.config.name, method: this.config.method.kind, maxT: this.maxT });
    }
    for (;;) {
      if (this.opts.signal?.aborted) return "aborted";
      if (this.state.finished) return this.table.experimentState;
      const polled = await this.backend.poll();
      for (const ev of polled) this.onBackendEvent(ev);
      const user = this.userActions.splice(0);
      if (user.length) this.applyActions(user);
      this.checkBudget();
      this.fill();
      const end = this.endState();
      if (end) {
        this.finishLeftovers();
        this.emit({ type: "experiment_state", at: this.backend.now(), state: end });
        this.state.finished = true;
      }
      // write-ahead: the new runs' files exist before the snapshot says they were launched
      const prepared = this.prepared.splice(0);
      if (prepared.length && this.backend.prepare) await this.backend.prepare(prepared);
      this.snapshot();
      this.batches++;
      await this.runEffects();
      if (end) return end;
      await this.waitOrWake();
    }
  }

  private async waitOrWake(): Promise<void> {
    // user actions (stopTrial) cut a real-time wait short
    await Promise.race([
      this.backend.wait(this.pollMs),
      new Promise<void>((resolve) => { this.wakeUp = resolve; }),
    ]);
    this.wakeUp = null;
  }

  private async runEffects(): Promise<void> {
    const fx = this.effects;
    this.effects = [];
    for (const f of fx) await f();
  }

  /** After attach: re-issue idempotent side effects the crash may have lost. */
  async reissue(): Promise<void> {
    for (const [id, rt] of Object.entries(this.state.runtimes)) {
      if (rt.live && rt.decided) this.backend.decide(id, rt.decided.t, rt.decided.action);
      if (rt.next && rt.next.restoreFrom === null) await this.copyFor(id, rt);
    }
  }

  // ---------------------------------------------------------------- user actions

  stopTrial(trialId: string): void {
    this.userActions.push({ trialId, action: "stop", reason: "stopped by user" });
    this.wakeUp?.();
  }

  setUserPaused(p: boolean): void {
    this.state.userPaused = p;
    this.dirty = true;
    this.wakeUp?.();
  }

  // ---------------------------------------------------------------- backend events

  private rt(id: string): TrialRuntime | undefined {
    return this.state.runtimes[id];
  }

  private onBackendEvent(ev: BackendEvent): void {
    const tr = this.table.get(ev.trialId);
    const rt = this.rt(ev.trialId);
    if (!tr) return; // not ours
    if (ev.type === "report") {
      this.onReport(ev.trialId, ev.report, ev.at, rt);
    } else if (ev.type === "rejected") {
      // a bad metrics line: recorded with its reason (and counted for adopt), never acted on
      this.emit({ type: "report_rejected", at: ev.at, trialId: ev.trialId, record: ev.record, offset: ev.offset, reason: ev.reason, text: ev.text });
    } else if (ev.type === "accounting") {
      // accounting follows the end of a run; by then a PBT restart may have begun the next one
      const run = rt ? (rt.unaccounted.length ? rt.unaccounted.shift()! : rt.run) : Math.max(0, tr.runs.length - 1);
      this.emit({ type: "accounting", at: this.backend.now(), trialId: ev.trialId, gpuSeconds: ev.gpuSeconds, queueSeconds: ev.queueSeconds, runSeconds: ev.runSeconds, gpus: ev.gpus, run });
    } else {
      this.onState(ev, rt);
    }
  }

  private onReport(id: string, report: Report, at: number, rt: TrialRuntime | undefined): void {
    this.emit({ type: "report", at, trialId: id, report });
    if (!rt || !rt.live || rt.intent !== null) return; // late lines of a trial being stopped/paused
    if (report.preempted === true) return; // repeats the last result (trial contract): not a new one
    const tr = this.table.get(id)!;
    const t = report.t;
    if (rt.pauseAt.includes(t) || t >= this.maxT) {
      const v = metricValue(report, this.config.metric);
      const loss = Number.isFinite(v) ? (this.config.mode === "min" ? v : -v) : Infinity;
      this.searcher.observe({ trialId: id, config: { ...tr.config }, budget: t, loss });
    }
    if (rt.pauseAt.includes(t) && !(rt.decided && rt.decided.t === t)) rt.waitingAt = t;
    this.applyActions(this.scheduler.onResult(id, report));
    // a waiting trainer must get an answer: no action about it means continue
    if (rt.waitingAt !== null && rt.intent === null) this.decide(id, rt, "continue", "no scheduler action");
  }

  private onState(ev: Extract<BackendEvent, { type: "state" }>, rt: TrialRuntime | undefined): void {
    const id = ev.trialId;
    const tr = this.table.get(id)!;
    const st = ev.state;
    if (st === "queued" || st === "running" || st === "pending") {
      if (!rt || !rt.live) return;
      if (tr.state !== st) this.emit({ type: "trial_state", at: ev.at, trialId: id, state: st, run: rt.run, ...(ev.jobId ? { jobId: ev.jobId } : {}) });
      return;
    }
    // the current process ended (completed / stopped / failed / paused)
    if (!rt || !rt.live) return;
    rt.live = false;
    rt.unaccounted.push(rt.run);
    rt.waitingAt = null;
    rt.decided = null;
    const intent = rt.intent;
    rt.intent = null;
    const extra = { ...(ev.message !== undefined ? { message: ev.message } : {}), ...(ev.exitCode !== undefined ? { exitCode: ev.exitCode } : {}) };
    if (st === "completed") {
      // reached max_t: whatever we had asked for (a pause or exploit that came too late), it is done
      this.emit({ type: "trial_state", at: ev.at, trialId: id, state: "completed", run: rt.run, ...(intent === "stop" && rt.reason ? { message: rt.reason } : {}), ...(ev.exitCode !== undefined ? { exitCode: ev.exitCode } : {}) });
      this.finalize(id);
      this.applyActions(this.scheduler.onTrialComplete(id, tr.lastReport));
      return;
    }
    if (intent === "restart" && !this.state.budgetStopped) {
      // PBT exploit: the old process is gone; start the explored config from the donor's checkpoint
      this.relaunch(id, rt);
      return;
    }
    if (intent === "pause") {
      this.emit({ type: "trial_state", at: ev.at, trialId: id, state: "paused", run: rt.run, ...extra });
      return;
    }
    if (intent === "stop" || intent === "restart") {
      this.emit({ type: "trial_state", at: ev.at, trialId: id, state: "stopped", run: rt.run, ...(rt.reason ? { message: rt.reason } : {}), ...(ev.exitCode !== undefined ? { exitCode: ev.exitCode } : {}) });
      this.finalize(id);
      this.applyActions(this.scheduler.onTrialComplete(id, tr.lastReport));
      return;
    }
    if (st === "paused") {
      // paused without our asking (preemption): resume when a slot is free
      this.emit({ type: "trial_state", at: ev.at, trialId: id, state: "paused", run: rt.run, ...extra });
      rt.resumeMarked = true;
      return;
    }
    if (st === "failed") {
      this.emit({ type: "trial_state", at: ev.at, trialId: id, state: "failed", run: rt.run, ...extra });
      this.finalize(id);
      const budget = rt.pauseAt.find((p) => p > (tr.lastT ?? 0)) ?? this.maxT;
      this.searcher.observe({ trialId: id, config: { ...tr.config }, budget, loss: Infinity });
      this.applyActions(this.scheduler.onTrialError(id));
      return;
    }
    this.emit({ type: "trial_state", at: ev.at, trialId: id, state: st, run: rt.run, ...extra });
    this.finalize(id);
    this.applyActions(this.scheduler.onTrialComplete(id, tr.lastReport));
  }

  /** A trial reached a final state: its runtime is no longer needed. */
  private finalize(id: string): void {
    delete this.state.runtimes[id];
  }

  // ---------------------------------------------------------------- actions

  private decide(id: string, rt: TrialRuntime, action: "continue" | "stop", reason?: string, label?: "continue" | "stop" | "pause" | "exploit"): void {
    const t = rt.waitingAt!;
    rt.waitingAt = null;
    rt.decided = { t, action };
    this.decisions++;
    this.emit({ type: "decision", at: this.backend.now(), trialId: id, t, action: label ?? action, ...(reason ? { reason } : {}) });
    this.effects.push(() => this.backend.decide(id, t, action));
  }

  private applyActions(actions: SchedulerAction[]): void {
    for (const a of actions) this.applyAction(a);
  }

  private applyAction(a: SchedulerAction): void {
    const id = a.trialId;
    const tr = this.table.get(id);
    if (!tr || TERMINAL.includes(tr.state)) return;
    const rt = this.rt(id);
    const now = this.backend.now();
    switch (a.action) {
      case "continue":
        if (rt && rt.live && rt.waitingAt !== null && rt.intent === null) this.decide(id, rt, "continue");
        return;
      case "stop": {
        if (!rt || !rt.live) {
          // paused or never started: it just ends here
          this.emit({ type: "decision", at: now, trialId: id, t: tr.lastT, action: "stop", reason: a.reason });
          this.decisions++;
          this.emit({ type: "trial_state", at: now, trialId: id, state: "stopped", message: a.reason, ...(rt ? { run: rt.run } : {}) });
          this.finalize(id);
          return;
        }
        if (rt.intent === "stop") return;
        if (rt.waitingAt !== null) {
          rt.intent = "stop";
          rt.reason = a.reason;
          this.decide(id, rt, "stop", a.reason);
          return;
        }
        this.emit({ type: "decision", at: now, trialId: id, t: tr.lastT, action: "stop", reason: a.reason });
        this.decisions++;
        rt.intent = "stop";
        rt.reason = a.reason;
        // a trial whose report reached max_t ends by itself: killing it could lose its last lines
        if ((tr.lastT ?? -1) >= this.maxT) return;
        this.effects.push(() => this.backend.stop(id));
        return;
      }
      case "pause": {
        if (!rt || !rt.live || rt.intent !== null) return;
        // a trial whose report reached max_t is ending by itself: nothing to pause
        if ((tr.lastT ?? -1) >= this.maxT && rt.waitingAt === null) return;
        rt.intent = "pause";
        rt.reason = a.reason;
        if (rt.waitingAt !== null) {
          this.decide(id, rt, "stop", a.reason, "pause");
        } else {
          this.emit({ type: "decision", at: now, trialId: id, t: tr.lastT, action: "pause", reason: a.reason });
          this.decisions++;
          this.effects.push(() => this.backend.pause(id));
        }
        return;
      }
      case "resume": {
        if (!rt || rt.live || tr.state !== "paused") return;
        rt.resumeMarked = true;
        this.dirty = true;
        return;
      }
      case "exploit": {
        if (!rt) return;
        if (!a.checkpoint) throw new Error(`scheduler asked to exploit ${a.donor} for ${id} without a checkpoint`);
        if (a.donorT >= this.maxT) {
          // the donor's weights are final: a restart at start_t = max_t would train nothing
          if (rt.live && rt.waitingAt !== null && rt.intent === null) this.decide(id, rt, "continue", `exploit of ${a.donor}@${a.donorT} ignored: the donor is at max_t`);
          return;
        }
        // a trial already restarting or being stopped keeps what it was told
        if (rt.live && rt.intent !== null && rt.intent !== "pause") return;
        const t = rt.waitingAt ?? tr.lastT ?? 0;
        const oldConfig = { ...tr.config };
        rt.next = { config: { ...a.config }, startT: a.donorT, restoreFrom: null, donor: a.donor, checkpoint: a.checkpoint };
        const reason = `exploit ${a.donor}@${a.donorT}`;
        if (rt.live && rt.intent === "pause") {
          // paused at a barrier and still exiting (synchronous PBT): the exit
          // relaunches it from the donor's checkpoint instead of parking it
          rt.intent = "restart";
          rt.reason = reason;
          this.emit({ type: "decision", at: now, trialId: id, t, action: "exploit", reason });
          this.decisions++;
        } else if (rt.live && rt.waitingAt !== null && rt.intent === null) {
          rt.intent = "restart";
          rt.reason = reason;
          this.decide(id, rt, "stop", reason, "exploit");
        } else if (rt.live && rt.intent === null) {
          rt.intent = "restart";
          rt.reason = reason;
          this.emit({ type: "decision", at: now, trialId: id, t, action: "exploit", reason });
          this.decisions++;
          this.effects.push(() => this.backend.pause(id));
        } else if (!rt.live) {
          this.emit({ type: "decision", at: now, trialId: id, t, action: "exploit", reason });
          this.decisions++;
          rt.resumeMarked = true;
        }
        this.emit({ type: "exploit", at: now, trialId: id, donor: a.donor, donorT: a.donorT, t, oldConfig, config: { ...a.config }, mutations: { ...a.mutations } });
        this.effects.push(() => this.writePolicies(id));
        this.effects.push(() => this.copyFor(id, rt));
        return;
      }
    }
  }

  private async copyFor(id: string, rt: TrialRuntime): Promise<void> {
    if (!rt.next) return;
    const next = rt.next;
    next.restoreFrom = await this.backend.copyCheckpoint(next.donor, next.checkpoint, id);
  }

  /** pbt_global.txt (appended) and pbt_policy_<id>.txt (the donor's copied over, plus the new row). */
  private writePolicies(id: string): void {
    const rows = this.table.policies.get(id) ?? [];
    const last = rows[rows.length - 1];
    if (!last) return;
    fs.mkdirSync(this.config.runDir, { recursive: true });
    fs.appendFileSync(path.join(this.config.runDir, "pbt_global.txt"), JSON.stringify(last) + "\n");
    fs.writeFileSync(path.join(this.config.runDir, `pbt_policy_${id}.txt`), rows.map((r) => JSON.stringify(r) + "\n").join(""));
  }

  // ---------------------------------------------------------------- launching

  private liveCount(): number {
    let n = 0;
    for (const rt of Object.values(this.state.runtimes)) if (rt.live) n++;
    return n;
  }

  private canAddNew(): boolean {
    return !this.state.exhausted && this.state.nextIndex < this.config.samples && this.scheduler.wantsNewTrial();
  }

  private markedForResume(): string[] {
    // runtimes hold only unfinished trials, in creation order (string keys keep insertion order)
    const out: string[] = [];
    for (const [id, rt] of Object.entries(this.state.runtimes)) {
      if (!rt.live && rt.resumeMarked && this.table.get(id)!.state === "paused") out.push(id);
    }
    return out;
  }

  private fill(): void {
    if (this.state.budgetStopped || this.state.userPaused) return;
    while (this.liveCount() < this.config.maxConcurrent) {
      const marked = this.markedForResume();
      if (marked.length) {
        // the scheduler orders the marked trials; a marked trial always runs eventually
        const pick = this.scheduler.chooseTrialToResume(marked);
        const id = pick !== null && marked.includes(pick) ? pick : marked[0];
        this.resumeTrial(id);
        continue;
      }
      if (this.canAddNew()) {
        this.addTrial();
        continue;
      }
      // Paused trials nobody marked (PBT's time-multiplexing pauses): the
      // scheduler says which may run (Ray's choose_trial_to_run); HyperBand
      // answers null for trials it has not unpaused.
      const paused = this.pausedIdle();
      const pick = paused.length ? this.scheduler.chooseTrialToResume(paused) : null;
      if (pick === null || !paused.includes(pick)) break;
      this.resumeTrial(pick);
    }
  }

  private pausedIdle(): string[] {
    const out: string[] = [];
    for (const [id, rt] of Object.entries(this.state.runtimes)) {
      if (!rt.live && this.table.get(id)!.state === "paused") out.push(id);
    }
    return out;
  }

  private addTrial(): void {
    const index = this.state.nextIndex;
    const id = trialIdFor(index);
    const sug = this.searcher.suggest(id);
    if (!sug) {
      this.state.exhausted = true;
      this.dirty = true;
      return;
    }
    this.state.nextIndex++;
    this.scheduler.onTrialAdd({ trialId: id, config: { ...sug.config } });
    const bracket = sug.bracket ?? schedulerBracket(this.scheduler, id);
    this.emit({
      type: "trial_added", at: this.backend.now(), trialId: id, config: { ...sug.config },
      ...(bracket !== undefined ? { bracket } : {}),
      ...(sug.modelBasedPick !== undefined ? { modelBasedPick: sug.modelBasedPick } : {}),
    });
    const rt: TrialRuntime = { run: -1, live: false, pauseAt: [], waitingAt: null, decided: null, intent: null, next: null, resumeMarked: false, unaccounted: [] };
    this.state.runtimes[id] = rt;
    this.launch(id, rt, { ...sug.config }, 0, null);
  }

  private resumeTrial(id: string): void {
    const rt = this.state.runtimes[id];
    const tr = this.table.get(id)!;
    rt.resumeMarked = false;
    if (rt.next) {
      this.relaunch(id, rt);
      return;
    }
    const restore = tr.lastCheckpoint ? path.posix.join(this.backend.trialDir(id), tr.lastCheckpoint) : null;
    this.emit({ type: "decision", at: this.backend.now(), trialId: id, t: tr.lastT, action: "resume" });
    this.decisions++;
    this.launch(id, rt, { ...tr.config }, restore ? tr.lastT ?? 0 : 0, restore);
  }

  /** Start the PBT-explored config of `id` from the donor's checkpoint. */
  private relaunch(id: string, rt: TrialRuntime): void {
    const next = rt.next!;
    rt.next = null;
    const trial = this.launch(id, rt, next.config, next.startT, next.restoreFrom);
    if (next.restoreFrom === null) {
      // the copy has not run yet (a paused target): copy, then submit (effects run in order)
      this.effects.splice(this.effects.length - 1, 0, async () => {
        trial.restore_from = await this.backend.copyCheckpoint(next.donor, next.checkpoint, id);
      });
    }
  }

  private launch(id: string, rt: TrialRuntime, config: HParams, startT: number, restoreFrom: string | null): TrialJson {
    const cfg = this.config;
    rt.run++;
    rt.live = true;
    rt.waitingAt = null;
    rt.decided = null;
    rt.intent = null;
    rt.reason = undefined;
    rt.pauseAt = [...new Set(this.scheduler.decisionPoints(id))].filter((t) => t > startT && t < this.maxT).sort((a, b) => a - b);
    for (const t of rt.pauseAt) if (!this.state.rungs.includes(t)) this.state.rungs = [...this.state.rungs, t].sort((a, b) => a - b);
    const index = Number(id.slice(1));
    const trial: TrialJson = {
      trial_id: id,
      experiment: cfg.name,
      config,
      max_t: this.maxT,
      start_t: startT,
      restore_from: restoreFrom,
      seed: (cfg.seed + index) >>> 0,
      metric: cfg.metric,
      mode: cfg.mode,
      pause_at: rt.pauseAt,
      trainer: trainerOptions(cfg),
    };
    const launch: TrialLaunch = {
      trialId: id,
      trial,
      command: cfg.trainer.command ?? this.opts.defaultCommand ?? defaultTrainerCommand(),
      env: { ...cfg.trainer.env },
      gpus: cfg.trainer.gpusPerTrial,
    };
    this.emit({ type: "trial_state", at: this.backend.now(), trialId: id, state: "pending", run: rt.run });
    this.prepared.push(launch);
    this.effects.push(() => this.backend.submit([launch]));
    return trial;
  }

  // ---------------------------------------------------------------- budget and the end

  private checkBudget(): void {
    const b = this.config.budget;
    if (!b || this.state.budgetStopped) return;
    const now = this.backend.now();
    const start = this.table.startedAt ?? now;
    const overWall = b.wallMinutes !== undefined && (now - start) / 60000 >= b.wallMinutes;
    const overGpu = b.gpuMinutes !== undefined && this.table.totalGpuSeconds(now) / 60 >= b.gpuMinutes;
    if (!overWall && !overGpu) return;
    this.state.budgetStopped = true;
    this.dirty = true;
    const reason = overGpu ? `GPU budget of ${b.gpuMinutes} GPU-minutes spent` : `wall-clock budget of ${b.wallMinutes} minutes spent`;
    for (const id of this.table.order) {
      const rt = this.state.runtimes[id];
      const tr = this.table.get(id)!;
      if (!rt || TERMINAL.includes(tr.state)) continue;
      if (!rt.live) {
        this.emit({ type: "trial_state", at: now, trialId: id, state: "stopped", message: reason, run: rt.run });
        this.finalize(id);
        continue;
      }
      if (rt.intent === "stop") continue;
      rt.intent = "stop";
      rt.reason = reason;
      rt.next = null;
      if (rt.waitingAt !== null) {
        this.decide(id, rt, "stop", reason);
      } else {
        this.emit({ type: "decision", at: now, trialId: id, t: tr.lastT, action: "stop", reason });
        // graceful: running trainers checkpoint and exit; queued jobs just go
        if (tr.state === "running") this.effects.push(() => this.backend.pause(id));
        else this.effects.push(() => this.backend.stop(id));
      }
    }
  }

  /** The experiment's end state, or null while anything may still happen. */
  private endState(): "finished" | "budget_exhausted" | null {
    if (this.liveCount() > 0) return null;
    if (this.state.budgetStopped) return "budget_exhausted";
    if (this.state.userPaused) return null;
    if (this.markedForResume().length) return null;
    if (this.canAddNew()) return null;
    return "finished";
  }

  /** Paused trials nobody will resume end as stopped. */
  private finishLeftovers(): void {
    const now = this.backend.now();
    for (const id of this.table.order) {
      const tr = this.table.get(id)!;
      if (TERMINAL.includes(tr.state)) continue;
      const rt = this.state.runtimes[id];
      this.emit({ type: "trial_state", at: now, trialId: id, state: "stopped", message: "never resumed", ...(rt ? { run: rt.run } : {}) });
      this.finalize(id);
    }
  }
}

/**
 * The bracket a scheduler put a trial in, when it tells (HyperBand/BOHB:
 * `bracketInfo(id).s`; others: `bracketOf(id)`). Not part of the Scheduler
 * interface, hence duck-typed.
 */
function schedulerBracket(s: Scheduler, id: string): number | undefined {
  const x = s as unknown as { bracketInfo?: (id: string) => { s?: number }; bracketOf?: (id: string) => unknown };
  try {
    if (typeof x.bracketInfo === "function") {
      const info = x.bracketInfo(id);
      if (info && typeof info.s === "number") return info.s;
    }
    if (typeof x.bracketOf === "function") {
      const b = x.bracketOf(id);
      if (typeof b === "number") return b;
    }
  } catch {
    /* no bracket for this trial */
  }
  return undefined;
}

/** trial.json "trainer": the model family and options the trainer needs. */
export function trainerOptions(cfg: ExperimentConfig): Record<string, unknown> {
  const t = cfg.trainer;
  const out: Record<string, unknown> = { model: t.model, epochs: t.epochs, gpus: t.gpusPerTrial };
  if (t.dataset !== undefined) out.dataset = t.dataset;
  if (t.evalEvery !== undefined) out.evalEvery = t.evalEvery; // t counts evaluations (config/eval-every.ts)
  if (t.evalEvery !== undefined) out.evalEvery = t.evalEvery; // t counts evaluations (config/eval-every.ts)
  if (t.deepspeed !== undefined) out.deepspeed = t.deepspeed;
  if (t.options) Object.assign(out, t.options);
  return out;
}
