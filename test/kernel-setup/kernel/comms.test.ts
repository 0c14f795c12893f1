import { test } from "node:test";
import assert from "node:assert/strict";
import { Comms } from "../../../kernel-setup/kernel/comms";

function setup() {
  const sent: Array<{ type: string; content: any; metadata: any; buffers: Buffer[] }> = [];
  const errors: unknown[] = [];
  const comms = new Comms((type, content, metadata, buffers) => sent.push({ type, content, metadata, buffers }), (e) => errors.push(e));
  return { comms, sent, errors };
}

test("open sends comm_open with target, data, metadata and buffers; send/close follow", () => {
  const { comms, sent } = setup();
  const c = comms.open("jupyter.widget", { state: {} }, { version: "2.1.0" }, [new Uint8Array([1, 2])], "abc");
  c.send({ method: "update" }, {}, [new Uint8Array([3])]);
  c.close();
  c.send({ late: true });
  assert.deepEqual(sent.map((s) => s.type), ["comm_open", "comm_msg", "comm_close"]);
  assert.deepEqual(sent[0].content, { comm_id: "abc", target_name: "jupyter.widget", data: { state: {} }, target_module: null });
  assert.deepEqual(sent[0].metadata, { version: "2.1.0" });
  assert.deepEqual([...sent[0].buffers[0]], [1, 2]);
  assert.deepEqual([...sent[1].buffers[0]], [3]);
  assert.equal(c.closed, true);
  assert.equal(comms.get("abc"), undefined);
});

test("front-end comm_open to a registered target creates the comm; messages reach onMsg with DataView buffers", () => {
  const { comms, sent } = setup();
  const got: any[] = [];
  comms.registerTarget("echo", (comm, open) => {
    got.push(open.data);
    comm.onMsg((m) => got.push([m.data, m.buffers.map((b) => b.getUint8(0))]));
    comm.onClose((m) => got.push(["closed", m.data]));
  });
  comms.handleOpen({ comm_id: "x", target_name: "echo", data: { hi: 1 } }, {}, []);
  assert.equal(comms.handleMsg({ comm_id: "x", data: { n: 2 } }, {}, [Buffer.from([7]), Buffer.from([8])]), true);
  assert.equal(comms.handleMsg({ comm_id: "nope", data: {} }, {}, []), false);
  comms.handleClose({ comm_id: "x", data: { bye: 1 } }, {}, []);
  assert.deepEqual(got, [{ hi: 1 }, [{ n: 2 }, [7, 8]], ["closed", { bye: 1 }]]);
  assert.equal(sent.length, 0);
  assert.equal(comms.get("x"), undefined);
});

test("front-end comm_open to an unknown target is answered with comm_close", () => {
  const { comms, sent } = setup();
  comms.handleOpen({ comm_id: "y", target_name: "nobody" }, {}, []);
  assert.deepEqual(sent, [{ type: "comm_close", content: { comm_id: "y", data: {} }, metadata: {}, buffers: [] }]);
});

test("comm_info filters by target name", () => {
  const { comms } = setup();
  comms.open("a", {}, {}, [], "1");
  comms.open("b", {}, {}, [], "2");
  assert.deepEqual(comms.info("a"), { status: "ok", comms: { "1": { target_name: "a" } } });
  assert.deepEqual(Object.keys(comms.info().comms).sort(), ["1", "2"]);
});

test("an exception in a user handler is reported, not thrown", () => {
  const { comms, errors } = setup();
  comms.registerTarget("t", (comm) => comm.onMsg(() => {
    throw new Error("handler bug");
  }));
  comms.handleOpen({ comm_id: "z", target_name: "t" }, {}, []);
  comms.handleMsg({ comm_id: "z", data: {} }, {}, []);
  assert.equal((errors[0] as Error).message, "handler bug");
});
