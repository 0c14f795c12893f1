/**
 * The experiment controller: every decision of an experiment, and nothing
 * else. Pure: `step({events, now, user})` takes what the backend reported
 * since the last step, the time, and the user's actions, and returns
 * experiment events plus effects as data (submit, decide, stop, pause, copy
 * a checkpoint, write policy files). No I/O, no clock, no promises: the
 * driver (driver.ts) runs it against a real backend with a journal, and the
 * simulator (src/schedulers/simulate.ts) runs the same object against the
 * replay clock, so notebooks, tests and the bench share one decision path
 * (as Syne Tune's simulator backend runs behind its one Tuner loop).
 *
 * Trial lifecycle (docs/lifecycle.md): a trial is in exactly one state,
 *
 *   added ─► pending ─► queued ─► running ─┬─► waiting@t (at a decision point: pause_at)
 *                                          │      ├─ continue ─► running
 *                                          │      ├─ stop ─────► stopping ─► stopped
 *                                          │      ├─ pause ────► pausing ──► paused
 *                                          │      └─ exploit ──► restarting ─► pending (donor's checkpoint, explored config)
 *                                          ├─► completed (reported max_t and exited 0)
 *                                          ├─► failed (other exit)
 *                                          └─► paused (preempted / SIGUSR1 without our asking: marked for resume)
 *   paused ─ resume (slot free) ─► pending (own checkpoint, start_t = last t)
 *   paused ─ never resumed at the end ─► stopped
 *
 * `waiting`, `stopping`, `pausing`, `restarting` are the runtime's
 * (`waitingAt`, `intent`) on top of the table's backend-visible state; the
 * terminal states are completed / stopped / failed.
 *
 * One step, in order: backend events (reports go to the scheduler, whose
 * actions become effects; a trainer waiting at a decision point always gets
 * an answer in the same step), user actions, the budget, filling free slots
 * (trials marked for resume first, then new trials while `samples`,
 * `maxConcurrent` and the scheduler's `wantsNewTrial()` allow, then paused
 * trials the scheduler picks), and the end check.
 *
 * Trial ids are `t000`, `t001`, ... (three digits, more past t999): short,
 * sortable, safe as directory names, and the same in every run with the same
 * seed.
 */
import * as path from "node:path";
import type { HParams, MethodSpec } from "../config/types";
import type { BackendEvent, Report, TrialJson, TrialLaunch, TrialState } from "../backends/types";
import type { Scheduler, SchedulerAction } from "../schedulers/types";
import type { Observation, Searcher, TrialEndState } from "../searchers/types";
import type { ExperimentEvent } from "./events";
import { metricValue, TrialTable, type PolicyRow } from "./table";

/** Per live (or resumable) trial: what the controller must remember about its process. */
export interface TrialRuntime {
  /** index of the current run (0 = first submission) */
  run: number;
  /** the current process exists (submitted, not ended) */
  live: boolean;
  /** pause_at of the current run */
  pauseAt: number[];
  /** t at which the trainer waits for a decision that was not given yet */
  waitingAt: number | null;
  /** when the report that made it wait arrived (decision latency) */
  waitingSince?: number;
  /** last decision given for a decision point (re-sent on attach: idempotent) */
  decided: { t: number; action: "continue" | "stop" } | null;
  /** what the end of the current process means */
  intent: null | "stop" | "pause" | "restart";
  reason?: string;
  /** the next launch (PBT exploit): config, start_t and restore path (null until copied) */
  next: null | { config: HParams; startT: number; restoreFrom: string | null; donor: string; checkpoint: string };
  /** a scheduler (or the controller, after a preemption or an interrupt) asked for a resume */
  resumeMarked: boolean;
  /** runs that ended and whose accounting event has not come yet */
  unaccounted: number[];
}

/** The controller's own state (plain JSON; journaled). */
export interface ControllerState {
  nextIndex: number;
  exhausted: boolean;
  budgetStopped: boolean;
  userPaused: boolean;
  finished: boolean;
  /** requestStop(): no new trials; live ones stopped or paused; null when not interrupted */
  interrupted?: null | "stop" | "pause";
  runtimes: Record<string, TrialRuntime>;
  /** every decision point handed to a trainer so far (the rungs a plot draws) */
  rungs: number[];
}
/** @deprecated the name before the controller was split out */
export type DriverState = ControllerState;

/** What the controller needs of the experiment config (the driver derives it; the simulator builds it). */
export interface ControllerConfig {
  name: string;
  /** method.kind (experiment_started names it) */
  method: string;
  metric: string;
  mode: "min" | "max";
  seed: number;
  samples: number;
  maxConcurrent: number;
  maxT: number;
  gpusPerTrial: number;
  budget?: { gpuMinutes?: number; wallMinutes?: number };
  /** trainer argv, env and trial.json "trainer" options */
  command: string[];
  env: Record<string, string>;
  trainer: Record<string, unknown>;
}

/** Effects as data; the driver (or the simulator) runs them in order. */
export type Effect =
  /** start a run; with copyFrom, first copy that checkpoint and set trial.restore_from to the copy */
  | { kind: "submit"; launch: TrialLaunch; copyFrom?: { donor: string; checkpoint: string } }
  /** answer a decision point (the trainer's decision-<t>.json) */
  | { kind: "decide"; trialId: string; t: number; action: "continue" | "stop" }
  | { kind: "stop"; trialId: string }
  | { kind: "pause"; trialId: string }
  /** copy donor's checkpoint to trialId; report the path back with `copied()` */
  | { kind: "copy"; trialId: string; donor: string; checkpoint: string }
  /** pbt_global.txt gets `global` appended; pbt_policy_<trialId>.txt becomes `lineage` */
  | { kind: "policies"; trialId: string; global: PolicyRow; lineage: PolicyRow[] };

export type UserAction =
  | { kind: "stopTrial"; trialId: string }
  | { kind: "pauseNew"; paused: boolean }
  /** stop starting trials and end (stop) or checkpoint (pause) the running ones; the run then ends */
  | { kind: "interrupt"; how: "stop" | "pause" }
  /** (attach after a paused interrupt) resume what the interrupt paused */
  | { kind: "resumeInterrupted" };

export interface StepInput {
  events: readonly BackendEvent[];
  now: number;
  user?: readonly UserAction[];
}

export interface StepOutput {
  events: ExperimentEvent[];
  effects: Effect[];
  /** the experiment's end state when this step ended it, else null */
  end: ExperimentEndState | null;
}

export type ExperimentEndState = "finished" | "budget_exhausted" | "stopped" | "paused";

/** One recorded call to the scheduler or searcher: [target, method, args]. */
export type RecordedCall = ["scheduler" | "searcher", string, unknown[]];

export interface ControllerOptions {
  /** where trial dirs live (for restore_from of a resume): the backend's trialDir */
  trialDir: (trialId: string) => string;
  /** record every scheduler/searcher call (the journal's deltas replay them on attach) */
  recordCalls?: boolean;
  /** how a report becomes a searcher observation (default: see Controller.observation) */
  observe?: (scheduler: Scheduler, trialId: string, config: HParams, report: Report) => Observation | null;
}

const TERMINAL: TrialState[] = ["completed", "stopped", "failed"];

export function trialIdFor(index: number): string {
  return `t${String(index).padStart(3, "0")}`;
}

export function initialState(): ControllerState {
  return { nextIndex: 0, exhausted: false, budgetStopped: false, userPaused: false, finished: false, interrupted: null, runtimes: {}, rungs: [] };
}

export class Controller {
  readonly table: TrialTable;
  private st: ControllerState = initialState();
  /** runtimes with live = true (kept in step with them: counting per fill was a hot spot at 10k trials) */
  private liveN = 0;
  get state(): ControllerState { return this.st; }
  /** (attach) the restored state */
  set state(s: ControllerState) {
    this.st = s;
    this.liveN = Object.values(s.runtimes).filter((rt) => rt.live).length;
  }
  /** scheduler/searcher calls since the last takeCalls() (recordCalls) */
  private calls: RecordedCall[] = [];
  /** runtimes changed since the last takeTouched() */
  private touched = new Set<string>();
  private now = 0;
  private out: ExperimentEvent[] = [];
  private fx: Effect[] = [];
  /** decisions given (bench figure) */
  decisions = 0;

  constructor(
    readonly config: ControllerConfig,
    private schedulerTarget: Scheduler,
    private searcherTarget: Searcher,
    readonly opts: ControllerOptions,
  ) {
    this.table = new TrialTable(config.metric, config.mode, config.maxT, config.gpusPerTrial);
  }

  get maxT(): number { return this.config.maxT; }
  get scheduler(): Scheduler { return this.schedulerTarget; }
  get searcher(): Searcher { return this.searcherTarget; }

  /** Swap the decision objects (the simulator's restore-from-JSON check). */
  replaceParts(scheduler: Scheduler, searcher: Searcher): void {
    this.schedulerTarget = scheduler;
    this.searcherTarget = searcher;
  }

  // ---------------------------------------------------------------- calls to the pure parts (recorded)

  private sched<K extends keyof Scheduler>(method: K, ...args: unknown[]): any {
    if (this.opts.recordCalls) this.calls.push(["scheduler", method as string, args]);
    return (this.schedulerTarget[method] as unknown as (...a: unknown[]) => unknown).apply(this.schedulerTarget, args);
  }

  private search<K extends keyof Searcher>(method: K, ...args: unknown[]): any {
    if (this.opts.recordCalls) this.calls.push(["searcher", method as string, args]);
    return (this.searcherTarget[method] as unknown as (...a: unknown[]) => unknown).apply(this.searcherTarget, args);
  }

  /** The recorded calls since the last take (for the journal's delta line). */
  takeCalls(): RecordedCall[] {
    const c = this.calls;
    this.calls = [];
    return c;
  }

  /** Re-apply recorded calls to the scheduler/searcher (attach: state after the last full snapshot). */
  replayCalls(calls: readonly RecordedCall[]): void {
    for (const [target, method, args] of calls) {
      const obj = (target === "scheduler" ? this.schedulerTarget : this.searcherTarget) as unknown as Record<string, (...a: unknown[]) => unknown>;
      if (typeof obj[method] === "function") obj[method](...args);
    }
  }

  /** Trial ids whose runtime changed (or went away) since the last take. */
  takeTouched(): string[] {
    const t = [...this.touched];
    this.touched.clear();
    return t;
  }

  private rt(id: string): TrialRuntime | undefined {
    const r = this.state.runtimes[id];
    if (r) this.touched.add(id);
    return r;
  }

  // ---------------------------------------------------------------- the step

  /** The first step of a fresh experiment. */
  begin(now: number): StepOutput {
    return this.run(now, () => this.emit({ type: "experiment_started", at: now, name: this.config.name, method: this.config.method as MethodSpec["kind"], maxT: this.maxT }));
  }

  step(input: StepInput): StepOutput {
    return this.run(input.now, () => {
      for (const ev of input.events) this.onBackendEvent(ev);
      for (const u of input.user ?? []) this.onUser(u);
      this.checkBudget();
      this.fill();
      const end = this.endState();
      if (end) {
        this.finishLeftovers(end);
        this.emit({ type: "experiment_state", at: this.now, state: end });
        this.state.finished = end !== "paused";
        return end;
      }
      return null;
    });
  }

  /** A checkpoint copy finished (the effect `copy`, or a `submit` with copyFrom). */
  copied(trialId: string, donor: string, checkpoint: string, restoreFrom: string): void {
    const rt = this.rt(trialId);
    if (rt?.next && rt.next.restoreFrom === null && rt.next.donor === donor && rt.next.checkpoint === checkpoint) rt.next.restoreFrom = restoreFrom;
  }

  /** After attach: idempotent effects a crash may have lost (decision files, checkpoint copies). */
  reissueEffects(): Effect[] {
    const fx: Effect[] = [];
    for (const [id, rt] of Object.entries(this.state.runtimes)) {
      if (rt.live && rt.decided) fx.push({ kind: "decide", trialId: id, t: rt.decided.t, action: rt.decided.action });
      if (rt.next && rt.next.restoreFrom === null) fx.push({ kind: "copy", trialId: id, donor: rt.next.donor, checkpoint: rt.next.checkpoint });
    }
    return fx;
  }

  liveCount(): number {
    return this.liveN;
  }

  private run(now: number, body: () => ExperimentEndState | null | void): StepOutput {
    this.now = now;
    this.out = [];
    this.fx = [];
    const end = body() ?? null;
    const res = { events: this.out, effects: this.fx, end };
    this.out = [];
    this.fx = [];
    return res;
  }

  private emit(e: ExperimentEvent): void {
    this.out.push(e);
    this.table.apply(e);
  }

  // ---------------------------------------------------------------- user actions

  private onUser(u: UserAction): void {
    switch (u.kind) {
      case "stopTrial":
        this.applyAction({ trialId: u.trialId, action: "stop", reason: "stopped by user" });
        return;
      case "pauseNew":
        this.state.userPaused = u.paused;
        return;
      case "interrupt":
        this.interrupt(u.how);
        return;
      case "resumeInterrupted": {
        if (this.state.interrupted !== "pause") return;
        this.state.interrupted = null;
        this.emit({ type: "experiment_state", at: this.now, state: "running", message: "resumed after an interrupt" });
        for (const id of Object.keys(this.state.runtimes)) {
          const rt = this.rt(id)!;
          if (!rt.live && this.table.get(id)!.state === "paused" && rt.reason === INTERRUPT_REASON) rt.resumeMarked = true;
        }
        return;
      }
    }
  }

  /** requestStop(how): new trials no longer start; running ones are stopped, or paused at a checkpoint. */
  private interrupt(how: "stop" | "pause"): void {
    if (this.state.interrupted === "stop" || this.state.interrupted === how) return;
    this.state.interrupted = how;
    const reason = how === "stop" ? "interrupted: stopped" : INTERRUPT_REASON;
    for (const id of [...Object.keys(this.state.runtimes)]) {
      const rt = this.rt(id);
      const tr = this.table.get(id);
      if (!rt || !tr || TERMINAL.includes(tr.state)) continue;
      if (how === "stop") {
        if (!rt.live) {
          this.emit({ type: "trial_state", at: this.now, trialId: id, state: "stopped", message: reason, run: rt.run });
          this.ended(id, "stopped", tr.lastReport);
          continue;
        }
        if (rt.intent === "stop") continue;
        rt.intent = "stop";
        rt.reason = reason;
        rt.next = null;
        if (rt.waitingAt !== null) this.decide(id, rt, "stop", reason);
        else {
          this.emit({ type: "decision", at: this.now, trialId: id, t: tr.lastT, action: "stop", reason });
          this.decisions++;
          if ((tr.lastT ?? -1) < this.maxT) this.fx.push({ kind: "stop", trialId: id });
        }
      } else {
        if (!rt.live) continue; // fill() starts nothing while interrupted; its resume mark (if any) stays
        if (rt.intent === "stop" || rt.intent === "pause") continue;
        // an exploit in flight keeps its restart target; the exit parks it (resumed from the donor later)
        rt.intent = rt.intent === "restart" ? "restart" : "pause";
        rt.reason = rt.intent === "pause" ? reason : rt.reason;
        if (rt.waitingAt !== null) this.decide(id, rt, "stop", reason, "pause");
        else if ((tr.lastT ?? -1) < this.maxT) {
          this.emit({ type: "decision", at: this.now, trialId: id, t: tr.lastT, action: "pause", reason });
          this.decisions++;
          this.fx.push({ kind: "pause", trialId: id });
        }
      }
    }
  }

  // ---------------------------------------------------------------- backend events

  private onBackendEvent(ev: BackendEvent): void {
    const tr = this.table.get(ev.trialId);
    if (!tr) return; // not ours
    const rt = this.rt(ev.trialId);
    if (ev.type === "report") {
      this.onReport(ev.trialId, ev.report, ev.at, rt);
    } else if (ev.type === "rejected") {
      // a bad metrics line (issue 14): journaled with its reason and counted for adopt, never acted on
      this.emit({ type: "report_rejected", at: ev.at, trialId: ev.trialId, record: ev.record, offset: ev.offset, reason: ev.reason, text: ev.text });
    } else if (ev.type === "accounting") {
      // accounting follows the end of a run; by then a PBT restart may have begun the next one
      const run = rt ? (rt.unaccounted.length ? rt.unaccounted.shift()! : rt.run) : Math.max(0, tr.runs.length - 1);
      this.emit({ type: "accounting", at: this.now, trialId: ev.trialId, gpuSeconds: ev.gpuSeconds, queueSeconds: ev.queueSeconds, runSeconds: ev.runSeconds, gpus: ev.gpus, run });
    } else {
      this.onState(ev, rt);
    }
  }

  /**
   * The searcher's observation for a report (the rule of searchers/index.ts
   * `observationFor`): schedulers that say which budget a result counts for
   * (BOHB's `resultBudget`, HyperBandForBOHB) decide; model-based searchers
   * (TPE, BOHB's KDE) see every report at budget t, as Optuna's
   * `trial.report(value, step)`; for the others, results at a decision point
   * and at max_t count with budget t.
   */
  private observation(id: string, config: HParams, report: Report, pauseAt: number[]): Observation | null {
    if (this.opts.observe) return this.opts.observe(this.schedulerTarget, id, config, report);
    let budget: number | null;
    if (typeof this.schedulerTarget.resultBudget === "function") budget = this.sched("resultBudget", id) as number | null;
    else if (this.searcherTarget.kind === "tpe" || this.searcherTarget.kind === "bohb") budget = report.t;
    else budget = pauseAt.includes(report.t) || report.t >= this.maxT ? report.t : null;
    if (budget === null) return null;
    const v = metricValue(report, this.config.metric);
    const loss = Number.isFinite(v) ? (this.config.mode === "min" ? v : -v) : Infinity;
    return { trialId: id, config: { ...config }, budget, loss };
  }

  private onReport(id: string, report: Report, at: number, rt: TrialRuntime | undefined): void {
    this.emit({ type: "report", at, trialId: id, report });
    if (!rt || !rt.live || rt.intent !== null) return; // late lines of a trial being stopped/paused
    if (report.preempted === true) return; // repeats the last result (trial contract): not a new one
    const tr = this.table.get(id)!;
    const t = report.t;
    if (rt.pauseAt.includes(t) && !(rt.decided && rt.decided.t === t)) {
      rt.waitingAt = t;
      rt.waitingSince = at;
    }
    const actions = this.sched("onResult", id, report) as SchedulerAction[];
    const obs = this.observation(id, tr.config, report, rt.pauseAt);
    if (obs) this.search("observe", obs);
    this.applyActions(actions);
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
    this.liveN--;
    rt.unaccounted.push(rt.run);
    rt.waitingAt = null;
    delete rt.waitingSince;
    rt.decided = null;
    const intent = rt.intent;
    rt.intent = null;
    const extra = { ...(ev.message !== undefined ? { message: ev.message } : {}), ...(ev.exitCode !== undefined ? { exitCode: ev.exitCode } : {}) };
    if (st === "completed") {
      // reached max_t: whatever we had asked for (a pause or exploit that came too late), it is done
      this.emit({ type: "trial_state", at: ev.at, trialId: id, state: "completed", run: rt.run, ...(intent === "stop" && rt.reason ? { message: rt.reason } : {}), ...(ev.exitCode !== undefined ? { exitCode: ev.exitCode } : {}) });
      this.ended(id, "completed", tr.lastReport);
      return;
    }
    if (intent === "restart" && !this.state.budgetStopped && !this.state.interrupted) {
      // PBT exploit: the old process is gone; start the explored config from the donor's checkpoint
      this.relaunch(id, rt);
      return;
    }
    if (intent === "pause" || (intent === "restart" && this.state.interrupted === "pause")) {
      if (this.state.interrupted === "pause") rt.reason = INTERRUPT_REASON;
      this.emit({ type: "trial_state", at: ev.at, trialId: id, state: "paused", run: rt.run, ...extra });
      return;
    }
    if (intent === "stop" || intent === "restart") {
      this.emit({ type: "trial_state", at: ev.at, trialId: id, state: "stopped", run: rt.run, ...(rt.reason ? { message: rt.reason } : {}), ...(ev.exitCode !== undefined ? { exitCode: ev.exitCode } : {}) });
      this.ended(id, "stopped", tr.lastReport);
      return;
    }
    if (st === "paused") {
      // paused without our asking (preemption): resume when a slot is free
      this.emit({ type: "trial_state", at: ev.at, trialId: id, state: "paused", run: rt.run, ...extra });
      rt.resumeMarked = this.state.interrupted !== "pause";
      if (this.state.interrupted === "pause") rt.reason = INTERRUPT_REASON;
      return;
    }
    if (st === "failed") {
      this.emit({ type: "trial_state", at: ev.at, trialId: id, state: "failed", run: rt.run, ...extra });
      const budget = rt.pauseAt.find((p) => p > (tr.lastT ?? 0)) ?? this.maxT;
      this.finalize(id);
      this.search("observe", { trialId: id, config: { ...tr.config }, budget, loss: Infinity });
      if (typeof this.searcherTarget.trialEnded === "function") this.search("trialEnded", id, "failed");
      this.applyActions(this.sched("onTrialError", id) as SchedulerAction[]);
      return;
    }
    this.emit({ type: "trial_state", at: ev.at, trialId: id, state: st, run: rt.run, ...extra });
    this.ended(id, st === "stopped" ? "stopped" : "completed", tr.lastReport);
  }

  /** A trial ended for good (completed / stopped): tell both parts, apply what the scheduler answers. */
  private ended(id: string, state: TrialEndState, last: Report | null): void {
    this.finalize(id);
    if (typeof this.searcherTarget.trialEnded === "function") this.search("trialEnded", id, state);
    this.applyActions(this.sched("onTrialComplete", id, last) as SchedulerAction[]);
  }

  /** A trial reached a final state: its runtime is no longer needed. */
  private finalize(id: string): void {
    if (this.state.runtimes[id]?.live) this.liveN--;
    delete this.state.runtimes[id];
    this.touched.add(id);
  }

  // ---------------------------------------------------------------- actions

  private decide(id: string, rt: TrialRuntime, action: "continue" | "stop", reason?: string, label?: "continue" | "stop" | "pause" | "exploit"): void {
    const t = rt.waitingAt!;
    const waited = rt.waitingSince !== undefined ? Math.max(0, this.now - rt.waitingSince) / 1000 : undefined;
    rt.waitingAt = null;
    delete rt.waitingSince;
    rt.decided = { t, action };
    this.decisions++;
    this.emit({ type: "decision", at: this.now, trialId: id, t, action: label ?? action, ...(reason ? { reason } : {}), ...(waited ? { waited_s: waited } : {}) });
    this.fx.push({ kind: "decide", trialId: id, t, action });
  }

  private applyActions(actions: SchedulerAction[]): void {
    for (const a of actions) this.applyAction(a);
  }

  private applyAction(a: SchedulerAction): void {
    const id = a.trialId;
    const tr = this.table.get(id);
    if (!tr || TERMINAL.includes(tr.state)) return;
    const rt = this.rt(id);
    const now = this.now;
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
          if (typeof this.searcherTarget.trialEnded === "function") this.search("trialEnded", id, "stopped");
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
        this.fx.push({ kind: "stop", trialId: id });
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
          this.fx.push({ kind: "pause", trialId: id });
        }
        return;
      }
      case "resume": {
        if (!rt || rt.live || tr.state !== "paused") return;
        rt.resumeMarked = true;
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
          this.fx.push({ kind: "pause", trialId: id });
        } else if (!rt.live) {
          this.emit({ type: "decision", at: now, trialId: id, t, action: "exploit", reason });
          this.decisions++;
          rt.resumeMarked = true;
        }
        this.emit({ type: "exploit", at: now, trialId: id, donor: a.donor, donorT: a.donorT, t, oldConfig, config: { ...a.config }, mutations: { ...a.mutations } });
        const rows = this.table.policies.get(id) ?? [];
        if (rows.length) this.fx.push({ kind: "policies", trialId: id, global: rows[rows.length - 1], lineage: [...rows] });
        this.fx.push({ kind: "copy", trialId: id, donor: a.donor, checkpoint: a.checkpoint });
        return;
      }
    }
  }

  // ---------------------------------------------------------------- launching

  private canAddNew(): boolean {
    return !this.state.exhausted && !this.state.interrupted && this.state.nextIndex < this.config.samples && (this.sched("wantsNewTrial") as boolean);
  }

  private markedForResume(): string[] {
    // runtimes hold only unfinished trials, in creation order (string keys keep insertion order)
    const out: string[] = [];
    if (!this.anyResumeMarked()) return out;
    for (const [id, rt] of Object.entries(this.state.runtimes)) {
      if (!rt.live && rt.resumeMarked && this.table.get(id)!.state === "paused") out.push(id);
    }
    return out;
  }

  private fill(): void {
    if (this.state.budgetStopped || this.state.userPaused || this.state.interrupted) return;
    while (this.liveCount() < this.config.maxConcurrent) {
      const marked = this.markedForResume();
      if (marked.length) {
        // the scheduler orders the marked trials; a marked trial always runs eventually
        const pick = this.sched("chooseTrialToResume", marked) as string | null;
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
      const pick = paused.length ? (this.sched("chooseTrialToResume", paused) as string | null) : null;
      if (pick === null || !paused.includes(pick)) break;
      this.resumeTrial(pick);
    }
  }

  /** cheap pre-check for the fill loop (most batches have no trial marked) */
  private anyResumeMarked(): boolean {
    for (const id in this.state.runtimes) if (this.state.runtimes[id].resumeMarked) return true;
    return false;
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
    const sug = this.search("suggest", id) as ReturnType<Searcher["suggest"]>;
    if (!sug) {
      this.state.exhausted = true;
      return;
    }
    this.state.nextIndex++;
    this.sched("onTrialAdd", { trialId: id, config: { ...sug.config } });
    const bracket = sug.bracket ?? schedulerBracket(this.schedulerTarget, id);
    this.emit({
      type: "trial_added", at: this.now, trialId: id, config: { ...sug.config },
      ...(bracket !== undefined ? { bracket } : {}),
      ...(sug.modelBasedPick !== undefined ? { modelBasedPick: sug.modelBasedPick } : {}),
    });
    const rt: TrialRuntime = { run: -1, live: false, pauseAt: [], waitingAt: null, decided: null, intent: null, next: null, resumeMarked: false, unaccounted: [] };
    this.state.runtimes[id] = rt;
    this.touched.add(id);
    this.launch(id, rt, { ...sug.config }, 0, null);
  }

  private resumeTrial(id: string): void {
    const rt = this.rt(id)!;
    const tr = this.table.get(id)!;
    rt.resumeMarked = false;
    if (rt.next) {
      this.relaunch(id, rt);
      return;
    }
    const restore = tr.lastCheckpoint ? path.posix.join(this.opts.trialDir(id), tr.lastCheckpoint) : null;
    this.emit({ type: "decision", at: this.now, trialId: id, t: tr.lastT, action: "resume" });
    this.decisions++;
    this.launch(id, rt, { ...tr.config }, restore ? tr.lastT ?? 0 : 0, restore);
  }

  /** Start the PBT-explored config of `id` from the donor's checkpoint. */
  private relaunch(id: string, rt: TrialRuntime): void {
    const next = rt.next!;
    rt.next = null;
    // the copy has not finished yet (a paused target): the submit copies first
    this.launch(id, rt, next.config, next.startT, next.restoreFrom, next.restoreFrom === null ? { donor: next.donor, checkpoint: next.checkpoint } : undefined);
  }

  private launch(id: string, rt: TrialRuntime, config: HParams, startT: number, restoreFrom: string | null, copyFrom?: { donor: string; checkpoint: string }): void {
    const cfg = this.config;
    rt.run++;
    if (!rt.live) this.liveN++;
    rt.live = true;
    rt.waitingAt = null;
    delete rt.waitingSince;
    rt.decided = null;
    rt.intent = null;
    rt.reason = undefined;
    rt.pauseAt = [...new Set(this.sched("decisionPoints", id) as number[])].filter((t) => t > startT && t < this.maxT).sort((a, b) => a - b);
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
      trainer: cfg.trainer,
    };
    const launch: TrialLaunch = { trialId: id, trial, command: cfg.command, env: { ...cfg.env }, gpus: cfg.gpusPerTrial };
    this.emit({ type: "trial_state", at: this.now, trialId: id, state: "pending", run: rt.run });
    this.fx.push({ kind: "submit", launch, ...(copyFrom ? { copyFrom } : {}) });
  }

  // ---------------------------------------------------------------- budget and the end

  private checkBudget(): void {
    const b = this.config.budget;
    if (!b || this.state.budgetStopped) return;
    const now = this.now;
    const start = this.table.startedAt ?? now;
    const overWall = b.wallMinutes !== undefined && (now - start) / 60000 >= b.wallMinutes;
    const overGpu = b.gpuMinutes !== undefined && this.table.totalGpuSeconds(now) / 60 >= b.gpuMinutes;
    if (!overWall && !overGpu) return;
    this.state.budgetStopped = true;
    const reason = overGpu ? `GPU budget of ${b.gpuMinutes} GPU-minutes spent` : `wall-clock budget of ${b.wallMinutes} minutes spent`;
    for (const id of this.table.order) {
      const tr = this.table.get(id)!;
      if (!this.state.runtimes[id] || TERMINAL.includes(tr.state)) continue;
      const rt = this.rt(id)!;
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
        this.fx.push({ kind: tr.state === "running" ? "pause" : "stop", trialId: id });
      }
    }
  }

  /** The experiment's end state, or null while anything may still happen. */
  private endState(): ExperimentEndState | null {
    if (this.liveCount() > 0) return null;
    if (this.state.budgetStopped) return "budget_exhausted";
    if (this.state.interrupted) return this.state.interrupted === "stop" ? "stopped" : "paused";
    if (this.state.userPaused) return null;
    if (this.markedForResume().length) return null;
    if (this.canAddNew()) return null;
    return "finished";
  }

  /** Paused trials nobody will resume end as stopped (not after a pausing interrupt: attach resumes them). */
  private finishLeftovers(end: ExperimentEndState): void {
    if (end === "paused") return;
    for (const id of this.table.order) {
      const tr = this.table.get(id)!;
      if (TERMINAL.includes(tr.state)) continue;
      const rt = this.state.runtimes[id];
      this.emit({ type: "trial_state", at: this.now, trialId: id, state: "stopped", message: "never resumed", ...(rt ? { run: rt.run } : {}) });
      this.finalize(id);
    }
  }
}

/** The reason recorded on trials a pausing interrupt parked (attach resumes exactly these). */
export const INTERRUPT_REASON = "interrupted: paused";

/**
 * The bracket a scheduler put a trial in, when it tells (HyperBand/BOHB:
 * `bracketInfo(id).s`; others: `bracketOf(id)`). Not part of the Scheduler
 * interface, hence duck-typed (read-only queries: not recorded).
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
