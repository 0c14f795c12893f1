import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import path from "node:path";
import Ajv from "ajv";
import {
  learningCurves,
  pbtLineage,
  parallelCoordinates,
  parallelRows,
  gpuMinutesOverTime,
  comparisonChart,
  renderSvg,
  VEGA_LITE_V5_SCHEMA,
  type CurvePoint,
} from "../../src/plots";

// vega-lite 5.23.0's JSON schema, fetched once with `npm pack vega-lite@5.23.0`
// (build/vega-lite-schema.json) and kept gzipped so the test runs offline.
const schema = JSON.parse(gunzipSync(readFileSync(path.join(__dirname, "fixtures/vega-lite-v5.23.0-schema.json.gz"))).toString("utf8"));
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validate = ajv.compile(schema);
test("the v5 schema validator rejects invalid specs (guards the checks below)", () => {
  assert.equal(validate({ mark: "nonsense", data: { values: [] } }), false);
  assert.equal(validate({ mark: "line", encoding: { x: { field: "t", type: "quantitive" } } }), false);
  assert.equal(validate({ $schema: VEGA_LITE_V5_SCHEMA, mark: "line", data: { values: [] } }), true);
});
function assertValidV5(spec: unknown) {
  const ok = validate(spec);
  assert.equal(ok, true, JSON.stringify(validate.errors?.slice(0, 5), null, 1));
}

function curves(trials: number, epochs: number): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (let i = 0; i < trials; i++) for (let t = 1; t <= epochs; t++) out.push({ trialId: `t${i}`, t, value: 2 + i * 0.1 + 3 / t });
  return out;
}

test("learningCurves: points carry status; stopped dimmed with a marker at the stop; rungs; best", () => {
  const data = curves(3, 4).filter((p) => !(p.trialId === "t1" && p.t > 2));
  const spec: any = learningCurves(data, { metric: "eval_loss", rungs: [1, 4, 4], stopped: ["t1"], best: "t0" });
  assert.equal(spec.$schema, VEGA_LITE_V5_SCHEMA);
  assert.equal(spec.data.name, "points");
  assert.equal(spec.data.values.length, 10);
  assert.deepEqual(spec.data.values[0], { trialId: "t0", t: 1, value: 5, status: "best", segment: "t0#0" });
  assert.equal(spec.data.values.find((p: any) => p.trialId === "t1").status, "stopped");
  assert.equal(spec.data.values.find((p: any) => p.trialId === "t2").status, "running");
  const byName = Object.fromEntries(spec.layer.map((l: any) => [l.name, l]));
  assert.deepEqual(Object.keys(byName), ["rungs", "curves", "best", "lineage", "heads", "stops", "exploits"]);
  assert.deepEqual(byName.rungs.data.values, [{ t: 1 }, { t: 4 }]);
  assert.deepEqual(byName.heads.data.values, [
    { trialId: "t0", t: 4, value: 2.75, status: "best" },
    { trialId: "t1", t: 2, value: 3.6, status: "stopped" },
    { trialId: "t2", t: 4, value: 2.95, status: "running" },
  ]);
  // no PBT here: the marks legend names the latest report and the cut at a rung only
  assert.deepEqual(byName.stops.transform, [{ calculate: '"stopped at rung"', as: "mark" }]);
  assert.deepEqual(byName.stops.encoding.shape, { field: "mark", type: "nominal", title: "marks", scale: { domain: ["latest report", "stopped at rung"], range: ["circle", "cross"] }, legend: { labelLimit: 240 } });
  assert.equal(byName.lineage.encoding.strokeDash.legend, null);
  assert.deepEqual(byName.stops.data.values, [{ trialId: "t1", t: 2, value: 2.1 + 1.5 }]);
  const op = byName.curves.encoding.opacity.scale;
  assert.equal(op.range[op.domain.indexOf("stopped")], 0.35);
  assert.equal(byName.curves.encoding.y.title, "eval_loss");
  assert.deepEqual(byName.curves.encoding.y.scale, { zero: false });
  assert.ok(byName.curves.encoding.tooltip.some((t: any) => t.field === "trialId"));
  assertValidV5(spec);
});

test("learningCurves: logY uses a log scale and drops non-positive values; stop t by map; an exploit without index splits after the receiver's point at t", () => {
  const data = [...curves(2, 3), { trialId: "t0", t: 4, value: 0 }];
  const spec: any = learningCurves(data, { logY: true, stopped: { t1: 2 }, exploits: [{ trialId: "t0", t: 2, donor: "t1" }] });
  const byName = Object.fromEntries(spec.layer.map((l: any) => [l.name, l]));
  assert.deepEqual(byName.curves.encoding.y.scale, { type: "log" });
  assert.deepEqual(spec.data.values.map((p: any) => [p.trialId, p.t, p.segment]), [
    ["t0", 1, "t0#0"], ["t0", 2, "t0#0"], ["t0", 3, "t0#1"], ["t1", 1, "t1#0"], ["t1", 2, "t1#0"], ["t1", 3, "t1#0"],
  ]);
  assert.deepEqual(byName.stops.data.values, [{ trialId: "t1", t: 2, value: 2.1 + 1.5 }]);
  assert.deepEqual(byName.exploits.data.values, [{ trialId: "t0", donor: "t1", t: 2, value: 2.1 + 1.5, exploitT: 2 }]);
  assert.deepEqual(byName.lineage.data.values, [{ trialId: "t0", donor: "t1", t: 2, value: 2.1 + 1.5, t2: 3, value2: 3 }]);
  assertValidV5(spec);
});

/** The SVG group of one named layer's marks, and its drawn items. */
function markItems(svg: string, layer: string): string[] {
  const m = new RegExp(`<g class="mark-[a-z]+ role-mark ${layer}_marks"[^>]*?(?:/>|>(.*?)</g>)`, "s").exec(svg);
  return m && m[1] ? m[1].match(/<(path|line)\b[^>]*>/g) ?? [] : [];
}

test("learningCurves: a trial with one report so far is drawn (a dot), not an empty axis", async () => {
  const spec: any = learningCurves([{ trialId: "t0", t: 1, value: 2.5 }], { metric: "eval_loss" });
  const heads = spec.layer.find((l: any) => l.name === "heads");
  assert.deepEqual(heads.data.values, [{ trialId: "t0", t: 1, value: 2.5, status: "running" }]);
  assert.deepEqual(heads.mark, { type: "point", filled: true, size: 36, opacity: 1 });
  const svg = await renderSvg(spec);
  const dots = markItems(svg, "heads");
  assert.equal(dots.length, 1);
  assert.match(dots[0], /aria-label="t \(epoch\): 1; eval_loss: 2\.5; status: running; marks: latest report; trial: t0; t: 1"/);
  assertValidV5(spec);
});

test("learningCurves: PBT lineage, exact: the receiver's line restarts, a dashed connector runs from the donor's point to the continuation, a legend names the marks", async () => {
  // a and b report t=1, 2; b exploits a's checkpoint at t=2 (5 points in, counting c's single report); b continues at t=3
  const data: CurvePoint[] = [
    { trialId: "a", t: 1, value: 3 }, { trialId: "b", t: 1, value: 3.5 }, { trialId: "a", t: 2, value: 2.5 }, { trialId: "b", t: 2, value: 3.2 },
    { trialId: "c", t: 1, value: 3.3 },
    { trialId: "b", t: 3, value: 2.3 }, { trialId: "a", t: 3, value: 2.2 },
  ];
  const spec: any = learningCurves(data, { metric: "eval_loss", exploits: [{ trialId: "b", t: 2, donor: "a", donorT: 2, index: 5 }], states: { a: "completed", b: "running", c: "running" }, best: "a" });
  const byName = Object.fromEntries(spec.layer.map((l: any) => [l.name, l]));
  assert.deepEqual(spec.data.values.map((p: any) => p.segment), ["a#0", "b#0", "a#0", "b#0", "c#0", "b#1", "a#0"]);
  assert.deepEqual(byName.curves.encoding.detail, { field: "segment", type: "nominal" });
  assert.deepEqual(byName.lineage.data.values, [{ trialId: "b", donor: "a", t: 2, value: 2.5, t2: 3, value2: 2.3 }]);
  assert.deepEqual(byName.lineage.mark, { type: "rule", color: "#f58518", strokeWidth: 1.5 });
  assert.deepEqual(byName.lineage.encoding.strokeDash, { field: "connector", type: "nominal", title: null, scale: { domain: ["lineage: donor → receiver"], range: [[4, 3]] }, legend: { labelLimit: 240 } });
  assert.deepEqual(byName.exploits.data.values, [{ trialId: "b", donor: "a", t: 2, value: 2.5, exploitT: 2 }]);
  assert.deepEqual(byName.exploits.encoding.shape.scale, { domain: ["latest report", "stopped", "exploit: copied weights"], range: ["circle", "cross", "triangle-up"] });
  assert.deepEqual(byName.heads.data.values.map((h: any) => [h.trialId, h.t, h.status]), [["a", 3, "best"], ["b", 3, "running"], ["c", 1, "running"]]);
  assertValidV5(spec);

  const svg = await renderSvg(spec);
  // one line per segment: a, b before the exploit, b after it (a single point), c (a single point)
  assert.equal((svg.match(/class="mark-line role-mark curves_marks"/g) ?? []).length, 4);
  assert.equal(markItems(svg, "lineage").length, 1);
  assert.match(markItems(svg, "lineage")[0], /stroke-dasharray="4,3"/);
  assert.equal(markItems(svg, "exploits").length, 1);
  assert.equal(markItems(svg, "heads").length, 3);
  for (const label of ["status", "completed", "marks", "latest report", "stopped", "exploit: copied weights", "lineage: donor → receiver"]) {
    assert.ok(svg.includes(`>${label}</text>`), `legend shows "${label}"`);
  }
});

test("pbtLineage: edges from donor to receiver, step panels per hyperparameter, lr on log axis", () => {
  const spec: any = pbtLineage(
    {
      configs: [
        { trialId: "a", t: 0, config: { lr: 1e-3, batch: 16 } },
        { trialId: "b", t: 0, config: { lr: 1e-4, batch: 32 } },
        { trialId: "b", t: 4, config: { lr: 1.2e-3, batch: 16 } },
      ],
      exploits: [{ trialId: "b", t: 4, donor: "a", donorT: 4 }],
      maxT: 8,
    },
    {},
  );
  assert.equal(spec.vconcat.length, 3);
  const [lineage, batch, lr] = spec.vconcat;
  assert.deepEqual(lineage.layer[0].data.values, [{ trialId: "a", t: 0, t2: 8 }, { trialId: "b", t: 0, t2: 8 }]);
  assert.deepEqual(lineage.layer[1].data.values, [{ trialId: "b", t: 4, donor: "a", donorT: 4 }]);
  assert.equal(lineage.layer[1].encoding.y.field, "donor");
  assert.equal(lineage.layer[1].encoding.y2.field, "trialId");
  assert.equal(batch.title, "batch");
  assert.deepEqual(lr.encoding.y.scale, { type: "log" });
  assert.deepEqual(batch.encoding.y.scale, { zero: false });
  assert.equal(lr.mark.interpolate, "step-after");
  const lrRows = spec.datasets.configs.filter((r: any) => r.param === "lr" && r.trialId === "b");
  assert.deepEqual(lrRows, [
    { trialId: "b", t: 0, param: "lr", value: 1e-4 },
    { trialId: "b", t: 4, param: "lr", value: 1.2e-3 },
    { trialId: "b", t: 8, param: "lr", value: 1.2e-3 },
  ]);
  assertValidV5(spec);
});

test("parallelCoordinates: normalised positions, log10 for lr, categories spread, metric last", () => {
  const rows = [
    { trialId: "a", config: { lr: 1e-4, opt: "adam" }, value: 3 },
    { trialId: "b", config: { lr: 1e-3, opt: "sgd" }, value: 2 },
    { trialId: "c", config: { lr: 1e-2, opt: "adam" }, value: 1 },
  ];
  const { lines, labels } = parallelRows(rows, { metric: "eval_loss" });
  const pos = (id: string, dim: string) => lines.find((l) => l.trialId === id && l.dim === dim)!.pos;
  assert.ok(Math.abs(pos("b", "lr") - 0.5) < 1e-12, "log-midpoint of 1e-4..1e-2 is 1e-3");
  assert.equal(pos("a", "opt"), 0);
  assert.equal(pos("b", "opt"), 1);
  assert.equal(pos("a", "eval_loss"), 1);
  assert.deepEqual(labels.filter((l) => l.dim === "lr").map((l) => l.label), ["0.000100 (log)", "0.0100"]);
  const spec: any = parallelCoordinates(rows, { metric: "eval_loss" });
  assert.deepEqual(spec.layer[0].data.values.map((v: any) => v.dim), ["lr", "opt", "eval_loss"]);
  assert.equal(spec.layer[1].encoding.color.scale.reverse, true);
  assertValidV5(spec);
});

test("gpuMinutesOverTime and comparisonChart: fields, log x when costs differ by >10x", () => {
  const g: any = gpuMinutesOverTime([{ minutes: 0, gpuMinutes: 0 }, { minutes: 5, gpuMinutes: 18 }]);
  assert.deepEqual(g.data.values[1], { minutes: 5, gpuMinutes: 18, series: "gpu-minutes" });
  assert.equal(g.mark.interpolate, "step-after");
  assertValidV5(g);
  const c: any = comparisonChart([
    { method: "grid", bestLoss: 2.1, gpuMinutes: 960, costRatio: 1 },
    { method: "asha", bestLoss: 2.15, gpuMinutes: 60, costRatio: 0.06 },
  ]);
  assert.deepEqual(c.layer[0].encoding.x.scale, { type: "log" });
  assert.ok(c.layer[0].encoding.tooltip.some((t: any) => t.field === "costRatio"));
  assert.equal(c.layer[1].mark.type, "text");
  assertValidV5(c);
  const lin: any = comparisonChart([{ method: "a", bestLoss: 1, gpuMinutes: 10 }, { method: "b", bestLoss: 2, gpuMinutes: 20 }]);
  assert.deepEqual(lin.layer[0].encoding.x.scale, { zero: true });
  assert.equal(lin.layer.length, 2, "no target, no rules");
});

test("comparisonChart with a target: dashed rules at the loss and GPU-minute bounds, and their label", () => {
  const c: any = comparisonChart([{ method: "grid", bestLoss: 1.2, gpuMinutes: 10 }, { method: "asha", bestLoss: 1.21, gpuMinutes: 3 }], { target: { maxLoss: 1.212, maxGpuMinutes: 3.5, label: "within 1% at ≤ 0.35" } });
  assert.equal(c.layer.length, 5);
  assert.deepEqual(c.layer[2].data.values, [{ bestLoss: 1.212, label: "within 1% at ≤ 0.35" }]);
  assert.deepEqual(c.layer[2].encoding, { y: { field: "bestLoss", type: "quantitative" } });
  assert.deepEqual(c.layer[3].data.values, [{ gpuMinutes: 3.5, label: "within 1% at ≤ 0.35" }]);
  assert.deepEqual(c.layer[3].encoding, { x: { field: "gpuMinutes", type: "quantitative" } });
  assert.equal(c.layer[2].mark.type, "rule");
  assert.deepEqual(c.layer[2].mark.strokeDash, [4, 4]);
  assert.equal(c.layer[4].encoding.text.field, "label");
  assertValidV5(c);
  // a non-finite bound draws nothing (a run without a grid has no target)
  assert.equal((comparisonChart([{ method: "a", bestLoss: 1, gpuMinutes: 1 }], { target: { maxLoss: NaN, maxGpuMinutes: 1 } }) as any).layer.length, 2);
});

test("renderSvg draws one path per trial line plus markers", async () => {
  const data = curves(4, 10);
  const svg = await renderSvg(learningCurves(data, { stopped: ["t3"], best: "t0", rungs: [3] }));
  assert.match(svg, /^<svg/);
  // line marks render as <path> inside role-mark groups; count the curves layer's paths
  const curvesGroup = svg.split('class="mark-line role-mark').length - 1;
  assert.ok(curvesGroup >= 2, "curves and best line groups");
  const linePaths = (svg.match(/<path[^>]*aria-roledescription="line mark"/g) ?? []).length;
  assert.equal(linePaths, 4 + 1, "4 trial lines + the best overlay");
  for (const spec of [
    pbtLineage({ configs: [{ trialId: "a", t: 0, config: { lr: 1e-3 } }], exploits: [], maxT: 4 }),
    parallelCoordinates([{ trialId: "a", config: { lr: 1e-3 }, value: 1 }, { trialId: "b", config: { lr: 1e-2 }, value: 2 }]),
    comparisonChart([{ method: "grid", bestLoss: 2, gpuMinutes: 10 }]),
    gpuMinutesOverTime([{ minutes: 0, gpuMinutes: 0 }, { minutes: 1, gpuMinutes: 2 }]),
  ]) {
    assert.match(await renderSvg(spec), /<svg[\s\S]*<\/svg>/);
  }
});
