// Browser side of tunelab's LivePlot (an anywidget ES module; bundled with
// vega + vega-lite + vega-embed by widgets/build.js into dist/liveplot.esm.js,
// whose text travels in the model's `_esm` trait).
//
// Data lives in the model's synced state as binary buffers (t, value: float64;
// trial: uint32 index into the `trials` list). The kernel streams appends as
// custom messages {kind: "append", start, trials, exploits, best} with three
// buffers; we apply them as vega changesets (no re-embedding), at most once
// per 40 ms. A page reload rebuilds everything from the state.
import vegaLibSource from "tunelab:vega-lib-source";
// the same order-dependent marks as the kernel's static spec (segments, latest points, PBT lineage)
import { latestIndex, lineageMarks, segmentIds } from "../../src/plots/curve-marks";

/** vega, vega-lite and vega-embed, loaded on first render (see lib/vega-lib.js). */
let libPromise = null;
function loadLib() {
  if (!libPromise) {
    const url = URL.createObjectURL(new Blob([vegaLibSource], { type: "text/javascript" }));
    libPromise = import(/* webpackIgnore: true */ url).finally(() => URL.revokeObjectURL(url));
  }
  return libPromise;
}

function toArray(buf, Ctor) {
  if (buf == null) return new Ctor(0);
  if (Array.isArray(buf)) return Ctor.from(buf);
  if (buf instanceof DataView) return new Ctor(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  if (buf instanceof ArrayBuffer) return new Ctor(buf.slice(0));
  if (ArrayBuffer.isView(buf)) return new Ctor(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  return new Ctor(0);
}

/**
 * Model-level store: shared by every view of one model, kept current by
 * messages. Keyed by the kernel's plot id: anywidget hands initialize() and
 * each render() a different proxy object for the same model.
 */
const STORES = new Map();

function statusOf(store, idx) {
  const tr = store.trials[idx];
  if (!tr) return "running";
  return store.best != null && tr.id === store.best ? "best" : tr.status;
}

/** Every point so far as {trialId, t, value}, in arrival order (what curve-marks.ts reads). */
function allPoints(store) {
  const out = new Array(store.t.length);
  for (let i = 0; i < store.t.length; i++) {
    const tr = store.trials[store.trial[i]];
    out[i] = { trialId: tr ? tr.id : String(store.trial[i]), t: store.t[i], value: store.value[i] };
  }
  return out;
}

function rowsFrom(store, from, points = allPoints(store)) {
  // a point's segment never changes once drawn: an exploit's index is the point count when it happened
  const seg = segmentIds(points, store.exploits);
  const rows = [];
  for (let i = from; i < points.length; i++) {
    rows.push({ ...points[i], status: statusOf(store, store.trial[i]), segment: seg[i] });
  }
  return rows;
}

/** The latest point of every trial (a dot: a trial with one report is visible). */
function headRows(store, points = allPoints(store)) {
  return [...latestIndex(points).values()].map((i) => ({ ...points[i], status: statusOf(store, store.trial[i]) }));
}

function stopRows(store) {
  const last = new Map();
  for (let i = 0; i < store.t.length; i++) {
    const k = store.trial[i];
    const prev = last.get(k);
    if (prev === undefined || store.t[i] >= store.t[prev]) last.set(k, i);
  }
  const out = [];
  store.trials.forEach((tr, k) => {
    if (tr.status === "stopped" && last.has(k)) {
      const i = last.get(k);
      out.push({ trialId: tr.id, t: store.t[i], value: store.value[i] });
    }
  });
  return out;
}

function loadStore(model) {
  const trials = (model.get("trials") || []).map((x) => ({ id: x.id, status: x.status }));
  const n = model.get("n") ?? 0;
  return {
    t: Array.from(toArray(model.get("t"), Float64Array)).slice(0, n),
    value: Array.from(toArray(model.get("value"), Float64Array)).slice(0, n),
    trial: Array.from(toArray(model.get("trial"), Uint32Array)).slice(0, n),
    trials,
    exploits: (model.get("exploits") || []).slice(),
    best: model.get("best") ?? null,
    views: new Set(),
    stats: { updates: 0, applyMs: 0, received: 0, resyncs: 0 },
  };
}

function getStore(model) {
  const key = model.get("plot_id") ?? model;
  let store = STORES.get(key);
  if (store) return store;
  store = loadStore(model);
  STORES.set(key, store);
  model.on("msg:custom", (content, buffers) => {
    if (!content || content.kind !== "append") return;
    store.stats.received += 1;
    if (content.start !== store.t.length) {
      store.stats.resyncs += 1;
      // we missed data (or got it twice): ask the kernel for the full state
      model.send({ kind: "resync", have: store.t.length });
      return;
    }
    const t = toArray(buffers && buffers[0], Float64Array);
    const v = toArray(buffers && buffers[1], Float64Array);
    const k = toArray(buffers && buffers[2], Uint32Array);
    const delta = { from: store.t.length, statusChanged: [], newExploits: [], bestChanged: false, oldBest: store.best };
    for (const [idx, id, status] of content.trials || []) {
      const prev = store.trials[idx];
      if (prev && prev.status !== status) delta.statusChanged.push(idx);
      store.trials[idx] = { id, status };
    }
    for (let i = 0; i < t.length; i++) {
      store.t.push(t[i]);
      store.value.push(v[i]);
      store.trial.push(k[i]);
    }
    for (const e of content.exploits || []) {
      store.exploits.push(e);
      delta.newExploits.push(e);
    }
    if ("best" in content && content.best !== store.best) {
      store.best = content.best;
      delta.bestChanged = true;
    }
    for (const view of store.views) view.enqueue(delta);
  });
  // a full `update` from the kernel (final sync, resync): rebuild from state
  const reload = () => {
    const fresh = loadStore(model);
    store.stats.reloads = (store.stats.reloads ?? 0) + 1;
    Object.assign(store, { t: fresh.t, value: fresh.value, trial: fresh.trial, trials: fresh.trials, exploits: fresh.exploits, best: fresh.best });
    for (const view of store.views) view.reset();
  };
  model.on("change:sync_id", reload);
  return store;
}

function buildSpec(model, store, compile) {
  const spec = JSON.parse(JSON.stringify(model.get("spec")));
  const points = allPoints(store);
  const marks = lineageMarks(points, store.exploits);
  spec.data = { name: "points", values: rowsFrom(store, 0, points) };
  for (const layer of spec.layer || []) {
    if (layer.name === "stops") layer.data = { name: "stops", values: stopRows(store) };
    if (layer.name === "heads") layer.data = { name: "heads", values: headRows(store, points) };
    if (layer.name === "exploits") layer.data = { name: "exploits", values: marks.exploits };
    if (layer.name === "lineage") layer.data = { name: "lineage", values: marks.lineage };
  }
  return compile(spec).spec;
}

/** Replace a whole named dataset (small ones: one row per trial or per exploit). */
function replaceData(vega, view, name, rows) {
  try {
    view.change(name, vega.changeset().remove(() => true).insert(rows));
  } catch {
    // a spec from an older kernel has no such dataset: nothing to draw there
  }
}

async function render({ model, el }) {
  const store = getStore(model);
  const { embed, vega, compile } = await loadLib();
  const host = document.createElement("div");
  host.className = "tunelab-liveplot";
  el.appendChild(host);
  let result = null;
  let queue = [];
  let scheduled = false;
  let closed = false;

  const setStats = () => {
    host.dataset.points = String(store.t.length);
    host.dataset.updates = String(store.stats.updates);
    host.dataset.applyMs = String(store.stats.applyMs.toFixed(2));
    globalThis.__tunelabLivePlot = store.stats;
  };

  const embedAll = async () => {
    if (result) result.finalize();
    result = await embed(host, buildSpec(model, store, compile), { mode: "vega", actions: false, renderer: "svg" });
    setStats();
  };

  const apply = async () => {
    scheduled = false;
    if (closed || !result) return;
    const batch = queue;
    queue = [];
    const t0 = performance.now();
    const view = result.view;
    const from = Math.min(...batch.map((d) => d.from));
    const points = allPoints(store);
    const rows = rowsFrom(store, from, points);
    let cs = vega.changeset().insert(rows);
    const touched = new Set();
    for (const d of batch) {
      for (const idx of d.statusChanged) touched.add(store.trials[idx].id);
      if (d.bestChanged) {
        if (d.oldBest != null) touched.add(d.oldBest);
        if (store.best != null) touched.add(store.best);
      }
    }
    for (const id of touched) {
      const idx = store.trials.findIndex((tr) => tr.id === id);
      const status = statusOf(store, idx);
      cs = cs.modify((d) => d.trialId === id, "status", status);
    }
    view.change("points", cs);
    if (touched.size) view.change("stops", vega.changeset().remove(() => true).insert(stopRows(store)));
    if (rows.length || touched.size) replaceData(vega, view, "heads", headRows(store, points));
    // a receiver's continuation may arrive after its exploit: connectors follow new points too
    if (store.exploits.length && (rows.length || batch.some((d) => d.newExploits.length))) {
      const marks = lineageMarks(points, store.exploits);
      replaceData(vega, view, "exploits", marks.exploits);
      replaceData(vega, view, "lineage", marks.lineage);
    }
    await view.runAsync();
    store.stats.updates += 1;
    store.stats.applyMs += performance.now() - t0;
    setStats();
  };

  const view = {
    enqueue(delta) {
      queue.push(delta);
      if (!scheduled) {
        scheduled = true;
        // not requestAnimationFrame: it never fires in hidden tabs/headless pages
        setTimeout(() => void apply(), 40);
      }
    },
    reset() {
      queue = [];
      void embedAll();
    },
  };
  store.views.add(view);
  await embedAll();
  return () => {
    closed = true;
    store.views.delete(view);
    if (result) result.finalize();
  };
}

export default {
  initialize({ model }) {
    getStore(model);
  },
  render,
};
