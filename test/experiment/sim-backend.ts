/**
 * In-test stand-in for a backend (used until/besides the real replay
 * backend): a simulated cluster that plays recorded curves (design.md §4 CSV)
 * on a virtual clock and obeys the trial contract — reports per t, waits at
 * pause_at points for decisions, restores at start_t, accounts GPU time.
 *
 * The cluster is separate from the backend objects, so a second SimBackend
 * can `adopt` the trials of a first one: that is a kernel restart, with the
 * trials still running on the "cluster".
 */
import type { AdoptedTrial, Backend, BackendEvent, Report, TrialLaunch } from "../../src/backends/types";
import type { HParams } from "../../src/config/types";

export interface CurvePoint { t: number; value: number; timeS: number }
export interface Curve { config: HParams; points: CurvePoint[] }

/** Parse the recorded-curves CSV: hparam columns, t, metric, time_s. */
export function parseCurves(csv: string, metric: string): Curve[] {
  const lines = csv.trim().split(/\r?\n/);
  const head = lines[0].split(",");
  const ti = head.indexOf("t"), mi = head.indexOf(metric), si = head.indexOf("time_s");
  const hp = head.filter((h, i) => i !== ti && i !== mi && i !== si);
  const byKey = new Map<string, Curve>();
  for (const line of lines.slice(1)) {
    const cells = line.split(",");
    const config: HParams = {};
    for (const h of hp) {
      const raw = cells[head.indexOf(h)];
      const n = Number(raw);
      config[h] = raw === "true" ? true : raw === "false" ? false : Number.isFinite(n) && raw !== "" ? n : raw;
    }
    const key = JSON.stringify(config);
    let c = byKey.get(key);
    if (!c) byKey.set(key, (c = { config, points: [] }));
    c.points.push({ t: Number(cells[ti]), value: Number(cells[mi]), timeS: Number(cells[si]) });
  }
  for (const c of byKey.values()) c.points.sort((a, b) => a.t - b.t);
  return [...byKey.values()];
}

function distance(a: HParams, b: HParams): number {
  let d = 0;
  for (const k of Object.keys(b)) {
    const x = a[k], y = b[k];
    if (typeof x === "number" && typeof y === "number") d += x > 0 && y > 0 ? Math.abs(Math.log(x) - Math.log(y)) : Math.abs(x - y);
    else d += x === y ? 0 : 1e6;
  }
  return d;
}

interface SimTrial {
  id: string;
  launch: TrialLaunch;
  curve: Curve;
  t: number;
  state: "running" | "waiting" | "ended";
  nextAt: number;
  runStart: number;
  submittedAt: number;
  reports: number;
  run: number;
}

interface Logged { seq: number; ev: BackendEvent }

export interface SimOptions {
  metric: string;
  /** config → t at which the trainer crashes (null: never) */
  failAt?: (config: HParams) => number | null;
}

/** The simulated cluster: virtual clock, trainer state machines, the event log, decision "files". */
export class SimCluster {
  clock = 1_700_000_000_000;
  readonly log: Logged[] = [];
  readonly trials = new Map<string, SimTrial>();
  readonly decisions = new Map<string, "continue" | "stop">();
  readonly copies: Array<{ from: string; rel: string; to: string; path: string }> = [];
  readonly submissions: TrialLaunch[] = [];
  readonly signals: Array<{ id: string; sig: "stop" | "pause"; at: number }> = [];
  private seq = 0;
  lastPollStart = 0;
  lastPollEnd = 0;
  polls = 0;
  readonly adoptions: AdoptedTrial[][] = [];

  constructor(readonly curves: Curve[], readonly opts: SimOptions) {}

  push(ev: BackendEvent): void {
    this.log.push({ seq: this.seq++, ev });
  }

  nearest(config: HParams): Curve {
    let best = this.curves[0], bd = Infinity;
    for (const c of this.curves) {
      const d = distance(config, c.config);
      if (d < bd) { bd = d; best = c; }
    }
    return best;
  }

  submit(l: TrialLaunch): void {
    this.submissions.push(JSON.parse(JSON.stringify(l)));
    const prev = this.trials.get(l.trialId);
    const curve = this.nearest(l.trial.config);
    const tr: SimTrial = {
      id: l.trialId, launch: l, curve, t: l.trial.start_t, state: "running", runStart: this.clock, submittedAt: this.clock,
      nextAt: this.clock + this.stepMs(curve, l.trial.start_t + 1), reports: prev ? prev.reports : 0, run: prev ? prev.run + 1 : 0,
    };
    this.trials.set(l.trialId, tr);
    this.push({ type: "state", trialId: l.trialId, state: "queued", at: this.clock });
    this.push({ type: "state", trialId: l.trialId, state: "running", at: this.clock });
  }

  private stepMs(c: Curve, t: number): number {
    const p = c.points.find((q) => q.t === t) ?? c.points[c.points.length - 1];
    return Math.round(p.timeS * 1000);
  }

  end(tr: SimTrial, state: "completed" | "stopped" | "failed" | "paused", message?: string): void {
    tr.state = "ended";
    this.push({ type: "state", trialId: tr.id, state, at: this.clock, exitCode: state === "failed" ? 1 : 0, ...(message ? { message } : {}) });
    const run = (this.clock - tr.runStart) / 1000;
    this.push({ type: "accounting", trialId: tr.id, gpuSeconds: run * tr.launch.gpus, runSeconds: run, queueSeconds: 0, gpus: tr.launch.gpus, source: "sim" });
  }

  signal(id: string, sig: "stop" | "pause"): void {
    const tr = this.trials.get(id);
    this.signals.push({ id, sig, at: this.clock });
    if (!tr || tr.state === "ended") return;
    this.end(tr, sig === "stop" ? "stopped" : "paused");
  }

  /** Advance the virtual clock by ms, running trainers in time order. */
  advance(ms: number): void {
    const until = this.clock + ms;
    for (;;) {
      this.settleWaiting();
      let next: SimTrial | null = null;
      for (const tr of this.trials.values()) {
        if (tr.state !== "running") continue;
        if (!next || tr.nextAt < next.nextAt || (tr.nextAt === next.nextAt && tr.id < next.id)) next = tr;
      }
      if (!next || next.nextAt > until) break;
      this.clock = next.nextAt;
      this.step(next);
    }
    this.clock = until;
  }

  /** Trainers waiting at a decision point pick up their decision file. */
  private settleWaiting(): void {
    for (const tr of this.trials.values()) {
      if (tr.state !== "waiting") continue;
      const d = this.decisions.get(`${tr.id}@${tr.t}@${tr.run}`);
      if (!d) continue;
      if (d === "stop") this.end(tr, "stopped");
      else { tr.state = "running"; tr.nextAt = this.clock + this.stepMs(tr.curve, tr.t + 1); }
    }
  }

  private step(tr: SimTrial): void {
    const t = tr.t + 1;
    const fail = this.opts.failAt?.(tr.launch.trial.config);
    if (fail !== null && fail !== undefined && t >= fail) {
      this.end(tr, "failed", "Traceback (most recent call last):\nRuntimeError: simulated crash");
      return;
    }
    tr.t = t;
    const p = tr.curve.points.find((q) => q.t === t) ?? tr.curve.points[tr.curve.points.length - 1];
    const report: Report = { t, [this.opts.metric]: p.value, time_total_s: (this.clock - tr.runStart) / 1000, checkpoint: `checkpoints/ckpt-${t}` };
    tr.reports++;
    this.push({ type: "report", trialId: tr.id, report, at: this.clock });
    if (t >= tr.launch.trial.max_t) { this.end(tr, "completed"); return; }
    if ((tr.launch.trial.pause_at ?? []).includes(t)) { tr.state = "waiting"; return; }
    tr.nextAt = this.clock + this.stepMs(tr.curve, t + 1);
  }
}

export class SimBackend implements Backend {
  readonly kind = "replay" as const;
  private cursor = 0;
  closed = false;

  constructor(readonly cluster: SimCluster) {}

  async start(): Promise<void> {}
  async submit(trials: TrialLaunch[]): Promise<void> {
    for (const l of trials) this.cluster.submit(l);
  }
  async stop(id: string): Promise<void> { this.cluster.signal(id, "stop"); }
  async pause(id: string): Promise<void> { this.cluster.signal(id, "pause"); }
  decide(id: string, t: number, action: "continue" | "stop"): void {
    const tr = this.cluster.trials.get(id);
    this.cluster.decisions.set(`${id}@${t}@${tr ? tr.run : 0}`, action);
  }
  async poll(): Promise<BackendEvent[]> {
    const log = this.cluster.log;
    this.cluster.lastPollStart = this.cursor;
    const out = log.slice(this.cursor).map((l) => l.ev);
    this.cursor = log.length;
    this.cluster.lastPollEnd = this.cursor;
    this.cluster.polls++;
    return out;
  }
  async wait(ms: number): Promise<void> { this.cluster.advance(ms); }
  now(): number { return this.cluster.clock; }
  async copyCheckpoint(from: string, rel: string, to: string): Promise<string> {
    const p = `${this.trialDir(to)}/checkpoints/from-${from}-${rel.split("/").pop()}`;
    this.cluster.copies.push({ from, rel, to, path: p });
    return p;
  }
  /**
   * A real backend re-reads metrics.jsonl after `reportsSeen` lines. The sim
   * re-delivers from the start of the last poll if the driver had not
   * journaled that batch (its reportsSeen counts match the log there), else
   * from the end of it; anything else means the driver's counts are wrong.
   */
  async adopt(trials: AdoptedTrial[]): Promise<void> {
    const c = this.cluster;
    const fits = (cursor: number) => trials.every((a) => {
      let n = 0;
      for (let i = 0; i < cursor; i++) { const ev = c.log[i].ev; if (ev.type === "report" && ev.trialId === a.trialId) n++; }
      return n === a.reportsSeen;
    });
    if (fits(c.lastPollStart)) this.cursor = c.lastPollStart;
    else if (fits(c.lastPollEnd)) this.cursor = c.lastPollEnd;
    else throw new Error(`sim adopt: reportsSeen ${JSON.stringify(trials)} matches neither end of the last poll`);
    c.adoptions.push(trials.map((t) => ({ ...t })));
  }
  trialDir(id: string): string { return `/sim/trials/${id}`; }
  async close(): Promise<void> { this.closed = true; }
}
