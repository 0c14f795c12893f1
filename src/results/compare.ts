/**
 * The team comparison (design.md contract 5): the workshop's table
 * "Run Type | Eval Loss | Runtime to find best HP (min) | # GPUs | GPU Minutes
 * | Cost Ratio" with cost ratio = method GPU-minutes / manual-grid GPU-minutes
 * (workshop.md §4), plus best config, CSV, a chart spec and a prefilled
 * discussion that states only facts computed from the rows.
 */
import type { ComparisonRow } from "./row";
import { rowLabel } from "./row";
import { csvField, exportSource, fixed, formatConfig, formatRatio, mdCell, rounded, rowConfigText } from "./format";
import { deviceWords, type DeviceKind } from "./device";
import type { VegaLiteSpec } from "../plots/spec";
import { comparisonChart, type ComparisonPoint } from "../plots/gpu-and-comparison";

export interface CompareOptions {
  /** method whose GPU-minutes are the cost reference (default "manual"). */
  baseline?: string;
}

export interface ComparedRow extends ComparisonRow {
  runType: string;
  /**
   * device-minutes / the baseline's device-minutes, against the first baseline
   * row on the same device (GPU rows against a GPU grid, CPU rows against a CPU
   * grid); null without one (or a zero one).
   */
  costRatio: number | null;
}

/** What a row computed on ("gpu" for rows without the key). */
export function rowDevice(r: ComparisonRow): DeviceKind {
  return r.device === "cpu" ? "cpu" : "gpu";
}

/** Devices of the allocation in the row's own unit (GPUs or CPU slots). */
export function rowDevices(r: ComparisonRow): number {
  return rowDevice(r) === "cpu" ? r.devices ?? NaN : r.gpus;
}

/** Device-minutes in the row's own unit (GPU-minutes or CPU-minutes); NaN when unknown. */
export function rowDeviceMinutes(r: ComparisonRow): number {
  return rowDevice(r) === "cpu" ? r.deviceMinutes ?? NaN : r.gpuMinutes;
}

export const MARKDOWN_COLUMNS = [
  "Run Type",
  "Eval Loss",
  "Runtime to find best HP (min)",
  "# GPUs",
  "GPU Minutes",
  "Cost Ratio",
  "Best config",
] as const;

/** The Markdown header for these rows: GPU words, CPU words, or (mixed) device words with the unit in each cell. */
export function markdownColumns(rows: readonly ComparisonRow[]): string[] {
  const kinds = new Set(rows.map(rowDevice));
  if (kinds.size > 1) return MARKDOWN_COLUMNS.map((c) => (c === "# GPUs" ? "Devices" : c === "GPU Minutes" ? "Device Minutes" : c));
  const w = deviceWords(kinds.has("cpu") ? "cpu" : "gpu");
  return MARKDOWN_COLUMNS.map((c) => (c === "# GPUs" ? w.count : c === "GPU Minutes" ? w.minutes : c));
}

/** Columns appended after the first 16 (device, devices, device_minutes), so positional readers keep working. */
export const CSV_COLUMNS = [
  "run_type", "method", "member", "metric", "mode", "eval_loss", "best_config",
  "runtime_min", "gpus", "gpu_minutes", "cost_ratio", "best_any_value", "best_any_t", "max_t", "source", "note",
  "device", "devices", "device_minutes",
] as const;

export class Comparison {
  readonly rows: ComparedRow[];
  /** the first row of the baseline method (any device) */
  readonly baseline: ComparedRow | null;
  /** per device: the first row of the baseline method that ran on it (the cost reference of that device's rows) */
  readonly baselines: Record<DeviceKind, ComparedRow | null>;
  readonly baselineMethod: string;

  constructor(rows: ComparisonRow[], opts: CompareOptions = {}) {
    this.baselineMethod = opts.baseline ?? "manual";
    // The first row of the baseline method is the reference: a team has one manual grid.
    // GPU-minutes and CPU-minutes are different costs, so each device has its own reference.
    const baseOf = (k: DeviceKind) => rows.find((r) => r.method === this.baselineMethod && rowDevice(r) === k) ?? null;
    const bases = { gpu: baseOf("gpu"), cpu: baseOf("cpu") };
    this.rows = rows.map((r) => {
      const base = bases[rowDevice(r)];
      const baseMin = base ? rowDeviceMinutes(base) : NaN;
      const mine = rowDeviceMinutes(r);
      return { ...r, runType: rowLabel(r), costRatio: baseMin > 0 && Number.isFinite(mine) ? mine / baseMin : null };
    });
    const at = (r: ComparisonRow | null) => (r ? this.rows[rows.indexOf(r)] : null);
    this.baselines = { gpu: at(bases.gpu), cpu: at(bases.cpu) };
    this.baseline = at(rows.find((r) => r.method === this.baselineMethod) ?? null);
  }

  /** Rows on more than one kind of device (their minutes are not added up or ranked together). */
  get mixed(): boolean {
    return new Set(this.rows.map(rowDevice)).size > 1;
  }

  /** The workshop's table, one line per row, in the order given. */
  markdown(): string {
    const columns = markdownColumns(this.rows);
    const head = `| ${columns.join(" | ")} |`;
    const sep = `|${columns.map((_, i) => (i === 0 || i === 6 ? "---" : "---:")).join("|")}|`;
    const mixed = this.mixed;
    const lines = this.rows.map((r) => {
      const w = deviceWords(rowDevice(r));
      const n = rowDevices(r);
      const count = Number.isFinite(n) ? String(n) : "—";
      const minutes = fixed(rowDeviceMinutes(r), 1);
      const cells = [
        r.runType,
        fixed(r.bestValue, 4),
        fixed(r.runtimeMinutes, 1),
        mixed ? `${count} ${rowDevice(r) === "cpu" ? "CPU slots" : "GPUs"}` : count,
        mixed && minutes !== "—" ? `${minutes} ${w.unit}` : minutes,
        formatRatio(r.costRatio),
        rowConfigText(r),
      ];
      return `| ${cells.map(mdCell).join(" | ")} |`;
    });
    const note = mixed
      ? ["", "GPU-minutes and CPU-minutes are different costs: each row's cost ratio is against the manual grid on the same device (— where there is none)."]
      : [];
    return [head, sep, ...lines, ...note].join("\n") + "\n";
  }

  /**
   * The group summary as CSV: losses with the Markdown table's 4 decimals,
   * minutes with 2, ratios with 3; sources without absolute paths (the file
   * is handed in; a path would name someone's home directory).
   */
  csv(): string {
    const out = [CSV_COLUMNS.join(",")];
    for (const r of this.rows) {
      out.push([
        r.runType, r.method, r.member ?? "", r.metric, r.mode, rounded(r.bestValue, 4), rowConfigText(r),
        rounded(r.runtimeMinutes, 2), r.gpus, rounded(r.gpuMinutes, 2), rounded(r.costRatio, 3),
        rounded(r.bestAnyValue ?? null, 4), r.bestAnyT ?? null, r.maxT ?? null, exportSource(r.source), r.note ?? "",
        rowDevice(r), rowDevices(r), rounded(rowDeviceMinutes(r), 2),
      ].map(csvField).join(","));
    }
    return out.join("\n") + "\n";
  }

  /** Rows with a full-budget value, best first. */
  ranked(): ComparedRow[] {
    const ok = this.rows.filter((r) => r.bestValue !== null && Number.isFinite(r.bestValue));
    return ok.sort((a, b) => (a.mode === "max" ? b.bestValue! - a.bestValue! : a.bestValue! - b.bestValue!));
  }

  /**
   * 5–7 lines for the team to edit. Every number in it is computed from the
   * rows; the last line is the workshop's caveat about budgets, made concrete
   * when a row's best-at-any-budget came from a shorter run.
   */
  discussion(): string {
    const lines: string[] = [];
    const ranked = this.ranked();
    const metric = this.rows[0]?.metric ?? "eval_loss";
    if (ranked.length) {
      const b = ranked[0];
      const runner = ranked[1];
      const gap = runner ? `, ${fixed(Math.abs(runner.bestValue! - b.bestValue!), 4)} better than ${runner.runType} (${fixed(runner.bestValue, 4)})` : "";
      lines.push(`- Best configuration: ${b.runType} found ${metric} ${fixed(b.bestValue, 4)} at the full budget with ${rowConfigText(b)}${gap}.`);
    } else {
      lines.push(`- No method has a ${metric} at the full budget yet.`);
    }
    // cheapest/fastest only among rows that produced a full-budget result: spending little to find nothing is no win
    const withResult = ranked.length ? ranked : this.rows;
    const noResult = this.rows.filter((r) => r.bestValue === null);
    // GPU-minutes and CPU-minutes are different costs: never ranked against each other
    const kinds = (["gpu", "cpu"] as DeviceKind[]).filter((k) => this.rows.some((r) => rowDevice(r) === k));
    const word = (k: DeviceKind) => (k === "cpu" ? "CPU" : "GPU");
    const fewest: string[] = [];
    for (const k of kinds) {
      const w = deviceWords(k);
      const byCost = withResult.filter((r) => rowDevice(r) === k && Number.isFinite(rowDeviceMinutes(r))).sort((a, b) => rowDeviceMinutes(a) - rowDeviceMinutes(b));
      if (!byCost.length) continue;
      const c = byCost[0];
      const most = byCost[byCost.length - 1];
      const missing = noResult.filter((r) => rowDevice(r) === k);
      const none = missing.length && ranked.length ? ` (${missing.map((r) => r.runType).join(", ")}: no full-budget result)` : "";
      fewest.push(`Fewest ${word(k)}-minutes: ${c.runType} used ${fixed(rowDeviceMinutes(c), 1)} ${w.unit}; the most was ${most.runType} with ${fixed(rowDeviceMinutes(most), 1)} ${w.unit}${none}.`);
    }
    if (fewest.length) lines.push(`- ${fewest.join(" ")}`);
    const byTime = [...withResult].sort((a, b) => a.runtimeMinutes - b.runtimeMinutes);
    if (byTime.length) {
      const f = byTime[0];
      const n = rowDevices(f);
      lines.push(`- Fastest to its best: ${f.runType} in ${fixed(f.runtimeMinutes, 1)} min wall-clock on ${Number.isFinite(n) ? n : "?"} ${deviceWords(rowDevice(f)).per}.`);
    }
    const costs: string[] = [];
    for (const k of kinds) {
      const base = this.baselines[k];
      const w = deviceWords(k);
      if (base && rowDeviceMinutes(base) > 0) {
        const others = this.rows.filter((r) => r !== base && rowDevice(r) === k);
        const ratios = others.map((r) => `${r.runType} ${formatRatio(r.costRatio)}`).join(", ");
        costs.push(`Cost ratio against the ${base.runType} (${fixed(rowDeviceMinutes(base), 1)} ${w.unit} = 1.00): ${ratios || (kinds.length > 1 ? `no other ${word(k)} row yet` : "no other method yet")}.`);
      } else if (base && k === "gpu") {
        costs.push(`The ${base.runType} used 0 GPU-minutes (a CPU-only run?), so no cost ratio: give the local backend GPU slots (backend.gpus) or load the workshop's reference grid.`);
      } else if (base) {
        costs.push(`The ${base.runType} has no CPU-minutes recorded, so no cost ratio for the CPU rows.`);
      } else if (this.baseline) {
        const these = this.rows.filter((r) => rowDevice(r) === k).map((r) => r.runType).join(", ");
        costs.push(`${these} ran on ${k === "cpu" ? "the CPU" : "GPUs"} and the ${this.baseline.runType} on ${k === "cpu" ? "GPUs" : "the CPU"}: no cost ratio (${word(k)}-minutes are not ${word(k === "cpu" ? "gpu" : "cpu")}-minutes); run the manual grid on the same backend for a reference.`);
      }
    }
    if (!this.baseline) costs.push(`No ${this.baselineMethod} row, so no cost ratio: run or load the manual grid first.`);
    lines.push(`- ${costs.join(" ")}`);
    const bBase = ranked.length ? this.baselines[rowDevice(ranked[0])] ?? this.baseline : null;
    if (ranked.length && bBase && bBase.bestValue !== null) {
      const b = ranked[0];
      const cheaper = ranked.filter((r) => r !== bBase && r.costRatio !== null && r.costRatio < 1);
      const within = cheaper.filter((r) => Math.abs(r.bestValue! - bBase.bestValue!) <= 0.01 * Math.abs(bBase.bestValue!));
      if (b === bBase) {
        lines.push(`- The manual grid's own best was not beaten${within.length ? `; ${within.map((r) => r.runType).join(", ")} came within 1% of it for less ${word(rowDevice(b))} time` : ""}.`);
      } else {
        lines.push(`- ${b.runType} beat the manual grid's ${fixed(bBase.bestValue, 4)} at cost ratio ${formatRatio(b.costRatio)}.`);
      }
    }
    const shortBest = this.rows.filter((r) => r.bestAnyT != null && r.maxT != null && r.bestAnyT < r.maxT && r.bestAnyValue != null);
    const caveatDetail = shortBest.length
      ? ` (${shortBest.map((r) => `${r.runType}: ${fixed(r.bestAnyValue, 4)} at t=${r.bestAnyT} of ${r.maxT}`).join("; ")})`
      : "";
    lines.push(`- Caveat: a loss seen after fewer epochs is not comparable with a full-budget loss${caveatDetail}; the table compares full-budget values only, and the workshop's PBT/BOHB ran on different GPUs than its manual grid${this.mixed ? "; CPU and GPU rows do not compare in cost" : ""}.`);
    return lines.slice(0, 7).join("\n") + "\n";
  }

  /** danfojs DataFrame of `.rows` (loaded lazily: ~1 s import). */
  frame(): any {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const dfd = require("danfojs-node");
    return new dfd.DataFrame(this.rows.map((r) => ({
      run_type: r.runType,
      method: r.method,
      eval_loss: r.bestValue ?? NaN,
      runtime_min: r.runtimeMinutes,
      gpus: r.gpus,
      gpu_minutes: r.gpuMinutes,
      cost_ratio: r.costRatio ?? NaN,
      best_config: formatConfig(r.bestConfig),
      device: rowDevice(r),
      devices: rowDevices(r),
      device_minutes: rowDeviceMinutes(r),
    })));
  }

  /** Best loss vs device-minutes (GPU or CPU, by the rows), one point per row (the plots module's comparisonChart, vega-lite v5). */
  chartSpec(opts: { logX?: boolean; title?: string } = {}): VegaLiteSpec {
    const points: ComparisonPoint[] = this.rows
      .filter((r) => r.bestValue !== null)
      .map((r) => ({
        method: r.runType,
        bestLoss: r.bestValue as number,
        gpuMinutes: r.gpuMinutes,
        runtimeMinutes: r.runtimeMinutes,
        gpus: r.gpus,
        ...(r.costRatio !== null ? { costRatio: r.costRatio } : {}),
        device: rowDevice(r),
        deviceMinutes: rowDeviceMinutes(r),
        devices: rowDevices(r),
      }));
    return comparisonChart(points, { metric: this.rows[0]?.metric ?? "eval_loss", ...opts });
  }

  /** Rich display in notebooks: the Markdown table. */
  [Symbol.for("Jupyter.display")](): Record<string, unknown> {
    return { "text/markdown": this.markdown(), "text/plain": this.markdown() };
  }
}

export function compare(rows: ComparisonRow[], opts: CompareOptions = {}): Comparison {
  return new Comparison(rows, opts);
}
