import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { installBridgeDouble, type KernelBridgeDouble } from "./kernel-bridge-double";
import { Widget, liveWidgets, WIDGET_VIEW_MIME } from "../../widgets/widget";
import { Button, Dropdown, HBox, HTML, IntProgress, IntSlider, FloatSlider, Layout, Output, Tab, VBox } from "../../widgets/controls";
import { removeBuffers, putBuffers } from "../../widgets/serialize";
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

test("serialize: buffers are removed with their paths and put back", () => {
  const a = new Float64Array([1, 2, 3]);
  const s = removeBuffers({ x: a, nested: { list: [1, new Uint8Array([7])] }, n: 3 });
  assert.deepEqual(s.buffer_paths, [["x"], ["nested", "list", 1]]);
  assert.deepEqual(s.state, { x: null, nested: { list: [1, null] }, n: 3 });
  assert.equal(s.buffers[0].getFloat64(8, true), 2);
  const back = putBuffers(JSON.parse(JSON.stringify(s.state)), s.buffer_paths, s.buffers);
  assert.equal((back.nested as any).list[1].getUint8(0), 7);
});

test("Widget (bridge double): comm_open with protocol 2.1.0, state and buffer_paths", () => {
  const bridge = setup();
  const w = new Widget({ _model_name: "X", data: new Float64Array([0.5]), child: null });
  const [open] = bridge.opened();
  assert.equal(open.commId, w.modelId);
  assert.deepEqual(open.metadata, { version: "2.1.0" });
  assert.deepEqual(open.data, { state: { _model_name: "X", data: null, child: null }, buffer_paths: [["data"]] });
  assert.equal(open.buffers[0].getFloat64(0, true), 0.5);
});

test("Widget (bridge double): kernel set sends only changed keys; front-end update changes state and fires observers", () => {
  const bridge = setup();
  const w = new Widget({ _model_name: "X", value: 1, other: "a" });
  const seen: Array<[unknown, unknown, string]> = [];
  w.observe("value", (v, old, origin) => seen.push([v, old, origin]));
  w.set({ value: 2 });
  const msgs = bridge.messages(w.modelId);
  assert.deepEqual(msgs.at(-1)!.data, { method: "update", state: { value: 2 }, buffer_paths: [] });
  bridge.frontendMsg(w.modelId, { method: "update", state: { value: 5, blob: null }, buffer_paths: [["blob"]] }, [new Uint8Array([9, 8])]);
  assert.equal(w.get("value"), 5);
  assert.equal((w.get("blob") as DataView).getUint8(1), 8);
  assert.deepEqual(seen, [[2, 1, "kernel"], [5, 2, "frontend"]]);
});

test("Widget (bridge double): request_state answers with the full state; custom messages both ways", () => {
  const bridge = setup();
  const w = new Widget({ _model_name: "X", value: 1, buf: new Uint8Array([1, 2]) });
  bridge.frontendMsg(w.modelId, { method: "request_state" });
  const reply = bridge.messages(w.modelId).at(-1)!;
  assert.equal(reply.data.method, "update");
  assert.deepEqual(reply.data.state, { _model_name: "X", value: 1, buf: null });
  assert.deepEqual(reply.data.buffer_paths, [["buf"]]);
  assert.equal(reply.buffers[0].byteLength, 2);
  const got: unknown[] = [];
  w.onCustom((c, b) => got.push([c, b.length]));
  bridge.frontendMsg(w.modelId, { method: "custom", content: { hello: 1 } }, [new Uint8Array(3)]);
  assert.deepEqual(got, [[{ hello: 1 }, 1]]);
  w.sendCustom({ kind: "ping" }, [new Float64Array(2)]);
  const sent = bridge.messages(w.modelId).at(-1)!;
  assert.deepEqual(sent.data, { method: "custom", content: { kind: "ping" } });
  assert.equal(sent.buffers[0].byteLength, 16);
});

test("control comm (bridge double): request_states → update_states with every live widget and buffer paths", () => {
  const bridge = setup();
  const a = new IntProgress({ value: 3, max: 10 });
  const w = new Widget({ _model_name: "AnyModel", _model_module: "anywidget", _model_module_version: "~0.11.*", xs: new Float64Array([1, 2]) });
  const ctl = bridge.frontendOpen("jupyter.widget.control");
  bridge.frontendMsg(ctl, { method: "request_states" });
  const reply = bridge.messages(ctl).at(-1)!;
  assert.equal(reply.data.method, "update_states");
  const states = reply.data.states;
  assert.ok(states[a.modelId], "progress bar listed");
  assert.ok(states[a.layout!.modelId], "its layout listed");
  assert.ok(states[a.style!.modelId], "its style listed");
  assert.deepEqual(
    { name: states[a.modelId].model_name, module: states[a.modelId].model_module, version: states[a.modelId].model_module_version },
    { name: "IntProgressModel", module: "@jupyter-widgets/controls", version: "2.0.0" },
  );
  assert.equal(states[a.modelId].state.value, 3);
  assert.equal(states[a.modelId].state.layout, `IPY_MODEL_${a.layout!.modelId}`);
  assert.deepEqual(reply.data.buffer_paths, [[w.modelId, "state", "xs"]]);
  assert.equal(reply.buffers[0].getFloat64(8, true), 2);
  a.close();
  bridge.frontendMsg(ctl, { method: "request_states" });
  assert.equal(bridge.messages(ctl).at(-1)!.data.states[a.modelId], undefined, "closed widgets are gone");
});

test("standard controls (bridge double): ipywidgets 8 default states and references", () => {
  const bridge = setup();
  const p = new IntProgress({ value: 2 });
  const open = bridge.opened().find((o) => o.commId === p.modelId)!;
  assert.deepEqual(open.data.state, {
    _dom_classes: [],
    _model_module: "@jupyter-widgets/controls",
    _model_module_version: "2.0.0",
    _model_name: "IntProgressModel",
    _view_module: "@jupyter-widgets/controls",
    _view_module_version: "2.0.0",
    _view_name: "ProgressView",
    bar_style: "",
    description: "",
    description_allow_html: false,
    layout: `IPY_MODEL_${p.layout!.modelId}`,
    max: 100,
    min: 0,
    orientation: "horizontal",
    style: `IPY_MODEL_${p.style!.modelId}`,
    tabbable: null,
    tooltip: null,
    value: 2,
  });
  const styleOpen = bridge.opened().find((o) => o.commId === p.style!.modelId)!;
  assert.equal(styleOpen.data.state._model_name, "ProgressStyleModel");
  assert.equal(styleOpen.data.state._view_module, "@jupyter-widgets/base");
  const layoutOpen = bridge.opened().find((o) => o.commId === p.layout!.modelId)!;
  assert.equal(layoutOpen.data.state._model_module, "@jupyter-widgets/base");
  assert.equal(layoutOpen.data.state._model_name, "LayoutModel");
  const names = [new HTML(), new Button(), new Dropdown({ options: ["a", "b"] }), new IntSlider(), new FloatSlider(), new VBox(), new HBox(), new Tab(), new Output()].map(
    (w) => [w.get("_model_name"), w.get("_view_name"), w.get("_model_module")],
  );
  assert.deepEqual(names, [
    ["HTMLModel", "HTMLView", "@jupyter-widgets/controls"],
    ["ButtonModel", "ButtonView", "@jupyter-widgets/controls"],
    ["DropdownModel", "DropdownView", "@jupyter-widgets/controls"],
    ["IntSliderModel", "IntSliderView", "@jupyter-widgets/controls"],
    ["FloatSliderModel", "FloatSliderView", "@jupyter-widgets/controls"],
    ["VBoxModel", "VBoxView", "@jupyter-widgets/controls"],
    ["HBoxModel", "HBoxView", "@jupyter-widgets/controls"],
    ["TabModel", "TabView", "@jupyter-widgets/controls"],
    ["OutputModel", "OutputView", "@jupyter-widgets/output"],
  ]);
});

test("Box children are sent as IPY_MODEL references; Button click arrives as custom event", () => {
  const bridge = setup();
  const b = new Button({ description: "go" });
  const box = new VBox([b, new HTML({ value: "<b>x</b>" })]);
  const open = bridge.opened().find((o) => o.commId === box.modelId)!;
  assert.equal(open.data.state.children[0], `IPY_MODEL_${b.modelId}`);
  let clicks = 0;
  b.onClick(() => clicks++);
  bridge.frontendMsg(b.modelId, { method: "custom", content: { event: "click" } });
  assert.equal(clicks, 1);
});

test("display bundle (bridge double): widget view 2.1 plus fallbacks; display() uses the widget's display_id", () => {
  const bridge = setup();
  const h = new HTML({ value: "<i>hi</i>" });
  const bundle = (h as any)[JUPYTER_DISPLAY]();
  assert.deepEqual(bundle[WIDGET_VIEW_MIME], { version_major: 2, version_minor: 1, model_id: h.modelId });
  assert.equal(bundle["text/html"], "<i>hi</i>");
  assert.equal(bundle["text/plain"], "hi");
  h.display();
  assert.equal(bridge.displays[0].options?.displayId, h.displayId);
  h.close();
  assert.ok(bridge.sent.some((s) => s.kind === "close" && s.commId === h.modelId));
  assert.equal((h as any)[JUPYTER_DISPLAY]()[WIDGET_VIEW_MIME], undefined, "closed: fallbacks only");
});

test("without a kernel bridge: no comms, static bundle only", () => {
  const p = new IntProgress({ value: 5, max: 10 }, { bridge: null });
  const bundle = (p as any)[JUPYTER_DISPLAY]();
  assert.equal(bundle[WIDGET_VIEW_MIME], undefined);
  assert.equal(bundle["text/plain"], "[##########..........] 5/10");
  p.value = 7;
  assert.equal(p.value, 7);
  assert.equal(p.live, false);
  const l = new Layout({ width: "10px" }, { bridge: null });
  assert.equal(l.get("width"), "10px");
});

test("front-end close (bridge double) forgets the widget", () => {
  const bridge = setup();
  const h = new HTML();
  bridge.frontendClose(h.modelId);
  assert.equal(h.closed, true);
  assert.ok(!liveWidgets().includes(h));
});
