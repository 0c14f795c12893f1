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
  assert.deepEqual(spec.data.values[0], { trialId: "t0", t: 1, value: 5, status: "best" });
  assert.equal(spec.data.values.find((p: any) => p.trialId === "t1").status, "stopped");
  assert.equal(spec.data.values.find((p: any) => p.trialId === "t2").status, "running");
  const byName = Object.fromEntries(spec.layer.map((l: any) => [l.name, l]));
  assert.deepEqual(Object.keys(byName), ["rungs", "curves", "best", "stops", "exploits"]);
  assert.deepEqual(byName.rungs.data.values, [{ t: 1 }, { t: 4 }]);
  assert.deepEqual(byName.stops.data.values, [{ trialId: "t1", t: 2, value: 2.1 + 1.5 }]);
  const op = byName.curves.encoding.opacity.scale;
  assert.equal(op.range[op.domain.indexOf("stopped")], 0.35);
  assert.equal(byName.curves.encoding.y.title, "eval_loss");
  assert.deepEqual(byName.curves.encoding.y.scale, { zero: false });
  assert.ok(byName.curves.encoding.tooltip.some((t: any) => t.field === "trialId"));
  assertValidV5(spec);
});

test("learningCurves: logY uses a log scale and drops non-positive values; stop t by map; exploits", () => {
  const data = [...curves(2, 3), { trialId: "t0", t: 4, value: 0 }];
  const spec: any = learningCurves(data, { logY: true, stopped: { t1: 2 }, exploits: [{ trialId: "t0", t: 2, donor: "t1" }] });
  assert.deepEqual(spec.layer[1].encoding.y.scale, { type: "log" });
  assert.equal(spec.data.values.length, 6);
  assert.deepEqual(spec.layer[3].data.values, [{ trialId: "t1", t: 2, value: 2.1 + 1.5 }]);
  assert.deepEqual(spec.layer[4].data.values, [{ trialId: "t0", t: 2, donor: "t1", value: 3.5 }]);
  assertValidV5(spec);
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
