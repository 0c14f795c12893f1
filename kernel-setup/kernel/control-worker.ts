/**
 * Control and heartbeat channels on their own thread.
 *
 * A cell stuck in `while (true) {}` blocks the main thread's event loop, so a
 * control-channel `interrupt_request` (kernelspec interrupt_mode "message")
 * could never be read there. This worker reads it, answers it and raises
 * SIGINT on the process: tslab runs cells with `breakOnSigint`, which stops
 * blocking code, and the main thread's SIGINT handler calls
 * `executor.interrupt()` for awaiting code. The heartbeat echo lives here too,
 * so a busy kernel still counts as alive. Every other control request is
 * forwarded to the main thread, whose reply comes back to be sent here.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as zmq from "zeromq";
import { Connection, SendQueue, address, logError } from "./sockets";
import { Message, Signer, WireError, decode, encode, newHeader } from "./wire";

export type ToWorker = { type: "send"; frames: Uint8Array[] } | { type: "close" };
export type FromWorker =
  | { type: "ready" }
  | { type: "request"; msg: Message }
  | { type: "interrupted"; msg: Message }
  | { type: "error"; message: string };

async function main(): Promise<void> {
  const { conn, session } = workerData as { conn: Connection; session: string };
  const port = parentPort!;
  const signer = new Signer(conn.key, conn.signature_scheme);
  const control = new zmq.Router();
  const hb = new zmq.Reply();
  const controlOut = new SendQueue(control, (e) => logError("control send failed:", e));
  await control.bind(address(conn, conn.control_port));
  await hb.bind(address(conn, conn.hb_port));

  port.on("message", (m: ToWorker) => {
    if (m.type === "send") void controlOut.send(m.frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)));
    else if (m.type === "close") {
      void controlOut.drain().then(() => {
        control.close();
        hb.close();
        port.close();
      });
    }
  });

  void (async () => {
    try {
      for await (const frames of hb) await hb.send(frames);
    } catch (e) {
      if (!hb.closed) logError("heartbeat:", e);
    }
  })();

  port.postMessage({ type: "ready" } satisfies FromWorker);
  try {
    for await (const frames of control) {
      let msg: Message;
      try {
        msg = decode(frames, signer);
      } catch (e) {
        logError(`control: dropped message: ${e instanceof WireError ? e.message : String(e)}`);
        continue;
      }
      if (msg.header.msg_type === "interrupt_request") {
        process.kill(process.pid, "SIGINT");
        const reply: Message = {
          idents: msg.idents,
          header: newHeader("interrupt_reply", session),
          parent_header: msg.header,
          metadata: {},
          content: { status: "ok" },
          buffers: [],
        };
        void controlOut.send(encode(reply, signer));
        port.postMessage({ type: "interrupted", msg } satisfies FromWorker);
      } else {
        port.postMessage({ type: "request", msg } satisfies FromWorker);
      }
    }
  } catch (e) {
    if (!control.closed) logError("control:", e);
  }
}

main().catch((e) => {
  logError("control worker failed:", e);
  parentPort?.postMessage({ type: "error", message: String(e) } satisfies FromWorker);
});
