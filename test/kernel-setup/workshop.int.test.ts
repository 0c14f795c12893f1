/**
 * startWorkshop() starts Debian's notebook server with the tunelab kernel as
 * default; @jupyterlab/services 7 drives it from Node over REST + websocket.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { KernelManager, KernelSpecAPI, ServerConnection } from "@jupyterlab/services";
import WebSocket from "ws";
import { startWorkshop, Workshop } from "../../kernel-setup/workshop";
import { JupyterSandbox, ROOT, ensureBuilt, jupyterSandbox } from "./helpers";

let sandbox: JupyterSandbox;
let ws: Workshop | undefined;
let settings: ServerConnection.ISettings;
let manager: KernelManager | undefined;

/**
 * Notebook 6 selects no websocket subprotocol; the `ws` package (unlike
 * browsers) then aborts the handshake and services reconnects ~20 s later.
 * Asking for no subprotocol gives the legacy protocol at once.
 */
class LegacyWebSocket extends WebSocket {
  constructor(url: string, _protocols?: string | string[]) {
    super(url);
  }
}

before(async () => {
  ensureBuilt();
  sandbox = jupyterSandbox();
  const logs: string[] = [];
  ws = await startWorkshop({
    notebookDir: path.join(ROOT, "notebooks"),
    port: 18000 + (process.pid % 1000),
    env: sandbox.env,
    log: (l) => logs.push(l),
  });
  settings = ServerConnection.makeSettings({
    baseUrl: ws.baseUrl,
    wsUrl: ws.baseUrl.replace(/^http/, "ws"),
    token: ws.token,
    appendToken: true,
    WebSocket: LegacyWebSocket as any,
  });
});

after(async () => {
  manager?.dispose();
  await ws?.stop();
  sandbox?.cleanup();
});

test("the workshop URL is on 127.0.0.1 and carries the token", () => {
  assert.match(ws!.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
});

test("the notebook server lists the tunelab kernel spec as the default", async () => {
  const specs = await KernelSpecAPI.getSpecs(settings);
  assert.equal(specs.default, "tunelab");
  assert.equal(specs.kernelspecs.tunelab?.display_name, "TypeScript (tunelab)");
  assert.equal(specs.kernelspecs.tunelab?.language, "typescript");
});

test("a tunelab kernel started over the REST API runs 1+2 and returns 3 over the websocket", async () => {
  manager = new KernelManager({ serverSettings: settings });
  await manager.ready;
  const kernel = await manager.startNew({ name: "tunelab" });
  try {
    const future = kernel.requestExecute({ code: "1+2" });
    let result: unknown;
    future.onIOPub = (msg) => {
      if (msg.header.msg_type === "execute_result") result = (msg.content as any).data["text/plain"];
    };
    const reply = await future.done;
    assert.equal(reply.content.status, "ok");
    assert.equal(result, "3");

    // A front-end comm with a binary buffer through the server's websocket, echoed back with buffers.
    await kernel.requestExecute({
      code: `(globalThis as any)[Symbol.for("tunelab.kernel.bridge")].comms.registerTarget("echo", (comm: any) =>
  comm.onMsg((m: any) => comm.send({ got: m.data }, {}, [new Uint8Array(m.buffers[0].buffer, m.buffers[0].byteOffset, m.buffers[0].byteLength).reverse()])));`,
    }).done;
    const comm = kernel.createComm("echo");
    const echoed = new Promise<any>((resolve) => {
      comm.onMsg = (msg) => resolve(msg);
    });
    await comm.open({}).done;
    comm.send({ ping: 1 }, {}, [new Uint8Array([1, 2, 3])]);
    const msg = await echoed;
    assert.deepEqual(msg.content.data, { got: { ping: 1 } });
    assert.deepEqual(Array.from(new Uint8Array(msg.buffers[0].buffer ?? msg.buffers[0])), [3, 2, 1]);
  } finally {
    await kernel.shutdown();
  }
});
