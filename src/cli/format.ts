/**
 * Text output of the CLI: the progress line, the trial table and the
 * summary. Pure functions of the config, the event stream and the summary.
 */
import type { ExperimentConfig } from "../config/types";
import type { ExperimentEvent } from "../experiment/events";
import type { Summary } from "../experiment/results";
import type { TrialTable } from "../experiment/table";
import { deviceWords, experimentDevice, runSeconds } from "../results/device";

const ENDED = new Set(["completed", "stopped", "failed"]);

/** Counts trials by state from events; `apply` returns a plain-text log line for notable events. */
export class ProgressCounter {
  readonly states = new Map<string, string>();
  best: { value: number; trialId: string; t: number } | null = null;
  constructor(readonly config: ExperimentConfig) {}

  get total(): number { return Math.max(this.config.samples, this.states.size); }
  /** kept per transition: counting the map per ended trial was quadratic at 10k trials */
  private endedN = 0;
  get ended(): number { return this.endedN; }
  get running(): number { let n = 0; for (const s of this.states.values()) if (s === "running") n++; return n; }

  apply(e: ExperimentEvent): string | null {
    switch (e.type) {
      case "trial_added":
        this.states.set(e.trialId, "pending");
        return `${e.trialId} added ${fmtConfig(e.config)}`;
      case "trial_state": {
        const prev = this.states.get(e.trialId);
        this.states.set(e.trialId, e.state);
        this.endedN += (ENDED.has(e.state) ? 1 : 0) - (prev !== undefined && ENDED.has(prev) ? 1 : 0);
        if (prev === e.state) return null;
        if (ENDED.has(e.state) || e.state === "paused") {
          const msg = e.message ? `: ${e.message.split("\n").slice(-1)[0]}` : "";
          return `${e.trialId} ${e.state}${msg} [${this.ended}/${this.total} done]`;
        }
        return null;
      }
      case "report": {
        const v = e.report[this.config.metric];
        if (typeof v === "number" && Number.isFinite(v) && (!this.best || (this.config.mode === "min" ? v < this.best.value : v > this.best.value))) {
          this.best = { value: v, trialId: e.trialId, t: e.report.t };
        }
        return null;
      }
      case "exploit":
        return `${e.trialId} exploits ${e.donor}@${e.donorT}: ${fmtConfig(e.config)}`;
      case "experiment_state":
        return `experiment ${e.state}${e.message ? `: ${e.message}` : ""}`;
      default:
        return null;
    }
  }
}

export function formatProgress(c: ProgressCounter, width: number): string {
  const frac = c.total ? c.ended / c.total : 0;
  const full = Math.round(frac * width);
  const best = c.best ? ` · best ${c.config.metric} ${fmtNum(c.best.value)} (${c.best.trialId}@${c.best.t})` : "";
  return `[${"#".repeat(full)}${".".repeat(width - full)}] ${c.ended}/${c.total} done · ${c.running} running${best}`;
}

export function fmtNum(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "-";
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(3) : String(Math.round(x * 1e4) / 1e4);
}

export function fmtConfig(c: Record<string, unknown>): string {
  return Object.entries(c).map(([k, v]) => `${k}=${typeof v === "number" ? fmtNum(v) : String(v)}`).join(" ");
}

/** Fixed-width text table. */
export function textTable(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd();
  return [line(head), line(w.map((n) => "-".repeat(n))), ...rows.map(line)].join("\n") + "\n";
}

export function formatTrialTable(config: ExperimentConfig, table: TrialTable): string {
  const keys = Object.keys(config.space);
  // a CPU run has no GPU seconds: its column is the trials' process seconds (as summary.json's device_seconds)
  const cpu = experimentDevice(config) === "cpu";
  const now = Date.now();
  const head = ["trial", "state", "last_t", config.metric, "best", cpu ? "cpu_s" : "gpu_s", ...keys];
  const rows = table.list().map((tr) => [
    tr.trialId, tr.state, tr.lastT === null ? "-" : String(tr.lastT), fmtNum(tr.lastValue),
    fmtNum(table.bestPerTrial.get(tr.trialId)), fmtNum(cpu ? runSeconds(tr.runs, now) : table.gpuSeconds(tr)),
    ...keys.map((k) => (tr.config[k] === undefined ? "-" : typeof tr.config[k] === "number" ? fmtNum(tr.config[k] as number) : String(tr.config[k]))),
  ]);
  return textTable(head, rows);
}

export function formatSummary(s: Summary, opts: { header?: boolean } = {}): string {
  const out: string[] = [];
  const states = Object.entries(s.states).map(([k, v]) => `${k} ${v}`).join(", ");
  if (opts.header !== false) out.push(`experiment ${s.experiment} (${s.method}) ${s.state}: ${s.trials.length} trials (${states || "none"})`);
  else out.push(`states: ${states || "none"}`);
  out.push(s.best
    ? `best at full budget (t=${s.best.t}): ${s.metric} ${fmtNum(s.best.value)}, trial ${s.best.trial_id}, ${fmtConfig(s.best.config)}`
    : `best at full budget (t=${s.max_t}): none yet (no trial reached t=${s.max_t})`);
  if (s.best?.schedule && s.best.schedule.length > 1) out.push(`  schedule: ${s.best.schedule.map((p) => `t≥${p.t}: ${fmtConfig(p.config)}`).join(" → ")}`);
  if (s.best_any) out.push(`best at any budget: ${s.metric} ${fmtNum(s.best_any.value)} at t=${s.best_any.t}, trial ${s.best_any.trial_id}, ${fmtConfig(s.best_any.config)}`);
  // device-minutes in the unit the trials used (summary-row.ts: a CPU run is not GPU time)
  const device = s.device ?? "gpu";
  const w = deviceWords(device);
  const devSeconds = device === "cpu" ? s.device_seconds ?? 0 : s.gpu_seconds;
  out.push(`${device === "cpu" ? "CPU" : "GPU"} time ${fmtNum(devSeconds / 60)} ${w.unit} on ${s.devices ?? s.gpus ?? "?"} ${w.per} · wall ${fmtNum(s.wall_seconds / 60)} min · time to best ${s.time_to_best_s === null ? "-" : fmtNum(s.time_to_best_s / 60) + " min"}`);
  return out.join("\n") + "\n";
}
