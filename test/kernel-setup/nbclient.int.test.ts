/**
 * nbclient (Debian's python3-nbclient 0.7.2) executes a smoke notebook on the
 * tunelab kernel with store_widget_state=True; the saved notebook must hold
 * the widget state the cells produced through raw comms.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { JupyterSandbox, PY, ROOT, Ran, ensureBuilt, jupyterSandbox, runProcess } from "./helpers";

let sandbox: JupyterSandbox;
let ran: Ran;
let nb: any;

before(async () => {
  ensureBuilt();
  sandbox = jupyterSandbox();
  const out = path.join(sandbox.dir, "out.ipynb");
  ran = await runProcess(
    PY,
    [path.join(ROOT, "test/kernel-setup/py/run_notebook.py"), path.join(ROOT, "test/kernel-setup/fixtures/smoke.ipynb"), out, path.join(ROOT, "notebooks")],
    { env: sandbox.env, timeoutMs: 180_000 },
  );
  if (fs.existsSync(out)) nb = JSON.parse(fs.readFileSync(out, "utf8"));
});

after(() => sandbox?.cleanup());

test("nbclient executes the smoke notebook on the tunelab kernel", () => {
  assert.equal(ran.code, 0, ran.stderr.slice(-3000));
  assert.deepEqual(nb.cells[0].outputs[0].data["text/plain"], ["2"]);
});

test("nbclient store_widget_state saves the IntSlider state (updated value 7) and its layout/style models", () => {
  const state = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"].state;
  const entries = Object.entries<any>(state);
  const slider = entries.find(([, m]) => m.model_name === "IntSliderModel");
  assert.ok(slider, `no IntSliderModel in ${JSON.stringify(state).slice(0, 500)}`);
  const [id, model] = slider;
  assert.equal(model.model_module, "@jupyter-widgets/controls");
  assert.equal(model.model_module_version, "2.0.0");
  assert.equal(model.state.value, 7);
  assert.equal(model.state.max, 10);
  const layoutId = String(model.state.layout).replace("IPY_MODEL_", "");
  assert.equal(state[layoutId]?.model_name, "LayoutModel");
  const view = nb.cells[1].outputs.find((o: any) => o.output_type === "display_data");
  assert.equal(view.data["application/vnd.jupyter.widget-view+json"].model_id, id);
  assert.ok(view.data["text/plain"], "the widget bundle carries a text/plain fallback");
});
