/**
 * Connection file parsing and the ZeroMQ socket helpers shared by the main
 * thread (shell, iopub, stdin) and the control worker (control, heartbeat).
 */
import * as fs from "node:fs";
import { z } from "zod";

export const ConnectionSchema = z.object({
  transport: z.enum(["tcp", "ipc"]).default("tcp"),
  ip: z.string().min(1),
  key: z.string(),
  signature_scheme: z.string().default("hmac-sha256"),
  shell_port: z.number().int(),
  iopub_port: z.number().int(),
  stdin_port: z.number().int(),
  control_port: z.number().int(),
  hb_port: z.number().int(),
  kernel_name: z.string().optional(),
});
export type Connection = z.infer<typeof ConnectionSchema>;

export function readConnection(file: string): Connection {
  const raw = JSON.parse(fs.readFileSync(file, "utf8"));
  const r = ConnectionSchema.safeParse(raw);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new Error(`connection file ${file}: ${msg}`);
  }
  return r.data;
}

export function address(conn: Connection, port: number): string {
  return conn.transport === "ipc" ? `ipc://${conn.ip}-${port}` : `tcp://${conn.ip}:${port}`;
}

interface Sendable {
  send(frames: Buffer[]): Promise<void>;
  readonly closed: boolean;
}

/**
 * zeromq 6 rejects a send while a previous send on the same socket is still
 * pending ("Socket is busy writing"), so every socket gets one FIFO queue.
 */
export class SendQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  constructor(private readonly sock: Sendable, private readonly onError: (e: unknown) => void) {}

  send(frames: Buffer[]): Promise<void> {
    this.pending++;
    this.tail = this.tail.then(async () => {
      try {
        if (!this.sock.closed) await this.sock.send(frames);
      } catch (e) {
        this.onError(e);
      } finally {
        this.pending--;
      }
    });
    return this.tail;
  }

  /** Resolves once everything queued so far is handed to ZeroMQ. */
  drain(): Promise<void> {
    return this.tail;
  }
}

/** Kernel diagnostics go to the real fd 2 (the Jupyter server's log), never to a cell. */
export function logError(...parts: unknown[]): void {
  const text = parts.map((p) => (p instanceof Error ? p.stack ?? p.message : String(p))).join(" ");
  try {
    fs.writeSync(2, `[tunelab-kernel] ${text}\n`);
  } catch {
    /* stderr closed: nothing left to tell */
  }
}
