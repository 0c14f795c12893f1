/**
 * Reading an experiment's outcome from its event history (exp.history() or
 * a journal): which trials were cut at which rung, the PBT schedule and
 * lineage, which BOHB picks came from the model. The notebooks show these
 * as tables because "the final config" alone hides what the method did.
 */
import type { ExperimentEvent } from "../experiment/events";
import type { HParamValue } from "./row";
import { fixed, formatConfig, formatHp, mdCell } from "./format";

type Config = Record<string, HParamValue>;

function metricOf(report: Record<string, unknown>, metric: string): number | null {
  const v = report[metric];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** A small Markdown table that displays itself in a notebook and prints in plain Node. */
export class Table {
  constructor(readonly title: string, readonly columns: string[], readonly rows: Array<Array<string | number | null>>) {}
  markdown(): string {
    const head = `| ${this.columns.join(" | ")} |`;
    const sep = `|${this.columns.map(() => "---").join("|")}|`;
    const body = this.rows.map((r) => `| ${r.map((c) => mdCell(c === null ? "—" : String(c))).join(" | ")} |`);
    return [this.title ? `**${this.title}**\n` : "", head, sep, ...body].filter((x) => x !== "").join("\n") + "\n";
  }
  toString(): string { return this.markdown(); }
  [Symbol.for("Jupyter.display")](): Record<string, unknown> {
    return { "text/markdown": this.markdown(), "text/plain": this.markdown() };
  }
}

export interface RungCut {
  trialId: string;
  config: Config;
  /** the rung (t) at which the trial was stopped */
  t: number;
  /** its metric at that rung */
  value: number | null;
  reason?: string;
}

export interface TrialOutcome {
  trialId: string;
  config: Config;
  lastT: number | null;
  lastValue: number | null;
  /** t of the scheduler's stop decision, or null when it ran on */
  stoppedAt: number | null;
  bracket?: number;
  modelBasedPick?: boolean;
}

/** Per trial: its config, how far it got, where (if) the scheduler cut it. */
export function trialOutcomes(events: readonly ExperimentEvent[], metric = "eval_loss"): TrialOutcome[] {
  const out = new Map<string, TrialOutcome>();
  for (const e of events) {
    if (e.type === "trial_added") {
      out.set(e.trialId, {
        trialId: e.trialId, config: { ...e.config }, lastT: null, lastValue: null, stoppedAt: null,
        ...(e.bracket !== undefined ? { bracket: e.bracket } : {}),
        ...(e.modelBasedPick !== undefined ? { modelBasedPick: e.modelBasedPick } : {}),
      });
    } else if (e.type === "report") {
      const o = out.get(e.trialId);
      if (o) { o.lastT = e.report.t; o.lastValue = metricOf(e.report, metric); }
    } else if (e.type === "decision" && e.action === "stop") {
      const o = out.get(e.trialId);
      if (o && o.stoppedAt === null) o.stoppedAt = e.t;
    } else if (e.type === "exploit") {
      const o = out.get(e.trialId);
      if (o) o.config = { ...e.config };
    }
  }
  return [...out.values()];
}

/** Trials the scheduler stopped before the full budget, by rung. */
export function cutsByRung(events: readonly ExperimentEvent[], metric = "eval_loss", maxT = Infinity): RungCut[] {
  const configs = new Map<string, Config>();
  const values = new Map<string, Map<number, number | null>>();
  const cuts: RungCut[] = [];
  const seen = new Set<string>();
  for (const e of events) {
    if (e.type === "trial_added") configs.set(e.trialId, { ...e.config });
    else if (e.type === "report") {
      if (!values.has(e.trialId)) values.set(e.trialId, new Map());
      values.get(e.trialId)!.set(e.report.t, metricOf(e.report, metric));
    } else if (e.type === "decision" && e.action === "stop" && e.t !== null && e.t < maxT && !seen.has(e.trialId)) {
      seen.add(e.trialId);
      cuts.push({
        trialId: e.trialId, config: configs.get(e.trialId) ?? {}, t: e.t,
        value: values.get(e.trialId)?.get(e.t) ?? null, ...(e.reason ? { reason: e.reason } : {}),
      });
    }
  }
  return cuts.sort((a, b) => a.t - b.t || a.trialId.localeCompare(b.trialId));
}

/** How many trials reached each t, and how many were cut there (the ASHA/HyperBand funnel). */
export function rungFunnel(events: readonly ExperimentEvent[], rungs: number[], metric = "eval_loss", maxT = Infinity): Array<{ t: number; reached: number; cut: number }> {
  const outcomes = trialOutcomes(events, metric);
  const cuts = cutsByRung(events, metric, maxT);
  const points = [...new Set([...rungs, ...(Number.isFinite(maxT) ? [maxT] : [])])].sort((a, b) => a - b);
  return points.map((t) => ({
    t,
    reached: outcomes.filter((o) => o.lastT !== null && o.lastT >= t).length,
    cut: cuts.filter((c) => c.t === t).length,
  }));
}

export function cutsTable(events: readonly ExperimentEvent[], metric = "eval_loss", maxT = Infinity): Table {
  const cuts = cutsByRung(events, metric, maxT);
  return new Table(
    cuts.length ? `${cuts.length} trial(s) stopped early` : "no trial was stopped early",
    ["trial", "stopped at t", metric, "config"],
    cuts.map((c) => [c.trialId, c.t, c.value === null ? null : fixed(c.value, 4), formatConfig(c.config)]),
  );
}

/** Every trial with its (final) config, how far it got and its last value, best first. */
export function outcomesTable(events: readonly ExperimentEvent[], metric = "eval_loss", mode: "min" | "max" = "min"): Table {
  const o = trialOutcomes(events, metric).sort((a, b) => {
    if (a.lastValue === null) return 1;
    if (b.lastValue === null) return -1;
    return mode === "min" ? a.lastValue - b.lastValue : b.lastValue - a.lastValue;
  });
  return new Table(`${o.length} trial(s), best first`, ["trial", "config", "last t", metric, "stopped at"],
    o.map((x) => [x.trialId, formatConfig(x.config), x.lastT, x.lastValue === null ? null : fixed(x.lastValue, 4), x.stoppedAt]));
}

export interface ExploitStep {
  trialId: string;
  t: number;
  donor: string;
  donorT: number;
  from: Config;
  to: Config;
  mutations: Record<string, string>;
}

/** Every PBT exploit/explore step, in order. */
export function pbtSteps(events: readonly ExperimentEvent[]): ExploitStep[] {
  return events.filter((e): e is Extract<ExperimentEvent, { type: "exploit" }> => e.type === "exploit").map((e) => ({
    trialId: e.trialId, t: e.t, donor: e.donor, donorT: e.donorT, from: { ...e.oldConfig }, to: { ...e.config }, mutations: { ...e.mutations },
  }));
}

/**
 * The lineage of one trial's final weights: follow "copied from donor at
 * donorT" backwards, so the schedule shows where every phase came from.
 */
export function pbtLineageOf(events: readonly ExperimentEvent[], trialId: string): Array<{ trialId: string; fromT: number; toT: number | null; config: Config }> {
  const steps = pbtSteps(events);
  const initial = new Map<string, Config>();
  for (const e of events) if (e.type === "trial_added") initial.set(e.trialId, { ...e.config });
  const phases: Array<{ trialId: string; fromT: number; toT: number | null; config: Config }> = [];
  let cur = trialId;
  let until: number | null = null;
  for (let guard = 0; guard < 1000; guard++) {
    const mine = steps.filter((s) => s.trialId === cur && (until === null || s.t <= until));
    const last = mine[mine.length - 1];
    if (!last) {
      phases.push({ trialId: cur, fromT: 0, toT: until, config: initial.get(cur) ?? {} });
      break;
    }
    phases.push({ trialId: cur, fromT: last.t, toT: until, config: last.to });
    cur = last.donor;
    until = last.donorT;
  }
  return phases.reverse();
}

export function pbtTable(events: readonly ExperimentEvent[]): Table {
  const steps = pbtSteps(events);
  return new Table(
    steps.length ? `${steps.length} exploit/explore step(s)` : "no exploit happened (too few perturbation points?)",
    ["t", "trial", "copied weights of", "at t", "new config", "mutations"],
    steps.map((s) => [s.t, s.trialId, s.donor, s.donorT, formatConfig(s.to), Object.entries(s.mutations).map(([k, v]) => `${k}: ${v}`).join("; ")]),
  );
}

export function lineageTable(events: readonly ExperimentEvent[], trialId: string): Table {
  const phases = pbtLineageOf(events, trialId);
  return new Table(
    `where the weights of ${trialId} come from`,
    ["from t", "to t", "trained by", "config"],
    phases.map((p) => [p.fromT, p.toT === null ? "end" : p.toT, p.trialId, formatConfig(p.config)]),
  );
}

/** BOHB: which configurations came from the KDE model and which were random. */
export function bohbPicks(events: readonly ExperimentEvent[], metric = "eval_loss"): Table {
  const outcomes = trialOutcomes(events, metric);
  const model = outcomes.filter((o) => o.modelBasedPick === true).length;
  return new Table(
    `${model} of ${outcomes.length} configuration(s) proposed by the model, ${outcomes.length - model} random`,
    ["trial", "bracket", "picked by", "last t", metric, "config"],
    outcomes.map((o) => [
      o.trialId, o.bracket ?? null, o.modelBasedPick === undefined ? "?" : o.modelBasedPick ? "model (KDE)" : "random",
      o.lastT, o.lastValue === null ? null : fixed(o.lastValue, 4), formatConfig(o.config),
    ]),
  );
}

export { formatHp };
