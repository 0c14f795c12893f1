/**
 * Widget benchmarks: kernel CPU time and bytes per update for 64 trials ×
 * 100 epochs (incremental appends vs re-sending the full state each time),
 * and server-side SVG render time for 2k and 20k points. Uses an in-process
 * recording bridge (no Jupyter), so the figures are the widget runtime's own
 * cost; message framing by the kernel comes on top.
 */
import { KERNEL_BRIDGE_SYMBOL, type Buffers, type Comm, type CommManager, type KernelBridge } from "../widgets/kernel-bridge";
import { LivePlot } from "../widgets/live-plot";
import { learningCurves, type CurvePoint } from "../src/plots/learning-curves";
import { renderSvg } from "../src/plots/render";

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

function curves(trials: number, epochs: number): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (let t = 1; t <= epochs; t++) for (let i = 0; i < trials; i++) out.push({ trialId: `trial_${i}`, t, value: 2 + (i % 7) * 0.1 + 3 / (t + 1) });
  return out;
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
          for (let i = 0; i < TRIALS; i++) plot.add(`trial_${i}`, t, 2 + (i % 7) * 0.1 + 3 / (t + 1));
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
  lines.push(
    "",
    "Browser time per update: measured by the live browser test (test/widgets/live-browser.int.test.ts) as `window.__tunelabLivePlot.applyMs / updates` (vega changeset insert + runAsync in headless Chromium); not run here to keep the bench under a minute.",
  );
  return lines.join("\n");
}

if (require.main === module) run().then((s) => console.log(s));
