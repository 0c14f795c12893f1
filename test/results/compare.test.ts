import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import path from "node:path";
import Ajv from "ajv";
import { compare, MARKDOWN_COLUMNS, type ComparisonRow } from "../../src/results";
import { parseCsv } from "../../src/results/csv";

// the plots engineer's vega-lite 5.23 schema fixture
const schema = JSON.parse(gunzipSync(readFileSync(path.join(__dirname, "../plots/fixtures/vega-lite-v5.23.0-schema.json.gz"))).toString("utf8"));
const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);

const manual: ComparisonRow = {
  method: "manual", metric: "eval_loss", mode: "min", bestValue: 9.3347,
  bestConfig: { lr: 5e-6, bs: 1, wd: 0 }, runtimeMinutes: 177, gpus: 2, gpuMinutes: 354, maxT: 5, bestAnyValue: 9.3347, bestAnyT: 5,
};
const asha: ComparisonRow = {
  method: "asha", metric: "eval_loss", mode: "min", bestValue: 9.6012,
  bestConfig: { lr: 1.20387e-5, bs: 1, wd: 0 }, runtimeMinutes: 22.4, gpus: 8, gpuMinutes: 88.5, maxT: 5, bestAnyValue: 9.49014, bestAnyT: 2,
};
const bohb: ComparisonRow = {
  method: "bohb", metric: "eval_loss", mode: "min", bestValue: 9.3123,
  bestConfig: { lr: 1.12689e-5, bs: 1, wd: 0 }, runtimeMinutes: 30, gpus: 8, gpuMinutes: 177, maxT: 5,
};
const pbt: ComparisonRow = {
  method: "pbt", metric: "eval_loss", mode: "min", bestValue: null, bestConfig: null,
  schedule: [{ t: 0, config: { lr: 1e-5, bs: 1 } }, { t: 2, config: { lr: 8e-6, bs: 1 } }],
  runtimeMinutes: 50, gpus: 8, gpuMinutes: 400,
};

test("cost ratio = method GPU-minutes / manual GPU-minutes, computed from the rows", () => {
  const c = compare([manual, asha, bohb, pbt], { baseline: "manual" });
  assert.deepEqual(c.rows.map((r) => r.costRatio), [1, 88.5 / 354, 177 / 354, 400 / 354]);
  assert.equal(c.baseline?.method, "manual");
});

test("no manual row: cost ratio is null and the discussion says why", () => {
  const c = compare([asha, bohb]);
  assert.deepEqual(c.rows.map((r) => r.costRatio), [null, null]);
  assert.match(c.discussion(), /No manual row, so no cost ratio/);
  assert.match(c.markdown(), /\| ASHA \| 9\.6012 \| 22\.4 \| 8 \| 88\.5 \| — \|/);
});

test("markdown is the workshop's table, exact", () => {
  const md = compare([manual, asha, bohb, pbt]).markdown();
  assert.equal(md, [
    "| Run Type | Eval Loss | Runtime to find best HP (min) | # GPUs | GPU Minutes | Cost Ratio | Best config |",
    "|---|---:|---:|---:|---:|---:|---|",
    "| Manual grid | 9.3347 | 177.0 | 2 | 354.0 | 1.00 | lr=5e-6, bs=1, wd=0 |",
    "| ASHA | 9.6012 | 22.4 | 8 | 88.5 | 0.25 | lr=1.2039e-5, bs=1, wd=0 |",
    "| BOHB | 9.3123 | 30.0 | 8 | 177.0 | 0.50 | lr=1.1269e-5, bs=1, wd=0 |",
    "| PBT | — | 50.0 | 8 | 400.0 | 1.13 | t0: lr=1e-5, bs=1 → t2: lr=8e-6, bs=1 |",
    "",
  ].join("\n"));
});

test("markdown is well-formed: header, separator, one line per row, same column count", () => {
  const odd: ComparisonRow = { ...asha, label: "ASHA | pipes\nand newline", member: "ann" };
  const md = compare([manual, odd]).markdown().trimEnd().split("\n");
  assert.equal(md.length, 2 + 2);
  const cols = (l: string) => l.replace(/\\\|/g, "").split("|").length - 2;
  for (const l of md) assert.equal(cols(l), MARKDOWN_COLUMNS.length, l);
  assert.match(md[1], /^\|(-{3}:?\|)+$/);
});

test("csv: header + one line per row, losses at the table's 4 decimals, minutes at 2, ratios at 3, quoted where needed", () => {
  const noisy: ComparisonRow = { ...asha, bestValue: 9.601234567, runtimeMinutes: 22.4166666667, gpuMinutes: 88.5049, bestAnyValue: 9.4901449 };
  const csv = compare([manual, noisy]).csv().trimEnd().split("\n");
  assert.equal(csv.length, 3);
  assert.equal(csv[0], "run_type,method,member,metric,mode,eval_loss,best_config,runtime_min,gpus,gpu_minutes,cost_ratio,best_any_value,best_any_t,max_t,source,note,device,devices,device_minutes");
  assert.equal(csv[1], 'Manual grid,manual,,eval_loss,min,9.3347,"lr=5e-6, bs=1, wd=0",177,2,354,1,9.3347,5,5,,,gpu,2,354');
  assert.equal(csv[2], 'ASHA,asha,,eval_loss,min,9.6012,"lr=1.2039e-5, bs=1, wd=0",22.42,8,88.5,0.25,9.4901,2,5,,,gpu,8,88.5');
});

test("csv: sources without absolute paths (the file is handed in)", () => {
  const rows: ComparisonRow[] = [
    { ...manual, source: "/home/ana/course/team-a/runs/team-a-ana-manual" },
    { ...asha, source: "/tmp/x/logs/asha.out" },
    { ...bohb, source: "kaust-rccl/hpo-with-ray deepspeed/experiments/manual/readme.md" },
    { ...pbt, source: "C:\\Users\\ana\\runs\\pbt-1" },
  ];
  const sources = parseCsv(compare(rows).csv()).map((r) => r.source);
  assert.deepEqual(sources, ["runs/team-a-ana-manual", "logs/asha.out", "kaust-rccl/hpo-with-ray deepspeed/experiments/manual/readme.md", "runs/pbt-1"]);
});

test("discussion: 5–7 lines of computed facts plus the budget caveat", () => {
  const d = compare([manual, asha, bohb, pbt]).discussion().trimEnd().split("\n");
  assert.ok(d.length >= 5 && d.length <= 7, `${d.length} lines`);
  assert.equal(d[0], "- Best configuration: BOHB found eval_loss 9.3123 at the full budget with lr=1.1269e-5, bs=1, wd=0, 0.0224 better than Manual grid (9.3347).");
  assert.equal(d[1], "- Fewest GPU-minutes: ASHA used 88.5 GPU-min; the most was Manual grid with 354.0 GPU-min (PBT: no full-budget result).");
  assert.equal(d[2], "- Fastest to its best: ASHA in 22.4 min wall-clock on 8 GPU(s).");
  assert.equal(d[3], "- Cost ratio against the Manual grid (354.0 GPU-min = 1.00): ASHA 0.25, BOHB 0.50, PBT 1.13.");
  assert.equal(d[4], "- BOHB beat the manual grid's 9.3347 at cost ratio 0.50.");
  assert.match(d[5], /^- Caveat: .*ASHA: 9\.4901 at t=2 of 5/);
});

test("mode max ranks the highest value first", () => {
  const a = { ...asha, metric: "f1", mode: "max" as const, bestValue: 0.5 };
  const b = { ...bohb, metric: "f1", mode: "max" as const, bestValue: 0.7 };
  assert.equal(compare([a, b]).ranked()[0].method, "bohb");
});

test("chartSpec: vega-lite v5, one point per row with a value", () => {
  const spec: any = compare([manual, asha, pbt]).chartSpec();
  assert.equal(spec.$schema, "https://vega.github.io/schema/vega-lite/v5.json");
  assert.deepEqual(spec.data.values.map((v: any) => [v.method, v.gpuMinutes, v.bestLoss, v.costRatio]), [["Manual grid", 354, 9.3347, 1], ["ASHA", 88.5, 9.6012, 88.5 / 354]]);
  assert.equal(validate(spec), true, JSON.stringify(validate.errors?.slice(0, 3)));
});

test("frame(): a danfojs DataFrame with the cost ratio column", () => {
  const df = compare([manual, asha]).frame();
  assert.deepEqual(df.columns.includes("cost_ratio"), true);
  assert.deepEqual(df["cost_ratio"].values, [1, 88.5 / 354]);
});

// ---------------------------------------------------------------- CPU rows (the embedded default)

const cpuManual: ComparisonRow = {
  method: "manual", metric: "eval_loss", mode: "min", bestValue: 2.4512, bestConfig: { lr: 2.2e-3, batch_size: 16, weight_decay: 0 },
  runtimeMinutes: 3.2, gpus: 0, gpuMinutes: 0, device: "cpu", devices: 2, deviceMinutes: 6.1, maxT: 4,
};
const cpuAsha: ComparisonRow = {
  method: "asha", metric: "eval_loss", mode: "min", bestValue: 2.4731, bestConfig: { lr: 3.1e-3, batch_size: 16, weight_decay: 0.1 },
  runtimeMinutes: 1.5, gpus: 0, gpuMinutes: 0, device: "cpu", devices: 2, deviceMinutes: 2.44, maxT: 4,
};

test("CPU rows: the table says CPU slots and CPU minutes, and the cost ratio is CPU-minutes over the CPU grid's", () => {
  const c = compare([cpuManual, cpuAsha]);
  assert.deepEqual(c.rows.map((r) => r.costRatio), [1, 2.44 / 6.1]);
  assert.equal(c.markdown(), [
    "| Run Type | Eval Loss | Runtime to find best HP (min) | # CPU slots | CPU Minutes | Cost Ratio | Best config |",
    "|---|---:|---:|---:|---:|---:|---|",
    "| Manual grid | 2.4512 | 3.2 | 2 | 6.1 | 1.00 | lr=0.0022, batch_size=16, weight_decay=0 |",
    "| ASHA | 2.4731 | 1.5 | 2 | 2.4 | 0.40 | lr=0.0031, batch_size=16, weight_decay=0.1 |",
    "",
  ].join("\n"));
  const d = c.discussion().trimEnd().split("\n");
  assert.equal(d[1], "- Fewest CPU-minutes: ASHA used 2.4 CPU-min; the most was Manual grid with 6.1 CPU-min.");
  assert.equal(d[2], "- Fastest to its best: ASHA in 1.5 min wall-clock on 2 CPU slot(s).");
  assert.equal(d[3], "- Cost ratio against the Manual grid (6.1 CPU-min = 1.00): ASHA 0.40.");
  const csv = parseCsv(c.csv());
  assert.deepEqual(csv.map((r) => [r.gpus, r.gpu_minutes, r.device, r.devices, r.device_minutes, r.cost_ratio]), [["0", "0", "cpu", "2", "6.1", "1"], ["0", "0", "cpu", "2", "2.44", "0.4"]]);
});

test("GPU and CPU rows in one table: units in each cell, ratios only against the same device, never added up", () => {
  const c = compare([manual, cpuAsha, asha]);
  assert.deepEqual(c.rows.map((r) => r.costRatio), [1, null, 88.5 / 354]);
  assert.equal(c.mixed, true);
  assert.equal(c.markdown(), [
    "| Run Type | Eval Loss | Runtime to find best HP (min) | Devices | Device Minutes | Cost Ratio | Best config |",
    "|---|---:|---:|---:|---:|---:|---|",
    "| Manual grid | 9.3347 | 177.0 | 2 GPUs | 354.0 GPU-min | 1.00 | lr=5e-6, bs=1, wd=0 |",
    "| ASHA | 2.4731 | 1.5 | 2 CPU slots | 2.4 CPU-min | — | lr=0.0031, batch_size=16, weight_decay=0.1 |",
    "| ASHA | 9.6012 | 22.4 | 8 GPUs | 88.5 GPU-min | 0.25 | lr=1.2039e-5, bs=1, wd=0 |",
    "",
    "GPU-minutes and CPU-minutes are different costs: each row's cost ratio is against the manual grid on the same device (— where there is none).",
    "",
  ].join("\n"));
  const d = c.discussion().trimEnd().split("\n");
  assert.equal(d[1], "- Fewest GPU-minutes: ASHA used 88.5 GPU-min; the most was Manual grid with 354.0 GPU-min. Fewest CPU-minutes: ASHA used 2.4 CPU-min; the most was ASHA with 2.4 CPU-min.");
  assert.equal(d[3], "- Cost ratio against the Manual grid (354.0 GPU-min = 1.00): ASHA 0.25. ASHA ran on the CPU and the Manual grid on GPUs: no cost ratio (CPU-minutes are not GPU-minutes); run the manual grid on the same backend for a reference.");
  assert.match(d[d.length - 1], /CPU and GPU rows do not compare in cost\.$/);
  // the chart never puts GPU-minutes and CPU-minutes on one axis: one panel per device
  const spec: any = c.chartSpec();
  assert.deepEqual(spec.facet, { column: { field: "device", type: "nominal", title: "device", sort: ["cpu", "gpu"] } });
  assert.deepEqual(spec.resolve, { scale: { x: "independent" } });
  assert.deepEqual(spec.data.values.map((v: any) => [v.method, v.device, v.deviceMinutes]), [["Manual grid", "gpu", 354], ["ASHA", "cpu", 2.44], ["ASHA", "gpu", 88.5]]);
  assert.equal(validate(spec), true, JSON.stringify(validate.errors?.slice(0, 3)));
});

test("CPU rows against the workshop's GPU reference only: no cost ratio, and the discussion says why", () => {
  const c = compare([manual, cpuAsha]);
  assert.deepEqual(c.rows.map((r) => r.costRatio), [1, null]);
  assert.equal(c.discussion().split("\n")[3], "- Cost ratio against the Manual grid (354.0 GPU-min = 1.00): no other GPU row yet. ASHA ran on the CPU and the Manual grid on GPUs: no cost ratio (CPU-minutes are not GPU-minutes); run the manual grid on the same backend for a reference.");
  const cpuOnly: any = compare([cpuManual, cpuAsha]).chartSpec();
  assert.equal(cpuOnly.title, "best loss vs CPU-minutes");
  assert.deepEqual(cpuOnly.layer[0].encoding.x, { field: "deviceMinutes", type: "quantitative", title: "CPU-minutes", scale: { zero: true } });
  assert.equal(validate(cpuOnly), true, JSON.stringify(validate.errors?.slice(0, 3)));
});
