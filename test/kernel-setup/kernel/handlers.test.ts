/**
 * The Kernel request handlers with tslab's real compiler/executor in-process
 * and a recording transport (no sockets): parent-header rules, the execute
 * queue, results, errors and comm parents.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { createConverter, isCompleteCode } from "tslab/dist/converter";
import { createExecutor } from "tslab/dist/executor";
import { printQuickInfo } from "tslab/dist/inspect";
import { Kernel } from "../../../kernel-setup/kernel/handlers";
import { Message, newHeader } from "../../../kernel-setup/kernel/wire";

const published: Message[] = [];
const replies: Message[] = [];
let kernel: Kernel;
let diags: any[] = [];
let closeExecutor = () => undefined as void;

before(() => {
  let k!: Kernel;
  const node = createConverter({ isJS: false, isBrowser: false });
  const convs = {
    node: { ...node, convert: (p: string, s: string) => { const r = node.convert(p, s); diags = r.diagnostics; return r; } },
    get browser() { return node; },
    close: () => node.close(),
  };
  const executor = createExecutor(path.resolve(__dirname, "../../../notebooks"), convs, {
    log: (...a: unknown[]) => k.console.log(...a),
    error: (...a: unknown[]) => k.console.error(...a),
  });
  closeExecutor = () => executor.close();
  k = kernel = new Kernel({
    session: "s",
    executor,
    transport: { send: (_c, m) => void replies.push(m), publish: (m) => void published.push(m), exit: () => undefined },
    lastDiagnostics: () => diags,
    isCompleteCode,
    printQuickInfo,
    version: "test",
    tsVersion: "5.0",
  });
});

after(() => closeExecutor());

function req(type: string, content: unknown): Message {
  return { idents: [Buffer.from("id")], header: newHeader(type, "client"), parent_header: {}, metadata: {}, content, buffers: [] };
}

async function run(code: string): Promise<{ req: Message; reply: Message; iopub: Message[] }> {
  const r = req("execute_request", { code, silent: false, store_history: true, stop_on_error: true });
  kernel.handle(r, "shell");
  for (let i = 0; i < 2000 && !replies.some((m) => m.parent_header.msg_id === r.header.msg_id); i++) await new Promise((x) => setTimeout(x, 5));
  const reply = replies.find((m) => m.parent_header.msg_id === r.header.msg_id)!;
  return { req: r, reply, iopub: published.filter((m) => m.parent_header.msg_id === r.header.msg_id) };
}

test("execute: busy, execute_input, execute_result, reply, idle, in that order", async () => {
  const { reply, iopub } = await run("6 * 7");
  assert.equal(reply.content.status, "ok");
  assert.deepEqual(iopub.map((m) => m.header.msg_type), ["status", "execute_input", "execute_result", "status"]);
  assert.equal(iopub[2].content.data["text/plain"], "42");
  assert.deepEqual(iopub.map((m) => m.content.execution_state).filter(Boolean), ["busy", "idle"]);
});

test("a runtime error gives error content with ename/evalue and the stack", async () => {
  const { reply, iopub } = await run('throw new TypeError("bad")');
  assert.equal(reply.content.status, "error");
  assert.equal(reply.content.ename, "TypeError");
  assert.equal(reply.content.evalue, "bad");
  assert.ok(iopub.some((m) => m.header.msg_type === "error"));
});

test("a compile error names the TS code, line and column, and shows the source line", async () => {
  const { reply } = await run('const q: string = 5;');
  assert.equal(reply.content.ename, "TypeScriptError");
  assert.match(reply.content.evalue, /^TS2322/);
  assert.match(reply.content.traceback.join("\n"), /1:7[\s\S]*const q: string = 5;/);
});

test("output after a cell returned goes to the latest execute_request", async () => {
  const a = await run('globalThis.__late = () => (globalThis as any)[Symbol.for("x")] = 1; 0');
  const b = await run("1");
  kernel.io.write("stdout", "late\n");
  kernel.io.flush();
  const last = published[published.length - 1];
  assert.equal(last.header.msg_type, "stream");
  assert.equal(last.parent_header.msg_id, b.req.header.msg_id);
  assert.notEqual(last.parent_header.msg_id, a.req.header.msg_id);
});

test("comm messages sent while a front-end comm_msg is handled carry that comm_msg as parent; busy/idle around it", async () => {
  kernel.comms.registerTarget("t", (comm) => comm.onMsg((m) => comm.send({ echo: m.data })));
  kernel.handle(req("comm_open", { comm_id: "c1", target_name: "t", data: {} }), "shell");
  const m = req("comm_msg", { comm_id: "c1", data: { v: 1 } });
  kernel.handle(m, "shell");
  const around = published.filter((p) => p.parent_header.msg_id === m.header.msg_id);
  assert.deepEqual(around.map((p) => p.header.msg_type), ["status", "comm_msg", "status"]);
  assert.deepEqual(around[1].content, { comm_id: "c1", data: { echo: { v: 1 } } });
});

test("comm_info_request is answered with comm_info_reply", () => {
  kernel.handle(req("comm_info_request", { target_name: "t" }), "shell");
  const r = replies[replies.length - 1];
  assert.equal(r.header.msg_type, "comm_info_reply");
  assert.deepEqual(r.content, { status: "ok", comms: { c1: { target_name: "t" } } });
});
