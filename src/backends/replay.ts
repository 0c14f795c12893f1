/**
 * Replay backend: answers trials from recorded learning curves (design.md
 * §4) on a virtual clock, so a classroom can run hours of tuning in seconds
 * with the same driver, schedulers and widgets as a real run.
 *
 * It behaves like the trainer + local backend, step for step:
 *  - a trial reports t = start_t+1 .. max_t, each `time_s` (recorded) after
 *    the previous one, every report naming a checkpoint (checkpoints/tNNNN);
 *  - at a decision point (pause_at) it waits, not advancing, until decide();
 *  - stop ends it at once; pause lets the current step finish and report;
 *  - concurrency limit with a FIFO queue, optional simulated queue delay;
 *  - GPU accounting as if real: gpus x simulated run seconds;
 *  - PBT: copyCheckpoint returns `replay://<donor>/<t>`; a trial submitted
 *    with it continues from start_t on ITS OWN configuration's curve
 *    (the donor's position, the receiver's hyperparameters).
 * The clock only moves in wait(ms) (sleeping ms x timeScale real ms when
 * timeScale > 0). wait() returns early, with the clock at that instant, when
 * a trial reports (a metrics line; at a decision point it then waits) or a
 * run ends: the virtual counterpart of the driver watching trial
 * directories, so decisions and free slots are answered at once (issue 13
 * item 5), and a run costs one driver batch per event, not per poll. With a runDir it
 * persists trial.json + decisions so a new instance can adopt() trials after
 * a kernel restart. `curveFn` replaces the table with a function (the
 * schedulers' simulator, src/schedulers/simulate.ts, runs on this clock).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { HParams, SpaceSpec } from "../config/types";
import type { AdoptedTrial, Backend, BackendEvent, Report, TrialJson, TrialLaunch, TrialState } from "./types";
import { type CurveTable, NearestCurves, type RecordedConfig, checkCurvesForSpace, loadCurves } from "./curves";
import { checkTrialId, decisionFile, readJson, writeJsonAtomic } from "./trial-files";

export interface ReplayOptions {
  /** CSV path or a parsed table. */
  curves: string | CurveTable;
  space: SpaceSpec;
  metric: string;
  maxConcurrent?: number;
  /** real seconds per simulated second; 0 = as fast as possible (default). */
  timeScale?: number;
  /** simulated seconds each trial waits in the queue before it may start. */
  queueDelay?: number;
  /** where trial dirs live (optional; enables adopt after a restart). */
  runDir?: string;
  /** virtual clock start, ms since the epoch (default: Date.now()). */
  startTime?: number;
  /** curves as a function instead of a table: what config c reports at t and how long that step takes. */
  curveFn?: ReplayCurveFn;
  /** extra simulated seconds of the first step of a run that restores a checkpoint (process restart). */
  restartSeconds?: number;
}

export type ReplayCurveFn = (config: HParams, t: number, trialId: string) => { value: number; seconds: number };

interface Ckpt {
  t: number;
  timeTotal: number;
}

interface ReplayTrial {
  id: string;
  launch: TrialLaunch;
  trial: TrialJson;
  curve: RecordedConfig;
  state: TrialState;
  submittedAt: number;
  readyAt: number;
  startedAt?: number;
  /** next t to report and when (virtual ms) */
  nextT: number;
  nextAt: number;
  /** waiting at this decision point */
  blockedAt: number | null;
  requested?: "pause";
  timeTotal: number;
  decisions: Map<number, "continue" | "stop">;
}

const TOKEN = /^replay:\/\/([^/]+)\/(\d+)$/;

export class ReplayBackend implements Backend {
  readonly kind = "replay" as const;
  readonly table: CurveTable;
  readonly maxConcurrent: number;
  readonly timeScale: number;
  readonly queueDelayMs: number;
  private readonly nearest: NearestCurves;
  private readonly runDir?: string;
  private clock: number;
  /** time of the last simulated event (<= clock) */
  private simTime: number;
  private readonly trials = new Map<string, ReplayTrial>();
  private readonly queue: ReplayTrial[] = [];
  private readonly ckpts = new Map<string, Map<string, Ckpt>>();
  /** report lines emitted per trial id over all its runs (adopt bookkeeping). */
  private readonly emitted = new Map<string, number>();
  private pending: BackendEvent[] = [];
  private closed = false;
  /** trials in state running (the simulation loop scans only these) */
  private readonly running = new Set<ReplayTrial>();
  /** an event since the last poll needs the driver (a decision point reached, a run ended) */
  private wake = false;
  private readonly curveFn?: ReplayCurveFn;
  private readonly restartMs: number;
  /** trial dirs known to exist (a mkdir per decision costs more than the decision) */
  private readonly dirs = new Set<string>();

  constructor(o: ReplayOptions) {
    this.curveFn = o.curveFn;
    this.restartMs = Math.max(0, (o.restartSeconds ?? 0) * 1000);
    this.table = o.curveFn ? { source: "curve function", keys: [], metric: o.metric, configs: [] } : typeof o.curves === "string" ? loadCurves(o.curves) : o.curves;
    if (!o.curveFn) checkCurvesForSpace(this.table, o.space, o.metric);
    this.nearest = new NearestCurves(this.table, o.space);
    this.maxConcurrent = Math.max(1, Math.floor(o.maxConcurrent ?? 4));
    this.timeScale = Math.max(0, o.timeScale ?? 0);
    this.queueDelayMs = Math.max(0, (o.queueDelay ?? 0) * 1000);
    this.runDir = o.runDir ? path.resolve(o.runDir) : undefined;
    this.clock = this.simTime = o.startTime ?? Date.now();
  }

  async start(): Promise<void> {
    if (this.runDir) fs.mkdirSync(path.join(this.runDir, "trials"), { recursive: true });
  }

  now(): number {
    return this.clock;
  }

  /** Advances the virtual clock (stopping early at an event that needs the driver); sleeps only when timeScale > 0. */
  async wait(ms: number): Promise<void> {
    const d = this.advanceClock(ms);
    if (this.timeScale > 0 && d > 0) await new Promise((r) => setTimeout(r, d * this.timeScale));
    else await new Promise((r) => setImmediate(r));
  }

  /**
   * wait() without the sleep (the synchronous simulator): moves the clock by
   * up to ms, to the first instant at which a trial reports or a run ends;
   * returns the virtual ms advanced.
   */
  advanceClock(ms: number): number {
    const from = this.clock;
    const until = from + Math.max(0, ms);
    while (!this.wake) {
      const at = this.nextEventAt();
      if (at === null || at > until) break;
      this.clock = Math.max(this.clock, at);
      this.advance();
    }
    if (!this.wake) this.clock = until;
    return this.clock - from;
  }

  /** poll() for the synchronous simulator. */
  takeEvents(): BackendEvent[] {
    this.assertOpen();
    this.advance();
    this.wake = false;
    const out = this.pending;
    this.pending = [];
    return out;
  }

  private nextEventAt(): number | null {
    let at: number | null = null;
    for (const t of this.running) if (t.blockedAt === null && (at === null || t.nextAt < at)) at = t.nextAt;
    const head = this.queue[0];
    if (head && this.running.size < this.maxConcurrent) {
      const s = Math.max(head.readyAt, this.simTime);
      if (at === null || s < at) at = s;
    }
    return at;
  }

  trialDir(trialId: string): string {
    checkTrialId(trialId);
    return this.runDir ? path.join(this.runDir, "trials", trialId) : `replay://${trialId}`;
  }

  async submit(launches: TrialLaunch[]): Promise<void> {
    this.assertOpen();
    for (const l of launches) {
      checkTrialId(l.trialId);
      if (l.trial.trial_id !== l.trialId) throw new Error(`submit: trial.trial_id ${l.trial.trial_id} != trialId ${l.trialId}`);
      const prev = this.trials.get(l.trialId);
      if (prev && (prev.state === "queued" || prev.state === "running")) throw new Error(`submit: trial ${l.trialId} is already ${prev.state}`);
    }
    this.advance();
    for (const l of launches) this.enqueue(l, this.emitted.get(l.trialId) ?? 0);
  }

  private enqueue(l: TrialLaunch, reportsBefore: number, adoptedLines?: number): void {
    const found = this.curveFn ? this.fnCurve(l) : this.nearest.find(l.trial.config);
    const at = this.clock;
    const base = {
      id: l.trialId,
      launch: l,
      trial: l.trial,
      submittedAt: at,
      readyAt: at + this.queueDelayMs,
      nextT: (l.trial.start_t ?? 0) + 1,
      nextAt: Infinity,
      blockedAt: null,
      timeTotal: this.restoredTimeTotal(l.trial.restore_from),
      decisions: new Map<number, "continue" | "stop">(),
    };
    if (typeof found === "string" || l.trial.max_t > found.maxT) {
      const message = typeof found === "string" ? found : `recorded curve ${JSON.stringify(found.values)} has t up to ${found.maxT}, trial wants max_t ${l.trial.max_t}`;
      const t = { ...base, curve: null as unknown as RecordedConfig, state: "failed" as TrialState };
      this.trials.set(l.trialId, t);
      this.pending.push({ type: "state", trialId: l.trialId, state: "failed", at, exitCode: null, message });
      this.pending.push({ type: "accounting", trialId: l.trialId, gpuSeconds: 0, runSeconds: 0, queueSeconds: 0, gpus: 0, source: "replay" });
      this.wake = true;
      return;
    }
    const t: ReplayTrial = { ...base, curve: found, state: "queued" };
    this.trials.set(l.trialId, t);
    if (!this.emitted.has(t.id)) this.emitted.set(t.id, reportsBefore);
    if (this.runDir) {
      const dir = this.trialDir(t.id);
      this.ensureDir(dir);
      if (adoptedLines === undefined) {
        writeJsonAtomic(path.join(dir, "trial.json"), l.trial);
        writeJsonAtomic(path.join(dir, "replay.json"), { reportsBefore, gpus: l.gpus, command: l.command });
      }
    }
    if (adoptedLines !== undefined) {
      // resume the simulation where the previous instance left it
      const lastT = (l.trial.start_t ?? 0) + adoptedLines;
      this.setState(t, "running");
      t.startedAt = this.clock;
      t.nextT = lastT + 1;
      this.loadDecisions(t);
      if (lastT > (l.trial.start_t ?? 0) && this.isDecisionPoint(t, lastT)) this.block(t, lastT, this.clock);
      else t.nextAt = this.clock + this.stepMs(t, t.nextT);
      return;
    }
    this.pending.push({ type: "state", trialId: t.id, state: "queued", at });
    this.queue.push(t);
  }

  async stop(trialId: string): Promise<void> {
    const t = this.get(trialId);
    this.advance();
    if (t.state === "queued") this.endUnstarted(t, "stopped");
    else if (t.state === "running") this.finish(t, "stopped", this.clock);
  }

  async pause(trialId: string): Promise<void> {
    const t = this.get(trialId);
    this.advance();
    if (t.state === "queued") this.endUnstarted(t, "paused");
    else if (t.state === "running") {
      if (t.blockedAt !== null) this.finish(t, "paused", this.clock);
      else t.requested = "pause"; // the current step finishes and reports first
    }
  }

  decide(trialId: string, tt: number, action: "continue" | "stop"): void {
    if (action !== "continue" && action !== "stop") throw new Error(`decide: action must be "continue" or "stop", got ${JSON.stringify(action)}`);
    if (!Number.isInteger(tt)) throw new Error(`decide: t must be an integer, got ${tt}`);
    const t = this.trials.get(trialId);
    if (this.runDir) {
      const dir = this.trialDir(trialId);
      this.ensureDir(dir);
      // a few bytes, read back only by adopt(): one write, no temp file + rename (10k-trial runs)
      fs.writeFileSync(decisionFile(dir, tt), JSON.stringify({ action }) + "\n");
    }
    if (!t) return;
    this.advance();
    t.decisions.set(tt, action);
    if (t.state === "running" && t.blockedAt === tt) this.applyDecision(t, tt, this.clock);
  }

  async poll(): Promise<BackendEvent[]> {
    return this.takeEvents();
  }

  async copyCheckpoint(fromTrial: string, rel: string, toTrial: string): Promise<string> {
    return this.copyCheckpointSync(fromTrial, rel, toTrial);
  }

  /** copyCheckpoint for the synchronous simulator. */
  copyCheckpointSync(fromTrial: string, rel: string, toTrial: string): string {
    checkTrialId(toTrial);
    const c = this.ckpts.get(fromTrial)?.get(rel);
    if (!c) throw new Error(`copyCheckpoint: ${fromTrial} has no checkpoint ${JSON.stringify(rel)}`);
    return `replay://${fromTrial}/${c.t}`;
  }

  async adopt(adopted: AdoptedTrial[]): Promise<void> {
    this.assertOpen();
    if (!this.runDir) throw new Error("replay backend: adopt needs a runDir (trial.json is read from it)");
    this.advance();
    for (const a of adopted) {
      const dir = this.trialDir(a.trialId);
      const trial = readJson<TrialJson>(path.join(dir, "trial.json"));
      const meta = readJson<{ reportsBefore: number; gpus: number; command: string[] }>(path.join(dir, "replay.json"));
      if (!trial || !meta) throw new Error(`adopt ${a.trialId}: no trial.json/replay.json in ${dir}`);
      this.emitted.set(a.trialId, a.reportsSeen);
      const lines = Math.max(0, a.reportsSeen - meta.reportsBefore);
      this.enqueue({ trialId: a.trialId, trial, command: meta.command ?? [], env: {}, gpus: meta.gpus ?? 0 }, meta.reportsBefore, lines);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private ensureDir(dir: string): void {
    if (this.dirs.has(dir)) return;
    fs.mkdirSync(dir, { recursive: true });
    this.dirs.add(dir);
  }

  // ---- the simulation ----

  /** The run's curve from curveFn: t = 1..max_t for this config (a run's config is fixed). */
  private fnCurve(l: TrialLaunch): RecordedConfig {
    const n = l.trial.max_t;
    const points = Array.from({ length: n }, (_, i) => {
      const r = this.curveFn!(l.trial.config, i + 1, l.trialId);
      return { t: i + 1, value: r.value, time_s: r.seconds };
    });
    return { index: -1, values: { ...l.trial.config } as RecordedConfig["values"], points, maxT: n };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("replay backend is closed");
  }

  private get(trialId: string): ReplayTrial {
    const t = this.trials.get(trialId);
    if (!t) throw new Error(`unknown trial ${JSON.stringify(trialId)}`);
    return t;
  }

  private stepMs(t: ReplayTrial, tt: number): number {
    return t.curve.points[tt - 1].time_s * 1000;
  }

  private isDecisionPoint(t: ReplayTrial, tt: number): boolean {
    return tt < t.trial.max_t && (t.trial.pause_at ?? []).includes(tt);
  }

  private restoredTimeTotal(restore: string | null): number {
    const m = restore ? TOKEN.exec(restore) : null;
    if (!m) return 0;
    for (const c of this.ckpts.get(m[1])?.values() ?? []) if (c.t === Number(m[2])) return c.timeTotal;
    return 0;
  }

  private runningCount(): number {
    return this.running.size;
  }

  /** Process every simulated event up to the clock, in time order. */
  private advance(): void {
    for (;;) {
      let next: ReplayTrial | null = null;
      for (const t of this.running) {
        if (t.blockedAt === null && t.nextAt <= this.clock && (!next || t.nextAt < next.nextAt)) next = t;
      }
      const head = this.queue[0];
      const startAt = head && this.runningCount() < this.maxConcurrent ? Math.max(head.readyAt, this.simTime) : Infinity;
      if (startAt <= this.clock && (!next || startAt <= next.nextAt)) {
        this.queue.shift();
        this.simTime = startAt;
        this.startTrial(head, startAt);
        continue;
      }
      if (!next) break;
      this.simTime = next.nextAt;
      this.step(next);
    }
    this.simTime = this.clock;
  }

  private startTrial(t: ReplayTrial, at: number): void {
    this.setState(t, "running");
    t.startedAt = at;
    t.nextAt = at + this.stepMs(t, t.nextT) + (t.trial.restore_from ? this.restartMs : 0);
    this.pending.push({ type: "state", trialId: t.id, state: "running", at, message: `replaying recorded configuration ${JSON.stringify(t.curve.values)}` });
  }

  private step(t: ReplayTrial): void {
    this.wake = true;
    const at = t.nextAt;
    const tt = t.nextT;
    const p = t.curve.points[tt - 1];
    t.timeTotal += p.time_s;
    const rel = `checkpoints/t${String(tt).padStart(4, "0")}`;
    let ck = this.ckpts.get(t.id);
    if (!ck) this.ckpts.set(t.id, (ck = new Map()));
    ck.set(rel, { t: tt, timeTotal: t.timeTotal });
    const report: Report = {
      t: tt,
      [this.table.metric]: Number.isFinite(p.value) ? p.value : null,
      time_total_s: Math.round(t.timeTotal * 10000) / 10000,
      checkpoint: rel,
      trial_id: t.id,
    };
    if (!Number.isFinite(p.value)) report.diverged = true;
    // further recorded metric columns (e.g. train_loss) travel as extra report keys (design.md §4)
    if (p.extra) for (const [k, v] of Object.entries(p.extra)) report[k] = Number.isFinite(v) ? v : null;
    this.pending.push({ type: "report", trialId: t.id, report, at });
    this.emitted.set(t.id, (this.emitted.get(t.id) ?? 0) + 1);
    t.nextT = tt + 1;
    if (tt >= t.trial.max_t) return this.finish(t, "completed", at);
    if (t.requested === "pause") return this.finish(t, "paused", at);
    if (this.isDecisionPoint(t, tt)) return this.block(t, tt, at);
    t.nextAt = at + this.stepMs(t, t.nextT);
  }

  private block(t: ReplayTrial, tt: number, at: number): void {
    t.blockedAt = tt;
    t.nextAt = Infinity;
    if (t.decisions.has(tt)) this.applyDecision(t, tt, at);
    else this.wake = true;
  }

  /** every state change goes through here, so `running` stays exact */
  private setState(t: ReplayTrial, state: TrialState): void {
    t.state = state;
    if (state === "running") this.running.add(t);
    else this.running.delete(t);
  }

  private applyDecision(t: ReplayTrial, tt: number, at: number): void {
    const action = t.decisions.get(tt)!;
    t.blockedAt = null;
    if (action === "stop") return this.finish(t, "stopped", at);
    t.nextAt = at + this.stepMs(t, t.nextT);
  }

  private loadDecisions(t: ReplayTrial): void {
    if (!this.runDir) return;
    for (const tt of t.trial.pause_at ?? []) {
      const d = readJson<{ action: "continue" | "stop" }>(decisionFile(this.trialDir(t.id), tt));
      if (d && (d.action === "continue" || d.action === "stop")) t.decisions.set(tt, d.action);
    }
  }

  private finish(t: ReplayTrial, state: TrialState, at: number): void {
    this.setState(t, state);
    this.wake = true;
    t.blockedAt = null;
    t.nextAt = Infinity;
    t.requested = undefined;
    this.pending.push({ type: "state", trialId: t.id, state, at, exitCode: 0 });
    const started = t.startedAt ?? at;
    const runSeconds = Math.max(0, (at - started) / 1000);
    const gpus = t.launch.gpus ?? 0;
    this.pending.push({
      type: "accounting",
      trialId: t.id,
      gpuSeconds: gpus * runSeconds,
      runSeconds,
      queueSeconds: Math.max(0, (started - t.submittedAt) / 1000),
      gpus,
      source: "replay",
    });
  }

  private endUnstarted(t: ReplayTrial, state: "stopped" | "paused"): void {
    const i = this.queue.indexOf(t);
    if (i >= 0) this.queue.splice(i, 1);
    this.setState(t, state);
    this.wake = true;
    this.pending.push({ type: "state", trialId: t.id, state, at: this.clock });
    this.pending.push({ type: "accounting", trialId: t.id, gpuSeconds: 0, runSeconds: 0, queueSeconds: (this.clock - t.submittedAt) / 1000, gpus: 0, source: "replay" });
  }
}
