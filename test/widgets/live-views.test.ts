import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { installBridgeDouble, type KernelBridgeDouble } from "./kernel-bridge-double";
import { SourceDouble, runSynthetic, lossAt } from "./source-double";
import { liveWidgets, WIDGET_VIEW_MIME } from "../../widgets/widget";
import { LivePlot } from "../../widgets/live-plot";
import { STOP_FROM_CODE, showExperiment } from "../../widgets/experiment-view";
import { quiz, hashAnswer, checkAnswer, sealExplanation, openExplanation } from "../../widgets/quiz";
import { JUPYTER_DISPLAY } from "../../widgets/kernel-bridge";

let env: { bridge: KernelBridgeDouble; uninstall: () => void } | null = null;
function setup(): KernelBridgeDouble {
  env = installBridgeDouble();
  return env.bridge;
}
afterEach(() => {
  for (const w of liveWidgets()) w.close();
  env?.uninstall();
  env = null;
});
const f64 = (d: DataView) => Array.from(new Float64Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)));
const u32 = (d: DataView) => Array.from(new Uint32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)));

test("LivePlot (bridge double): anywidget model with bundled _esm, empty buffers and the spec template", () => {
  const bridge = setup();
  const p = new LivePlot({ metric: "eval_loss", rungs: [1, 4] });
  const open = bridge.opened().find((o) => o.commId === p.modelId)!;
  const s = open.data.state;
  assert.deepEqual(
    [s._model_module, s._model_name, s._view_module, s._view_name, s._model_module_version, s._view_module_version],
    ["anywidget", "AnyModel", "anywidget", "AnyView", ">=0.9.0 <0.12.0", ">=0.9.0 <0.12.0"],
  );
  assert.ok(s._esm.length > 100_000, "vega is bundled into the module");
  assert.match(s._esm, /export\s*\{[^}]*as default/);
  assert.deepEqual(open.data.buffer_paths, [["t"], ["value"], ["trial"]]);
  assert.equal(s.n, 0);
  assert.deepEqual(s.spec.layer[0].data.values, [{ t: 1 }, { t: 4 }]);
});

test("LivePlot (bridge double): appends stream only the new slice as binary buffers", () => {
  const bridge = setup();
  const p = new LivePlot({ throttleMs: 10_000 });
  p.add("a", 1, 3.0);
  p.add("b", 1, 2.5);
  p.flush();
  let m = bridge.messages(p.modelId).at(-1)!;
  assert.deepEqual(m.data, { method: "custom", content: { kind: "append", start: 0, trials: [[0, "a", "running"], [1, "b", "running"]], exploits: [] } });
  assert.deepEqual([f64(m.buffers[0]), f64(m.buffers[1]), u32(m.buffers[2])], [[1, 1], [3, 2.5], [0, 1]]);
  p.add("a", 2, 2.0);
  p.setStatus("b", "stopped");
  p.setBest("a");
  p.addExploit({ trialId: "b", t: 1, donor: "a" });
  p.flush();
  m = bridge.messages(p.modelId).at(-1)!;
  assert.deepEqual(m.data.content, { kind: "append", start: 2, trials: [[1, "b", "stopped"]], exploits: [{ trialId: "b", t: 1, donor: "a", donorT: 1, index: 3 }], best: "a" });
  assert.deepEqual([f64(m.buffers[0]), f64(m.buffers[1]), u32(m.buffers[2])], [[2], [2], [0]]);
  const before = bridge.messages(p.modelId).length;
  p.flush();
  assert.equal(bridge.messages(p.modelId).length, before, "nothing pending: nothing sent");
});

test("LivePlot (bridge double): many points added at once go out as one throttled message", async () => {
  const bridge = setup();
  const p = new LivePlot({ throttleMs: 30 });
  const appends = () => bridge.messages(p.modelId).filter((m) => m.data.method === "custom");
  for (let i = 0; i < 1000; i++) p.add(`t${i % 10}`, Math.floor(i / 10) + 1, 1 / (i + 1));
  assert.equal(appends().length, 0);
  // all points were added synchronously: whenever the timer fires, one message carries them all
  for (let i = 0; i < 200 && appends().length === 0; i++) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, 60));
  const msgs = appends();
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0].buffers[0].byteLength, 8000);
});

test("LivePlot (bridge double): request_state and resync return every point (page reload)", () => {
  const bridge = setup();
  const p = new LivePlot({ throttleMs: 10_000 });
  p.add("a", 1, 3);
  p.add("a", 2, 2);
  p.flush();
  p.add("a", 3, 1); // pending, not yet streamed: still part of the full state
  bridge.frontendMsg(p.modelId, { method: "request_state" });
  let m = bridge.messages(p.modelId).at(-1)!;
  assert.equal(m.data.method, "update");
  assert.equal(m.data.state.n, 3);
  const ti = m.data.buffer_paths.findIndex((x: string[]) => x[0] === "value");
  assert.deepEqual(f64(m.buffers[ti]), [3, 2, 1]);
  assert.deepEqual(m.data.state.trials, [{ id: "a", status: "running" }]);
  bridge.frontendMsg(p.modelId, { method: "custom", content: { kind: "resync", have: 1 } });
  m = bridge.messages(p.modelId).at(-1)!;
  assert.equal(m.data.method, "update");
  assert.equal(m.data.state.sync_id, 1);
  assert.equal(m.data.state.n, 3);
});

test("LivePlot (bridge double): finish() syncs the full state, renders the SVG and updates its display", async () => {
  const bridge = setup();
  const p = new LivePlot({ metric: "eval_loss", svgEveryMs: 0 });
  p.display();
  for (let t = 1; t <= 5; t++) for (const id of ["a", "b", "c"]) p.add(id, t, lossAt(id.charCodeAt(0), t));
  p.setStatus("c", "stopped");
  p.setBest("a");
  await p.finish();
  const full = bridge.messages(p.modelId).filter((m) => m.data.method === "update").at(-1)!;
  assert.equal(full.data.state.n, 15);
  const last = bridge.displays.at(-1)!;
  assert.equal(last.options?.update, true);
  assert.equal(last.options?.displayId, p.displayId);
  const svg = last.bundle["image/svg+xml"] as string;
  assert.equal((svg.match(/aria-roledescription="line mark"/g) ?? []).length, 3 + 1, "3 trial lines + best overlay");
  assert.match(svg, /aria-roledescription="point"|role-mark stops/);
  assert.equal((last.bundle["application/vnd.vegalite.v5+json"] as any).data.values.length, 15);
  assert.match(last.bundle["text/plain"] as string, /3 trials .*15 points, best a/);
  assert.ok(last.bundle[WIDGET_VIEW_MIME]);
});

test("LivePlot without a kernel: bundle() is static (SVG + vega-lite + text)", async () => {
  const p = new LivePlot({ bridge: null });
  p.addMany([{ trialId: "x", t: 1, value: 2 }, { trialId: "x", t: 2, value: 1 }]);
  const b = await p.bundle();
  assert.equal(b[WIDGET_VIEW_MIME], undefined);
  assert.match(b["image/svg+xml"] as string, /^<svg/);
  assert.equal(p.live, false);
});

test("ExperimentView (bridge double + source double): 32 trials × 30 epochs, table, GPU-minutes, final picture", async () => {
  const bridge = setup();
  const src = new SourceDouble();
  const view = showExperiment(src, { svgEveryMs: 0 });
  view.display();
  runSynthetic(src, 32, 30);
  await view.done;
  assert.equal(view.plot.pointCount, 24 * 30 + 8 * 4);
  const rows = view.table.rows;
  assert.equal(rows.length, 32);
  assert.equal(rows.filter((r) => r.state === "stopped").length, 8);
  assert.equal(rows.filter((r) => r.state === "completed").length, 24);
  assert.deepEqual(view.table.row("trial_000"), { trialId: "trial_000", state: "completed", config: { lr: 1e-4 }, metric: lossAt(0, 30), t: 30, gpuSeconds: 1800 });
  assert.equal(view.totalGpuMinutes(), 24 * 30 + 8 * 4);
  assert.equal(view.gpu.value.includes("<b>752.0</b>"), true);
  // best: the lowest loss seen (i % 7 == 0 trials; trial_000 first)
  assert.equal(view.plot.getState().best, "trial_000");
  const final = bridge.displays.filter((d) => d.options?.displayId === view.displayId).at(-1)!;
  assert.equal(final.options?.update, true);
  const svg = final.bundle["image/svg+xml"] as string;
  assert.equal((svg.match(/aria-roledescription="line mark"/g) ?? []).length, 33);
  assert.match(final.bundle["text/html"] as string, /<table class="tunelab-trials">/);
  assert.match(final.bundle["text/plain"] as string, /GPU-minutes: 752\.0 · experiment: finished/);
  // the saved state of the plot holds all points
  const fullUpdate = bridge.messages(view.plot.modelId).filter((m) => m.data.method === "update").at(-1)!;
  assert.equal(fullUpdate.data.state.n, 752);
  // the table's row widgets carry the final state
  const stopRow = view.table.stopButton("trial_003")!;
  assert.equal(stopRow.get("disabled"), true);
  assert.equal(stopRow.get("description"), "stopped");
});

test("ExperimentView (bridge double + source double): stop button and pause/resume reach the source", async () => {
  const bridge = setup();
  const src = new SourceDouble();
  const view = showExperiment(src, { throttleMs: 5 });
  runSynthetic(src, 3, 2, { finish: false });
  // history replay: a second view built now sees the same trials
  const late = showExperiment(src);
  assert.equal(late.table.rows.length, 3);
  const stop = view.table.stopButton("trial_001")!;
  // trial_001 completed in the synthetic run; restart it to test stopping
  src.emit({ type: "trial_state", at: src.tick(), trialId: "trial_001", state: "running" });
  bridge.frontendMsg(stop.modelId, { method: "custom", content: { event: "click" } });
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(src.actions, ["stop trial_001"]);
  assert.equal(view.table.row("trial_001")!.state, "stopped");
  bridge.frontendMsg(view.table.pauseButton.modelId, { method: "custom", content: { event: "click" } });
  assert.equal(view.table.resumeButton.get("disabled"), false);
  bridge.frontendMsg(view.table.resumeButton.modelId, { method: "custom", content: { event: "click" } });
  assert.deepEqual(src.actions, ["stop trial_001", "pause", "resume"]);
  assert.equal(view.table.pauseButton.get("disabled"), false);
  view.close();
  late.close();
});

test("Quiz (bridge double): hashed answers check without revealing them; text fallback", () => {
  const bridge = setup();
  const h = hashAnswer("ASHA", "s1");
  assert.equal(h, createHash("sha256").update("s1ASHA").digest("hex"));
  const q = quiz([
    { question: "Which method stops bad trials early?", options: ["grid", "ASHA"], answerHash: h, salt: "s1", explanation: "Successive halving." },
    { question: "2+2?", options: ["3", "4"], answer: 1 },
  ]);
  assert.equal(checkAnswer(q.items[0], "ASHA"), true);
  assert.equal(checkAnswer(q.items[0], "grid"), false);
  const fb = (q as any)[JUPYTER_DISPLAY]();
  assert.doesNotMatch(JSON.stringify(fb["text/plain"]), /answer|Successive/);
  assert.match(fb["text/plain"], /1\. Which method.*\n   A\) grid\n   B\) ASHA/);
  const q0 = q.questions[0];
  bridge.frontendMsg(q0.check.modelId, { method: "custom", content: { event: "click" } });
  assert.match(q0.feedback.value, /pick an answer/);
  bridge.frontendMsg(q0.choices.modelId, { method: "update", state: { index: 1 }, buffer_paths: [] });
  bridge.frontendMsg(q0.check.modelId, { method: "custom", content: { event: "click" } });
  assert.match(q0.feedback.value, /Correct.*Successive halving/);
  bridge.frontendMsg(q0.choices.modelId, { method: "update", state: { index: 0 }, buffer_paths: [] });
  assert.equal(q0.grade(), false);
  assert.throws(() => quiz([{ question: "q", options: ["a", "b"], answer: "c" }]), /quiz\[0\]\.answer: not one of the options/);
  assert.throws(() => quiz([{ question: "q", options: ["a"], answer: 0 }]), /quiz\[0\]\.options/);
  assert.throws(() => quiz([{ question: "q", options: ["a", "b"], answerHash: "xyz" }]), /quiz\[0\]\.answerHash/);
});

test("Quiz (bridge double): a sealed explanation opens only with the right answer and shows after a correct check", () => {
  const bridge = setup();
  const sealed = sealExplanation("Because rungs cut early.", "ASHA", "s2");
  assert.equal(sealed, sealExplanation("Because rungs cut early.", "ASHA", "s2"), "reproducible");
  assert.doesNotMatch(Buffer.from(sealed.slice(3), "base64").toString("latin1"), /rungs/);
  assert.equal(openExplanation(sealed, "ASHA", "s2"), "Because rungs cut early.");
  assert.equal(openExplanation(sealed, "grid", "s2"), null);
  assert.equal(openExplanation(sealed, "ASHA", "other salt"), null);
  assert.equal(openExplanation("v1:AAAA", "ASHA", "s2"), null);
  const q = quiz([{ question: "Which stops early?", options: ["grid", "ASHA"], answerHash: hashAnswer("ASHA", "s2"), salt: "s2", explanationSealed: sealed }]);
  const q0 = q.questions[0];
  bridge.frontendMsg(q0.choices.modelId, { method: "update", state: { index: 0 }, buffer_paths: [] });
  assert.equal(q0.grade(), false);
  assert.doesNotMatch(q0.feedback.value, /rungs/);
  bridge.frontendMsg(q0.choices.modelId, { method: "update", state: { index: 1 }, buffer_paths: [] });
  assert.equal(q0.grade(), true);
  assert.match(q0.feedback.value, /Correct.*Because rungs cut early\./);
  assert.throws(() => quiz([{ question: "q", options: ["a", "b"], answer: 0, explanationSealed: "plain" }]), /quiz\[0\]\.explanationSealed: expected "v1:…"/);
});

test("ExperimentView, a PBT run on the CPU: CPU-minutes from run time, one-report trial drawn, exploit lineage in state and picture, preemption repeats skipped", async () => {
  const bridge = setup();
  const src = new SourceDouble({ maxT: 3, rungs: [] });
  (src as any).method = { kind: "pbt", perturbationInterval: 1 };
  (src as any).device = "cpu";
  const view = showExperiment(src, { svgEveryMs: 0, throttleMs: 5 });
  view.display();
  const at = () => src.tick();
  const rep = (trialId: string, t: number, v: number, extra: Record<string, unknown> = {}) =>
    src.emit({ type: "report", at: at(), trialId, report: { t, eval_loss: v, time_total_s: t, checkpoint: null, ...extra } });
  for (const id of ["a", "b", "c"]) {
    src.emit({ type: "trial_added", at: at(), trialId: id, config: { lr: 0.01 } });
    src.emit({ type: "trial_state", at: at(), trialId: id, state: "running" });
  }
  rep("a", 1, 3); rep("b", 1, 3.5); rep("a", 2, 2.5); rep("b", 2, 3.2);
  rep("c", 1, 3.3);
  rep("c", 1, 3.3, { preempted: true });
  src.emit({ type: "exploit", at: at(), trialId: "b", donor: "a", donorT: 2, t: 2, oldConfig: { lr: 0.01 }, config: { lr: 0.012 }, mutations: { lr: "×1.2" } });
  rep("b", 3, 2.3); rep("a", 3, 2.2);
  // the backend still named GPU slots (backend.gpus) and accounted 60 "GPU-seconds"; a CPU run counts its 40 s of run time
  src.emit({ type: "accounting", at: at(), trialId: "a", gpuSeconds: 60, queueSeconds: 0, runSeconds: 40, gpus: 1, run: 0 });
  for (const id of ["a", "b", "c"]) src.emit({ type: "trial_state", at: at(), trialId: id, state: id === "c" ? "paused" : "completed" });
  // while it runs, the picture (no buttons) says how to stop from code
  const running = view.fallbackBundle();
  assert.equal((running["text/plain"] as string).split("\n").at(-1), STOP_FROM_CODE);
  assert.ok((running["text/html"] as string).includes('<div class="tunelab-stop-hint" style="font-family:monospace">picture only (no buttons here): stop a trial with await exp.stopTrial(&quot;t003&quot;), the whole run with exp.requestStop(), or exp.pause() / exp.resume(); ■ Interrupt pauses the run</div>'));
  src.emit({ type: "experiment_state", at: at(), state: "finished" });
  await view.done;
  assert.ok(!(view.fallbackBundle()["text/plain"] as string).includes("stopTrial"), "no hint once the run ended");

  assert.equal(view.device, "cpu");
  assert.equal(view.plot.pointCount, 7, "the preemption line is not a point");
  assert.deepEqual(view.plot.getState().exploits, [{ trialId: "b", t: 2, donor: "a", donorT: 2, index: 5 }]);
  assert.match(view.gpu.value, /CPU-minutes: <b>/);
  assert.equal(view.table.row("a")!.gpuSeconds, 40);
  assert.match(view.table.fallbackBundle()["text/plain"] as string, /CPU-min/);
  const spec: any = view.plot.spec();
  const layer = (name: string) => spec.layer.find((l: any) => l.name === name);
  assert.deepEqual(layer("lineage").data.values, [{ trialId: "b", donor: "a", t: 2, value: 2.5, t2: 3, value2: 2.3 }]);
  assert.deepEqual(layer("heads").data.values.map((h: any) => [h.trialId, h.t, h.value]), [["a", 3, 2.2], ["b", 3, 2.3], ["c", 1, 3.3]]);
  const final = bridge.displays.filter((d) => d.options?.displayId === view.displayId).at(-1)!;
  const svg = final.bundle["image/svg+xml"] as string;
  const items = (name: string) => (new RegExp(`role-mark ${name}_marks"[^>]*?(?:/>|>(.*?)</g>)`, "s").exec(svg)?.[1]?.match(/<(path|line)\b/g) ?? []).length;
  assert.deepEqual([items("heads"), items("lineage"), items("exploits")], [3, 1, 1]);
  assert.match(final.bundle["text/plain"] as string, /^demo \(pbt\) · CPU-minutes: /);
});
