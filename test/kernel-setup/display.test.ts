/** widgets/display.ts: bundles and the display() helper, with and without a kernel bridge. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { display, isMimeBundle, ownDisplayId, toMimeBundle, updateDisplay } from "../../widgets/display";
import { JUPYTER_DISPLAY, KERNEL_BRIDGE_SYMBOL, KernelBridge } from "../../widgets/kernel-bridge";

class Chart {
  [JUPYTER_DISPLAY]() {
    return { "image/svg+xml": "<svg/>" };
  }
}

test("toMimeBundle uses Symbol.for('Jupyter.display') and adds a text/plain fallback", () => {
  assert.deepEqual(toMimeBundle(new Chart()), { "image/svg+xml": "<svg/>", "text/plain": "<Chart>" });
  assert.deepEqual(toMimeBundle(3), { "text/plain": "3" });
  assert.deepEqual(toMimeBundle("s"), { "text/plain": "'s'" });
  // A bundle-looking object is only taken as a bundle by display(), not as a cell's last value.
  assert.deepEqual(toMimeBundle({ "text/html": "<b/>" }, true), { "text/html": "<b/>" });
  assert.match(String(toMimeBundle({ "text/html": "<b/>" })["text/plain"]), /text\/html/);
  assert.equal(isMimeBundle({ a: 1 }), false);
});

test("display() in plain Node (no kernel bridge) prints text/plain to stdout", () => {
  const written: string[] = [];
  const orig = process.stdout.write;
  process.stdout.write = ((s: string) => (written.push(String(s)), true)) as any;
  try {
    display({ "text/plain": "hello", "text/html": "<b>hello</b>" });
  } finally {
    process.stdout.write = orig;
  }
  assert.deepEqual(written, ["hello\n"]);
});

test("display() and updateDisplay() go through the kernel bridge with one display id", () => {
  const calls: any[] = [];
  const bridge: KernelBridge = {
    comms: {} as any,
    display: (bundle, opts) => calls.push([bundle, opts]),
    onShutdown: () => undefined,
    info: { implementation: "fake bridge (test)", version: "0" },
  };
  (globalThis as any)[KERNEL_BRIDGE_SYMBOL] = bridge;
  try {
    const h = display(new Chart());
    h.update({ "text/plain": "v2" });
    updateDisplay(new Chart(), h.displayId);
  } finally {
    delete (globalThis as any)[KERNEL_BRIDGE_SYMBOL];
  }
  assert.equal(calls.length, 3);
  assert.equal(calls[0][1].update, false);
  assert.ok(calls[0][1].displayId);
  assert.deepEqual(calls.slice(1).map((c) => [c[1].displayId, c[1].update]), [
    [calls[0][1].displayId, true],
    [calls[0][1].displayId, true],
  ]);
  assert.deepEqual(calls[1][0], { "text/plain": "v2" });
});

test("an object's own display id (Symbol.for('tunelab.displayId')) is what display() uses; ownDisplayId reads it", () => {
  class SelfUpdating extends Chart {
    get [Symbol.for("tunelab.displayId")]() {
      return "own-7";
    }
  }
  assert.equal(ownDisplayId(new SelfUpdating()), "own-7");
  assert.equal(ownDisplayId(new Chart()), undefined);
  assert.equal(ownDisplayId({ [Symbol.for("tunelab.displayId")]: 3 }), undefined);
  assert.equal(ownDisplayId(null), undefined);
  const calls: any[] = [];
  (globalThis as any)[KERNEL_BRIDGE_SYMBOL] = { comms: {} as any, display: (b: any, o: any) => calls.push(o), onShutdown: () => undefined, info: { implementation: "fake bridge (test)", version: "0" } };
  try {
    display(new SelfUpdating());
    display(new SelfUpdating(), { displayId: "explicit" });
  } finally {
    delete (globalThis as any)[KERNEL_BRIDGE_SYMBOL];
  }
  assert.deepEqual(calls.map((o) => o.displayId), ["own-7", "explicit"]);
});
