/**
 * The simulator: a scheduler + searcher against a curve function (what a
 * trial with config c reports at epoch t and how long that epoch takes), run
 * by the experiment's own controller (src/experiment/controller.ts) over the
 * replay backend's virtual clock (src/backends/replay.ts with `curveFn`).
 * There is no second loop: this is the driver's loop without the journal
 * and without promises (as Syne Tune's simulator backend runs behind its one
 * Tuner loop), so tests, `npm run bench` and notebooks share one decision
 * path. Same seed, same curves → the same decisions as `experiment(...).run()`
 * on the replay backend (test/experiment/one-path.test.ts).
 *
 * Timing is the replay backend's: each step takes the curve's `seconds`; a
 * trial waiting at a decision point is answered at the instant it reports
 * (the clock stops at every report and every end); a free slot is filled at
 * once; a run that restores a checkpoint pays `restartSeconds` once; GPU time
 * is billed as the replay backend bills it (run time × GPUs).
 */
import type { HParams } from "../config/types";
import type { BackendEvent, Report } from "../backends/types";
import { ReplayBackend } from "../backends/replay";
import type { Observation, Searcher } from "../searchers/types";
import { Controller, type Effect, type StepOutput, type UserAction } from "../experiment/controller";
import { metricValue } from "../experiment/table";
import { metricOf } from "./common";
import type { Scheduler, SchedulerAction } from "./types";

export type CurveFn = (config: HParams, t: number, trialId: string) => { value: number; seconds: number };

export interface SimOptions {
  scheduler: Scheduler;
  searcher: Searcher;
  samples: number;
  maxConcurrent: number;
  maxT: number;
  metric: string;
  mode: "min" | "max";
  curve: CurveFn;
  gpusPerTrial?: number;
  restartSeconds?: number;
  /** after this many reports, snapshot both objects (JSON) and continue with fresh ones built by `rebuild`. */
  restoreAfterReports?: number;
  rebuild?: () => { scheduler: Scheduler; searcher: Searcher };
  /** stop starting new work once this many GPU-seconds are spent. */
  gpuSecondsBudget?: number;
  /** how a report becomes a searcher observation (left out: the controller's rule, as in the driver). */
  observe?: (s: Scheduler, trialId: string, config: HParams, report: Report) => Observation | null;
}

export interface SimTrial {
  id: string;
  config: HParams;
  initialConfig: HParams;
  t: number;
  state: "running" | "paused" | "completed" | "stopped";
  /** clock: simulated seconds since the start; gpuSeconds: GPU-seconds the whole experiment had spent by then */
  reports: Array<{ t: number; value: number; clock: number; gpuSeconds: number; config: HParams }>;
  modelBasedPick?: boolean;
  gpuSeconds: number;
}

export interface SimResult {
  trials: SimTrial[];
  /** every scheduler action with the report count at which it was taken */
  decisions: Array<[number, SchedulerAction]>;
  gpuSeconds: number;
  wallSeconds: number;
  reports: number;
}

/** Virtual ms between polls when nothing happens (the driver's default poll). */
const POLL_MS = 1000;

export function simulate(o: SimOptions): SimResult {
  const gpus = o.gpusPerTrial ?? 1;
  let sched = o.scheduler;
  let search = o.searcher;
  let reports = 0;
  const decisions: Array<[number, SchedulerAction]> = [];
  // the controller talks to whichever objects are current (restoreAfterReports swaps them)
  const recordOut = (acts: SchedulerAction[]) => {
    for (const a of acts) decisions.push([reports, a]);
    return acts;
  };
  const schedulerView = new Proxy({} as Scheduler, {
    get(_t, prop) {
      const v = (sched as unknown as Record<string | symbol, unknown>)[prop];
      if (typeof v !== "function") return v;
      if (prop === "onResult" || prop === "onTrialComplete" || prop === "onTrialError") {
        return (...args: unknown[]) => recordOut((v as (...a: unknown[]) => SchedulerAction[]).apply(sched, args));
      }
      return (...args: unknown[]) => (v as (...a: unknown[]) => unknown).apply(sched, args);
    },
    has(_t, prop) { return prop in (sched as object); },
  });
  const searcherView = new Proxy({} as Searcher, {
    get(_t, prop) {
      const v = (search as unknown as Record<string | symbol, unknown>)[prop];
      return typeof v === "function" ? (...args: unknown[]) => (v as (...a: unknown[]) => unknown).apply(search, args) : v;
    },
  });

  const replay = new ReplayBackend({
    curves: { source: "curve function", keys: [], metric: o.metric, configs: [] },
    curveFn: o.curve, space: {}, metric: o.metric, maxConcurrent: o.maxConcurrent,
    restartSeconds: o.restartSeconds, startTime: 0,
  });
  const ctl = new Controller(
    {
      name: "simulate", method: sched.kind, metric: o.metric, mode: o.mode, seed: 0,
      samples: o.samples, maxConcurrent: o.maxConcurrent, maxT: o.maxT, gpusPerTrial: gpus,
      command: ["simulate"], env: {}, trainer: {},
    },
    schedulerView, searcherView,
    { trialDir: (id) => replay.trialDir(id), ...(o.observe ? { observe: (_s, id, c, r) => o.observe!(sched, id, c, r) } : {}) },
  );

  // GPU-seconds spent so far: accounted runs + live runs' time so far (the bench's x axis)
  let accounted = 0;
  const runningSince = new Map<string, number>();
  const gpuAt = (at: number) => {
    let s = accounted;
    for (const since of runningSince.values()) s += (Math.max(0, at - since) / 1000) * gpus;
    return s;
  };
  const reportsOf = new Map<string, SimTrial["reports"]>();
  const seeEvents = (out: StepOutput) => {
    for (const e of out.events) {
      if (e.type === "trial_state" && e.state === "running") runningSince.set(e.trialId, e.at);
      else if (e.type === "accounting") {
        accounted += e.gpuSeconds;
        runningSince.delete(e.trialId);
      } else if (e.type === "report") {
        const tr = ctl.table.get(e.trialId)!;
        let list = reportsOf.get(e.trialId);
        if (!list) reportsOf.set(e.trialId, (list = []));
        list.push({ t: e.report.t, value: metricValue(e.report, o.metric), clock: e.at / 1000, gpuSeconds: gpuAt(e.at), config: { ...tr.config } });
      }
    }
  };
  const runEffects = (fx: readonly Effect[]) => {
    for (const f of fx) {
      switch (f.kind) {
        case "submit":
          if (f.copyFrom) f.launch.trial.restore_from = replay.copyCheckpointSync(f.copyFrom.donor, f.copyFrom.checkpoint, f.launch.trialId);
          settle(replay.submit([f.launch]));
          break;
        case "decide":
          replay.decide(f.trialId, f.t, f.action);
          break;
        case "stop":
          settle(replay.stop(f.trialId));
          break;
        case "pause":
          settle(replay.pause(f.trialId));
          break;
        case "copy":
          ctl.copied(f.trialId, f.donor, f.checkpoint, replay.copyCheckpointSync(f.donor, f.checkpoint, f.trialId));
          break;
        case "policies":
          break; // no files here
      }
    }
  };

  seeEvents(ctl.begin(replay.now()));
  let user: UserAction[] = [];
  let budgetHit = false;
  let restored = false;
  for (;;) {
    const events: BackendEvent[] = replay.takeEvents();
    for (const e of events) if (e.type === "report") reports++;
    const out = ctl.step({ events, now: replay.now(), user });
    user = [];
    seeEvents(out);
    runEffects(out.effects);
    if (out.end) break;
    if (o.gpuSecondsBudget !== undefined && !budgetHit && gpuAt(replay.now()) >= o.gpuSecondsBudget) {
      budgetHit = true;
      user = [{ kind: "pauseNew", paused: true }];
    }
    if (budgetHit && ctl.liveCount() === 0 && !out.effects.length) break;
    if (!restored && o.restoreAfterReports !== undefined && o.rebuild && reports >= o.restoreAfterReports) {
      restored = true;
      const s1 = JSON.parse(JSON.stringify(sched.getState()));
      const s2 = JSON.parse(JSON.stringify(search.getState()));
      ({ scheduler: sched, searcher: search } = o.rebuild());
      sched.setState(s1);
      search.setState(s2);
    }
    replay.advanceClock(POLL_MS);
  }

  const trials: SimTrial[] = ctl.table.list().map((tr) => ({
    id: tr.trialId,
    config: { ...tr.config },
    initialConfig: { ...tr.initialConfig },
    t: tr.lastT ?? 0,
    state: tr.state === "completed" ? "completed" : tr.state === "paused" ? "paused" : tr.state === "stopped" || tr.state === "failed" ? "stopped" : "running",
    reports: reportsOf.get(tr.trialId) ?? [],
    ...(tr.modelBasedPick !== undefined ? { modelBasedPick: tr.modelBasedPick } : {}),
    gpuSeconds: ctl.table.gpuSeconds(tr),
  }));
  return { trials, decisions, gpuSeconds: accounted, wallSeconds: replay.now() / 1000, reports };
}

/** The replay backend's methods finish synchronously; a failure must not pass silently. */
function settle(p: Promise<void>): void {
  p.catch((e) => process.nextTick(() => { throw e; }));
}

export { metricOf };
