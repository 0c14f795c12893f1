import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { DELIM, Message, Signer, WireError, decode, encode, newHeader, toFrame } from "../../../kernel-setup/kernel/wire";

function msg(buffers: Buffer[] = []): Message {
  return {
    idents: [Buffer.from("client-1")],
    header: newHeader("comm_msg", "s1"),
    parent_header: {},
    metadata: { a: 1 },
    content: { comm_id: "c", data: { x: 1 } },
    buffers,
  };
}

test("encode signs exactly header, parent, metadata and content (HMAC-SHA256), buffers unsigned", () => {
  const s = new Signer("secret");
  const frames = encode(msg([Buffer.from([1, 2, 3])]), s);
  const at = frames.findIndex((f) => f.equals(DELIM));
  assert.equal(at, 1);
  const h = createHmac("sha256", "secret");
  for (const f of frames.slice(at + 2, at + 6)) h.update(f);
  assert.equal(frames[at + 1].toString(), h.digest("hex"));
  assert.deepEqual([...frames[at + 6]], [1, 2, 3]);
});

test("decode accepts a message with binary buffers and returns them as extra frames", () => {
  const s = new Signer("secret");
  const frames = encode(msg([Buffer.from([9]), Buffer.from([8, 7])]), s);
  const got = decode(frames, new Signer("secret"));
  assert.equal(got.header.msg_type, "comm_msg");
  assert.deepEqual(got.content.data, { x: 1 });
  assert.deepEqual(got.buffers.map((b) => [...b]), [[9], [8, 7]]);
  assert.equal(got.idents[0].toString(), "client-1");
});

test("decode rejects a bad signature, a tampered content and a replayed message", () => {
  const frames = encode(msg(), new Signer("secret"));
  assert.throws(() => decode(frames, new Signer("other")), WireError);
  const tampered = [...frames];
  tampered[5] = Buffer.from(JSON.stringify({ comm_id: "evil" }));
  assert.throws(() => decode(tampered, new Signer("secret")), /invalid signature/);
  const s = new Signer("secret");
  decode(frames, s);
  assert.throws(() => decode(frames, s), /duplicate signature/);
});

test("decode reports missing delimiter and missing frames by name", () => {
  const s = new Signer("");
  assert.throws(() => decode([Buffer.from("x")], s), /delimiter/);
  assert.throws(() => decode([DELIM, Buffer.from(""), Buffer.from("{}")], s), /expected 4 JSON frames/);
  assert.throws(() => decode([DELIM, Buffer.from(""), Buffer.from("{"), Buffer.from("{}"), Buffer.from("{}"), Buffer.from("{}")], s), /header: invalid JSON/);
});

test("an empty key disables signing (Jupyter's convention)", () => {
  const s = new Signer("");
  const frames = encode(msg(), s);
  assert.equal(frames[2].toString(), "");
  assert.equal(decode(frames, s).header.msg_type, "comm_msg");
});

test("unsupported signature schemes are named", () => {
  assert.throws(() => new Signer("k", "md5"), /signature_scheme: unsupported "md5"/);
});

test("toFrame copies typed-array views (respecting offset/length) and ArrayBuffers", () => {
  const big = new Uint8Array([0, 1, 2, 3, 4]);
  const view = new Uint8Array(big.buffer, 1, 3);
  const f = toFrame(view);
  big[1] = 99;
  assert.deepEqual([...f], [1, 2, 3]);
  assert.deepEqual([...toFrame(new Float32Array([1.5]))], [0, 0, 0xc0, 0x3f]);
  assert.deepEqual([...toFrame(new Uint8Array([5, 6]).buffer)], [5, 6]);
});
