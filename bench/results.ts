/**
 * Results-side figures: how fast the manual-log parser, the comparison
 * export and the instructor build are, and what concurrent team-folder saves
 * cost. All local; no services.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { compare, parseManualLog, teamFolder, referenceManualRow, type ComparisonRow } from "../src/results";
import { buildNotebooks } from "../src/cli/notebooks";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function time(fn: () => void, reps = 5): number {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); fn(); t.push(performance.now() - t0); }
  return median(t);
}

export async function run(): Promise<string> {
  const lines: string[] = ["## Results, team folder and instructor build", ""];
  // 1. manual-log parser: a log of 2,000 runs × 2 ranks with 20 lines of trainer chatter each
  const chunks: string[] = [];
  for (let i = 0; i < 2000; i++) {
    for (let k = 0; k < 20; k++) chunks.push(`{'loss': ${(10 - k / 10).toFixed(4)}, 'grad_norm': 3.1, 'learning_rate': 1e-05, 'epoch': ${k / 4}}`);
    const line = `saved: {'tag': 'lr${i}e-06_bs1_wd0.0', 'lr': ${i}e-06, 'bs': 1, 'wd': 0.0, 'eval_loss': ${9 + (i % 97) / 10}, 'runtime_s': ${500 + i}.5}`;
    chunks.push(line, line);
  }
  const log = chunks.join("\n");
  let parsed = parseManualLog(log);
  const tParse = time(() => { parsed = parseManualLog(log); });
  lines.push(`- manual-log parser: ${(log.length / 2 ** 20).toFixed(1)} MiB, ${chunks.length.toLocaleString("en")} lines → ${parsed.runs.length} runs (${parsed.duplicates} rank duplicates dropped) in ${tParse.toFixed(0)} ms (median of 5), ${(chunks.length / tParse).toFixed(0)} lines/ms`);

  // 2. comparison export for 1,000 rows (a whole course's rows at once)
  const rows: ComparisonRow[] = [referenceManualRow()];
  for (let i = 0; i < 999; i++) rows.push({ method: ["asha", "pbt", "bohb"][i % 3], member: `m${i}`, metric: "eval_loss", mode: "min", bestValue: 9 + (i % 50) / 100, bestConfig: { lr: 1e-5 * (1 + i % 7), bs: 1, wd: 0 }, runtimeMinutes: 20 + i % 30, gpus: 8, gpuMinutes: 80 + i % 300, maxT: 5 });
  const tCmp = time(() => { const c = compare(rows); c.markdown(); c.csv(); c.discussion(); c.chartSpec(); });
  lines.push(`- compare → markdown + csv + discussion + chart spec for ${rows.length} rows: ${tCmp.toFixed(1)} ms`);

  // 3. team folder: two member processes saving 50 times each into one local folder at once
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-bench-team-"));
  try {
    const script = path.join(__dirname, "../test/results/fixtures/write-rows.ts");
    const t0 = performance.now();
    const codes = await Promise.all(["ann", "bob"].map((m) => new Promise<number | null>((res) => {
      spawn(process.execPath, ["--import", "tsx", script, dir, m, "asha", "50"], { stdio: "ignore" }).on("close", res);
    })));
    const wall = performance.now() - t0;
    const r = await teamFolder(dir).read();
    lines.push(`- team folder, local: 2 member processes × 50 saves at the same time: ${wall.toFixed(0)} ms wall including 2 × tsx start-up; exit codes ${codes.join(",")}; rows read back ${r.rows.length}/2, unreadable files ${r.problems.length}`);
    const f = teamFolder(dir, { member: "cat" });
    const per: number[] = [];
    for (let i = 0; i < 50; i++) { const t = performance.now(); await f.save({ ...rows[1], member: "cat" }); per.push(performance.now() - t); }
    const tr: number[] = [];
    for (let i = 0; i < 20; i++) { const t = performance.now(); await f.read(); tr.push(performance.now() - t); }
    lines.push(`- team folder, local: one save (temp file + fsync + rename) median ${median(per).toFixed(2)} ms; read + merge of 3 rows median ${median(tr).toFixed(2)} ms`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // 4. instructor build: 20 teams × 4 members × every notebook
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-bench-build-"));
  try {
    const course = JSON.parse(fs.readFileSync(path.join(__dirname, "../notebooks/course.example.json"), "utf8"));
    course.teams = Array.from({ length: 20 }, (_, i) => ({ name: `team-${i}`, members: ["a", "b", "c", "d"], teamFolder: `/tmp/t${i}` }));
    const t0 = performance.now();
    const res = buildNotebooks({ course, outDir: out });
    const ms = performance.now() - t0;
    const n = res.files.filter((f) => f.endsWith(".ipynb")).length;
    lines.push(`- instructor build: ${n} notebook copies (20 teams × 4 members × 6) with settings, hashed quizzes, no solutions, in ${ms.toFixed(0)} ms (${(ms / n).toFixed(2)} ms per copy)`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
  return lines.join("\n") + "\n";
}
