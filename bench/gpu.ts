/**
 * The GPU workshop comparison (issue 8): reads the recorded run in
 * data/results/gpu/results.json (measured on the GPU machine with
 * bench/gpu/workshop.ts) and reports the table with cost ratios against the
 * grid; this machine's GPU is not needed.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export async function run(): Promise<string> {
  const f = path.resolve(__dirname, "../data/results/gpu/results.json");
  if (!fs.existsSync(f)) return "## GPU workshop comparison\n\nNo recorded GPU run (data/results/gpu/results.json) — skipped.\n";
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  const grid = r.runs.find((x: any) => x.name === "grid");
  const gridGpuMin = grid.gpu_seconds / 60;
  const gridBest = grid.best.value;
  const lines = [
    "## GPU workshop comparison (recorded)",
    "",
    `Recorded ${r.date} on ${r.machine}. Model: ${r.model}. ${r.sharing}. Not re-run by \`npm run bench\` (this machine ${process.env.CUDA_VISIBLE_DEVICES ? "" : "has no GPU"}); reproduce with bench/gpu/workshop.ts.`,
    "",
    "| run | best eval loss @5 | vs grid best | wall min | GPU-min | cost ratio | within 1% at ≤ 0.35? |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const x of r.runs) {
    const gm = x.gpu_seconds / 60;
    const rel = x.best ? (x.best.value / gridBest - 1) * 100 : NaN;
    const ratio = gm / gridGpuMin;
    const ok = x.name === "grid" ? "—" : rel <= 1 && ratio <= 0.35 ? "yes" : "no";
    lines.push(`| ${x.label ?? x.name}${x.from_log_only ? " ¹" : ""} | ${x.best ? x.best.value.toFixed(4) : "—"} | ${x.name === "grid" ? "—" : `${rel >= 0 ? "+" : ""}${rel.toFixed(1)}%`} | ${(x.wall_s / 60).toFixed(2)} | ${gm.toFixed(2)} | ${ratio.toFixed(2)} | ${ok} |`);
  }
  lines.push("", "¹ summary line from the run log; the journal was lost when the device machine was returned.");
  return lines.join("\n") + "\n";
}
