// Browser page for the live test: talks to a Jupyter server (same origin)
// through @jupyterlab/services, runs cells on the tunelab kernel and renders
// widgets with an ipywidgets 8 manager (html-manager's, with real comms).
// Driven from puppeteer through window.tunelab.
import { KernelManager, ServerConnection } from "@jupyterlab/services";
import { HTMLManager } from "@jupyter-widgets/html-manager";
import * as base from "@jupyter-widgets/base";
import { shims } from "@jupyter-widgets/base";
import "@jupyter-widgets/controls/css/widgets-base.css";
import { loadAmd } from "./amd";

const w = window as any;
w.__errors = [];
window.addEventListener("error", (e) => w.__errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => w.__errors.push(String((e as any).reason?.stack ?? (e as any).reason)));

const VIEW_MIME = "application/vnd.jupyter.widget-view+json";

class LiveManager extends HTMLManager {
  constructor(readonly kernel: any, loader: (name: string) => Promise<any>) {
    super({ loader });
    kernel.registerCommTarget("jupyter.widget", async (comm: any, msg: any) => {
      await this.handle_comm_open(new shims.services.Comm(comm), msg);
    });
  }
  async _create_comm(target: string, modelId?: string, data?: any, metadata?: any, buffers?: any): Promise<any> {
    const comm = this.kernel.createComm(target, modelId);
    if (data || metadata) comm.open(data, metadata, buffers);
    return new shims.services.Comm(comm);
  }
  async _get_comm_info(): Promise<any> {
    const reply = await this.kernel.requestCommInfo({ target_name: "jupyter.widget" });
    return reply.content.status === "ok" ? reply.content.comms : {};
  }
}

let manager: LiveManager;
/** received message counts by type (diagnostics for the test) */
w.__msgs = {} as Record<string, number>;
function countMessages(k: any): void {
  k.anyMessage.connect((_: unknown, args: any) => {
    if (args.direction !== "recv") return;
    const t = args.msg.header.msg_type + (args.msg.content?.data?.method ? ":" + args.msg.content.data.method : "");
    w.__msgs[t] = (w.__msgs[t] ?? 0) + 1;
  });
}
let kernel: any;
const params = new URLSearchParams(location.search);
// the Jupyter server (another origin: it allows ours with --NotebookApp.allow_origin)
const server = new URL(params.get("server") ?? location.origin);
const settings = ServerConnection.makeSettings({
  baseUrl: `${server.origin}/`,
  wsUrl: `ws://${server.host}/`,
  token: params.get("token") ?? "",
  // browsers cannot send an Authorization header on websockets
  appendToken: true,
});
const km = new KernelManager({ serverSettings: settings });

async function makeManager(k: any): Promise<LiveManager> {
  const anywidget = await loadAmd(params.get("anywidget") ?? "/anywidget.js", { "@jupyter-widgets/base": base });
  return new LiveManager(k, async (name: string) => {
    if (name === "anywidget") return anywidget;
    throw new Error(`no module ${name}`);
  });
}

async function showModel(modelId: string): Promise<void> {
  const el = document.createElement("div");
  el.className = "cell-output";
  el.dataset.model = modelId;
  document.body.appendChild(el);
  const model = await manager.get_model(modelId);
  const view = await manager.create_view(model!);
  await manager.display_view(view, el);
}

w.tunelab = {
  async start(): Promise<string> {
    await km.ready;
    kernel = await km.startNew({ name: "tunelab" });
    countMessages(kernel);
    manager = await makeManager(kernel);
    return kernel.id;
  },
  /** A second page attaching to a running kernel: ipywidgets 8's page-reload path. */
  async attach(id: string, modelId: string): Promise<number> {
    await km.ready;
    kernel = km.connectTo({ model: { id, name: "tunelab" } });
    countMessages(kernel);
    manager = await makeManager(kernel);
    await (manager as any)._loadFromKernel();
    await showModel(modelId);
    return (await manager.get_model(modelId)) ? 1 : 0;
  },
  async run(code: string): Promise<{ status: string; views: string[]; text: string[] }> {
    const views: string[] = [];
    const text: string[] = [];
    const future = kernel.requestExecute({ code });
    future.onIOPub = (msg: any) => {
      const t = msg.header.msg_type;
      if (t === "display_data" || t === "execute_result") {
        const v = msg.content.data[VIEW_MIME];
        if (v) {
          views.push(v.model_id);
          void showModel(v.model_id).catch((e) => w.__errors.push(String(e?.stack ?? e)));
        } else if (msg.content.data["text/plain"]) text.push(msg.content.data["text/plain"]);
      } else if (t === "error") text.push(`${msg.content.ename}: ${msg.content.evalue}`);
    };
    const reply = await future.done;
    return { status: reply.content.status, views, text };
  },
  async shutdown(): Promise<void> {
    await kernel?.shutdown();
  },
};
w.__ready = true;
