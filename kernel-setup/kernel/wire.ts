/**
 * Jupyter wire protocol 5.3 framing and signing.
 *
 * A message on the wire is `[...idents, "<IDS|MSG>", signature, header,
 * parent_header, metadata, content, ...buffers]`. The HMAC covers exactly
 * the four JSON frames; binary buffers travel as extra frames and are NOT
 * signed (stock tslab signs them on receive, which breaks every comm message
 * with buffers).
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";

export const DELIM = Buffer.from("<IDS|MSG>");
export const PROTOCOL_VERSION = "5.3";

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
  [key: string]: unknown;
}

export interface Message {
  /** ZeroMQ routing prefix (ROUTER identities or the PUB topic). */
  idents: Buffer[];
  header: Header;
  /** `{}` when there is no parent. */
  parent_header: Header | Record<string, never>;
  metadata: Record<string, unknown>;
  content: any;
  buffers: Buffer[];
}

export class WireError extends Error {}

/** Signs and checks messages for one connection (key + scheme from the connection file). */
export class Signer {
  private readonly key: Buffer;
  private readonly algo: string;
  /** Recently seen signatures: a replayed message is rejected like ipykernel does. */
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];

  constructor(key: string, scheme = "hmac-sha256") {
    this.key = Buffer.from(key, "utf8");
    const m = /^hmac-(.+)$/.exec(scheme);
    if (!m) throw new WireError(`signature_scheme: unsupported "${scheme}" (expected hmac-<digest>)`);
    this.algo = m[1];
  }

  get enabled(): boolean {
    return this.key.length > 0;
  }

  sign(frames: Buffer[]): string {
    if (!this.enabled) return "";
    const h = createHmac(this.algo, this.key);
    for (const f of frames) h.update(f);
    return h.digest("hex");
  }

  /** Throws WireError unless `signature` matches the four JSON frames. */
  verify(signature: string, frames: Buffer[]): void {
    if (!this.enabled) return;
    const want = Buffer.from(this.sign(frames), "utf8");
    const got = Buffer.from(signature, "utf8");
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      throw new WireError("invalid signature");
    }
    if (this.seen.has(signature)) throw new WireError("duplicate signature (replayed message)");
    this.seen.add(signature);
    this.seenOrder.push(signature);
    if (this.seenOrder.length > 4096) this.seen.delete(this.seenOrder.shift()!);
  }
}

function parseJson(frame: Buffer | undefined, name: string): any {
  if (frame === undefined) throw new WireError(`missing ${name} frame`);
  try {
    return JSON.parse(frame.toString("utf8"));
  } catch (e) {
    throw new WireError(`${name}: invalid JSON (${(e as Error).message})`);
  }
}

/** Splits, verifies and decodes raw frames. Throws WireError on any defect. */
export function decode(frames: Buffer[], signer: Signer): Message {
  const at = frames.findIndex((f) => f.equals(DELIM));
  if (at < 0) throw new WireError("missing <IDS|MSG> delimiter");
  const body = frames.slice(at + 2);
  if (body.length < 4) throw new WireError(`expected 4 JSON frames after the signature, got ${body.length}`);
  const signature = frames[at + 1]?.toString("utf8") ?? "";
  signer.verify(signature, body.slice(0, 4));
  const header = parseJson(body[0], "header");
  if (typeof header?.msg_type !== "string") throw new WireError("header.msg_type: missing");
  return {
    idents: frames.slice(0, at),
    header,
    parent_header: parseJson(body[1], "parent_header") ?? {},
    metadata: parseJson(body[2], "metadata") ?? {},
    content: parseJson(body[3], "content") ?? {},
    buffers: body.slice(4),
  };
}

/** Serializes and signs a message; buffers become extra unsigned frames. */
export function encode(msg: Message, signer: Signer): Buffer[] {
  const body = [msg.header, msg.parent_header, msg.metadata, msg.content].map((x) =>
    Buffer.from(JSON.stringify(x), "utf8"),
  );
  return [...msg.idents, DELIM, Buffer.from(signer.sign(body), "utf8"), ...body, ...msg.buffers];
}

export function newHeader(msgType: string, session: string): Header {
  return {
    msg_id: randomUUID(),
    session,
    username: "kernel",
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
}

/** Copies any binary view into a Buffer frame (a copy: the caller may reuse its memory). */
export function toFrame(b: ArrayBuffer | ArrayBufferView): Buffer {
  if (b instanceof ArrayBuffer) return Buffer.from(new Uint8Array(b.slice(0)));
  return Buffer.from(new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice());
}
