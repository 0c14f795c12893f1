/**
 * widgetFrontend() (bridge double): a widget front-end counts as connected
 * once it opened the ipywidgets control comm, which ipywidgets 8 managers do
 * on connect; without one, or without comms at all, it says no in words.
 */
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { installBridgeDouble } from "./kernel-bridge-double";
import { ensureControlTarget, widgetRegistry } from "../../widgets/widget";
import { waitForWidgetFrontend, widgetFrontend } from "../../widgets/frontend-info";

let uninstall: (() => void) | null = null;
afterEach(() => {
  uninstall?.();
  uninstall = null;
  delete widgetRegistry().controlOpens;
});

test("widgetFrontend (no bridge): no comms, not connected", () => {
  const f = widgetFrontend();
  assert.deepEqual(
    { connected: f.connected, kernelComms: f.kernelComms, connections: f.connections, lastConnectedAt: f.lastConnectedAt, controlVersion: f.controlVersion },
    { connected: false, kernelComms: false, connections: 0, lastConnectedAt: null, controlVersion: null },
  );
  assert.match(f.description, /^no: this kernel has no comms/);
});

test("widgetFrontend (bridge double): not connected until a front-end opens jupyter.widget.control, then connected", () => {
  const d = installBridgeDouble();
  uninstall = d.uninstall;
  ensureControlTarget(d.bridge);
  const before = widgetFrontend();
  assert.equal(before.connected, false);
  assert.equal(before.kernelComms, true);
  assert.match(before.description, /^no: no ipywidgets 8 widget manager connected .*pictures/);
  d.bridge.frontendOpen("jupyter.widget.control");
  d.bridge.frontendOpen("jupyter.widget.control");
  const after = widgetFrontend();
  assert.equal(after.connected, true);
  assert.equal(after.connections, 2, "a page reload opens it again");
  assert.ok(after.lastConnectedAt && !Number.isNaN(Date.parse(after.lastConnectedAt)));
  assert.match(after.description, /^yes: an ipywidgets 8 widget manager is connected/);
});

test("waitForWidgetFrontend (bridge double): resolves when a front-end connects within the wait, else says no after it", async () => {
  const d = installBridgeDouble();
  uninstall = d.uninstall;
  ensureControlTarget(d.bridge);
  const none = await waitForWidgetFrontend(300);
  assert.equal(none.connected, false);
  setTimeout(() => d.bridge.frontendOpen("jupyter.widget.control"), 150);
  const f = await waitForWidgetFrontend(10_000);
  assert.equal(f.connected, true);
  assert.equal(f.connections, 1);
});
