/**
 * A small deterministic event simulator: runs a scheduler + searcher against
 * a curve function (what a trial with config c reports at epoch t and how
 * long that epoch takes) on a virtual clock with `maxConcurrent` slots.
 *
 * It is NOT the experiment driver (src/experiment/ is); it exists so that
 * tests can replay complete runs (pauses, resumes, exploits, brackets), the
 * bench can measure GPU-minutes and wall-clock to a good configuration, and
 * notebooks can show "what ASHA would have done on these curves".
 *
 * Policy: at every free slot, a paused trial marked for resume
 * (chooseTrialToResume) goes first, then a new trial (PBT: new trials first,
 * as Ray runs PENDING trials, last_train_time 0, before paused ones).
 * Decisions are instantaneous; a report at a decision point carries a
 * checkpoint named `checkpoints/<t>`; restarts cost `restartSeconds`.
 */
import type { HParams } from "../config/types";
import type { Report } from "../backends/types";
import type { Observation, Searcher } from "../searchers/types";
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
  /** BOHB: how to turn a report into an observation (searchers/index.ts observationFor). */
  observe?: (s: Scheduler, trialId: string, config: HParams, report: Report) => Observation | null;
}

export interface SimTrial {
  id: string;
  config: HParams;
  initialConfig: HParams;
  t: number;
  state: "running" | "paused" | "completed" | "stopped";
  reports: Array<{ t: number; value: number; clock: number; gpuSeconds: number; config: HParams }>;
  modelBasedPick?: boolean;
  gpuSeconds: number;
}

export interface SimResult {
  trials: SimTrial[];
  /** every action with the report count at which it was taken */
  decisions: Array<[number, SchedulerAction]>;
  gpuSeconds: number;
  wallSeconds: number;
  reports: number;
}

interface Running {
  id: string;
  nextAt: number;
  segStart: number;
}

export function simulate(o: SimOptions): SimResult {
  let sched = o.scheduler;
  let search = o.searcher;
  const gpus = o.gpusPerTrial ?? 1;
  const restart = o.restartSeconds ?? 0;
  const trials = new Map<string, SimTrial>();
  const running: Running[] = [];
  const decisions: Array<[number, SchedulerAction]> = [];
  let clock = 0;
  let gpuDone = 0; // GPU-seconds of finished segments
  let reports = 0;
  let exhausted = false;

  const gpuNow = () => gpuDone + running.reduce((s, r) => s + (clock - r.segStart) * gpus, 0);
  const endSegment = (id: string) => {
    const i = running.findIndex((r) => r.id === id);
    if (i < 0) return;
    const seg = (clock - running[i].segStart) * gpus;
    gpuDone += seg;
    trials.get(id)!.gpuSeconds += seg;
    running.splice(i, 1);
  };
  const launch = (id: string, overhead: number) => {
    const tr = trials.get(id)!;
    tr.state = "running";
    const { seconds } = o.curve(tr.config, tr.t + 1, id);
    running.push({ id, nextAt: clock + overhead + seconds, segStart: clock });
  };

  const apply = (actions: SchedulerAction[]) => {
    const queue = [...actions];
    while (queue.length) {
      const a = queue.shift()!;
      decisions.push([reports, a]);
      const tr = trials.get(a.trialId);
      if (!tr) continue;
      switch (a.action) {
        case "continue":
          break;
        case "stop":
          if (tr.state === "running" || tr.state === "paused") {
            endSegment(tr.id);
            // a stop at max_t is a completion (the trainer was done anyway)
            tr.state = tr.t >= o.maxT ? "completed" : "stopped";
            const last = tr.reports.length ? lastReport(tr) : null;
            queue.push(...sched.onTrialComplete(tr.id, last));
          }
          break;
        case "pause":
          if (tr.state === "running") {
            endSegment(tr.id);
            tr.state = "paused";
          }
          break;
        case "resume":
          break; // picked up by chooseTrialToResume when a slot frees
        case "exploit":
          endSegment(tr.id);
          tr.config = { ...a.config };
          tr.t = a.donorT;
          launch(tr.id, restart);
          break;
      }
    }
  };

  const lastReport = (tr: SimTrial): Report => {
    const r = tr.reports[tr.reports.length - 1];
    return { t: r.t, time_total_s: r.clock, checkpoint: null, [o.metric]: r.value };
  };

  const fill = () => {
    while (running.length < o.maxConcurrent) {
      if (o.gpuSecondsBudget !== undefined && gpuNow() >= o.gpuSecondsBudget) return;
      const paused = [...trials.values()].filter((t) => t.state === "paused").map((t) => t.id);
      const canNew = !exhausted && trials.size < o.samples && sched.wantsNewTrial();
      const tryResume = () => {
        if (paused.length === 0) return false;
        const id = sched.chooseTrialToResume(paused);
        if (id === null) return false;
        launch(id, restart);
        return true;
      };
      const tryNew = () => {
        if (!canNew) return false;
        const id = `t${String(trials.size).padStart(4, "0")}`;
        const sug = search.suggest(id);
        if (!sug) {
          exhausted = true;
          return false;
        }
        trials.set(id, { id, config: { ...sug.config }, initialConfig: { ...sug.config }, t: 0, state: "running", reports: [], modelBasedPick: sug.modelBasedPick, gpuSeconds: 0 });
        sched.onTrialAdd({ trialId: id, config: sug.config });
        launch(id, 0);
        return true;
      };
      const ok = sched.kind === "pbt" ? tryNew() || tryResume() : tryResume() || tryNew();
      if (!ok) return;
    }
  };

  for (;;) {
    fill();
    if (running.length === 0) break;
    let k = 0;
    for (let i = 1; i < running.length; i++) if (running[i].nextAt < running[k].nextAt) k = i;
    const r = running[k];
    clock = r.nextAt;
    const tr = trials.get(r.id)!;
    tr.t += 1;
    const { value } = o.curve(tr.config, tr.t, tr.id);
    const isPoint = sched.decisionPoints(tr.id).includes(tr.t);
    const report: Report = { t: tr.t, time_total_s: clock, checkpoint: isPoint ? `checkpoints/${tr.t}` : null, [o.metric]: value };
    reports++;
    tr.reports.push({ t: tr.t, value, clock, gpuSeconds: gpuNow(), config: { ...tr.config } });
    const actions = sched.onResult(tr.id, report);
    if (o.observe) {
      const obs = o.observe(sched, tr.id, tr.config, report);
      if (obs) search.observe(obs);
    }
    // the trial's next epoch starts now unless an action changes that
    const next = o.curve(tr.config, tr.t + 1, tr.id);
    r.nextAt = clock + next.seconds;
    apply(actions);
    // the trainer exits after max_t whatever was decided (trial contract): completed
    if ((tr.state === "running" || tr.state === "paused") && tr.t >= o.maxT && !actions.some((a) => a.trialId === tr.id && a.action === "exploit")) {
      endSegment(tr.id);
      tr.state = "completed";
      apply(sched.onTrialComplete(tr.id, report));
    }
    if (o.restoreAfterReports === reports && o.rebuild) {
      const s1 = JSON.parse(JSON.stringify(sched.getState()));
      const s2 = JSON.parse(JSON.stringify(search.getState()));
      ({ scheduler: sched, searcher: search } = o.rebuild());
      sched.setState(s1);
      search.setState(s2);
    }
  }
  return { trials: [...trials.values()], decisions, gpuSeconds: gpuDone, wallSeconds: clock, reports };
}

export { metricOf };
