/**
 * Which front-end `npm run workshop` starts: JupyterLab 4 when installed,
 * else Notebook 7, else tunelab's JupyterLab 4 page on the classic Notebook 6
 * server (chooseFrontend, a pure decision on the versions Python reports),
 * and what this machine's Debian Python reports (pythonFrontends, for real).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chooseFrontend, pythonFrontends, type PythonFrontends } from "../../kernel-setup/workshop";

const none: PythonFrontends = { jupyterlab: null, notebook: null, jupyterlab_widgets: null, anywidget: null };

test("chooseFrontend auto: JupyterLab 4 first, then Notebook 7, then the page on Notebook 6", () => {
  const full = { jupyterlab_widgets: "3.0.15", anywidget: "0.9.21" };
  assert.deepEqual(chooseFrontend("auto", { ...none, ...full, jupyterlab: "4.4.1", notebook: "7.4.1" }), { kind: "lab", description: "JupyterLab 4.4.1", missingForWidgets: [] });
  assert.deepEqual(chooseFrontend("auto", { ...none, ...full, notebook: "7.4.1" }), { kind: "notebook7", description: "Notebook 7.4.1", missingForWidgets: [] });
  assert.equal(chooseFrontend("auto", { ...none, notebook: "6.4.12" }).kind, "page");
  // JupyterLab 3 is not JupyterLab 4: the page again
  assert.equal(chooseFrontend("auto", { ...none, jupyterlab: "3.6.7", notebook: "6.5.4" }).kind, "page");
});

test("chooseFrontend names what the widgets still need in JupyterLab / Notebook 7", () => {
  assert.deepEqual(chooseFrontend("auto", { ...none, jupyterlab: "4.2.0" }).missingForWidgets, ["jupyterlab_widgets", "anywidget"]);
  assert.deepEqual(chooseFrontend("notebook7", { ...none, notebook: "7.0.0", jupyterlab_widgets: "3.0.9" }).missingForWidgets, ["anywidget"]);
});

test("chooseFrontend rejects a choice that cannot run, saying what was found and what to install", () => {
  assert.throws(() => chooseFrontend("lab", { ...none, notebook: "6.4.12" }), /^Error: frontend: "lab" needs JupyterLab 4 \(found none\); pip install "jupyterlab>=4,<5" jupyterlab_widgets anywidget$/);
  assert.throws(() => chooseFrontend("notebook7", { ...none, notebook: "6.4.12" }), /frontend: "notebook7" needs Notebook 7 \(found 6\.4\.12\)/);
  assert.throws(() => chooseFrontend("page", { ...none, notebook: "7.1.0" }), /frontend: "page" runs on the classic Notebook 6 server; this Python has Notebook 7\.1\.0/);
  assert.throws(() => chooseFrontend("page", none), /frontend: no Jupyter server found .*apt-get install jupyter-notebook/);
  assert.throws(() => chooseFrontend("lab3" as any, none), /^Error: frontend: got "lab3"; expected one of auto, lab, notebook7, page$/);
});

test("pythonFrontends reads Debian's /usr/bin/python3: classic Notebook 6, no JupyterLab (so the page)", () => {
  const py = pythonFrontends("/usr/bin/python3");
  assert.equal(py.jupyterlab, null);
  assert.match(py.notebook ?? "", /^6\./);
  assert.equal(chooseFrontend("auto", py).kind, "page");
  assert.throws(() => pythonFrontends("/nonexistent/python3"), /python: \/nonexistent\/python3 could not report its Jupyter packages/);
});
