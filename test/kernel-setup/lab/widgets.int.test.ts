/**
 * The workshop's JupyterLab 4 page, for real: startWorkshop() (what
 * `npm run workshop` runs) on Debian's Notebook 6 server, the URL it prints
 * opened in headless Chromium, notebooks run with the page's ▶▶ Run All.
 * Every widget is rendered by JupyterLab's NotebookPanel and
 * @jupyter-widgets/jupyterlab-manager 5 (anywidget for the LivePlot):
 * clicks reach the kernel, the live plot grows during a replay run, a
 * reloaded page restores every widget from the kernel, and anywidget's
 * 0.9 front-end renders the plot as well. Notebook 6's own UI still shows
 * the fallback pictures; widgetFrontend() tells the two apart.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startWorkshop, type Workshop } from "../../../kernel-setup/workshop";
import { jupyterSandbox, type JupyterSandbox } from "../helpers";
import { ensureWidgetsBuilt, ROOT } from "../../widgets/notebook-fixture";
import { LabNotebook, ensureLabPageBuilt, launchChromium } from "../../support/lab-page";
import { offline, screenshot } from "../../widgets/browser/harness";
import { QUIZ, detectNotebook, keysNotebook, liveNotebook, widgetsNotebook } from "./fixtures";

const TRIALS = 6;
const EPOCHS = 30;
let sandbox: JupyterSandbox;
let ws: Workshop;
let chrome: Awaited<ReturnType<typeof launchChromium>>;
let nbDir: string;
const DOCS_IMG = path.join(ROOT, "docs", "img");

before(async () => {
  ensureWidgetsBuilt();
  ensureLabPageBuilt();
  sandbox = jupyterSandbox();
  nbDir = path.join(sandbox.dir, "notebooks");
  fs.mkdirSync(nbDir);
  fs.writeFileSync(path.join(nbDir, "widgets.ipynb"), JSON.stringify(widgetsNotebook({ trials: TRIALS, epochs: EPOCHS, epochMs: 400 })));
  fs.writeFileSync(path.join(nbDir, "live.ipynb"), JSON.stringify(liveNotebook({ runDir: path.join(sandbox.dir, "runs", "lab-live"), timeScale: 0.5 })));
  fs.writeFileSync(path.join(nbDir, "detect-lab.ipynb"), JSON.stringify(detectNotebook()));
  fs.writeFileSync(path.join(nbDir, "keys.ipynb"), JSON.stringify(keysNotebook()));
  fs.writeFileSync(path.join(nbDir, "detect-classic.ipynb"), JSON.stringify(detectNotebook()));
  for (const n of ["00-setup", "01-manual", "02-asha", "03-pbt", "04-bohb", "05-comparison"]) {
    fs.copyFileSync(path.join(ROOT, "notebooks", `${n}.ipynb`), path.join(nbDir, `${n}.ipynb`));
  }
  const logs: string[] = [];
  ws = await startWorkshop({ notebookDir: nbDir, port: 19000 + (process.pid % 500), env: sandbox.env, log: (l) => logs.push(l) });
  chrome = await launchChromium();
});

after(async () => {
  await chrome?.close();
  await ws?.stop();
  sandbox?.cleanup();
});

test("the printed URL is the JupyterLab 4 page on the Notebook 6 server, listing notebooks 00-05", async () => {
  assert.equal(ws.frontend.kind, "page");
  assert.match(ws.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
  assert.match(ws.classicUrl!, /\/tree\?token=/);
  const tab = await chrome.browser.newPage();
  const blocked = await offline(tab, new URL(ws.url).origin);
  await tab.goto(ws.url, { waitUntil: "load" });
  assert.match(tab.url(), /\/static\/tunelab\/index\.html\?token=/);
  await tab.waitForFunction(`window.tunelabLab && window.tunelabLab.state === "ready"`, { timeout: 60_000 });
  const listing: string[] = await tab.evaluate("window.tunelabLab.listing");
  for (const n of ["00-setup", "01-manual", "02-asha", "03-pbt", "04-bohb", "05-comparison"]) assert.ok(listing.includes(`${n}.ipynb`), `${n} listed: ${listing}`);
  const links: string[] = await tab.evaluate(`[...document.querySelectorAll(".tunelab-launcher a")].map((a) => a.getAttribute("href"))`);
  assert.ok(links.every((l) => l.includes(`token=${ws.token}`)), "links keep the token");
  assert.deepEqual(blocked, []);
  await tab.close();
});

test("Shift-Enter in a cell runs it (the page's key bindings), once", async () => {
  const nb = await LabNotebook.open(chrome.browser, ws.url, "keys.ipynb");
  await nb.click(".jp-Cell .cm-content", { cell: 0 });
  await nb.tab.keyboard.down("Shift");
  await nb.tab.keyboard.press("Enter");
  await nb.tab.keyboard.up("Shift");
  await nb.tab.waitForFunction(`window.tunelabLab.panel.content.widgets[0].model.executionCount !== null && window.tunelabLab.kernelStatus() === "idle"`, { timeout: 60_000 });
  const [cell] = await nb.cells();
  assert.equal(cell.executionCount, 1, "run once");
  assert.deepEqual(cell.outputs, [{ output_type: "execute_result", mimeTypes: ["text/plain"], text: "42" }]);
  await nb.close({ shutdownKernel: true });
});

test("every widget class renders in JupyterLab's notebook; quiz, stop, pause and resume clicks reach the kernel; a reload restores them all", async () => {
  const nb = await LabNotebook.open(chrome.browser, ws.url, "widgets.ipynb");
  const cells = await nb.runAll({ timeoutMs: 180_000 });
  assert.deepEqual(LabNotebook.failures(cells), []);
  assert.equal(await nb.evaluate("window.tunelabLab.panel.content.widgets.length"), 5);
  // each code cell with a widget output shows a view (no fallback, no error)
  for (const i of [2, 3, 4]) {
    assert.equal(cells[i].widgetOutputs, 1, `cell ${i} displays one widget`);
    assert.equal(cells[i].widgetViews, 1, `cell ${i} rendered: ${JSON.stringify(cells[i])}`);
    assert.deepEqual(cells[i].widgetErrors, []);
  }
  assert.equal(cells[2].anywidgetViews, 1, "the LivePlot is an anywidget view");
  assert.equal(cells[2].tunelabClasses["tunelab-trial"], TRIALS, "one trial-table row per trial");
  assert.equal(cells[2].tunelabClasses["tunelab-gpu"], 1);
  await nb.waitFor(".tunelab-liveplot svg .role-mark");
  // the standard controls, as ipywidgets' own views
  const controls = await nb.evaluate<Record<string, number>>(`(() => { const n = window.tunelabLab.panel.content.widgets[4].node; return {
    dropdown: n.querySelectorAll(".widget-dropdown select").length, int: n.querySelectorAll(".widget-hslider").length,
    tab: n.querySelectorAll(".jupyter-widget-tab, .widget-tab").length }; })()`);
  assert.equal(controls.dropdown, 1);
  assert.equal(controls.int, 2, "int and float sliders");
  assert.ok(controls.tab >= 1, JSON.stringify(controls));

  // quiz: a wrong answer, then the right one (the kernel grades and answers with the feedback)
  const radios = '.widget-radio-box input[type="radio"]';
  await nb.click(radios, { cell: 3, nth: 0 });
  await nb.click("button.jupyter-button", { cell: 3 });
  await nb.tab.waitForFunction(`window.tunelabLab.panel.content.widgets[3].node.textContent.includes("Not quite")`, { timeout: 30_000 });
  await nb.click(radios, { cell: 3, nth: QUIZ.answer });
  await nb.click("button.jupyter-button", { cell: 3 });
  await nb.tab.waitForFunction(`window.tunelabLab.panel.content.widgets[3].node.textContent.includes("Correct")`, { timeout: 30_000 });
  assert.match(await nb.evaluate<string>(`window.tunelabLab.panel.content.widgets[3].node.textContent`), new RegExp(QUIZ.explanation));
  // a long option stays on one line (ipywidgets' radio labels have a fixed height: wrapped text would overlap the next option)
  const heights = await nb.evaluate<number[]>(`[...window.tunelabLab.panel.content.widgets[3].node.querySelectorAll(".widget-radio-box label")].map((l) => Math.round(l.scrollHeight))`);
  assert.equal(new Set(heights).size, 1, `option label heights: ${heights}`);

  // pause: the source pauses and the view says so (resume enabled); stop trial_001 from its row; resume
  const button = (label: string) => `(() => [...window.tunelabLab.panel.content.widgets[2].node.querySelectorAll("button")].find((b) => b.textContent.trim() === "${label}") ?? null)()`;
  await (await nb.tab.waitForFunction(button("pause"), { timeout: 30_000 })).asElement().click();
  await nb.tab.waitForFunction(`(${button("resume")})?.disabled === false`, { timeout: 30_000 });
  const stop = await nb.tab.waitForFunction(
    `(() => { const row = document.querySelector('.tunelab-trial[data-trial="trial_001"]'); const box = row && row.closest(".widget-hbox"); return box && box.querySelector("button"); })()`,
    { timeout: 30_000 },
  );
  await stop.asElement().click();
  await nb.waitFor('.tunelab-trial[data-trial="trial_001"][data-state="stopped"]', 30_000);
  // the clicked button said "stopping"; once the trial has stopped it says so
  await nb.tab.waitForFunction(`document.querySelector('.tunelab-trial[data-trial="trial_001"]').closest(".widget-hbox").querySelector("button").textContent.trim() === "stopped"`, { timeout: 30_000 });
  await (await nb.tab.waitForFunction(button("resume"), { timeout: 30_000 })).asElement().click();
  await nb.tab.waitForFunction(`(${button("pause")})?.disabled === false`, { timeout: 30_000 });
  const actions = await nb.execute(`src.actions.join(",")`);
  assert.deepEqual(actions, { status: "ok", text: ["'pause,stop trial_001,resume'"] }, "the kernel-side source saw pause, stop, resume");

  await nb.tab.waitForFunction(`document.querySelector(".tunelab-gpu")?.textContent.includes("finished")`, { timeout: 180_000, polling: 250 });
  const kernelPoints = Number((await nb.execute(`String(view.plot.pointCount)`)).text[0].replace(/'/g, ""));
  await nb.tab.waitForFunction(`Number(document.querySelector(".tunelab-liveplot")?.dataset.points) === ${kernelPoints}`, { timeout: 30_000 });
  fs.mkdirSync(DOCS_IMG, { recursive: true });
  await nb.screenshot(path.join(DOCS_IMG, "lab-experiment-view.png"), { cell: 2, outputsOnly: true });
  await nb.screenshot(path.join(DOCS_IMG, "lab-quiz.png"), { cell: 3, outputsOnly: true });

  // reload: outputs come from the saved notebook, every model's state from the kernel (request_states)
  await nb.save();
  await nb.reload();
  await nb.waitWidgetsRendered(60_000);
  // the reloaded page asked the kernel for every model on the control comm (request_states), a second time
  const connections = await nb.execute(`String(W.widgetFrontend().connections)`);
  assert.deepEqual(connections, { status: "ok", text: ["'2'"] });
  const again = await nb.cells();
  for (const i of [2, 3, 4]) assert.equal(again[i].widgetViews, 1, `cell ${i} restored: ${JSON.stringify(again[i])}`);
  await nb.tab.waitForFunction(`Number(document.querySelector(".tunelab-liveplot")?.dataset.points) === ${kernelPoints}`, { timeout: 60_000 }).catch(async () => {
    assert.fail(`restored plot: ${await nb.evaluate(`document.querySelector(".tunelab-liveplot")?.dataset.points`)} points, kernel ${kernelPoints}`);
  });
  assert.match(await nb.evaluate<string>(`window.tunelabLab.panel.content.widgets[3].node.textContent`), /Correct/, "the quiz's feedback comes back from the kernel");
  assert.equal(await nb.evaluate(`document.querySelector('.tunelab-trial[data-trial="trial_001"]').dataset.state`), "stopped");
  const errors = (await nb.errors()).filter((e) => !/api\/(me|events)/.test(e));
  assert.deepEqual(errors, []);
  assert.deepEqual(nb.blocked, []);
  await nb.close({ shutdownKernel: true });
});

test("a replay experiment's live plot grows during the run (Run All), and its summary cell runs after", async () => {
  const nb = await LabNotebook.open(chrome.browser, ws.url, "live.ipynb");
  const run = await nb.startRunAll();
  await nb.waitFor(".tunelab-liveplot svg", 120_000);
  const points = () => nb.evaluate<number>(`Number(document.querySelector(".tunelab-liveplot")?.dataset.points ?? -1)`);
  const seen: number[] = [await points()];
  // three distinct, growing counts while the run cell is still executing
  for (let i = 0; i < 3; i++) {
    await nb.tab.waitForFunction(`Number(document.querySelector(".tunelab-liveplot")?.dataset.points ?? -1) > ${seen[seen.length - 1]}`, { timeout: 120_000, polling: 100 });
    seen.push(await points());
  }
  const runningCells = await nb.evaluate<number>(`window.tunelabLab.panel.content.widgets.filter((c) => c.model.executionState === "running").length`);
  assert.ok(runningCells >= 1, `the run cell is still executing while the plot grows (points ${seen})`);
  const cells = await run.done({ timeoutMs: 600_000 });
  assert.deepEqual(LabNotebook.failures(cells), []);
  assert.equal(cells[0].anywidgetViews, 1);
  assert.deepEqual(cells[2].outputs.map((o) => o.text), ["trials in the table: 8\n"], "every sampled trial is in the table");
  const final = await points();
  assert.ok(final > seen[seen.length - 1] || final === seen[seen.length - 1], `final ${final} ≥ ${seen}`);
  assert.ok(seen[1] > seen[0] && seen[2] > seen[1] && seen[3] > seen[2], `points over time: ${seen}`);
  await nb.screenshot(path.join(DOCS_IMG, "lab-asha-live.png"), { cell: 0, outputsOnly: true });
  await nb.close({ shutdownKernel: true });
});

test("anywidget's 0.9 front-end renders the LivePlot too; a front-end outside the range shows the manager's error", async () => {
  const nb = await LabNotebook.open(chrome.browser, ws.url, "widgets.ipynb", { query: { anywidget: "0.9" } });
  assert.match(await nb.evaluate<string>("window.tunelabLab.anywidgetVersion"), /^0\.9\./);
  assert.deepEqual(LabNotebook.failures(await nb.runAll({ timeoutMs: 180_000 })), []);
  // the LivePlot is a child of the ExperimentView's box: its view renders after the box's, once 0.9's module has loaded
  await nb.waitFor(".tunelab-liveplot svg .role-mark").catch(() => undefined);
  const cells = await nb.cells();
  assert.equal(cells[2].anywidgetViews, 1, JSON.stringify(cells[2]));
  await nb.close({ shutdownKernel: true });

  const other = await LabNotebook.open(chrome.browser, ws.url, "widgets.ipynb", { query: { anywidgetAs: "0.12.0" }, logErrors: false });
  const shown = await other.runAll({ timeoutMs: 180_000 });
  assert.equal(shown[2].anywidgetViews, 0, "no plot from a front-end outside the range");
  assert.equal(shown[2].widgetErrors.length, 1, "the plot's place holds ipywidgets' error view");
  // the error view shows its message when clicked
  await other.click(".jupyter-widgets-error-widget", { cell: 2 });
  const text = await other.evaluate<string>(`window.tunelabLab.panel.content.widgets[2].node.querySelector(".jupyter-widgets-error-widget").parentElement.textContent`);
  assert.match(text, /anywidget/, "the error names the module");
  console.log(`[version mismatch] the ExperimentView cell shows: ${text.replace(/\s+/g, " ").slice(0, 300)}`);
  await other.screenshot("lab-anywidget-mismatch", { cell: 2 });
  await other.close({ shutdownKernel: true });
});

test("widgetFrontend() says yes in the JupyterLab 4 page and no in Notebook 6's own UI, which shows the fallback pictures", async () => {
  const nb = await LabNotebook.open(chrome.browser, ws.url, "detect-lab.ipynb");
  const [cell] = await nb.runAll({ timeoutMs: 120_000 });
  const lab = JSON.parse(cell.outputs.find((o) => o.output_type === "stream")!.text!);
  assert.equal(lab.connected, true, JSON.stringify(lab));
  assert.equal(lab.kernelComms, true);
  assert.equal(lab.controlVersion, "1.0.0");
  assert.match(lab.description, /^yes/);
  await nb.close({ shutdownKernel: true });

  const tab = await chrome.browser.newPage();
  await tab.setViewport({ width: 1100, height: 1200 });
  await offline(tab, new URL(ws.url).origin);
  await tab.goto(ws.classicUrl!.replace("/tree?", "/notebooks/detect-classic.ipynb?"), { waitUntil: "load" });
  await tab.waitForFunction("window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()", { timeout: 60_000, polling: 250 });
  await tab.evaluate("Jupyter.notebook.execute_all_cells()");
  await tab.waitForFunction(`Jupyter.notebook.get_cell(0).output_area.outputs.length > 0`, { timeout: 60_000, polling: 250 });
  const out = await tab.evaluate(`JSON.stringify(Jupyter.notebook.get_cell(0).output_area.outputs)`);
  const classic = JSON.parse(JSON.parse(out)[0].text);
  assert.equal(classic.connected, false, JSON.stringify(classic));
  assert.match(classic.description, /^no: .*pictures/);
  await tab.evaluate("Jupyter.notebook.kernel.kill()");
  await tab.close();

  // and the widgets notebook in Notebook 6: fallback pictures (SVG), no widget views
  const t2 = await chrome.browser.newPage();
  await t2.setViewport({ width: 1100, height: 1400 });
  await offline(t2, new URL(ws.url).origin);
  await t2.goto(ws.classicUrl!.replace("/tree?", "/notebooks/widgets.ipynb?"), { waitUntil: "load" });
  await t2.waitForFunction("window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()", { timeout: 60_000, polling: 250 });
  await t2.evaluate("Jupyter.notebook.execute_all_cells()");
  await t2.waitForFunction(`document.querySelector(".output_area .tunelab-experiment")?.dataset.state === "finished"`, { timeout: 180_000, polling: 500 });
  const svgLines = await t2.evaluate(`document.querySelectorAll('.output_area .tunelab-experiment svg path[aria-roledescription="line mark"]').length`);
  assert.ok(svgLines >= TRIALS, `the SVG fallback draws the curves (${svgLines} lines)`);
  assert.equal(await t2.evaluate(`document.querySelectorAll(".output_area .tunelab-liveplot").length`), 0, "no live widget view in Notebook 6");
  await screenshot(t2, path.join(DOCS_IMG, "notebook6-fallback.png"), { optional: true });
  await t2.evaluate("Jupyter.notebook.kernel.kill()");
  await t2.close();
});
