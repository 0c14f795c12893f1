/**
 * Drives tunelab's JupyterLab 4 notebook page (kernel-setup/lab/) in headless
 * Chromium the way a student does: open the URL `npm run workshop` printed,
 * pick a notebook from the list, press ▶▶ Run All, wait until every cell ran
 * and the kernel is idle, then read what each cell shows — outputs as data
 * (from the notebook model) and which widget views got rendered (from the
 * DOM). Waits are bounded by generous timeouts; nothing asserts timing.
 *
 *   const chrome = await launchChromium();
 *   const nb = await LabNotebook.open(chrome.browser, printedUrl, "02-asha.ipynb");
 *   const cells = await nb.runAll();
 *   await nb.click('.tunelab-quiz input[type="radio"]', { cell: 3 });
 *   await nb.screenshot("lab-asha");   // test-artifacts/lab-asha.png
 *   await nb.close({ shutdownKernel: true });
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ARTIFACTS, launchChromium, offline, screenshot } from "../widgets/browser/harness";

export { launchChromium };

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * Builds the page when a source is newer than its bundle (the bootstrap
 * does the same); fails with what to run when its packages are missing.
 */
export function ensureLabPageBuilt(): void {
  const r = spawnSync(process.execPath, [path.join(ROOT, "kernel-setup", "lab", "build.js"), "--if-stale"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`the notebook page could not be built (node kernel-setup/bootstrap.js installs its packages): ${r.stderr.trim()}`);
}

/** One output of a cell, as the notebook model holds it. */
export interface CellOutput {
  output_type: string;
  /** stream text, or text/plain of a display/result */
  text?: string;
  name?: string;
  ename?: string;
  evalue?: string;
  /** MIME types of a display_data / execute_result bundle */
  mimeTypes?: string[];
}

/** What one rendered cell shows. */
export interface CellResult {
  index: number;
  cellType: "code" | "markdown" | "raw";
  /** first line of the source (for messages) */
  head: string;
  executionCount: number | null;
  outputs: CellOutput[];
  /** widget views (root outputs) jupyterlab-manager rendered in this cell */
  widgetViews: number;
  /** outputs whose bundle carries a widget view (what should render) */
  widgetOutputs: number;
  /** every element with class jupyter-widgets (nested ones too) */
  widgetElements: number;
  /** LivePlot views drawn by anywidget (its ES module's root, .tunelab-liveplot, inside a widget view) */
  anywidgetViews: number;
  /** tunelab-* class name → element count (tunelab-liveplot, tunelab-trial, tunelab-quiz, ...) */
  tunelabClasses: Record<string, number>;
  /** text of widget error views (version mismatch, missing module) */
  widgetErrors: string[];
}

export interface OpenOptions {
  /** extra query parameters for the page (e.g. { anywidget: "0.9" }) */
  query?: Record<string, string>;
  viewport?: { width: number; height: number };
  /** ms to wait for the page and the kernel (default 120 s) */
  timeoutMs?: number;
  /** print page errors and failed requests to stderr (default true) */
  logErrors?: boolean;
}

export interface RunOptions {
  /** ms to wait for every cell (default 15 min: notebooks train models) */
  timeoutMs?: number;
  /** ms to wait afterwards for each widget output to show a view (default 60 s; not an error if it does not) */
  renderTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads every cell of the open notebook in the page (runs inside Chromium). */
const READ_CELLS = `(() => {
  const VIEW = "application/vnd.jupyter.widget-view+json";
  const panel = window.tunelabLab.panel;
  const text = (v) => Array.isArray(v) ? v.join("") : (v ?? undefined);
  return panel.content.widgets.map((cell, index) => {
    const m = cell.model;
    const outputs = m.type === "code" ? m.outputs.toJSON().map((o) => {
      const out = { output_type: o.output_type };
      if (o.output_type === "stream") { out.name = o.name; out.text = text(o.text); }
      else if (o.output_type === "error") { out.ename = o.ename; out.evalue = o.evalue; }
      else if (o.data) { out.mimeTypes = Object.keys(o.data); if (o.data["text/plain"] !== undefined) out.text = text(o.data["text/plain"]); }
      return out;
    }) : [];
    const node = cell.node;
    const classes = {};
    for (const el of node.querySelectorAll('.jp-OutputArea [class*="tunelab-"]')) {
      for (const c of el.classList) if (c.startsWith("tunelab-")) classes[c] = (classes[c] ?? 0) + 1;
    }
    // output i of the model is the i-th child of the cell's output area
    const children = [...node.querySelectorAll(".jp-OutputArea-child")];
    const widgetNodes = outputs.map((o, i) => ((o.mimeTypes ?? []).includes(VIEW) ? children[i]?.querySelector(".jp-OutputArea-output") : null)).filter(Boolean);
    const isError = (n) => /^Error displaying widget/.test(n.textContent.trim()) || n.querySelector(".jupyter-widgets-error-widget");
    const widgetErrors = widgetNodes.filter(isError).map((n) => n.textContent.trim().slice(0, 500));
    return {
      index,
      cellType: m.type,
      head: m.sharedModel.getSource().split("\\n")[0].slice(0, 80),
      executionCount: m.type === "code" ? (m.executionCount ?? null) : null,
      outputs,
      widgetOutputs: outputs.filter((o) => (o.mimeTypes ?? []).includes(VIEW)).length,
      widgetViews: widgetNodes.filter((n) => n.querySelector(".jupyter-widgets") && !isError(n)).length,
      widgetElements: node.querySelectorAll(".jp-OutputArea .jupyter-widgets").length,
      anywidgetViews: node.querySelectorAll(".jp-OutputArea .jupyter-widgets .tunelab-liveplot").length,
      tunelabClasses: classes,
      widgetErrors,
    };
  });
})()`;

export class LabNotebook {
  private constructor(
    readonly tab: any,
    readonly path: string,
    readonly blocked: string[],
    readonly pageErrors: string[],
  ) {}

  /**
   * Opens `workshopUrl` (the URL `npm run workshop` printed: it redirects to
   * the page's notebook list), clicks `notebookPath` there (or, for a
   * notebook in a sub-folder, opens the page with ?path=), and waits until the
   * notebook is shown and its kernel is idle. Requests off the server's
   * origin are blocked (the page must need nothing from the network).
   */
  static async open(browser: any, workshopUrl: string, notebookPath: string, o: OpenOptions = {}): Promise<LabNotebook> {
    const timeout = o.timeoutMs ?? 120_000;
    const origin = new URL(workshopUrl).origin;
    const tab = await browser.newPage();
    await tab.setViewport(o.viewport ?? { width: 1200, height: 1400 });
    const blocked = await offline(tab, origin);
    const pageErrors: string[] = [];
    tab.on("pageerror", (e: any) => pageErrors.push(String(e).slice(0, 500)));
    if (o.logErrors ?? true) {
      tab.on("pageerror", (e: any) => console.error("[lab page]", String(e).slice(0, 300)));
      tab.on("requestfailed", (r: any) => {
        // Notebook 6 lacks newer servers' /api/me and /api/events: expected 404s are not failures
        if (!/\/api\/(me|events)/.test(r.url())) console.error("[lab page request failed]", r.url().slice(0, 200), r.failure()?.errorText);
      });
    }
    await tab.goto(workshopUrl, { waitUntil: "load" });
    if (!/\/static\/tunelab\//.test(tab.url())) {
      throw new Error(`lab-page: ${workshopUrl.replace(/token=\w+/, "token=...")} did not lead to tunelab's notebook page (landed on ${tab.url().replace(/token=\w+/, "token=...")}); LabNotebook drives only that page`);
    }
    const nb = new LabNotebook(tab, notebookPath, blocked, pageErrors);
    await nb.waitState(timeout);
    const extra = new URLSearchParams(o.query ?? {});
    const link = await tab.$(`.tunelab-launcher a[data-path="${notebookPath.replace(/"/g, '\\"')}"]`);
    if (link && !o.query) {
      await Promise.all([tab.waitForNavigation({ waitUntil: "load", timeout }), link.click()]);
    } else {
      const u = new URL(tab.url());
      u.searchParams.delete("dir");
      u.searchParams.set("path", notebookPath);
      for (const [k, v] of extra) u.searchParams.set(k, v);
      await tab.goto(u.toString(), { waitUntil: "load" });
    }
    await nb.waitState(timeout);
    await nb.waitKernelIdle(timeout);
    return nb;
  }

  private async waitState(timeout: number): Promise<void> {
    await this.tab.waitForFunction(`window.tunelabLab && (window.tunelabLab.state === "ready" || window.tunelabLab.state === "failed")`, { timeout, polling: 200 });
    const state = await this.tab.evaluate(`window.tunelabLab.state`);
    if (state !== "ready") throw new Error(`lab-page: the page failed to start: ${JSON.stringify(await this.errors())}`);
  }

  /** Waits until the kernel reports idle (it may restart or reconnect meanwhile). */
  async waitKernelIdle(timeoutMs = 120_000): Promise<void> {
    await this.tab.waitForFunction(`window.tunelabLab.kernelStatus() === "idle"`, { timeout: timeoutMs, polling: 200 }).catch(async () => {
      throw new Error(`lab-page: the kernel of ${this.path} is "${await this.tab.evaluate("window.tunelabLab.kernelStatus()")}" after ${timeoutMs} ms`);
    });
  }

  /** Errors the page caught (window errors, unhandled rejections) and page errors seen by puppeteer. */
  async errors(): Promise<string[]> {
    const inPage: string[] = await this.tab.evaluate(`window.tunelabLab ? window.tunelabLab.errors : []`);
    return [...inPage, ...this.pageErrors.filter((e) => !inPage.some((i) => i.includes(e.slice(0, 60))))];
  }

  /**
   * Presses the toolbar's ▶▶ Run All (JupyterLab's NotebookActions.runAll, as
   * its "Run All Cells" command does) and waits until runAll's promise has
   * settled — every cell ran; after an error the kernel skips the rest — and
   * the kernel is idle; then gives widget outputs time to render and returns
   * every cell.
   */
  async runAll(o: RunOptions = {}): Promise<CellResult[]> {
    return (await this.startRunAll()).done(o);
  }

  /**
   * Presses ▶▶ Run All and returns at once (to watch a run while it goes);
   * `done()` then waits as runAll() does.
   */
  async startRunAll(): Promise<{ done(o?: RunOptions): Promise<CellResult[]> }> {
    const before: { runAllStarted: number } = await this.tab.evaluate(`({...window.tunelabLab.stats})`);
    const button = await this.tab.waitForSelector('.jp-Toolbar-item[data-jp-item-name="run-all"] button, .jp-Toolbar-item[data-jp-item-name="run-all"] jp-button', { timeout: 30_000 });
    await button.click();
    return {
      done: async (o: RunOptions = {}) => {
        await this.waitRun(before, o);
        return this.cells();
      },
    };
  }

  /**
   * Runs `code` on the notebook's kernel outside any cell (what a test wants
   * to know from the kernel); returns the reply status, text/plain results
   * and streams, and "ename: evalue" of an error.
   */
  async execute(code: string): Promise<{ status: string; text: string[] }> {
    return this.tab.evaluate(async (c: string) => {
      const kernel = (window as any).tunelabLab.panel.sessionContext.session.kernel;
      const text: string[] = [];
      const future = kernel.requestExecute({ code: c, silent: false, store_history: false });
      future.onIOPub = (msg: any) => {
        const t = msg.header.msg_type;
        if (t === "execute_result" || t === "display_data") text.push(String(msg.content.data["text/plain"] ?? ""));
        else if (t === "stream") text.push(String(msg.content.text));
        else if (t === "error") text.push(`${msg.content.ename}: ${msg.content.evalue}`);
      };
      const reply = await future.done;
      return { status: reply.content.status, text };
    }, code);
  }

  /** Like runAll, through the command (keyboard users, menus): `notebook:run-all-cells`. */
  async runAllCommand(o: RunOptions = {}): Promise<CellResult[]> {
    const before = await this.tab.evaluate(`({...window.tunelabLab.stats})`);
    await this.tab.evaluate(`void window.tunelabLab.commands.execute(window.tunelabLab.runAllCommand)`);
    await this.waitRun(before, o);
    return this.cells();
  }

  private async waitRun(before: { runAllStarted: number }, o: RunOptions): Promise<void> {
    const timeout = o.timeoutMs ?? 15 * 60_000;
    const deadline = Date.now() + timeout;
    // the page counts Run All commands whose promise settled (every cell ran, or was skipped after an error)
    const done = `(() => { const s = window.tunelabLab.stats; return s.runAllStarted > ${before.runAllStarted} && s.runAllFinished >= s.runAllStarted && window.tunelabLab.kernelStatus() === "idle"; })()`;
    // polled from here: one long waitForFunction would outlive Chromium's protocol timeout
    for (;;) {
      if (await this.tab.evaluate(done)) break;
      if (Date.now() > deadline) {
        const s = await this.tab.evaluate(`JSON.stringify({stats: window.tunelabLab.stats, kernel: window.tunelabLab.kernelStatus()})`);
        throw new Error(`lab-page: Run All of ${this.path} not finished after ${timeout} ms: ${s}`);
      }
      await sleep(500);
    }
    await this.waitWidgetsRendered(o.renderTimeoutMs ?? 60_000);
  }

  /** Waits (bounded, without failing) until every widget output shows a view or an error. */
  async waitWidgetsRendered(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const cells = await this.cells();
      if (cells.every((c) => c.widgetViews + c.widgetErrors.length >= c.widgetOutputs)) return;
      await sleep(250);
    }
  }

  /** Every cell as the page shows it now. */
  async cells(): Promise<CellResult[]> {
    return this.tab.evaluate(READ_CELLS);
  }

  /** Code cells with an error output, as "cell N (first line): Ename: evalue". */
  static failures(cells: CellResult[]): string[] {
    return cells.flatMap((c) => c.outputs.filter((o) => o.output_type === "error").map((o) => `cell ${c.index} (${c.head}): ${o.ename}: ${o.evalue}`));
  }

  /**
   * Clicks the first element matching `selector` (inside code cell `cell`'s
   * outputs when given), with the mouse, as a student would; waits for it to
   * appear first. `nth` picks another match.
   */
  async click(selector: string, o: { cell?: number; nth?: number; timeoutMs?: number } = {}): Promise<void> {
    const scope = o.cell === undefined ? "document" : `window.tunelabLab.panel.content.widgets[${o.cell}].node`;
    // a view may be re-rendered between finding and clicking (state updates): find it again then
    for (let attempt = 1; ; attempt++) {
      const handle = await this.tab.waitForFunction(
        (s: string, sc: string, n: number) => {
          const root = sc === "document" ? document : (0, eval)(sc);
          return root?.querySelectorAll(s)[n] ?? null;
        },
        { timeout: o.timeoutMs ?? 30_000, polling: 200 },
        selector,
        scope,
        o.nth ?? 0,
      ).catch(() => {
        throw new Error(`lab-page: nothing matches ${selector}${o.cell === undefined ? "" : ` in cell ${o.cell}`} (#${o.nth ?? 0})`);
      });
      try {
        const el = handle.asElement();
        await el.scrollIntoView();
        await el.click();
        return;
      } catch (e) {
        if (attempt >= 5 || !/detached|not clickable|no longer attached/i.test(String(e))) throw e;
        await sleep(200);
      }
    }
  }

  /** Waits until `selector` matches (in the whole page), bounded. */
  async waitFor(selector: string, timeoutMs = 60_000): Promise<void> {
    await this.tab.waitForSelector(selector, { timeout: timeoutMs, polling: 200 });
  }

  /** Evaluates `expression` in the page (a string of JavaScript). */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    return this.tab.evaluate(expression);
  }

  /** test-artifacts/<name>.png (or an absolute .png path): the path written. */
  static screenshotPath(name: string): string {
    if (path.isAbsolute(name)) return name;
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    return path.join(ARTIFACTS, name.endsWith(".png") ? name : `${name}.png`);
  }

  /**
   * Screenshot of the page (or of code cell `cell` and, with `toCell`, the
   * cells down to it; `outputsOnly`: their outputs without the code). Returns
   * the file written.
   */
  async screenshot(name: string, o: { fullPage?: boolean; cell?: number; toCell?: number; outputsOnly?: boolean } = {}): Promise<string> {
    const file = LabNotebook.screenshotPath(name);
    if (o.cell === undefined) {
      await screenshot(this.tab, file, { fullPage: o.fullPage ?? false });
      return file;
    }
    const box = await this.tab.evaluate(`(() => {
      const cells = window.tunelabLab.panel.content.widgets;
      const pick = (c) => (${o.outputsOnly ? "true" : "false"} && c.node.querySelector(".jp-Cell-outputWrapper")) || c.node;
      const a = pick(cells[${o.cell}]), b = pick(cells[${o.toCell ?? o.cell}]);
      a.scrollIntoView();
      const ra = a.getBoundingClientRect(), rb = b.getBoundingClientRect();
      return { x: Math.max(0, ra.left), y: ra.top + window.scrollY, width: Math.max(ra.right, rb.right) - Math.max(0, ra.left), bottom: rb.bottom + window.scrollY };
    })()`);
    // the notebook scrolls inside its panel: make the viewport tall enough to hold the range, then clip
    const vp = this.tab.viewport();
    const need = Math.ceil(box.bottom - box.y) + 40;
    if (need > vp.height) await this.tab.setViewport({ ...vp, height: Math.min(need + 200, 8000) });
    const rect = await this.tab.evaluate(`(() => {
      const cells = window.tunelabLab.panel.content.widgets;
      const pick = (c) => (${o.outputsOnly ? "true" : "false"} && c.node.querySelector(".jp-Cell-outputWrapper")) || c.node;
      const a = pick(cells[${o.cell}]), b = pick(cells[${o.toCell ?? o.cell}]);
      a.scrollIntoView();
      const ra = a.getBoundingClientRect(), rb = b.getBoundingClientRect();
      return { x: Math.max(0, ra.left - 8), y: Math.max(0, ra.top - 8), width: Math.max(ra.right, rb.right) - Math.max(0, ra.left - 8) + 8, height: rb.bottom - ra.top + 16 };
    })()`);
    await this.tab.bringToFront();
    await this.tab.screenshot({ path: file, clip: rect });
    if (need > vp.height) await this.tab.setViewport(vp);
    return file;
  }

  /** Saves the notebook through the page (the server writes it, outputs and widget state as the page holds them). */
  async save(): Promise<void> {
    await this.tab.evaluate(`window.tunelabLab.panel.context.save()`);
  }

  /** Reloads the page (same notebook, same kernel: widgets come back from the kernel) and waits until it is ready. */
  async reload(timeoutMs = 120_000): Promise<void> {
    await this.tab.reload({ waitUntil: "load" });
    await this.waitState(timeoutMs);
    await this.waitKernelIdle(timeoutMs);
  }

  /** Closes the tab; with `shutdownKernel` the notebook's kernel is shut down first. */
  async close(o: { shutdownKernel?: boolean } = {}): Promise<void> {
    if (o.shutdownKernel) {
      await this.tab.evaluate(`window.tunelabLab.panel?.sessionContext.shutdown()`).catch(() => undefined);
    }
    await this.tab.close();
  }
}
