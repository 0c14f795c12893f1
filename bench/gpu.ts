/**
 * The GPU workshop comparison (issue 8): reads the recorded run in
 * data/results/gpu/results.json (measured on the GPU machine with
 * bench/gpu/workshop.ts) and reports the table with cost ratios against the
 * grid; this machine's GPU is not needed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { comparisonChart, learningCurves, renderSvg, type CurvePoint } from "../src/plots";

/**
 * The README's GPU pictures, from the recorded data only: best eval loss vs
 * GPU-minutes per method, and the GPU ASHA run's curves with its rung cuts.
 */
async function pictures(r: any, gridGpuMin: number): Promise<string[]> {
  const img = path.resolve(__dirname, "../docs/img");
  fs.mkdirSync(img, { recursive: true });
  const rows = r.runs.filter((x: any) => x.best && !String(x.name).startsWith("probe")).map((x: any) => ({
    method: String(x.label ?? x.name).replace(/ \(.*$/, "") + (String(x.name).endsWith("-default") ? " (defaults)" : String(x.name).endsWith("-workshop") ? " (workshop)" : ""),
    bestLoss: x.best.value,
    gpuMinutes: x.gpu_seconds / 60,
    costRatio: x.gpu_seconds / 60 / gridGpuMin,
  }));
  const written: string[] = [];
  const cmp = path.join(img, "gpu-comparison.svg");
  fs.writeFileSync(cmp, await renderSvg(comparisonChart(rows, { title: "tiny-bloom on an H200: best eval loss (5 epochs) vs GPU-minutes", width: 460, height: 260 })));
  written.push(cmp);
  const csv = path.resolve(__dirname, "../data/results/gpu/curves-all-trials.csv");
  if (fs.existsSync(csv)) {
    const [head, ...lines] = fs.readFileSync(csv, "utf8").trim().split("\n");
    const col = Object.fromEntries(head.split(",").map((h, i) => [h, i]));
    const pts: CurvePoint[] = [];
    for (const l of lines) {
      const c = l.split(",");
      if (!c[col.trial].startsWith("asha-workshop/")) continue;
      pts.push({ trialId: c[col.trial].slice("asha-workshop/".length), t: Number(c[col.t]), value: Number(c[col.eval_loss]) });
    }
    if (pts.length) {
      const last = new Map<string, number>();
      for (const p of pts) last.set(p.trialId, Math.max(last.get(p.trialId) ?? 0, p.t));
      const asha = r.runs.find((x: any) => x.name === "asha-workshop");
      const stopped = [...last].filter(([, t]) => t < 5).map(([id]) => id);
      const spec = learningCurves(pts, { metric: "eval_loss", rungs: [1, 2, 4], stopped, best: asha?.best?.trial_id ?? null, title: "ASHA on the H200 (workshop settings: g=1, η=2, R=5)", width: 460, height: 260 });
      const f = path.join(img, "gpu-asha-curves.svg");
      fs.writeFileSync(f, await renderSvg(spec));
      written.push(f);
    }
  }
  return written.map((f) => path.relative(path.resolve(__dirname, ".."), f));
}

export async function run(): Promise<string> {
  const f = path.resolve(__dirname, "../data/results/gpu/results.json");
  if (!fs.existsSync(f)) return "## GPU workshop comparison\n\nNo recorded GPU run (data/results/gpu/results.json) — skipped.\n";
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  const grid = r.runs.find((x: any) => x.name === "grid");
  const gridGpuMin = grid.gpu_seconds / 60;
  const gridBest = grid.best.value;
  const lines = [
    "## GPU workshop, earlier set-up: language modelling from a random init, a new process per trial (recorded)",
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
  const pics = await pictures(r, gridGpuMin);
  lines.push("", `Pictures (from the recorded data): ${pics.map((p) => `\`${p}\``).join(", ")}.`);
  return lines.join("\n") + "\n";
}
