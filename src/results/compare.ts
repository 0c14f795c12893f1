/**
 * The team comparison (design.md contract 5): the workshop's table
 * "Run Type | Eval Loss | Runtime to find best HP (min) | # GPUs | GPU Minutes
 * | Cost Ratio" with cost ratio = method GPU-minutes / manual-grid GPU-minutes
 * (workshop.md §4), plus best config, CSV, a chart spec and a prefilled
 * discussion that states only facts computed from the rows.
 */
import type { ComparisonRow } from "./row";
import { rowLabel } from "./row";
import { csvField, fixed, formatConfig, formatRatio, mdCell, rowConfigText } from "./format";
import type { VegaLiteSpec } from "../plots/spec";
import { comparisonChart, type ComparisonPoint } from "../plots/gpu-and-comparison";

export interface CompareOptions {
  /** method whose GPU-minutes are the cost reference (default "manual"). */
  baseline?: string;
}

export interface ComparedRow extends ComparisonRow {
  runType: string;
  /** gpuMinutes / baseline gpuMinutes; null without a baseline (or a zero one). */
  costRatio: number | null;
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

export const CSV_COLUMNS = [
  "run_type", "method", "member", "metric", "mode", "eval_loss", "best_config",
  "runtime_min", "gpus", "gpu_minutes", "cost_ratio", "best_any_value", "best_any_t", "max_t", "source", "note",
] as const;

export class Comparison {
  readonly rows: ComparedRow[];
  readonly baseline: ComparedRow | null;
  readonly baselineMethod: string;

  constructor(rows: ComparisonRow[], opts: CompareOptions = {}) {
    this.baselineMethod = opts.baseline ?? "manual";
    // The first row of the baseline method is the reference: a team has one manual grid.
    const base = rows.find((r) => r.method === this.baselineMethod) ?? null;
    const baseGpu = base && base.gpuMinutes > 0 ? base.gpuMinutes : null;
    this.rows = rows.map((r) => ({
      ...r,
      runType: rowLabel(r),
      costRatio: baseGpu === null ? null : r.gpuMinutes / baseGpu,
    }));
    this.baseline = base ? this.rows[rows.indexOf(base)] : null;
  }

  /** The workshop's table, one line per row, in the order given. */
  markdown(): string {
    const head = `| ${MARKDOWN_COLUMNS.join(" | ")} |`;
    const sep = `|${MARKDOWN_COLUMNS.map((_, i) => (i === 0 || i === 6 ? "---" : "---:")).join("|")}|`;
    const lines = this.rows.map((r) => {
      const cells = [
        r.runType,
        fixed(r.bestValue, 4),
        fixed(r.runtimeMinutes, 1),
        String(r.gpus),
        fixed(r.gpuMinutes, 1),
        formatRatio(r.costRatio),
        rowConfigText(r),
      ];
      return `| ${cells.map(mdCell).join(" | ")} |`;
    });
    return [head, sep, ...lines].join("\n") + "\n";
  }

  csv(): string {
    const out = [CSV_COLUMNS.join(",")];
    for (const r of this.rows) {
      out.push([
        r.runType, r.method, r.member ?? "", r.metric, r.mode, r.bestValue, rowConfigText(r),
        r.runtimeMinutes, r.gpus, r.gpuMinutes, r.costRatio, r.bestAnyValue ?? null, r.bestAnyT ?? null,
        r.maxT ?? null, r.source ?? "", r.note ?? "",
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
    const byGpu = [...withResult].sort((a, b) => a.gpuMinutes - b.gpuMinutes);
    if (byGpu.length) {
      const c = byGpu[0];
      const most = byGpu[byGpu.length - 1];
      const none = noResult.length && ranked.length ? ` (${noResult.map((r) => r.runType).join(", ")}: no full-budget result)` : "";
      lines.push(`- Fewest GPU-minutes: ${c.runType} used ${fixed(c.gpuMinutes, 1)} GPU-min; the most was ${most.runType} with ${fixed(most.gpuMinutes, 1)} GPU-min${none}.`);
    }
    const byTime = [...withResult].sort((a, b) => a.runtimeMinutes - b.runtimeMinutes);
    if (byTime.length) {
      const f = byTime[0];
      lines.push(`- Fastest to its best: ${f.runType} in ${fixed(f.runtimeMinutes, 1)} min wall-clock on ${f.gpus} GPU(s).`);
    }
    if (this.baseline && this.baseline.gpuMinutes > 0) {
      const others = this.rows.filter((r) => r !== this.baseline);
      const ratios = others.map((r) => `${r.runType} ${formatRatio(r.costRatio)}`).join(", ");
      lines.push(`- Cost ratio against the ${this.baseline.runType} (${fixed(this.baseline.gpuMinutes, 1)} GPU-min = 1.00): ${ratios || "no other method yet"}.`);
    } else if (this.baseline) {
      lines.push(`- The ${this.baseline.runType} used 0 GPU-minutes (a CPU-only run?), so no cost ratio: give the local backend GPU slots (backend.gpus) or load the workshop's reference grid.`);
    } else {
      lines.push(`- No ${this.baselineMethod} row, so no cost ratio: run or load the manual grid first.`);
    }
    if (ranked.length && this.baseline && this.baseline.bestValue !== null) {
      const b = ranked[0];
      const cheaper = ranked.filter((r) => r !== this.baseline && r.costRatio !== null && r.costRatio < 1);
      const within = cheaper.filter((r) => Math.abs(r.bestValue! - this.baseline!.bestValue!) <= 0.01 * Math.abs(this.baseline!.bestValue!));
      if (b === this.baseline) {
        lines.push(`- The manual grid's own best was not beaten${within.length ? `; ${within.map((r) => r.runType).join(", ")} came within 1% of it for less GPU time` : ""}.`);
      } else {
        lines.push(`- ${b.runType} beat the manual grid's ${fixed(this.baseline.bestValue, 4)} at cost ratio ${formatRatio(b.costRatio)}.`);
      }
    }
    const shortBest = this.rows.filter((r) => r.bestAnyT != null && r.maxT != null && r.bestAnyT < r.maxT && r.bestAnyValue != null);
    const caveatDetail = shortBest.length
      ? ` (${shortBest.map((r) => `${r.runType}: ${fixed(r.bestAnyValue, 4)} at t=${r.bestAnyT} of ${r.maxT}`).join("; ")})`
      : "";
    lines.push(`- Caveat: a loss seen after fewer epochs is not comparable with a full-budget loss${caveatDetail}; the table compares full-budget values only, and the workshop's PBT/BOHB ran on different GPUs than its manual grid.`);
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
    })));
  }

  /** Best loss vs GPU-minutes, one point per row (the plots module's comparisonChart, vega-lite v5). */
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
