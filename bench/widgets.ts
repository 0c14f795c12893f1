/**
 * Widget benchmarks: kernel CPU time and bytes per update for 64 trials ×
 * 100 epochs (incremental appends vs re-sending the full state each time),
 * and server-side SVG render time for 2k and 20k points. Uses an in-process
 * recording bridge (no Jupyter), so the figures are the widget runtime's own
 * cost; message framing by the kernel comes on top. Then the browser side:
 * the real front-end module in headless Chromium applying the same appends.
 */
import { KERNEL_BRIDGE_SYMBOL, type Buffers, type Comm, type CommManager, type KernelBridge } from "../widgets/kernel-bridge";
import { LivePlot } from "../widgets/live-plot";
import { learningCurves, type CurvePoint } from "../src/plots/learning-curves";
import { renderSvg } from "../src/plots/render";
import { launchChromium, serve } from "../test/widgets/browser/harness";

function byteSize(data: unknown, buffers?: Buffers): number {
  return Buffer.byteLength(JSON.stringify(data)) + (buffers ?? []).reduce((s, b) => s + b.byteLength, 0);
}

class CountingBridge implements KernelBridge {
  bytes = 0;
  messages = 0;
  info = { implementation: "bench", version: "0" };
  private n = 0;
  comms: CommManager = {
    open: (targetName, data, _m, buffers) => {
      this.bytes += byteSize(data, buffers);
      const comm: Comm = {
        commId: `bench-${++this.n}`,
        targetName,
        closed: false,
        send: (d, _md, b) => {
          this.bytes += byteSize(d, b);
          this.messages += 1;
        },
        close: () => undefined,
        onMsg: () => undefined,
        onClose: () => undefined,
      };
      return comm;
    },
    registerTarget: () => undefined,
    unregisterTarget: () => undefined,
    get: () => undefined,
  };
  display(): void {}
  onShutdown(): void {}
}

function cpuMs(fn: () => void): number {
  const a = process.cpuUsage();
  fn();
  const d = process.cpuUsage(a);
  return (d.user + d.system) / 1000;
}

/** The synthetic learning curve every widget bench uses: trial i at epoch t. */
function curveValue(i: number, t: number): number {
  return 2 + (i % 7) * 0.1 + 3 / (t + 1);
}

function curves(trials: number, epochs: number): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (let t = 1; t <= epochs; t++) for (let i = 0; i < trials; i++) out.push({ trialId: `trial_${i}`, t, value: curveValue(i, t) });
  return out;
}

const TRIALS_BROWSER = 64;
const EPOCHS_BROWSER = 100;

/** Runs in the page: render the module on a stand-in model, feed the appends one by one, time each apply. */
const PAGE_BENCH = `async (src, state, appends) => {
  const mod = (await import(src)).default;
  const handlers = {};
  const model = { get: (k) => state[k], on: (ev, cb) => (handlers[ev] = handlers[ev] || []).push(cb), send: () => undefined };
  const el = document.getElementById("el");
  const t0 = performance.now();
  if (mod.initialize) mod.initialize({ model });
  await mod.render({ model, el });
  const embedMs = performance.now() - t0;
  const stats = globalThis.__tunelabLivePlot;
  const per = [];
  const dec = (b64) => new DataView(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer);
  for (const a of appends) {
    const before = stats.applyMs;
    const want = stats.updates + 1;
    for (const cb of handlers["msg:custom"] || []) cb(a.content, a.buffers.map(dec));
    while (stats.updates < want) await new Promise((res) => setTimeout(res, 5));
    per.push(stats.applyMs - before);
  }
  const host = el.querySelector(".tunelab-liveplot");
  return { embedMs, per, points: Number(host.dataset.points), lines: el.querySelectorAll('path[aria-roledescription="line mark"]').length };
}`;

/** Records what a LivePlot sends: the comm_open state, then each custom message with its buffers. */
class RecordingBridge extends CountingBridge {
  opened: any = null;
  sent: Array<{ data: any; buffers: Uint8Array[] }> = [];
  constructor() {
    super();
    const open = this.comms.open;
    this.comms = {
      ...this.comms,
      open: (targetName, data, m, buffers) => {
        const comm = open(targetName, data, m, buffers);
        if (!this.opened && (data as any)?.state?._anywidget_id === "tunelab.LivePlot") {
          this.opened = data;
          const send = comm.send;
          comm.send = (d, md, b) => {
            this.sent.push({ data: d, buffers: (b ?? []).map((x: any) => new Uint8Array(x.buffer ?? x, x.byteOffset ?? 0, x.byteLength)) });
            send(d, md, b);
          };
        }
        return comm;
      },
    };
  }
}

/**
 * Browser time per LivePlot update: the real front-end module
 * (widgets/frontend/dist/liveplot.esm.js) in headless Chromium, on a stand-in
 * anywidget model fed the exact append messages the kernel-side LivePlot sent
 * for `trials` × `epochs` (one per epoch), each applied before the next.
 */
async function browserApply(trials: number, epochs: number): Promise<string[]> {
  const fs = await import("node:fs");
  const path = await import("node:path");
  const root = path.resolve(__dirname, "..");
  const esm = path.join(root, "widgets/frontend/dist/liveplot.esm.js");
  const head = `Browser time per update (LivePlot front-end in headless Chromium, ${trials} trials × ${epochs} epochs, one append per epoch, vega changeset + runAsync):`;
  if (!fs.existsSync("/usr/bin/chromium")) return [head, "", "skipped: /usr/bin/chromium is not installed (the bootstrap installs it)."];
  if (!fs.existsSync(esm)) return [head, "", "skipped: widgets not built (node widgets/build.js)."];

  const g = globalThis as any;
  const prev = g[KERNEL_BRIDGE_SYMBOL];
  const bridge = new RecordingBridge();
  g[KERNEL_BRIDGE_SYMBOL] = bridge;
  try {
    const plot = new LivePlot({ throttleMs: 1e9, svgEveryMs: 0 });
    for (let t = 1; t <= epochs; t++) {
      for (let i = 0; i < trials; i++) plot.add(`trial_${i}`, t, curveValue(i, t));
      plot.flush();
    }
    plot.close();
  } finally {
    if (prev === undefined) delete g[KERNEL_BRIDGE_SYMBOL];
    else g[KERNEL_BRIDGE_SYMBOL] = prev;
  }
  const state = { ...bridge.opened.state };
  for (const k of ["t", "value", "trial"]) state[k] = [];
  const appends = bridge.sent
    .filter((m) => m.data?.method === "custom" && m.data.content?.kind === "append")
    .map((m) => ({ content: m.data.content, buffers: m.buffers.map((b) => Buffer.from(b).toString("base64")) }));

  // the browser tests' loopback server and Chromium launcher
  const server = await serve({
    "/": { body: "<!doctype html><html><body><div id=el></div></body></html>", type: "text/html" },
    "/liveplot.esm.js": { file: esm, type: "text/javascript" },
  });
  const url = server.url;
  const chrome = await launchChromium();
  try {
    const page = await chrome.browser.newPage();
    await page.goto(url, { waitUntil: "load" });
    // a string, not a function: tsx's keepNames helpers do not exist in the page
    const r = await page.evaluate(`(${PAGE_BENCH})(${JSON.stringify(`${url}/liveplot.esm.js`)}, ${JSON.stringify(state)}, ${JSON.stringify(appends)})`);
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const n = r.per.length;
    const total = r.per.reduce((a: number, b: number) => a + b, 0);
    return [
      head,
      "",
      "| updates | points at end | lines drawn | first embed ms | ms / update: median of first 10 | median of last 10 | mean | total ms |",
      "|---|---|---|---|---|---|---|---|",
      `| ${n} | ${r.points} | ${r.lines} | ${r.embedMs.toFixed(0)} | ${med(r.per.slice(0, 10)).toFixed(1)} | ${med(r.per.slice(-10)).toFixed(1)} | ${(total / n).toFixed(1)} | ${total.toFixed(0)} |`,
      "",
      `The cost grows with the points already drawn (SVG renderer). At the kernel's at most 4 updates per second, the last updates take ${((med(r.per.slice(-10)) / 250) * 100).toFixed(0)}% of the page's main thread.`,
    ];
  } finally {
    await chrome.close();
    await server.close();
  }
}

export async function run(): Promise<string> {
  const TRIALS = 64;
  const EPOCHS = 100;
  const g = globalThis as any;
  const prev = g[KERNEL_BRIDGE_SYMBOL];
  const lines: string[] = ["## Widgets", ""];
  try {
    // one update per epoch (64 new points each), as a 4/s throttle would batch them
    const modes: Array<[string, boolean]> = [["incremental (custom append, new slice only)", false], ["full re-send (update with all buffers)", true]];
    lines.push(`LivePlot, ${TRIALS} trials × ${EPOCHS} epochs, one update per epoch (${EPOCHS} updates), in-process recording bridge:`, "");
    lines.push("| mode | kernel CPU ms total | CPU ms / update | bytes total | bytes / update (mean) | bytes of last update |", "|---|---|---|---|---|---|");
    for (const [name, full] of modes) {
      const bridge = new CountingBridge();
      g[KERNEL_BRIDGE_SYMBOL] = bridge;
      const plot = new LivePlot({ throttleMs: 1e9, svgEveryMs: 0 });
      const startBytes = bridge.bytes;
      let lastBytes = 0;
      const ms = cpuMs(() => {
        for (let t = 1; t <= EPOCHS; t++) {
          for (let i = 0; i < TRIALS; i++) plot.add(`trial_${i}`, t, curveValue(i, t));
          const before = bridge.bytes;
          if (full) plot.sync();
          else plot.flush();
          lastBytes = bridge.bytes - before;
        }
      });
      const total = bridge.bytes - startBytes;
      lines.push(`| ${name} | ${ms.toFixed(1)} | ${(ms / EPOCHS).toFixed(3)} | ${total} | ${Math.round(total / EPOCHS)} | ${lastBytes} |`);
      plot.close();
    }
  } finally {
    if (prev === undefined) delete g[KERNEL_BRIDGE_SYMBOL];
    else g[KERNEL_BRIDGE_SYMBOL] = prev;
  }

  lines.push("", "Server-side SVG rendering (vega in Node, learning-curves spec, warm = after one render):", "");
  lines.push("| points | trials × epochs | cold ms (incl. import) | warm ms (median of 3) | SVG bytes |", "|---|---|---|---|---|");
  let first = true;
  for (const [trials, epochs] of [[20, 100], [200, 100]] as const) {
    const spec = learningCurves(curves(trials, epochs), { metric: "eval_loss", rungs: [1, 4, 16, 64], stopped: ["trial_3"], best: "trial_0" });
    const t0 = performance.now();
    const svg = await renderSvg(spec);
    const cold = performance.now() - t0;
    const warm: number[] = [];
    for (let k = 0; k < 3; k++) {
      const a = performance.now();
      await renderSvg(spec);
      warm.push(performance.now() - a);
    }
    warm.sort((a, b) => a - b);
    lines.push(`| ${trials * epochs} | ${trials} × ${epochs} | ${first ? cold.toFixed(0) : "–"} | ${warm[1].toFixed(0)} | ${svg.length} |`);
    first = false;
  }
  lines.push("", ...(await browserApply(TRIALS_BROWSER, EPOCHS_BROWSER)));
  return lines.join("\n");
}

if (require.main === module) run().then((s) => console.log(s));
