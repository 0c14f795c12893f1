/**
 * A notebook streams 32 trials × 30 epochs into an ExperimentView (LivePlot +
 * TrialTable) on the real tunelab kernel, executed by nbclient with
 * store_widget_state=True. Then headless Chromium renders the saved notebook
 * from its widget state with @jupyter-widgets/html-manager and anywidget
 * served locally (no network).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { jupyterSandbox, runProcess, PY, type JupyterSandbox, type Ran } from "../kernel-setup/helpers";
import { ensureWidgetsBuilt, expectedPoints, streamNotebook, ROOT } from "./notebook-fixture";
import { ARTIFACTS, bundlePage, launchChromium, offline, pageHtml, screenshot, serve } from "./browser/harness";

const TRIALS = 32;
const EPOCHS = 30;
let sandbox: JupyterSandbox;
let ran: Ran;
let nb: any;

before(async () => {
  ensureWidgetsBuilt();
  sandbox = jupyterSandbox();
  const src = path.join(sandbox.dir, "stream.ipynb");
  const out = path.join(sandbox.dir, "out.ipynb");
  fs.writeFileSync(src, JSON.stringify(streamNotebook({ trials: TRIALS, epochs: EPOCHS, epochMs: 25, awaitEnd: true })));
  ran = await runProcess(PY, [path.join(ROOT, "test/kernel-setup/py/run_notebook.py"), src, out, sandbox.dir], { env: sandbox.env, timeoutMs: 240_000 });
  if (fs.existsSync(out)) nb = JSON.parse(fs.readFileSync(out, "utf8"));
});

after(() => sandbox?.cleanup());

function widgetState(): Record<string, any> {
  return nb.metadata.widgets["application/vnd.jupyter.widget-state+json"].state;
}
function decode(entry: any, key: string, Ctor: typeof Float64Array | typeof Uint32Array): number[] {
  const b = entry.buffers.find((x: any) => x.path.length === 1 && x.path[0] === key);
  const raw = Buffer.from(b.data, "base64");
  return Array.from(new Ctor(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
}
const loss = (i: number, t: number) => 2 + (i % 7) * 0.15 + 3 / (t + 1);

test("nbclient runs the streaming notebook on the tunelab kernel", () => {
  assert.equal(ran.code, 0, ran.stderr.slice(-3000));
  assert.deepEqual(nb.cells[2].outputs.at(-1).data["text/plain"], [`'${expectedPoints(TRIALS, EPOCHS)},0'`]);
});

test("saved widget state holds every point of the LivePlot as buffers, and the final trial states", () => {
  const state = widgetState();
  const plots = Object.values<any>(state).filter((m) => m.model_name === "AnyModel");
  assert.equal(plots.length, 1);
  const p = plots[0];
  assert.equal(p.model_module, "anywidget");
  assert.equal(p.state.n, expectedPoints(TRIALS, EPOCHS));
  assert.ok(p.state._esm.length > 100_000);
  const t = decode(p, "t", Float64Array);
  const v = decode(p, "value", Float64Array);
  const k = decode(p, "trial", Uint32Array);
  assert.equal(t.length, p.state.n);
  const ids: string[] = p.state.trials.map((x: any) => x.id);
  // every (trial, t) value is exactly what the notebook emitted
  for (let i = 0; i < t.length; i++) assert.equal(v[i], loss(Number(ids[k[i]].slice(6)), t[i]));
  const statuses = p.state.trials.map((x: any) => x.status);
  assert.equal(statuses.filter((s: string) => s === "stopped").length, 16);
  assert.equal(statuses.filter((s: string) => s === "completed").length, 16);
  assert.equal(p.state.best, "trial_000");
});

test("saved widget state holds the TrialTable: 32 progress bars at their final epoch, rows in final state", () => {
  const state = widgetState();
  const bars = Object.values<any>(state).filter((m) => m.model_name === "IntProgressModel");
  assert.equal(bars.length, TRIALS);
  const values = bars.map((b) => b.state.value).sort((a: number, b: number) => a - b);
  assert.deepEqual(values, [...Array(8).fill(4), ...Array(8).fill(16), ...Array(16).fill(30)]);
  assert.ok(bars.every((b) => b.state.max === EPOCHS));
  const rows = Object.values<any>(state).filter((m) => m.model_name === "HTMLModel" && /tunelab-trial/.test(m.state.value));
  assert.equal(rows.length, TRIALS);
  assert.equal(rows.filter((r) => /data-state="stopped"/.test(r.state.value)).length, 16);
  const gpu = Object.values<any>(state).find((m) => m.model_name === "HTMLModel" && /tunelab-gpu/.test(m.state.value));
  assert.match(gpu.state.value, /experiment: finished/);
});

test("the saved display bundle's SVG fallback shows the final picture (33 lines, 16 stop markers)", () => {
  const out = nb.cells[1].outputs.find((o: any) => o.output_type === "display_data");
  const svg = [].concat(out.data["image/svg+xml"]).join("");
  assert.equal((svg.match(/aria-roledescription="line mark"/g) ?? []).length, TRIALS + 1, "32 trial lines + best overlay");
  const stopsGroup = svg.split('class="mark-symbol role-mark stops_marks"')[1]?.split("</g>")[0] ?? "";
  assert.equal((stopsGroup.match(/<path/g) ?? []).length, 16);
  const vl = out.data["application/vnd.vegalite.v5+json"];
  assert.equal(vl.data.values.length, expectedPoints(TRIALS, EPOCHS));
  assert.match([].concat(out.data["text/plain"]).join(""), /finished/);
  const view = out.data["application/vnd.jupyter.widget-view+json"];
  assert.equal(widgetState()[view.model_id].model_name, "VBoxModel");
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, "widgets-saved-notebook.ipynb"), JSON.stringify(nb));
  fs.writeFileSync(path.join(ARTIFACTS, "widgets-final-fallback.svg"), svg);
});

test("headless Chromium renders the saved notebook from widget state with html-manager + anywidget (offline)", async () => {
  const outdir = fs.mkdtempSync(path.join(sandbox.dir, "page-"));
  const page = await bundlePage(path.join(__dirname, "browser", "static-page.ts"), outdir);
  const views = nb.cells.flatMap((c: any) => c.outputs.filter((o: any) => o.data?.["application/vnd.jupyter.widget-view+json"]).map((o: any) => o.data["application/vnd.jupyter.widget-view+json"].model_id));
  const server = await serve({
    "/": { body: pageHtml("saved notebook", page.css !== null), type: "text/html" },
    "/page.js": { file: page.js, type: "text/javascript" },
    ...(page.css ? { "/page.css": { file: page.css, type: "text/css" } } : {}),
    "/anywidget.js": { file: path.join(ROOT, "node_modules/anywidget/dist/index.js"), type: "text/javascript" },
    "/state.json": { body: JSON.stringify({ state: nb.metadata.widgets["application/vnd.jupyter.widget-state+json"], views }), type: "application/json" },
  });
  const chrome = await launchChromium();
  try {
    const tab = await chrome.browser.newPage();
    await tab.setViewport({ width: 1000, height: 1400 });
    const blocked = await offline(tab, server.url);
    await tab.goto(server.url + "/", { waitUntil: "load" });
    await tab.waitForFunction("window.__rendered === true", { timeout: 60_000 });
    await tab.waitForSelector(".tunelab-liveplot svg .role-mark", { timeout: 30_000 });
    const errors = await tab.evaluate("window.__errors");
    assert.deepEqual(errors, []);
    const counts = await tab.evaluate(`(() => {
      const svg = document.querySelector(".tunelab-liveplot svg");
      return {
        lines: svg.querySelectorAll('path[aria-roledescription="line mark"]').length,
        stops: svg.querySelectorAll('.stops_marks path').length,
        points: Number(document.querySelector(".tunelab-liveplot").dataset.points),
        bars: document.querySelectorAll(".widget-hprogress .progress-bar").length,
        rows: document.querySelectorAll(".tunelab-trial").length,
        stoppedRows: document.querySelectorAll('.tunelab-trial[data-state="stopped"]').length,
      };
    })()`);
    assert.deepEqual(counts, { lines: TRIALS + 1, stops: 16, points: expectedPoints(TRIALS, EPOCHS), bars: TRIALS, rows: TRIALS, stoppedRows: 16 });
    assert.deepEqual(blocked, [], "no request left loopback");
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await screenshot(tab, path.join(ARTIFACTS, "widgets-saved-notebook.png"), { fullPage: true });
  } finally {
    await chrome.close();
    await server.close();
  }
});
