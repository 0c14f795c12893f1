/**
 * Live widgets against real parts: Debian's notebook server (started here)
 * runs the tunelab kernel; headless Chromium loads a page bundled from
 * @jupyterlab/services + an ipywidgets 8 manager (same origin, served by the
 * notebook server's /files/), runs the streaming cells, and checks that the
 * plot keeps updating after its cell returned, that a stop click reaches the
 * kernel, that a second page (reload) rebuilds the plot from the kernel
 * (update_states) and keeps streaming; and that Debian's classic Notebook 6
 * UI shows the SVG fallback updating live.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { jupyterSandbox, type JupyterSandbox } from "../kernel-setup/helpers";
import { ensureWidgetsBuilt, expectedPoints, streamNotebook, ROOT } from "./notebook-fixture";
import { ARTIFACTS, bundlePage, launchChromium, offline, pageHtml, screenshot, serve, type Served } from "./browser/harness";
import { copyInto, startNotebookServer, type NotebookServer } from "./browser/notebook-server";

const TRIALS = 32;
const EPOCHS = 30;
let sandbox: JupyterSandbox;
let server: NotebookServer;
let chrome: Awaited<ReturnType<typeof launchChromium>>;
let pageUrl: string;

let pageServer: Served;

before(async () => {
  ensureWidgetsBuilt();
  sandbox = jupyterSandbox();
  const nbdir = path.join(sandbox.dir, "nbdir");
  fs.mkdirSync(nbdir);
  const built = await bundlePage(path.join(__dirname, "browser", "live-page.ts"), path.join(sandbox.dir, "build"));
  pageServer = await serve({
    "/": { body: pageHtml("live widgets", built.css !== null), type: "text/html" },
    "/page.js": { file: built.js, type: "text/javascript" },
    ...(built.css ? { "/page.css": { file: built.css, type: "text/css" } } : {}),
    "/anywidget.js": { file: path.join(ROOT, "node_modules/anywidget/dist/index.js"), type: "text/javascript" },
  });
  fs.writeFileSync(path.join(nbdir, "stream.ipynb"), JSON.stringify(streamNotebook({ trials: TRIALS, epochs: EPOCHS, epochMs: 600, awaitEnd: false, svgEveryMs: 1000 })));
  server = await startNotebookServer(sandbox.env, nbdir, [`--NotebookApp.allow_origin=${pageServer.url}`]);
  chrome = await launchChromium();
  pageUrl = `${pageServer.url}/?server=${encodeURIComponent(server.url)}&token=${server.token}`;
});

after(async () => {
  await chrome?.close();
  await server?.stop();
  await pageServer?.close();
  sandbox?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function points(tab: any): Promise<number> {
  return tab.evaluate(`Number(document.querySelector(".tunelab-liveplot")?.dataset.points ?? -1)`);
}

test("live page: the plot keeps updating after its cell returned; a stop click reaches the kernel; a reloaded page restores and keeps streaming", async () => {
  const tab = await chrome.browser.newPage();
  await tab.setViewport({ width: 1000, height: 1400 });
  const blocked = await offline(tab, [server.url, pageServer.url]);
  tab.on("pageerror", (e: any) => console.error("[page]", String(e).slice(0, 300)));
  tab.on("console", (m: any) => m.type() === "error" && console.error("[page console]", m.text().slice(0, 300)));
  tab.on("requestfailed", (r: any) => console.error("[page request failed]", r.url().slice(0, 200)));
  await tab.goto(pageUrl, { waitUntil: "load" });
  await tab.waitForFunction("window.__ready === true", { timeout: 30_000, polling: 250 });
  const kernelId: string = await tab.evaluate("window.tunelab.start()");
  // SVG fallbacks are not what this page shows: render them rarely (they block the kernel's event loop)
  const nb = streamNotebook({ trials: TRIALS, epochs: EPOCHS, epochMs: 600, awaitEnd: false, svgEveryMs: 5000 }) as any;
  const setup = await tab.evaluate((code: string) => (window as any).tunelab.run(code), nb.cells[0].source);
  assert.equal(setup.status, "ok", JSON.stringify(setup));
  const started = await tab.evaluate((code: string) => (window as any).tunelab.run(code), nb.cells[1].source);
  assert.equal(started.status, "ok", JSON.stringify(started));
  assert.equal(started.views.length, 1, "one widget view displayed");
  const modelId = started.views[0];

  // the cell has returned; the plot must keep growing
  await tab.waitForSelector(".tunelab-liveplot svg .role-mark", { timeout: 30_000, polling: 250 });
  // three distinct, growing counts (waits on the page, not on a fixed sampling clock)
  const samples: number[] = [await points(tab)];
  for (let i = 0; i < 2; i++) {
    await tab.waitForFunction(`Number(document.querySelector(".tunelab-liveplot")?.dataset.points ?? -1) > ${samples[samples.length - 1]}`, { timeout: 30_000, polling: 100 }).catch(async () => {
      assert.fail(`points over time: ${samples} ${JSON.stringify(await tab.evaluate("window.__tunelabLivePlot"))} ${JSON.stringify(await tab.evaluate("window.__msgs"))}`);
    });
    samples.push(await points(tab));
  }
  assert.ok(samples[2] > samples[1] && samples[1] > samples[0], `points over time: ${samples}`);
  // hold the stream (the experiment's own pause) so the stream cannot end before the second page attached
  const paused = await tab.evaluate((code: string) => (window as any).tunelab.run(code), `src.pause(); String(epoch)`);
  assert.equal(paused.status, "ok", JSON.stringify(paused));

  // stop trial_001 from its row's button
  const button = await tab.waitForFunction(
    `(() => { const row = document.querySelector('.tunelab-trial[data-trial="trial_001"]'); const box = row && row.closest(".widget-hbox"); return box && box.querySelector("button"); })()`,
    { timeout: 10_000, polling: 250 },
  );
  await button.asElement().click();
  await tab.waitForSelector('.tunelab-trial[data-trial="trial_001"][data-state="stopped"]', { timeout: 10_000, polling: 250 });
  const actions = await tab.evaluate((code: string) => (window as any).tunelab.run(code), `src.actions.join(",")`);
  assert.deepEqual(actions.text, ["'pause,stop trial_001'"], "the kernel-side source saw stopTrial");

  // a second page attaches mid-stream (what a reload does): state comes from update_states
  const tab2 = await chrome.browser.newPage();
  await tab2.setViewport({ width: 1000, height: 900 });
  await offline(tab2, [server.url, pageServer.url]);
  await tab2.goto(pageUrl, { waitUntil: "load" });
  await tab2.waitForFunction("window.__ready === true", { timeout: 30_000, polling: 250 });
  await tab2.evaluate((id: string, m: string) => (window as any).tunelab.attach(id, m), kernelId, modelId);
  await tab2.waitForSelector(".tunelab-liveplot svg .role-mark", { timeout: 30_000, polling: 250 });
  const restored = await points(tab2);
  assert.ok(restored > 0, `restored ${restored} points`);
  const resumed = await tab.evaluate((code: string) => (window as any).tunelab.run(code), `src.resume(); src.actions.join(",")`);
  assert.deepEqual(resumed.text, ["'pause,stop trial_001,resume'"], "the kernel-side source saw pause, stop, resume");

  // both pages end with every point (trial_001 cut short by the click)
  await tab.waitForFunction(`document.querySelector(".tunelab-gpu")?.textContent.includes("finished")`, { timeout: 120_000, polling: 250 }).catch(async () => {
    const k = await tab.evaluate((code: string) => (window as any).tunelab.run(code), `JSON.stringify([epoch, view.plot.pointCount, src.events.length, src.paused])`);
    const dom = await tab.evaluate(`JSON.stringify({gpu: document.querySelector(".tunelab-gpu")?.textContent, msgs: window.__msgs, errors: window.__errors})`);
    assert.fail(`experiment never shown finished: kernel ${JSON.stringify(k)} page ${dom}`);
  });
  const final = await tab.evaluate((code: string) => (window as any).tunelab.run(code), `String(view.plot.pointCount)`);
  const kernelPoints = Number(String(final.text[0]).replace(/'/g, ""));
  assert.ok(kernelPoints < expectedPoints(TRIALS, EPOCHS), "the stopped trial reported fewer epochs");
  for (const [name, t] of [["page", tab], ["reloaded page", tab2]] as const) {
    await t.waitForFunction(`Number(document.querySelector(".tunelab-liveplot").dataset.points) === ${kernelPoints}`, { timeout: 15_000, polling: 250 }).catch(async () => {
      const diag = await t.evaluate(`JSON.stringify({points: document.querySelector(".tunelab-liveplot").dataset.points, stats: window.__tunelabLivePlot, msgs: window.__msgs, errors: window.__errors})`);
      assert.fail(`${name} did not reach ${kernelPoints} points: ${diag}`);
    });
  }
  assert.ok(kernelPoints > restored, "the reloaded page kept receiving points after it attached");
  const lines = await tab.evaluate(`document.querySelectorAll('.tunelab-liveplot path[aria-roledescription="line mark"]').length`);
  assert.equal(lines, TRIALS + 1);
  const stats = await tab.evaluate("window.__tunelabLivePlot");
  assert.ok(stats.updates >= 5, `incremental updates applied: ${JSON.stringify(stats)}`);
  assert.deepEqual(await tab.evaluate("window.__errors"), []);
  assert.deepEqual(blocked, []);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  // browser time per incremental update (changeset insert + runAsync), for the bench report
  fs.writeFileSync(path.join(ARTIFACTS, "widgets-live-stats.json"), JSON.stringify({ ...stats, msPerUpdate: stats.applyMs / stats.updates, points: kernelPoints }, null, 1));
  await screenshot(tab, path.join(ARTIFACTS, "widgets-live.png"), { fullPage: true, optional: true });
  await screenshot(tab2, path.join(ARTIFACTS, "widgets-live-reloaded.png"), { optional: true });
  await tab.evaluate("window.tunelab.shutdown()");
  await tab2.close();
  await tab.close();
});

test("classic Notebook 6 UI shows the SVG fallback updating live, then the final picture", async () => {
  const tab = await chrome.browser.newPage();
  await tab.setViewport({ width: 1100, height: 1400 });
  await offline(tab, server.url);
  await tab.goto(`${server.url}/notebooks/stream.ipynb?token=${server.token}`, { waitUntil: "load" });
  await tab.waitForFunction("window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()", { timeout: 60_000, polling: 250 });
  await tab.evaluate("Jupyter.notebook.execute_all_cells()");
  const seen: number[] = [];
  // 30 epochs × 600 ms stream in ~18 s; the margin is for a loaded CI machine
  const deadline = Date.now() + 180_000;
  let state = "";
  while (Date.now() < deadline) {
    const cur = await tab.evaluate(`(() => { const e = document.querySelector(".output_area .tunelab-experiment"); return e ? [Number(e.dataset.points), e.dataset.state] : null; })()`);
    if (cur) {
      if (seen[seen.length - 1] !== cur[0]) seen.push(cur[0]);
      state = cur[1];
      if (state === "finished") break;
    }
    await sleep(300);
  }
  assert.equal(state, "finished", `fallback states seen: ${seen}`);
  const mid = seen.filter((n) => n > 0 && n < expectedPoints(TRIALS, EPOCHS));
  assert.ok(mid.length >= 2, `the SVG fallback was replaced while streaming: ${seen}`);
  assert.equal(seen[seen.length - 1], expectedPoints(TRIALS, EPOCHS));
  const lines = await tab.evaluate(`document.querySelectorAll('.output_area .tunelab-experiment svg path[aria-roledescription="line mark"]').length`);
  assert.equal(lines, TRIALS + 1);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await screenshot(tab, path.join(ARTIFACTS, "widgets-notebook6-fallback.png"), { optional: true });
  await tab.evaluate("Jupyter.notebook.kernel.kill()");
  await tab.close();
});
