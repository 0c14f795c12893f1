// Browser page for the static render test: renders saved widget state (as
// nbclient stores it) with @jupyter-widgets/html-manager; the anywidget
// front-end (an AMD module) is evaluated from a local URL with a tiny define
// shim, so nothing is fetched from a CDN.
import { HTMLManager } from "@jupyter-widgets/html-manager";
import * as base from "@jupyter-widgets/base";
import "@jupyter-widgets/controls/css/widgets-base.css";
import { loadAmd } from "./amd";

const w = window as any;
w.__errors = [];
window.addEventListener("error", (e) => w.__errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => w.__errors.push(String((e as any).reason?.stack ?? (e as any).reason)));

async function main() {
  const anywidget = await loadAmd("/anywidget.js", { "@jupyter-widgets/base": base });
  const manager = new HTMLManager({
    loader: async (name: string) => {
      if (name === "anywidget") return anywidget;
      throw new Error(`no module ${name}`);
    },
  });
  // tests reach the models (e.g. to deliver a kernel message to one)
  w.tunelab = { manager };
  const { state, views } = await (await fetch("/state.json")).json();
  await manager.set_state(state);
  for (const id of views as string[]) {
    const el = document.createElement("div");
    el.className = "cell-output";
    document.body.appendChild(el);
    const model = await manager.get_model(id);
    const view = await manager.create_view(model!);
    await manager.display_view(view, el);
  }
  w.__rendered = true;
}
main().catch((e) => {
  w.__errors.push(String(e?.stack ?? e));
  w.__rendered = true;
});
