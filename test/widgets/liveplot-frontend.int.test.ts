/**
 * The LivePlot front-end (widgets/frontend/liveplot.js, the bundle that
 * travels in `_esm`) in headless Chromium, rendered by the real
 * @jupyter-widgets/html-manager + anywidget from the kernel-side LivePlot's
 * own widget state, then fed the kernel-side LivePlot's own `append`
 * messages, one at a time, as the kernel would send them during a PBT run:
 * a trial with a single report is a dot; after an exploit the receiver's
 * line restarts and a dashed connector runs from the donor's point to the
 * receiver's continuation; the legends name the marks. The same state drawn
 * by the kernel (the SVG fallback) has the same marks.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { installBridgeDouble, type KernelBridgeDouble } from "./kernel-bridge-double";
import { LivePlot } from "../../widgets/live-plot";
import { liveWidgets } from "../../widgets/widget";
import { removeBuffers } from "../../widgets/serialize";
import { ARTIFACTS, ROOT, bundlePage, launchChromium, offline, pageHtml, screenshot, serve, type Served } from "./browser/harness";

const BUNDLE = path.join(ROOT, "widgets/frontend/dist/liveplot.esm.js");
let env: { bridge: KernelBridgeDouble; uninstall: () => void };
let server: Served;
let chrome: Awaited<ReturnType<typeof launchChromium>>;
let dir: string;

/** Rebuild the bundle when its sources (the module, the shared curve marks) are newer. */
function ensureBundle(): void {
  const sources = [path.join(ROOT, "widgets/frontend/liveplot.js"), path.join(ROOT, "src/plots/curve-marks.ts"), path.join(ROOT, "widgets/frontend/lib/vega-lib.js")];
  const newest = Math.max(...sources.map((f) => fs.statSync(f).mtimeMs));
  if (fs.existsSync(BUNDLE) && fs.statSync(BUNDLE).mtimeMs >= newest) return;
  const r = spawnSync(process.execPath, [path.join(ROOT, "widgets/build.js")], { cwd: ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

/** Saved widget state (as nbclient stores it) of every live widget: the plot and its layout. */
function savedState(): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  for (const w of liveWidgets()) {
    const s = removeBuffers(w.getState());
    state[w.modelId] = {
      model_name: s.state._model_name, model_module: s.state._model_module, model_module_version: s.state._model_module_version,
      state: s.state,
      buffers: s.buffers.map((b, i) => ({ path: s.buffer_paths[i], encoding: "base64", data: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64") })),
    };
  }
  return { version_major: 2, version_minor: 0, state };
}

before(async () => {
  ensureBundle();
  env = installBridgeDouble();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tunelab-liveplot-fe-"));
  chrome = await launchChromium();
});

after(async () => {
  for (const w of liveWidgets()) w.close();
  env?.uninstall();
  await chrome?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("front-end in Chromium: a one-report trial is a dot, PBT lineage segments and connector appear as the kernel streams, legends name the marks", async () => {
  const plot = new LivePlot({ metric: "eval_loss", lineage: true, throttleMs: 60_000, svgEveryMs: 0, title: "pbt-demo (pbt)" });
  for (const id of ["a", "b", "c"]) plot.addTrial(id, "running");
  plot.add("a", 1, 3);
  plot.flush();
  const views = [plot.modelId];
  const page = await bundlePage(path.join(__dirname, "browser", "static-page.ts"), path.join(dir, "page"));
  server = await serve({
    "/": { body: pageHtml("liveplot front-end", page.css !== null), type: "text/html" },
    "/page.js": { file: page.js, type: "text/javascript" },
    ...(page.css ? { "/page.css": { file: page.css, type: "text/css" } } : {}),
    "/anywidget.js": { file: path.join(ROOT, "node_modules/anywidget/dist/index.js"), type: "text/javascript" },
    "/state.json": { body: JSON.stringify({ state: savedState(), views }), type: "application/json" },
  });
  const tab = await chrome.browser.newPage();
  await tab.setViewport({ width: 900, height: 520 });
  const blocked = await offline(tab, server.url);
  await tab.goto(server.url + "/", { waitUntil: "load" });
  await tab.waitForFunction("window.__rendered === true", { timeout: 60_000, polling: 100 });
  await tab.waitForSelector(".tunelab-liveplot svg .role-mark", { timeout: 60_000 });
  assert.deepEqual(await tab.evaluate("window.__errors"), []);

  /** What is drawn now: items per named layer, and the lineage connectors' labels. */
  const drawn = async () => tab.evaluate(`(() => {
    const svg = document.querySelector(".tunelab-liveplot svg");
    const n = (layer, el) => [...svg.querySelectorAll("g.role-mark." + layer + "_marks")].reduce((s, g) => s + g.querySelectorAll(el).length, 0);
    return {
      points: Number(document.querySelector(".tunelab-liveplot").dataset.points),
      lines: svg.querySelectorAll("g.role-mark.curves_marks").length,
      heads: n("heads", "path"), exploits: n("exploits", "path"), lineage: n("lineage", "line"),
      connectors: [...svg.querySelectorAll("g.role-mark.lineage_marks line")].map((l) => [l.getAttribute("aria-label"), l.getAttribute("stroke-dasharray")]),
      legend: [...svg.querySelectorAll("g.role-legend text")].map((t) => t.textContent),
    };
  })()`);
  const kernelDrawn = async () => {
    const svg = await plot.renderFallback();
    // an empty group is written as <g .../>
    const group = (layer: string) => [...svg.matchAll(new RegExp(`role-mark ${layer}_marks"[^>]*?(?:/>|>(.*?)</g>)`, "gs"))];
    const items = (layer: string, el: string) => group(layer).reduce((s, m) => s + ((m[1] ?? "").match(new RegExp(`<${el}\\b`, "g")) ?? []).length, 0);
    return { lines: group("curves").length, heads: items("heads", "path"), exploits: items("exploits", "path"), lineage: items("lineage", "line") };
  };

  // the saved state: one report of one trial, drawn as a dot (its line has no length)
  let d = await drawn();
  assert.deepEqual([d.points, d.lines, d.heads, d.exploits, d.lineage], [1, 1, 1, 0, 0]);
  // (in the SVG a legend's title follows its labels)
  assert.deepEqual(d.legend, [
    "running", "completed", "paused", "stopped", "failed", "best", "status",
    "lineage: donor → receiver",
    "latest report", "stopped", "exploit: copied weights", "marks",
  ]);

  /** Send the kernel's pending `append` to the page, as the comm would, and wait until it is drawn. */
  const stream = async () => {
    const before = bridgeCount();
    plot.flush();
    const m = env.bridge.messages(plot.modelId).at(-1)!;
    assert.equal(env.bridge.messages(plot.modelId).length, before + 1, "one append message");
    assert.equal(m.data.content.kind, "append");
    const updates = await tab.evaluate(`Number(document.querySelector(".tunelab-liveplot").dataset.updates)`);
    const buffers = m.buffers.map((b) => Array.from(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
    await tab.evaluate(`(async (id, content, buffers) => {
      const model = await window.tunelab.manager.get_model(id);
      model.trigger("msg:custom", content, buffers.map((b) => new DataView(new Uint8Array(b).buffer)));
    })(${JSON.stringify(plot.modelId)}, ${JSON.stringify(m.data.content)}, ${JSON.stringify(buffers)})`);
    await tab.waitForFunction(`Number(document.querySelector(".tunelab-liveplot").dataset.updates) > ${updates}`, { timeout: 60_000, polling: 50 });
  };
  const bridgeCount = () => env.bridge.messages(plot.modelId).length;

  // every trial's first report: three dots, two of them on lines of one point
  plot.add("b", 1, 3.5); plot.add("a", 2, 2.5); plot.add("b", 2, 3.2); plot.add("c", 1, 3.3);
  await stream();
  d = await drawn();
  assert.deepEqual([d.points, d.lines, d.heads, d.exploits, d.lineage], [5, 3, 3, 0, 0]);
  assert.deepEqual(d, { ...d, ...(await kernelDrawn()) });

  // b exploits a's checkpoint at t=2: the triangle sits on a's point; no continuation yet, so no connector
  plot.addExploit({ trialId: "b", t: 2, donor: "a", donorT: 2 });
  await stream();
  d = await drawn();
  assert.deepEqual([d.points, d.lines, d.heads, d.exploits, d.lineage], [5, 3, 3, 1, 0]);

  // b continues from a's weights: its new line starts at t=3, joined to a's point by the dashed connector
  plot.add("b", 3, 2.3); plot.add("a", 3, 2.2);
  plot.setStatus("a", "completed");
  await stream();
  d = await drawn();
  assert.deepEqual([d.points, d.lines, d.heads, d.exploits, d.lineage], [7, 4, 3, 1, 1]);
  assert.deepEqual(d.connectors, [["t (epoch): 2; eval_loss: 2.5; t2: 3; value2: 2.3; connector: lineage: donor → receiver; receiver: b; copied from: a; donor t: 2; receiver continues at t: 3", "4,3"]]);
  assert.deepEqual(d, { ...d, ...(await kernelDrawn()) });
  assert.deepEqual(blocked, []);

  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await screenshot(tab, path.join(ARTIFACTS, "liveplot-frontend-pbt.png"));
});
