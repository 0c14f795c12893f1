/**
 * Test helper: replay an event trace into a scheduler and collect every
 * action; optionally snapshot the scheduler mid-trace (getState → JSON →
 * setState on a fresh instance built with a DIFFERENT seed, so only the
 * journaled Rng state can make it agree) and continue with the restored one.
 */
import type { Report } from "../../src/backends/types";
import type { Scheduler, SchedulerAction } from "../../src/schedulers/types";

export type TraceEvent =
  | { e: "add"; id: string; config?: Record<string, number | string | boolean> }
  | { e: "result"; id: string; t: number; v: number | null; checkpoint?: string | null }
  | { e: "complete"; id: string; t?: number; v?: number | null }
  | { e: "error"; id: string }
  | { e: "resume"; paused: string[] };

export function report(t: number, v: number | null, metric = "loss", checkpoint: string | null = null): Report {
  const r: Report = { t, time_total_s: t, checkpoint };
  r[metric] = v === null ? NaN : v;
  return r;
}

export interface Logged { at: number; actions: SchedulerAction[] | string | null }

export function replay(
  make: (seed: number) => Scheduler,
  events: TraceEvent[],
  opts: { seed?: number; restoreAt?: number; metric?: string } = {},
): Logged[] {
  let s = make(opts.seed ?? 1);
  const out: Logged[] = [];
  events.forEach((ev, i) => {
    if (opts.restoreAt === i) {
      const snap = JSON.parse(JSON.stringify(s.getState()));
      s = make(9999);
      s.setState(snap);
    }
    switch (ev.e) {
      case "add":
        s.onTrialAdd({ trialId: ev.id, config: ev.config ?? {} });
        out.push({ at: i, actions: null });
        break;
      case "result":
        out.push({ at: i, actions: s.onResult(ev.id, report(ev.t, ev.v, opts.metric, ev.checkpoint ?? null)) });
        break;
      case "complete":
        out.push({ at: i, actions: s.onTrialComplete(ev.id, ev.t === undefined ? null : report(ev.t, ev.v ?? null, opts.metric)) });
        break;
      case "error":
        out.push({ at: i, actions: s.onTrialError(ev.id) });
        break;
      case "resume":
        out.push({ at: i, actions: s.chooseTrialToResume(ev.paused) });
        break;
    }
  });
  return out;
}
